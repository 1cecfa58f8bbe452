"""Tests of the reference trainer (pyfff.trainer, tools/train) and its data loading (pyfff.digits).

The loss terms are checked against values worked out by hand on 2- and 4-leaf trees; hard descent
on a hand-built tree, including a score of exactly 0 (which goes right, FORMAT.md §14.1); and a
short end-to-end run checks that the exported file reproduces the trainer's accuracies. Tests
that need torch skip, saying so, where it is not importable (CI does not install it).
"""

from __future__ import annotations

import gzip
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from pyfff.digits import Dataset, IdxError, Split, load_idx_dataset, load_idx_pair, preprocess

try:
    import torch
except ImportError:  # CI has no torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not importable: skipping trainer test")


def _write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """An IDX file of unsigned bytes: magic 0x0000 08 ndim, big-endian dims, data."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def _toy_dataset(n: int = 240, seed: int = 0) -> Dataset:
    """Four well-separated classes of 2x2 'images' with byte pixels, split 50/25/25."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 4, size=n)
    centres = np.array([[40, 40, 200, 200], [200, 200, 40, 40], [40, 200, 40, 200], [200, 40, 200, 40]])
    raw = np.clip(centres[labels] + rng.randint(-30, 31, size=(n, 4)), 0, 255).astype(np.uint8)
    a, b = n // 2, 3 * n // 4
    return Dataset("toy", Split(raw[:a], labels[:a]), Split(raw[a:b], labels[a:b]), Split(raw[b:], labels[b:]),
                   scale=float(np.float32(2 / 255)), offset=-1.0, labels=["a", "b", "c", "d"], description="toy")


# --------------------------------------------------------------------------- data loading (no torch)


def test_preprocess_digits_is_exact_in_float32() -> None:
    p = np.arange(17)
    x = preprocess(p, 0.125, -1.0)
    assert x.dtype == np.float32
    assert np.array_equal(x.astype(np.float64), p / 8.0 - 1.0)


def test_idx_pair_roundtrip_and_mismatch(tmp_path: Path) -> None:
    images = np.arange(5 * 3 * 2, dtype=np.uint8).reshape(5, 3, 2)
    _write_idx(tmp_path / "img", images, compress=True)
    _write_idx(tmp_path / "lab", np.array([0, 1, 2, 1, 0], dtype=np.uint8))
    split = load_idx_pair(tmp_path / "img", tmp_path / "lab")
    assert split.raw.shape == (5, 6) and np.array_equal(split.raw, images.reshape(5, 6))
    assert split.labels.tolist() == [0, 1, 2, 1, 0]
    _write_idx(tmp_path / "lab4", np.array([0, 1, 2, 1], dtype=np.uint8))
    with pytest.raises(IdxError, match="5 images but .* 4 labels"):
        load_idx_pair(tmp_path / "img", tmp_path / "lab4")


