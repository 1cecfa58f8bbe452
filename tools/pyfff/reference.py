"""Float64 reference evaluator of FORMAT.md §14: the yardstick every runtime is measured against.

Written from the spec alone, kept deliberately plain: preprocessing (§8), descent with NaN going
left (§14.1), leaf and master MLPs with PyTorch's activation definitions (§7.1), sigmoid(k)
mixing (§14.2), first-maximum argmax, and the near-tie test of §14.3 that tells a float32
runtime where it may legitimately pick the other child. Everything is float64, computed from the
file's parameters as decoded, so rounding here is far below the tolerance a float32 runtime is
held to. For compact weights (format 1.1) those are the decoded values ``pyfff.format`` returns:
float16 and bfloat16 widened exactly (float32 arrays), int8-row ``scale * q`` exactly (float64
arrays, which are used as they are, never rounded to float32); the near-tie bound of §14.3 is
computed from the same decoded node weights.

Reproducible across machines. numpy's reductions (``sum``, ``einsum``, ``@``) add in an order that
depends on the numpy version, the CPU's SIMD width and the BLAS library, so their last bits vary.
This module never uses them on floats: every dot product and matrix product is a fixed
left-to-right loop of elementwise multiplies and adds (:func:`dot_rows`, :func:`matmul`), and
IEEE 754 rounds each elementwise operation correctly, identically on every machine and numpy
version (no fused multiply-add: each is a separate ufunc call). So preprocessed inputs, node
scores, tie bounds, nodes, leaves and near-tie flags are bit-identical everywhere. The error of
such a sum of K terms is at most about K * 2**-53 * sum|terms| (under 1e-13 relative for
K = 784), far below what a float32 runtime is held to. Outputs also pass through exp, tanh and
erf, whose last bits depend on the library (numpy's SIMD kernels, libm): compare them across
machines with a tolerance (:data:`MACHINE_RTOL`), everything else exactly.

Works on any object with the fields of :class:`pyfff.format.Model` (duck-typed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "ACTIVATIONS", "MACHINE_RTOL", "NEAR_TIE_RTOL", "Result", "activation", "dot_rows", "evaluate", "matmul",
    "near_tie_bound", "outputs_agree",
]

# §14.3: a node score within this fraction of its magnitude scale may round to either side.
NEAR_TIE_RTOL = 1e-5
# Two runs of evaluate() on different machines give outputs a and b with
# |a - b| <= MACHINE_RTOL * (1 + |b|) per element. Where they can differ: exp, tanh and erf
# (numpy's SIMD kernels, e.g. SVML on AVX-512, or libm) are within a few ulps (about 1e-15
# relative) of the true value, and the output layer sums those activations weighted by W2, so an
# output moves by at most a few ulps of sum|h * W2| (below 1e-13 for the committed models, where
# that sum is at most a few hundred times 1 + |output|). 1e-9 leaves a margin of 10^4 over that
# and still sits far below float32 rounding (6e-8), so a reference that changed its formulas or
# lost float64 precision fails a comparison made with it.
MACHINE_RTOL = 1e-9
# Records per block when gathering node weights, bounding memory at about CHUNK * I * 8 bytes.
_CHUNK = 2048

_erf = np.frompyfunc(math.erf, 1, 1)  # math.erf is correctly rounded enough; no approximation


def dot_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_k a[..., k] * b[..., k]`` in float64, added left to right (k = 0, 1, ...).

    Elementwise products, then one elementwise add per k: the same bits on every machine, unlike
    ``(a * b).sum(-1)``, ``einsum`` or ``@`` (module docstring). ``a`` and ``b`` broadcast.
    """
    products = np.multiply(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    terms = np.moveaxis(products, -1, 0)  # terms[k]: one term of every sum
    total = np.zeros(terms.shape[1:], dtype=np.float64)
    for term in terms:
        total += term
    return total


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` for x of shape (n, K) and w of shape (K, m), each sum added left to right in k."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"cannot multiply {x.shape} by {w.shape}")
    total = np.zeros((x.shape[0], w.shape[1]), dtype=np.float64)
    columns = np.ascontiguousarray(x.T)
    for k in range(w.shape[0]):
        total += columns[k][:, None] * w[k]
    return total


def outputs_agree(actual: np.ndarray, expected: np.ndarray, rtol: float = MACHINE_RTOL) -> np.ndarray:
    """Per element: ``|actual - expected| <= rtol * (1 + |expected|)``, or both the same non-finite value.

    The comparison for float outputs of :func:`evaluate` made on different machines (see
    :data:`MACHINE_RTOL`); NaN agrees with NaN and an infinity with the same infinity.
    """
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    finite = np.isfinite(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= rtol * (1.0 + np.abs(b))
    same_special = (np.isnan(a) & np.isnan(b)) | (~np.isnan(b) & (a == b))
    return np.where(finite, close & np.isfinite(a), same_special)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), evaluated without overflow: for x < 0 as exp(x) / (1 + exp(x))."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    neg = ~pos  # includes NaN, which stays NaN either way
    e = np.exp(x[neg])
    out[neg] = e / (1.0 + e)
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))


# §7.1, by the names pyfff.format.Model.activation uses. relu keeps NaN (np.maximum propagates it).
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": _gelu,
    "gelu-tanh": _gelu_tanh,
    "silu": lambda x: x * _sigmoid(x),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


def activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The float64 activation function called ``name`` in §7.1; ValueError for unknown names."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}") from None


@dataclass
class Result:
    """Everything a runtime's answer is compared against, one row per record.

    ``scores[r, t]`` is the score of the node visited at depth ``t`` on record ``r``'s path and
    ``tie_bounds[r, t]`` its near-tie threshold ``1e-5 * (1 + sum_i |w_i x_i| + |b|)``; both have
    ``depth`` columns (none for depth 0). ``near_tie[r]`` is true when any visited node's
    ``|score| <= bound``. ``nodes[r, t]`` is the heap index of that node.
    """

    outputs: np.ndarray  # (n, O) float64
    leaves: np.ndarray  # (n,) int64
    argmax: np.ndarray  # (n,) int64, smallest index of the greatest output
    near_tie: np.ndarray  # (n,) bool
    scores: np.ndarray  # (n, depth) float64
    tie_bounds: np.ndarray  # (n, depth) float64
    nodes: np.ndarray  # (n, depth) int64
    inputs: np.ndarray  # (n, I) float64, after preprocessing


def near_tie_bound(weights: np.ndarray, bias: np.ndarray | float, x: np.ndarray) -> np.ndarray:
    """§14.3 near-tie threshold for rows of node weights against rows of x (broadcasting)."""
    w = np.asarray(weights, dtype=np.float64)
    magnitude = dot_rows(np.abs(w), np.abs(np.asarray(x, dtype=np.float64)))  # sum_i |w_i x_i|, fixed order
    return NEAR_TIE_RTOL * (1.0 + magnitude + np.abs(np.asarray(bias, dtype=np.float64)))


def _preprocess(model: Any, raw: np.ndarray, apply_preprocessing: bool) -> np.ndarray:
    """§8 in float64: ``raw * scale + offset`` with the float32 parameters widened exactly."""
    x = np.array(raw, dtype=np.float64)
    scale, offset = getattr(model, "prep_scale", None), getattr(model, "prep_offset", None)
    if not apply_preprocessing or (scale is None and offset is None):
        return x
    scale = np.ones(1) if scale is None else np.asarray(scale, dtype=np.float32).astype(np.float64)
    offset = np.zeros(1) if offset is None else np.asarray(offset, dtype=np.float32).astype(np.float64)
    return x * scale.reshape(-1) + offset.reshape(-1)


def _mlp(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray, act: Callable) -> np.ndarray:
    """§14.2 ``mlp``: act(x @ W1 + B1) @ W2 + B2, all in float64, sums in a fixed order."""
    f64 = np.float64
    h = act(matmul(x, w1) + np.asarray(b1, f64))
    return matmul(h, w2) + np.asarray(b2, f64)


def _descend(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """§14.1 for every record: final leaf, and per level the node, its score and its tie bound."""
    n, depth = x.shape[0], int(model.depth)
    weights = np.asarray(model.node_weights, dtype=np.float64).reshape(-1, x.shape[1]) if depth else None
    biases = np.asarray(model.node_biases, dtype=np.float64).reshape(-1) if depth else None
    node = np.zeros(n, dtype=np.int64)
    nodes = np.zeros((n, depth), dtype=np.int64)
    scores = np.zeros((n, depth), dtype=np.float64)
    bounds = np.zeros((n, depth), dtype=np.float64)
    for t in range(depth):
        nodes[:, t] = node
        for start in range(0, n, _CHUNK):
            rows = slice(start, start + _CHUNK)
            w, b, xs = weights[node[rows]], biases[node[rows]], x[rows]
            scores[rows, t] = dot_rows(w, xs) + b
            bounds[rows, t] = near_tie_bound(w, b, xs)
        # `>= 0` is false for NaN, so a NaN score goes left (2n + 1), as §14.1 requires.
        node = np.where(scores[:, t] >= 0, 2 * node + 2, 2 * node + 1)
    leaves = node - ((1 << depth) - 1)
    return leaves, nodes, scores, bounds


def evaluate(model: Any, raw: np.ndarray, *, apply_preprocessing: bool = True) -> Result:
    """Run the §14 inference in float64 on ``raw`` of shape (n, I); records are rows.

    ``apply_preprocessing=False`` feeds ``raw`` to the network as it is, ignoring ``PREP``
    (for inputs that are already in the model's domain).
    """
    raw = np.asarray(raw)
    width = int(model.input_width)
    if raw.ndim != 2 or raw.shape[1] != width:
        raise ValueError(f"inputs must have shape (n, {width}), got {raw.shape}")
    act = activation(model.activation)
    x = _preprocess(model, raw, apply_preprocessing)
    leaves, nodes, scores, bounds = _descend(model, x)

    n, out_width = x.shape[0], int(model.output_width)
    outputs = np.zeros((n, out_width), dtype=np.float64)
    for leaf in np.unique(leaves):
        rows = leaves == leaf
        outputs[rows] = _mlp(x[rows], model.w1[leaf], model.b1[leaf], model.w2[leaf], model.b2[leaf], act)

    master = getattr(model, "master", None)
    if master is not None:
        k = float(np.float32(master.k))
        # One scalar: libm's exp (math), the same whatever numpy's SIMD kernels do with arrays.
        s = 1.0 / (1.0 + math.exp(-k)) if k >= 0 else math.exp(k) / (1.0 + math.exp(k))
        m = _mlp(x, master.w1, master.b1, master.w2, master.b2, act)
        outputs = s * outputs + (1.0 - s) * m

    with np.errstate(invalid="ignore"):
        near_tie = (np.abs(scores) <= bounds).any(axis=1)
    return Result(
        outputs=outputs,
        leaves=leaves.astype(np.int64),
        argmax=np.argmax(outputs, axis=1).astype(np.int64) if n else np.zeros(0, np.int64),
        near_tie=near_tie,
        scores=scores,
        tie_bounds=bounds,
        nodes=nodes,
        inputs=x,
    )
