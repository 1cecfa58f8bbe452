"""Tests for pyfff.reference against hand-computed models and independent per-element math.

How each test compares floats, so that it passes on any machine (numpy version, CPU, libm):

* exact, hand-computed: small integers and dyadic values, whose sums and products are exact in
  float64 in any order (said so at each test);
* exact, same operations: node scores, tie bounds, inputs, leaves, nodes and near-tie flags of
  ``evaluate`` are sums added left to right by elementwise IEEE operations (see the module
  docstring of pyfff.reference), the same bits everywhere; tests that rebuild them the same way
  in plain Python compare bit for bit;
* with a tolerance, stated in the test: anything through exp, tanh or erf (outputs of
  non-identity activations), whose last bits depend on numpy's SIMD kernels and on libm, and
  anything compared against sums made in another order (math.fsum, PyTorch). Golden outputs
  use ``MACHINE_RTOL`` (|a - b| <= 1e-9 * (1 + |b|), justified where pyfff.reference defines it).
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from pyfff.format import MasterLeaf, Model, read_model
from pyfff.reference import ACTIVATIONS, MACHINE_RTOL, dot_rows, evaluate, matmul, near_tie_bound, outputs_agree

F32 = np.float32


def make_model(
    *,
    depth: int,
    node_weights: list | np.ndarray,
    node_biases: list | np.ndarray,
    w1: list | np.ndarray,
    b1: list | np.ndarray,
    w2: list | np.ndarray,
    b2: list | np.ndarray,
    activation: str = "identity",
    master: MasterLeaf | None = None,
    prep: tuple[list[float], list[float]] | None = None,
) -> Model:
    w1 = np.asarray(w1, F32)
    model = Model(
        input_width=w1.shape[1],
        output_width=np.asarray(w2).shape[2],
        depth=depth,
        leaf_width=w1.shape[2],
        activation=activation,
        node_weights=np.asarray(node_weights, F32).reshape(-1, w1.shape[1]),
        node_biases=np.asarray(node_biases, F32).reshape(-1),
        w1=w1,
        b1=np.asarray(b1, F32),
        w2=np.asarray(w2, F32),
        b2=np.asarray(b2, F32),
        master=master,
        prep_scale=None if prep is None else np.asarray(prep[0], F32),
        prep_offset=None if prep is None else np.asarray(prep[1], F32),
    )
    model.check()
    return model


def depth1_model() -> Model:
    """Root score x0 - x1. Leaf 0: y = (x0, -x0). Leaf 1: y = (2 * (x1 + 1), 5)."""
    return make_model(
        depth=1,
        node_weights=[[1.0, -1.0]],
        node_biases=[0.0],
        w1=[[[1.0], [0.0]], [[0.0], [1.0]]],
        b1=[[0.0], [1.0]],
        w2=[[[1.0, -1.0]], [[2.0, 0.0]]],
        b2=[[0.0, 0.0], [0.0, 5.0]],
    )


def test_depth1_hand_computed_scores_leaves_outputs() -> None:
    # Exact comparisons: every value is a small integer, exact in float64 in any order.
    raw = np.array([[2.0, 1.0], [1.0, 2.0], [1.0, 1.0], [np.nan, 0.0], [-3.0, -3.0]])
    result = evaluate(depth1_model(), raw)
    # score 1 -> right; -1 -> left; exactly 0 -> right (score >= 0); NaN -> left; -3 - -3 = 0 -> right
    np.testing.assert_array_equal(result.scores[:, 0][[0, 1, 2, 4]], [1.0, -1.0, 0.0, 0.0])
    assert math.isnan(result.scores[3, 0])
    np.testing.assert_array_equal(result.leaves, [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(result.nodes[:, 0], [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(result.outputs[0], [4.0, 5.0])
    np.testing.assert_array_equal(result.outputs[1], [1.0, -1.0])
    np.testing.assert_array_equal(result.outputs[2], [4.0, 5.0])
    np.testing.assert_array_equal(result.outputs[4], [-4.0, 5.0])
    assert np.isnan(result.outputs[3]).all()  # leaf 0 passes the NaN through
    np.testing.assert_array_equal(result.argmax[[0, 1, 2, 4]], [1, 0, 1, 1])
    # near-tie: |score| <= 1e-5 * (1 + sum |w_i x_i| + |b|); exact zeros qualify, NaN does not
    np.testing.assert_array_equal(result.near_tie, [False, False, True, False, True])
    np.testing.assert_allclose(result.tie_bounds[:, 0][[0, 1, 2, 4]], [4e-5, 4e-5, 3e-5, 7e-5], rtol=1e-15)


def test_depth0_has_no_scores_and_one_leaf() -> None:
    model = make_model(
        depth=0, node_weights=np.zeros((0, 2)), node_biases=[], w1=[[[1.0], [1.0]]], b1=[[0.5]],
        w2=[[[1.0, 2.0]]], b2=[[0.0, -1.0]],
    )
    result = evaluate(model, np.array([[1.0, 2.0], [-1.0, 0.0]]))
    # Exact: dyadic values (halves and small integers), exact in float64 in any order.
    assert result.scores.shape == (2, 0)
    np.testing.assert_array_equal(result.leaves, [0, 0])
    np.testing.assert_array_equal(result.outputs, [[3.5, 6.0], [-0.5, -2.0]])
    np.testing.assert_array_equal(result.near_tie, [False, False])


def test_near_tie_threshold_is_relative_to_the_score_scale() -> None:
    # score = x + b with b = -1 + delta (as float32), x = 1: bound = 1e-5 * (1 + 1 + |b|) ~ 3e-5
    biases = [F32(-1 + 2e-5), F32(-1 + 4e-5), F32(-1 - 2e-5), F32(-1 - 4e-5)]
    for b, tie in zip(biases, [True, False, True, False]):
        model = make_model(
            depth=1, node_weights=[[1.0]], node_biases=[b], w1=[[[1.0]], [[1.0]]], b1=[[0.0], [0.0]],
            w2=[[[1.0]], [[1.0]]], b2=[[0.0], [0.0]],
        )
        result = evaluate(model, np.array([[1.0]]))
        score = 1.0 + float(b)  # 1 * 1 is exact, then one correctly rounded add: same bits anywhere
        assert result.scores[0, 0] == score
        assert result.tie_bounds[0, 0] == pytest.approx(1e-5 * (2.0 + abs(float(b))), rel=1e-15)
        assert bool(result.near_tie[0]) is tie, (b, score)
        assert result.leaves[0] == (1 if score >= 0 else 0)


def test_heap_order_descent_depth3() -> None:
    """Node at depth t tests x[t]; the leaf index spells the sign bits, root first.

    Exact: weights and inputs are 0 and +-1, outputs one-hot."""
    depth, width = 3, 3
    nodes = np.zeros((7, width))
    for n in range(7):
        t = (n + 1).bit_length() - 1  # depth of node n in heap order
        nodes[n, t] = 1.0
    model = make_model(
        depth=depth, node_weights=nodes, node_biases=np.zeros(7),
        w1=np.ones((8, width, 1)), b1=np.arange(8, dtype=float).reshape(8, 1) * 0,
        w2=np.zeros((8, 1, 8)), b2=np.eye(8),  # output one-hot of the leaf index
    )
    raw, expected_leaf, expected_nodes = [], [], []
    for bits in range(8):
        signs = [(bits >> (2 - t)) & 1 for t in range(3)]
        raw.append([1.0 if s else -1.0 for s in signs])
        expected_leaf.append(bits)
        n, path = 0, []
        for s in signs:
            path.append(n)
            n = 2 * n + 2 if s else 2 * n + 1
        expected_nodes.append(path)
    result = evaluate(model, np.array(raw))
    np.testing.assert_array_equal(result.leaves, expected_leaf)
    np.testing.assert_array_equal(result.nodes, expected_nodes)
    np.testing.assert_array_equal(result.argmax, expected_leaf)


# Values of torch.nn.functional (float64) at these points, computed once with PyTorch 2.x:
# F.gelu, F.gelu(approximate='tanh'), F.silu, torch.sigmoid, torch.tanh, F.relu.
TORCH_POINTS = [-20.0, -3.5, -1.0, -0.25, 0.0, 0.3, 1.0, 2.5, 8.0]
TORCH_VALUES = {
    "gelu": [-0.0, -0.0008142017766243903, -0.15865525393145702, -0.10032341857926907, 0.0,
             0.1853734266566858, 0.841344746068543, 2.4844758366855597, 7.999999999999995],
    "gelu-tanh": [-0.0, -0.0006161976553737403, -0.15880800939172324, -0.100324649298315, 0.0,
                  0.18537092354275922, 0.8411919906082768, 2.484915733910001, 8.0],
    "silu": [-4.122307236380407e-08, -0.10259280762974712, -0.2689414213699951, -0.10945587477855048,
             0.0, 0.1723327550434977, 0.7310585786300049, 2.3103545499468914, 7.997317198956269],
    "sigmoid": [2.0611536181902037e-09, 0.02931223075135632, 0.2689414213699951, 0.43782349911420193,
                0.5, 0.574442516811659, 0.7310585786300049, 0.9241418199787566, 0.9996646498695336],
    "tanh": [-1.0, -0.9981778976111987, -0.7615941559557649, -0.24491866240370913, 0.0,
             0.2913126124515909, 0.7615941559557649, 0.9866142981514303, 0.9999997749296758],
    "relu": [0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.0, 2.5, 8.0],
    "identity": TORCH_POINTS,
}


def math_activation(name: str, v: float) -> float:
    """§7.1 one element at a time with the math module: independent of the vectorised code."""
    if name == "identity":
        return v
    if name == "relu":
        return max(v, 0.0)
    if name == "gelu":
        return v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))
    if name == "gelu-tanh":
        return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))
    sig = 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0
    if name == "silu":
        return v * sig
    if name == "sigmoid":
        return sig
    if name == "tanh":
        return math.tanh(v)
    raise AssertionError(name)


def activation_probe(name: str, width: int) -> Model:
    """Depth 0, one input, ``width`` hidden units each computing act(x), output = hidden."""
    return make_model(
        depth=0, node_weights=np.zeros((0, 1)), node_biases=[], w1=np.ones((1, 1, width)),
        b1=np.zeros((1, width)), w2=np.eye(width).reshape(1, width, width), b2=np.zeros((1, width)),
        activation=name,
    )


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_math_module_per_element(name: str) -> None:
    rng = np.random.default_rng(7)
    points = np.concatenate([rng.normal(0, 3, 200), [-40.0, -8.0, -1e-9, 0.0, 1e-9, 8.0, 40.0]])
    model = activation_probe(name, 1)
    result = evaluate(model, points.reshape(-1, 1), apply_preprocessing=False)
    expected = np.array([math_activation(name, float(v)) for v in points])
    # Tolerance (libm per element vs numpy's vectorised kernels, which may be SIMD code): a few
    # ulps of each argument. gelu-tanh cancels (1 + tanh -> 0) for negative x, so libm and
    # numpy's tanh may disagree in relative terms on tiny outputs while agreeing absolutely.
    np.testing.assert_allclose(result.outputs[:, 0], expected, rtol=4e-15, atol=4e-16)


@pytest.mark.parametrize("name", sorted(TORCH_VALUES))
def test_activation_matches_recorded_pytorch_values(name: str) -> None:
    model = activation_probe(name, 1)
    result = evaluate(model, np.array(TORCH_POINTS).reshape(-1, 1))
    # Tolerance: another library's float64 arithmetic (PyTorch's kernels), so a few ulps.
    np.testing.assert_allclose(result.outputs[:, 0], TORCH_VALUES[name], rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "silu", "gelu", "gelu-tanh", "tanh"])
def test_activation_extremes_are_finite_and_warning_free(name: str) -> None:
    model = activation_probe(name, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(model, np.array([[-1e4], [-800.0], [800.0], [1e4]])).outputs[:, 0]
    assert np.isfinite(out).all()
    # Exact: saturated values (exp(-1e4) is 0, tanh(1e4) is 1 in any correct library).
    if name in ("sigmoid", "tanh"):
        assert out[0] == (0.0 if name == "sigmoid" else -1.0) and out[-1] == 1.0
    if name in ("silu", "gelu", "gelu-tanh"):
        assert out[0] == 0.0 and out[-1] == 1e4


def test_master_mixing_hand_computed() -> None:
    """s = sigmoid(k) with k widened from float32; out = s * leaf + (1 - s) * master."""
    k = F32(0.1)  # not exactly 0.1: the reference must use the float32 value
    master = MasterLeaf(
        w1=np.array([[1.0, 0.0], [0.0, 1.0]], F32),  # h = relu(x)
        b1=np.zeros(2, F32),
        w2=np.array([[1.0, 0.0], [0.0, 1.0]], F32),
        b2=np.array([10.0, -10.0], F32),
        k=float(k),
    )
    base = depth1_model()
    model = make_model(
        depth=1, node_weights=base.node_weights, node_biases=base.node_biases, w1=base.w1, b1=base.b1,
        w2=base.w2, b2=base.b2, activation="relu", master=master,
    )
    raw = np.array([[2.0, 1.0], [1.0, 2.0], [-1.0, 3.0]])
    result = evaluate(model, raw)
    s = 1.0 / (1.0 + math.exp(-float(k)))
    leaf_out = [[4.0, 5.0], [1.0, -1.0], [0.0, 0.0]]  # relu(x0) at leaf 0: relu(-1) = 0
    master_out = [[12.0, -9.0], [11.0, -8.0], [10.0, -7.0]]
    expected = [[s * a + (1 - s) * b for a, b in zip(y, m)] for y, m in zip(leaf_out, master_out)]
    # Tolerance 1e-15: the same formula, but the reference computes s its own way (exp(-k)).
    np.testing.assert_allclose(result.outputs, expected, rtol=1e-15)
    assert float(k) != 0.1 and s != 1.0 / (1.0 + math.exp(-0.1))
    np.testing.assert_array_equal(result.argmax, [0, 0, 0])


def test_preprocessing_in_float64_from_float32_parameters() -> None:
    scale, offset = F32(2 / 255), F32(-1.0)
    model = make_model(
        depth=0, node_weights=np.zeros((0, 2)), node_biases=[], w1=[[[1.0], [0.0]]], b1=[[0.0]],
        w2=[[[1.0]]], b2=[[0.0]], prep=([float(scale)], [float(offset)]),
    )
    raw = np.array([[255.0, 7.0], [0.0, 0.0], [128.0, 3.0]])
    result = evaluate(model, raw)
    # Exact: §8 is one multiply and one add per element, each correctly rounded (no reduction),
    # and the identity leaf adds x0 * 1 and x1 * 0 exactly.
    expected = raw * float(scale) + float(offset)
    np.testing.assert_array_equal(result.inputs, expected)
    assert result.outputs[0, 0] == 255.0 * float(scale) - 1.0 != 1.0  # float32 scale is not 2/255
    np.testing.assert_array_equal(evaluate(model, raw, apply_preprocessing=False).inputs, raw)

    per_feature = make_model(
        depth=0, node_weights=np.zeros((0, 2)), node_biases=[], w1=[[[1.0], [1.0]]], b1=[[0.0]],
        w2=[[[1.0]]], b2=[[0.0]], prep=([2.0, 0.5], [1.0, -3.0]),
    )
    out = evaluate(per_feature, np.array([[1.0, 4.0], [-1.0, 0.0]]))
    np.testing.assert_array_equal(out.inputs, [[3.0, -1.0], [-1.0, -3.0]])
    np.testing.assert_array_equal(out.outputs[:, 0], [2.0, -4.0])


def test_argmax_takes_the_smallest_index_among_equal_maxima() -> None:
    model = make_model(
        depth=0, node_weights=np.zeros((0, 1)), node_biases=[], w1=[[[0.0]]], b1=[[0.0]],
        w2=[[[0.0, 0.0, 0.0]]], b2=[[1.0, 3.0, 3.0]],
    )
    assert evaluate(model, np.zeros((2, 1))).argmax.tolist() == [1, 1]  # exact: integer outputs


def naive_evaluate(model: Model, x: np.ndarray) -> tuple[list[int], list[list[float]], list[bool]]:
    """§14 one record at a time in plain Python floats: the vectorised grouping's yardstick."""
    act = lambda v: math_activation(model.activation, v)  # noqa: E731
    leaves, outs, ties = [], [], []
    nw, nb = model.node_weights.astype(float), model.node_biases.astype(float)
    for row in x.tolist():
        n, tie = 0, False
        for _ in range(model.depth):
            terms = [w * v for w, v in zip(nw[n].tolist(), row)]
            score = math.fsum(terms) + float(nb[n])
            tie |= abs(score) <= 1e-5 * (1 + sum(abs(t) for t in terms) + abs(float(nb[n])))
            n = 2 * n + 2 if score >= 0 else 2 * n + 1
        leaf = n - (2**model.depth - 1)

        def mlp(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> list[float]:
            h = [act(math.fsum([row[i] * float(w1[i, c]) for i in range(len(row))]) + float(b1[c]))
                 for c in range(w1.shape[1])]
            return [math.fsum([h[c] * float(w2[c, o]) for c in range(len(h))]) + float(b2[o])
                    for o in range(w2.shape[1])]

        y = mlp(model.w1[leaf], model.b1[leaf], model.w2[leaf], model.b2[leaf])
        if model.master is not None:
            s = 1 / (1 + math.exp(-float(F32(model.master.k))))
            m = mlp(model.master.w1, model.master.b1, model.master.w2, model.master.b2)
            y = [s * a + (1 - s) * b for a, b in zip(y, m)]
        leaves.append(leaf)
        outs.append(y)
        ties.append(tie)
    return leaves, outs, ties


@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid"])
def test_vectorised_evaluation_matches_per_record_loop(activation: str) -> None:
    rng = np.random.default_rng(11)
    depth, width_in, width_out, hidden, master_width = 4, 6, 3, 3, 2
    leaves = 1 << depth
    model = make_model(
        depth=depth,
        node_weights=rng.normal(size=(leaves - 1, width_in)),
        node_biases=rng.normal(size=leaves - 1) * 0.1,
        w1=rng.normal(size=(leaves, width_in, hidden)),
        b1=rng.normal(size=(leaves, hidden)),
        w2=rng.normal(size=(leaves, hidden, width_out)),
        b2=rng.normal(size=(leaves, width_out)),
        activation=activation,
        master=MasterLeaf(
            w1=rng.normal(size=(width_in, master_width)).astype(F32),
            b1=rng.normal(size=master_width).astype(F32),
            w2=rng.normal(size=(master_width, width_out)).astype(F32),
            b2=rng.normal(size=width_out).astype(F32),
            k=float(F32(-0.7)),
        ),
        prep=([0.5], [0.25]),
    )
    raw = rng.normal(size=(300, width_in)) * 2
    result = evaluate(model, raw)
    x = raw * 0.5 + 0.25
    exp_leaves, exp_out, exp_ties = naive_evaluate(model, x)
    assert len(set(exp_leaves)) > leaves // 2  # the batch really spans many leaf groups
    # Leaves and near-tie flags exactly: a flip would need a score within ~1e-15 of 0 or of its
    # bound, which these fixed-seed records do not have, and both sides are machine-independent
    # (fsum is exactly rounded; the reference adds in a fixed order). Outputs differ by the sum
    # order (fsum vs left to right) and by libm vs numpy transcendentals: tolerance 1e-12.
    np.testing.assert_array_equal(result.leaves, exp_leaves)
    np.testing.assert_allclose(result.outputs, exp_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(result.near_tie, exp_ties)
    np.testing.assert_array_equal(result.argmax, np.argmax(np.array(exp_out), axis=1))


def test_rejects_wrong_input_shape_and_unknown_activation() -> None:
    model = depth1_model()
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        evaluate(model, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        evaluate(model, np.zeros(2))
    model.activation = "swish"
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        evaluate(model, np.zeros((1, 2)))


# --------------------------------------------------------------------------- reproducible sums


def left_to_right(terms: list[float]) -> float:
    """Plain Python floats, one correctly rounded add after another, starting from 0.0."""
    return functools.reduce(lambda total, term: total + term, terms, 0.0)


def test_dot_rows_and_matmul_add_left_to_right() -> None:
    """Exact comparison, portable: both sides are the same sequence of IEEE float64 operations."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(40, 50)) * np.exp(rng.normal(size=(40, 50)) * 8)  # wide exponent range
    b = rng.normal(size=(40, 50))
    expected = [left_to_right([x * y for x, y in zip(ra, rb)]) for ra, rb in zip(a.tolist(), b.tolist())]
    assert dot_rows(a, b).tolist() == expected
    w = rng.normal(size=(50, 7))
    expected_mm = [[left_to_right([x * w[k, c] for k, x in enumerate(row)]) for c in range(7)] for row in a.tolist()]
    assert matmul(a, w).tolist() == expected_mm
    # The order is observable: left to right, 1 + 1e16 rounds back to 1e16 and the 1 is lost;
    # an exactly rounded sum (math.fsum) keeps it.
    terms = np.array([[1.0, 1e16, -1e16]])
    assert dot_rows(terms, np.ones((1, 3))).tolist() == [0.0] and math.fsum(terms[0]) == 1.0
    with pytest.raises(ValueError, match="cannot multiply"):
        matmul(np.zeros((2, 3)), np.zeros((4, 1)))


def test_near_tie_bound_adds_left_to_right() -> None:
    rng = np.random.default_rng(4)
    w, x, b = rng.normal(size=(30, 9)), rng.normal(size=(30, 9)), rng.normal(size=30)
    expected = [1e-5 * (1.0 + left_to_right([abs(p * q) for p, q in zip(rw, rx)]) + abs(rb))
                for rw, rx, rb in zip(w.tolist(), x.tolist(), b.tolist())]
    assert near_tie_bound(w, b, x).tolist() == expected


def test_outputs_agree_is_relative_to_one_plus_the_magnitude() -> None:
    b = np.array([0.0, 1.0, -1e6, 1e-20, np.nan, np.inf, -np.inf, 5.0])
    a = b + np.array([0.9e-9, 1.9e-9, 0.99e-3, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert outputs_agree(a, b).tolist() == [True] * 8
    assert outputs_agree(b + np.array([1.1e-9, 2.1e-9, 1.01e-3, 1.1e-9, 0, 0, 0, 0]), b).tolist() == \
        [False, False, False, False, True, True, True, True]
    assert not outputs_agree(np.array([np.nan, -np.inf, np.inf, 1.0]), np.array([0.0, np.inf, 1.0, np.nan])).any()
    with pytest.raises(ValueError, match="shapes differ"):
        outputs_agree(np.zeros(2), np.zeros(3))


# The evaluation of every golden model in a child process (stdin: names and inputs as JSON;
# stdout: everything evaluate returns, floats by repr so the parent gets the exact bits).
EVALUATE_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from pyfff.format import read_model
from pyfff.reference import evaluate
out = {}
for name, model, inputs in json.load(sys.stdin):
    r = evaluate(read_model(model), np.array(inputs, dtype=np.float64))
    out[name] = {k: getattr(r, k).tolist() for k in
                 ("outputs", "leaves", "argmax", "near_tie", "scores", "tie_bounds", "nodes", "inputs")}
print(json.dumps(out))
"""


def simd_features() -> list[str]:
    """The CPU features numpy dispatches kernels for on this machine (numpy 1.x and 2.x)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as umath  # type: ignore[no-redef]
    return [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]


def test_evaluate_is_reproducible_without_numpys_simd_kernels() -> None:
    """Another machine, simulated: a child with NPY_DISABLE_CPU_FEATURES naming every SIMD
    extension numpy dispatches to here (AVX-512, AVX2, ... on x86) runs numpy's baseline
    kernels, as an older CPU would. Scores, tie bounds, inputs, nodes, leaves, near-tie flags and
    argmax must be bit-identical; outputs (exp and tanh from other kernels) within MACHINE_RTOL."""
    features = simd_features()
    if not features:
        disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES")
        pytest.skip(f"numpy dispatches no SIMD kernels here (none on this CPU, or NPY_DISABLE_CPU_FEATURES={disabled!r} "
                    "disabled them): no other kernel to compare with")
    jobs = []
    for path in golden_files():
        golden = json.loads(path.read_text())
        jobs.append([path.stem, str(REPO / "fixtures" / golden["model"]), golden["inputs"]])
    runs = []
    for disabled in ("", " ".join(features)):
        env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
        if disabled:
            env["NPY_DISABLE_CPU_FEATURES"] = disabled
        proc = subprocess.run([sys.executable, "-c", EVALUATE_CHILD, str(REPO / "tools")], input=json.dumps(jobs),
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    native, baseline = runs
    differing = 0
    for name in native:
        for key in ("leaves", "argmax", "near_tie", "scores", "tie_bounds", "nodes", "inputs"):
            assert native[name][key] == baseline[name][key], f"{name}: {key} depends on numpy's SIMD kernels"
        a, b = np.array(baseline[name]["outputs"]), np.array(native[name]["outputs"])
        assert outputs_agree(a, b).all(), f"{name}: outputs beyond MACHINE_RTOL without {features}"
        differing += int((a != b).sum())
    print(f"\nwithout {features}: {differing} output values differ in their last bits, within MACHINE_RTOL")


# --------------------------------------------------------------------------- golden data

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "golden"


def split_golden_text(text: str) -> tuple[list[str], list[str]]:
    """A golden file's lines outside the ``"outputs"`` block, and the lines inside it."""
    lines = text.splitlines()
    start = lines.index(' "outputs": [')
    end = lines.index(" ],", start)
    return lines[: start + 1] + lines[end:], lines[start + 1 : end]


def test_make_golden_reproduces_the_committed_files(tmp_path: Path) -> None:
    """Regenerate into a temporary directory and compare with fixtures/golden: the file set and
    the model files (bytes), and every line of every JSON file outside "outputs" (model, inputs,
    leaves, argmax, near-tie flags: the reference computes these the same way everywhere),
    exactly; the float outputs within MACHINE_RTOL (their last bits follow the machine's exp
    and tanh)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "fixtures" / "make_golden.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(GOLDEN) for p in GOLDEN.rglob("*") if p.is_file() and p.suffix != ".md")
    assert fresh == committed, "fixtures/golden is stale: run python3 fixtures/make_golden.py"
    assert any(rel.suffix == ".fff" for rel in fresh) and any(rel.suffix == ".json" for rel in fresh)
    for rel in fresh:
        if rel.suffix != ".json":
            assert (tmp_path / rel).read_bytes() == (GOLDEN / rel).read_bytes(), f"{rel} differs: re-run make_golden"
            continue
        fresh_text, committed_text = (tmp_path / rel).read_text(), (GOLDEN / rel).read_text()
        fresh_rest, fresh_rows = split_golden_text(fresh_text)
        committed_rest, committed_rows = split_golden_text(committed_text)
        assert fresh_rest == committed_rest, f"{rel} differs outside its outputs: re-run make_golden"
        assert len(fresh_rows) == len(committed_rows), rel
        a, b = np.array(json.loads(fresh_text)["outputs"]), np.array(json.loads(committed_text)["outputs"])
        bad = np.argwhere(~outputs_agree(a, b))
        assert not len(bad), f"{rel}: outputs beyond MACHINE_RTOL at {bad[:5].tolist()}: re-run make_golden"


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


def test_golden_set_covers_conformance_and_extras_within_budget() -> None:
    manifest = json.loads((REPO / "fixtures/conformance/manifest.json").read_text())
    names = {p.stem for p in golden_files()}
    for entry in manifest["valid"]:
        assert f"conformance_{Path(entry['file']).stem}" in names
    for extra in ("mnist_like_d3_l2_m8", "depth0_l4", "depth7_small", "exact_zero_scores"):
        assert extra in names
    assert {f"act_{a.replace('-', '_')}_m4" for a in ACTIVATIONS} <= names
    total = sum(p.stat().st_size for p in GOLDEN.rglob("*") if p.is_file())
    assert total < 2_000_000, total


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.stem)
def test_golden_file_is_consistent_with_its_model(path: Path) -> None:
    """Independent of make_golden's code path: reload model and inputs from disk and re-evaluate."""
    golden = json.loads(path.read_text())
    model = read_model(REPO / "fixtures" / golden["model"])
    inputs = np.array(golden["inputs"], dtype=np.float64)
    assert 32 <= len(inputs) <= 64 and inputs.shape[1] == model.input_width
    assert (inputs.astype(F32).astype(np.float64) == inputs).all()  # float32-exact raw values
    result = evaluate(model, inputs, apply_preprocessing=golden["apply_preprocessing"])
    # Outputs within MACHINE_RTOL (exp and tanh differ in their last bits between machines);
    # leaves, argmax and near-tie flags exactly (computed from fixed-order sums, see the top).
    expected = np.array(golden["outputs"], dtype=np.float64)
    assert expected.shape == result.outputs.shape
    bad = np.argwhere(~outputs_agree(result.outputs, expected))
    assert not len(bad), f"outputs beyond MACHINE_RTOL at {bad[:5].tolist()}"
    # argmax is the same on every machine only if no two top outputs are within the tolerance:
    # make_golden's inputs have none (a regenerated file with such a record fails here).
    top_two = np.sort(expected, axis=1)[:, -2:] if expected.shape[1] > 1 else None
    if top_two is not None:
        assert (top_two[:, 1] - top_two[:, 0] > 2 * MACHINE_RTOL * (1 + np.abs(top_two[:, 1]))).all()
    assert golden["leaves"] == result.leaves.tolist()
    assert golden["argmax"] == result.argmax.tolist()
    assert golden["near_tie"] == result.near_tie.tolist()
    assert golden["near_tie_count"] == sum(golden["near_tie"])
    if model.depth:
        assert 1 <= sum(golden["near_tie"]) < len(inputs) // 2  # some near-ties, mostly clean records
        assert len(set(golden["leaves"])) >= 2


def test_golden_exact_zero_scores_route_right() -> None:
    golden = json.loads((GOLDEN / "exact_zero_scores.json").read_text())
    model = read_model(REPO / "fixtures" / golden["model"])
    result = evaluate(model, np.array(golden["inputs"]))
    assert golden["exact"] is True
    # Exact zeros: dyadic weights times inputs on a 1/8 grid, exact in float64 in any order.
    assert result.scores[0].tolist() == [0.0, 0.0] and golden["leaves"][0] == 3  # all-right path
    for r in range(1, 9):
        assert result.scores[r, 0] == 0.0 and result.nodes[r, 1] == 2  # exact zero at the root: right