def test_idx_dataset_holds_out_a_fixed_validation_split(tmp_path: Path) -> None:
    images = np.random.RandomState(1).randint(0, 256, size=(12, 2, 2)).astype(np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 3
    _write_idx(tmp_path / "ti", images)
    _write_idx(tmp_path / "tl", labels)
    a = load_idx_dataset(tmp_path / "ti", tmp_path / "tl", tmp_path / "ti", tmp_path / "tl")
    b = load_idx_dataset(tmp_path / "ti", tmp_path / "tl", tmp_path / "ti", tmp_path / "tl")
    assert (len(a.train), len(a.val), len(a.test)) == (10, 2, 12)
    assert np.array_equal(a.val.raw, b.val.raw)
    together = np.concatenate([a.train.raw, a.val.raw])
    assert sorted(map(bytes, together)) == sorted(map(bytes, images.reshape(12, 4)))
    assert a.labels == ["0", "1", "2"]


# --------------------------------------------------------------------------- loss terms


@needs_torch
def test_hardening_loss_two_leaf_tree() -> None:
    from pyfff.trainer import hardening_loss

    # One node, two records deciding 0.5 and 0.8: H(0.5) = ln 2, H(0.8) = -(0.8 ln 0.8 + 0.2 ln 0.2).
    d = torch.tensor([[0.5], [0.8]], dtype=torch.float64)
    h08 = -(0.8 * math.log(0.8) + 0.2 * math.log(0.2))
    assert h08 == pytest.approx(0.5004024235)
    assert hardening_loss(d, 1.0).item() == pytest.approx((math.log(2) + h08) / 2, rel=1e-12)
    assert hardening_loss(d, 2.0).item() == pytest.approx(math.log(2) + h08, rel=1e-12)
    # Hard decisions cost (almost) nothing: clamped at 1e-6, entropy ~1.5e-5.
    assert hardening_loss(torch.tensor([[0.0], [1.0]], dtype=torch.float64), 1.0).item() < 2e-5


@needs_torch
def test_load_balancing_loss_two_leaf_tree() -> None:
    from pyfff.trainer import leaf_probabilities, load_balancing_loss

    # Right-child probabilities of 4 records; hard descent: [right, right, left, right].
    d = torch.tensor([[0.9], [0.8], [0.3], [0.6]], dtype=torch.float64, requires_grad=True)
    probs = leaf_probabilities(d, 1)
    assert torch.allclose(probs, torch.tensor([[0.1, 0.9], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]], dtype=torch.float64))
    hard = torch.tensor([1, 1, 0, 1])
    # f = (1/4, 3/4), P = (0.35, 0.65): 1 * 2 * (0.25 * 0.35 + 0.75 * 0.65) = 1.15.
    loss = load_balancing_loss(probs, hard, 1.0)
    assert loss.item() == pytest.approx(1.15, rel=1e-12)
    assert load_balancing_loss(probs, hard, 0.5).item() == pytest.approx(0.575, rel=1e-12)
    # f carries no gradient: dLoss/dP_i = alpha * L * f_i, so dLoss/dd_r = 2 * (f_1 - f_0) / 4 = 0.25.
    loss.backward()
    assert torch.allclose(d.grad, torch.full((4, 1), 0.25, dtype=torch.float64))
    # A perfectly balanced router costs exactly alpha.
    even = leaf_probabilities(torch.tensor([[0.5], [0.5]], dtype=torch.float64), 1)
    assert load_balancing_loss(even, torch.tensor([0, 1]), 3.0).item() == pytest.approx(3.0, rel=1e-12)


@needs_torch
def test_leaf_probabilities_heap_order() -> None:
    from pyfff.trainer import leaf_probabilities

    # Depth 2, node decisions (right-child probability) 0.7 at the root, 0.2 at node 1, 0.9 at node 2.
    probs = leaf_probabilities(torch.tensor([[0.7, 0.2, 0.9]], dtype=torch.float64), 2)
    assert torch.allclose(probs, torch.tensor([[0.3 * 0.8, 0.3 * 0.2, 0.7 * 0.1, 0.7 * 0.9]], dtype=torch.float64))
    # 0/1 decisions give the one-hot of the hard leaf: right, then node 2 left -> leaf 2.
    assert leaf_probabilities(torch.tensor([[1.0, 1.0, 0.0]]), 2).tolist() == [[0.0, 0.0, 1.0, 0.0]]


@needs_torch
def test_master_mixing() -> None:
    from pyfff.trainer import mix_master

    leaf, master = torch.tensor([4.0, -2.0]), torch.tensor([0.0, 2.0])
    assert mix_master(leaf, master, torch.tensor(0.0)).tolist() == [2.0, 0.0]
    out = mix_master(leaf.double(), master.double(), torch.tensor(math.log(3.0), dtype=torch.float64))
    assert torch.allclose(out, torch.tensor([3.0, -1.0], dtype=torch.float64))  # s = 0.75


# --------------------------------------------------------------------------- the module


def _hand_built(master: int = 0) -> "torch.nn.Module":
    """Depth 2 over 2 inputs: root w = (1, 1); node 1 w = (1, 0); node 2 w = (0, 1), b = -0.5.

    Leaf j outputs the one-hot of j in 4 classes (w1 = 0, b1 = 1, w2 = one-hot row), so the
    prediction names the leaf.
    """
    from pyfff.trainer import FFFModule

    m = FFFModule(2, 1, 4, 2, master_width=master)
    with torch.no_grad():
        m.node_weights.copy_(torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
        m.node_biases.copy_(torch.tensor([[0.0], [0.0], [-0.5]]))
        m.w1s.zero_()
        m.b1s.fill_(1.0)
        m.w2s.copy_(torch.eye(4).reshape(4, 1, 4))
        m.b2s.zero_()
    return m


HAND_X = [[1.0, -1.0], [-1.0, 0.5], [-2.0, -1.0], [1.0, 2.0], [2.0, 0.25], [0.5, -0.5]]
# root scores 0 (right), -0.5, -3, 3, 2.25, 0 (right); then node 2 scores -1.5, 1.5, -0.25, -1;
# node 1 scores -1 (left), -2 (left).
HAND_LEAVES = [2, 0, 0, 3, 2, 2]


@needs_torch
def test_hard_descent_hand_built_tree_score_zero_goes_right() -> None:
    from pyfff.trainer import hard_forward

    m = _hand_built()
    x = torch.tensor(HAND_X)
    scores, _ = m.decisions(x)
    assert scores[0, 0].item() == 0.0 and scores[5, 0].item() == 0.0
    assert m.hard_leaves(scores).tolist() == HAND_LEAVES
    assert m.eval_forward(x).argmax(1).tolist() == HAND_LEAVES
    assert m.training_forward(x)[3].tolist() == HAND_LEAVES
    r = hard_forward(m.state_dict(), np.array(HAND_X))
    assert r.leaves.tolist() == HAND_LEAVES and r.argmax.tolist() == HAND_LEAVES
    assert r.near_tie.tolist() == [True, False, False, False, False, True]  # the two zero scores


@needs_torch
def test_hard_forward_mixes_master_leaf() -> None:
    from pyfff.trainer import hard_forward

    m = _hand_built(master=2)
    with torch.no_grad():
        m.magic_w1.zero_()
        m.magic_b1.copy_(torch.tensor([[1.0, -1.0]]))  # relu -> (1, 0)
        m.magic_w2.copy_(torch.tensor([[[0.0, 0.0, 0.0, 8.0], [5.0, 5.0, 5.0, 5.0]]]))
        m.magic_b2.zero_()
        m.k.fill_(math.log(3.0))  # s = 0.75: out = 0.75 * onehot(leaf) + 0.25 * (0, 0, 0, 8)
    r = hard_forward(m.state_dict(), np.array(HAND_X[:2]))
    assert np.allclose(r.outputs, [[0, 0, 0.75, 2.0], [0.75, 0, 0, 2.0]], rtol=0, atol=1e-7)
    assert torch.allclose(m.eval_forward(torch.tensor(HAND_X[:2])), torch.tensor(r.outputs, dtype=torch.float32))


@needs_torch
def test_state_dict_matches_the_authors_layout() -> None:
    from pyfff.trainer import FFFModule

    I, l, O, d, M = 64, 2, 10, 3, 8
    sd = FFFModule(I, l, O, d, master_width=M).state_dict()
    expected = {
        "depth": (), "node_weights": (7, I), "node_biases": (7, 1), "w1s": (8, I, l), "b1s": (8, l),
        "w2s": (8, l, O), "b2s": (8, O), "magic_w1": (1, I, M), "magic_b1": (1, M), "magic_w2": (1, M, O),
        "magic_b2": (1, O), "k": (), "node_usage": (7,), "leaf_usage": (8,), "f": (8,),
    }
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert sd["depth"].dtype == torch.int64 and int(sd["depth"]) == 3
    assert all(v.dtype == torch.float32 for k, v in sd.items() if k != "depth")
    plain = FFFModule(I, l, O, d, master_width=0).state_dict()
    assert set(plain) == set(expected) - {"magic_w1", "magic_b1", "magic_w2", "magic_b2", "k"}


@needs_torch
def test_record_usage_counts() -> None:
    m = _hand_built()
    m.record_usage(torch.tensor(HAND_X))
    assert m.f.tolist() == [2, 0, 3, 1]
    assert m.node_usage.tolist() == [6, 2, 4]
    assert torch.allclose(m.leaf_usage.sum(), torch.tensor(6.0))


# --------------------------------------------------------------------------- training end to end


@needs_torch
def test_train_is_deterministic_and_export_reproduces_accuracy(tmp_path: Path) -> None:
    from pyfff.format import read_model
    from pyfff.reference import evaluate
    from pyfff.trainer import TrainConfig, export, train

    data = _toy_dataset()
    cfg = TrainConfig(depth=2, leaf_width=2, master_width=3, epochs_balance=6, epochs_harden=6, batch_size=16, seed=3, lr=0.03)
    a, b = train(data, cfg), train(data, cfg)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert a.accuracy["train"] > 0.9  # four separable blobs: a working trainer gets them
    _, fff = export(a, data, str(tmp_path / "toy"))
    model = read_model(fff)
    assert (model.depth, model.leaf_width, model.master.width) == (2, 2, 3)
    assert model.labels == ["a", "b", "c", "d"]
    meta = dict(model.metadata)
    for split_name, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        ref = evaluate(model, split.raw)
        assert int(np.sum(ref.argmax == split.labels)) == a.correct[split_name]
    assert json.loads(meta["training.f"]) == a.leaf_counts["train"]
    assert json.loads(meta["training.correct"])["test"] == [a.correct["test"], len(data.test)]


@needs_torch
def test_load_balancing_spreads_the_leaves() -> None:
    """On the toy set, alpha = 1 keeps every leaf of a depth-2 tree in use."""
    from pyfff.trainer import TrainConfig, train, usage_metrics

    data = _toy_dataset()
    cfg = TrainConfig(depth=2, leaf_width=1, master_width=0, load_balance=1.0,
                      epochs_balance=15, epochs_harden=0, batch_size=16, seed=0)
    r = train(data, cfg)
    assert usage_metrics(np.array(r.leaf_counts["train"]))["unused_leaves"] == 0


@needs_torch
def test_usage_metrics() -> None:
    from pyfff.trainer import usage_metrics

    assert usage_metrics(np.array([5, 5, 5, 5])) == {"usage_entropy": pytest.approx(1.0), "unused_leaves": 0}
    assert usage_metrics(np.array([9, 0, 0, 0])) == {"usage_entropy": 0.0, "unused_leaves": 3}
    half = usage_metrics(np.array([3, 3, 0, 0]))
    assert half["usage_entropy"] == pytest.approx(0.5) and half["unused_leaves"] == 2


@needs_torch
def test_cli_idx_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pyfff.format import read_model
    from pyfff.trainer import main

    data = _toy_dataset(n=160)
    train_raw = np.concatenate([data.train.raw, data.val.raw]).reshape(-1, 2, 2)
    train_lab = np.concatenate([data.train.labels, data.val.labels]).astype(np.uint8)
    _write_idx(tmp_path / "tri", train_raw, compress=True)
    _write_idx(tmp_path / "trl", train_lab)
    _write_idx(tmp_path / "tei", data.test.raw.reshape(-1, 2, 2))
    _write_idx(tmp_path / "tel", data.test.labels.astype(np.uint8))
    out = tmp_path / "m"
    status = main(["--dataset", "idx", "--train-images", str(tmp_path / "tri"), "--train-labels", str(tmp_path / "trl"),
                   "--test-images", str(tmp_path / "tei"), "--test-labels", str(tmp_path / "tel"),
                   "--depth", "1", "--leaf-width", "2", "--no-master-leaf", "--no-load-balance",
                   "--epochs-balance", "3", "--epochs-harden", "3", "--batch-size", "16", "--quiet",
                   "--write-test-split", "-o", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "verified: pyfff.reference" in text
    model = read_model(str(out) + ".fff")
    assert model.master is None and model.depth == 1 and model.input_width == 4
    assert float(model.prep_scale[0]) == float(np.float32(2 / 255)) and float(model.prep_offset[0]) == -1.0
    assert (tmp_path / "m.pt").stat().st_size > 0
    lines = (tmp_path / "m-test.csv").read_text().splitlines()
    assert len(lines) == len(data.test) and lines[0] == ",".join(str(v) for v in data.test.raw[0])


@needs_torch
def test_cli_rejects_idx_without_files(capsys: pytest.CaptureFixture[str]) -> None:
    from pyfff.trainer import main

    with pytest.raises(SystemExit) as err:
        main(["--dataset", "idx", "-o", "/nonexistent/x"])
    assert err.value.code == 2
    assert "needs --train-images" in capsys.readouterr().err
