#!/usr/bin/env python3
"""Generate golden inference data for the runtime tests: fixtures/golden/*.json (+ models/).

For every valid file of fixtures/conformance/manifest.json, and for a few extra models generated
here into fixtures/golden/models/, this writes the float64 reference answers (pyfff.reference,
FORMAT.md §14) for 32 ... 64 deterministic input records:

    {"model": "<path relative to fixtures/>", "apply_preprocessing": true,
     "description": "...", "exact": false,
     "inputs": [[...], ...], "outputs": [[...], ...], "leaves": [...], "argmax": [...],
     "near_tie": [...]}

Inputs are raw records (before PREP), every value exactly representable as float32 so a float32
runtime reads the same numbers the reference used. Random inputs are continuous, so an exact zero
node score cannot happen by chance; a few records per model are instead projected onto a node's
hyperplane to produce near-ties (§14.3), which runtimes must excuse rather than match. Where a
golden file says ``"exact": true`` every node score is exact in float32 (dyadic weights and
inputs), so even its zero scores must route right (``score >= 0``) in every implementation.
Floats are written with repr(), so float64 values round-trip.

Deterministic: fixed seeds (derived from each file's name) and zstd level 19, and the reference
sums in a fixed order, so re-running reproduces the model files and every field of the JSON files
exactly, except the last bits of "outputs" on another machine (numpy's SIMD exp and tanh, libm):
tools/tests/test_reference.py compares those within pyfff.reference.MACHINE_RTOL. Usage: python3 tools/make_golden.py [OUT_DIR] (default
fixtures/golden; models always named golden/models/... in the JSON).
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyfff.format import MasterLeaf, Model, read_model, write_model  # noqa: E402
from pyfff.reference import dot_rows, evaluate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DEFAULT_OUT = FIXTURES / "golden"
PRODUCER = "tools/make_golden.py"
F32 = np.float32
PIXEL_SCALE = F32(2 / 255)


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


# --------------------------------------------------------------------------- extra models


def _random_model(
    name: str, i: int, o: int, d: int, h: int, activation: str, *, m: int = 0,
    prep: str | None = None, labels: list[str] | None = None,
) -> Model:
    """Gaussian weights scaled by 1/sqrt(fan-in), like a trained net: scores straddle zero."""
    rng = np.random.default_rng(_seed(name))

    def t(scale: float, *shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * scale).astype(F32)

    leaves, nodes = 1 << d, (1 << d) - 1
    master = None
    if m:
        master = MasterLeaf(t(i**-0.5, i, m), t(0.1, m), t(m**-0.5, m, o), t(0.1, o), float(F32(rng.normal())))
    scale = offset = None
    if prep == "pixels":
        scale, offset = np.array([PIXEL_SCALE], F32), np.array([-1.0], F32)
    elif prep == "per-feature":
        scale = rng.uniform(0.25, 2.0, size=i).astype(F32)
        offset = rng.uniform(-1.0, 1.0, size=i).astype(F32)
    model = Model(
        i, o, d, h, activation, t(i**-0.5, nodes, i), t(0.1, nodes), t(i**-0.5, leaves, i, h),
        t(0.5, leaves, h), t(h**-0.5 * 2, leaves, h, o), t(0.1, leaves, o), master, scale, offset,
        labels, [("name", name), ("producer", PRODUCER)],
    )
    model.check()
    return model


def _exact_model(name: str) -> Model:
    """Dyadic weights (multiples of 1/4, small) and zero node biases: float32 scores are exact."""
    rng = np.random.default_rng(_seed(name))

    def t(*shape: int) -> np.ndarray:
        return (rng.integers(-8, 9, size=shape) / 4).astype(F32)

    i, o, d, h = 4, 3, 2, 2
    model = Model(
        i, o, d, h, "relu", t(3, i), np.zeros(3, F32), t(4, i, h), t(4, h), t(4, h, o), t(4, o),
        metadata=[("name", name), ("producer", PRODUCER)],
    )
    model.check()
    return model


# name -> (model factory, description)
EXTRA_MODELS: dict[str, tuple[Any, str]] = {
    "mnist_like_d3_l2_m8": (
        lambda n: _random_model(n, 784, 10, 3, 2, "relu", m=8, prep="pixels", labels=[str(c) for c in range(10)]),
        "784 -> 10, depth 3, leaf width 2, master width 8, relu, PREP 2/255 and -1 (raw pixels 0..255), labels",
    ),
    **{
        f"act_{a.replace('-', '_')}_m4": (
            (lambda n, a=a: _random_model(n, 16, 5, 2, 3, a, m=4, prep="per-feature" if a == "gelu" else None)),
            f"16 -> 5, depth 2, leaf width 3, master width 4, {a}"
            + (", per-feature PREP" if a == "gelu" else ""),
        )
        for a in ("identity", "relu", "gelu", "gelu-tanh", "silu", "sigmoid", "tanh")
    },
    "depth0_l4": (lambda n: _random_model(n, 8, 3, 0, 4, "relu"), "8 -> 3, depth 0 (one leaf), leaf width 4"),
    "depth7_small": (
        lambda n: _random_model(n, 6, 4, 7, 2, "silu"), "6 -> 4, depth 7 (127 nodes, 128 leaves), leaf width 2, silu"
    ),
    "exact_zero_scores": (
        _exact_model,
        "4 -> 3, depth 2, dyadic weights, zero node biases; records on a 1/8 grid, some with node "
        "scores exactly 0 (which go right, score >= 0)",
    ),
}


# --------------------------------------------------------------------------- inputs


def _to_raw(model: Model, x: np.ndarray) -> np.ndarray:
    """Invert PREP (where the scale is non-zero) to turn model-domain x into raw records."""
    if model.prep_scale is None:
        return x
    scale = model.prep_scale.astype(np.float64)
    offset = model.prep_offset.astype(np.float64)
    safe = np.where(scale == 0, 1.0, scale)
    return np.where(scale == 0, x, (x - offset) / safe)


def _is_pixel_model(model: Model) -> bool:
    return model.prep_scale is not None and model.prep_scale.size == 1 and model.prep_scale[0] == PIXEL_SCALE


def _near_tie_records(model: Model, rng: np.random.Generator, raw: np.ndarray, count: int) -> np.ndarray:
    """Records moved onto a visited node's hyperplane (root, then deeper nodes), in float32."""
    if model.depth == 0:
        return np.zeros((0, model.input_width))
    base = evaluate(model, raw)
    out = []
    for r in range(count):
        pick = int(rng.integers(len(raw)))
        x, node = base.inputs[pick].copy(), int(base.nodes[pick, r % model.depth])
        w = model.node_weights[node].astype(np.float64)
        # dot_rows, not `@`: BLAS's summation order varies by machine, and these records are
        # written as inputs, which regenerating must reproduce exactly.
        score = float(dot_rows(x, w)) + float(model.node_biases[node])
        x = x - score / float(dot_rows(w, w)) * w
        out.append(_to_raw(model, x))
    return np.array(out).astype(F32).astype(np.float64)


def make_inputs(name: str, model: Model, count: int) -> np.ndarray:
    """``count`` raw records: continuous random ones, plus near-ties (and exact zeros if exact)."""
    rng = np.random.default_rng(_seed(name) ^ 0x5EED)
    n_ties = min(4, model.depth * 2)
    n_random = count - n_ties
    if name == "exact_zero_scores":
        grid = rng.integers(-16, 17, size=(count, model.input_width)) / 8
        grid[0] = 0.0  # every score is 0 + bias 0 = 0 exactly: the all-right path
        w = model.node_weights[0].astype(np.float64)
        pairs = [(a, b) for a in range(model.input_width) for b in range(a + 1, model.input_width) if w[a] and w[b]]
        for r in range(1, 9):  # root score exactly 0: x orthogonal to the root's dyadic weights
            a, b = pairs[r % len(pairs)]
            grid[r] = 0.0
            grid[r, a], grid[r, b] = w[b] * r / 4, -w[a] * r / 4
        return grid
    if _is_pixel_model(model):
        raw = rng.integers(0, 256, size=(n_random, model.input_width)).astype(np.float64)
        raw[rng.random(raw.shape) < 0.6] = 0.0  # mostly background, like MNIST digits
    else:
        x = rng.normal(size=(n_random, model.input_width)) * 1.5
        raw = _to_raw(model, x)
    raw = raw.astype(F32).astype(np.float64)  # exactly what a float32 runtime reads
    ties = _near_tie_records(model, rng, raw, n_ties)
    return np.concatenate([raw, ties]) if len(ties) else raw


# --------------------------------------------------------------------------- output


def _row(values: Any) -> str:
    return json.dumps([float(v) for v in values])


def golden_text(model_ref: str, description: str, inputs: np.ndarray, model: Model, exact: bool) -> str:
    """The golden JSON, one record per line, floats as repr() (json's float formatting)."""
    result = evaluate(model, inputs)
    lines = [
        "{",
        f' "model": {json.dumps(model_ref)},',
        ' "apply_preprocessing": true,',
        f" \"description\": {json.dumps(description, ensure_ascii=False)},",
        f' "exact": {json.dumps(exact)},',
        f' "near_tie_count": {int(result.near_tie.sum())},',
        ' "inputs": [',
        ",\n".join("  " + _row(r) for r in inputs),
        " ],",
        ' "outputs": [',
        ",\n".join("  " + _row(r) for r in result.outputs),
        " ],",
        f' "leaves": {json.dumps(result.leaves.tolist())},',
        f' "argmax": {json.dumps(result.argmax.tolist())},',
        f' "near_tie": {json.dumps(result.near_tie.tolist())}',
        "}",
    ]
    return "\n".join(lines) + "\n"


def generate(out_dir: Path) -> list[Path]:
    """Write every golden file (and the extra models) under ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "models").mkdir(exist_ok=True)
    written: list[Path] = []
    manifest = json.loads((FIXTURES / "conformance" / "manifest.json").read_text())
    jobs: list[tuple[str, str, str, Model, bool]] = []
    for entry in manifest["valid"]:
        rel = f"conformance/{entry['file']}"
        stem = Path(entry["file"]).stem
        jobs.append((f"conformance_{stem}", rel, entry["description"], read_model(FIXTURES / rel), False))
    for name, (factory, description) in EXTRA_MODELS.items():
        model = factory(name)
        path = out_dir / "models" / f"{name}.fff"
        write_model(model, path)
        written.append(path)
        jobs.append((name, f"golden/models/{name}.fff", description, model, name == "exact_zero_scores"))
    for name, ref, description, model, exact in jobs:
        count = 32 if model.input_width > 64 else (64 if model.depth >= 6 else 48)
        inputs = make_inputs(name, model, count)
        path = out_dir / f"{name}.json"
        path.write_text(golden_text(ref, description, inputs, model, exact), encoding="utf-8")
        written.append(path)
    # Remove golden files of models that no longer exist (say, a conformance file was dropped).
    for stale in [*out_dir.glob("*.json"), *(out_dir / "models").glob("*.fff")]:
        if stale not in written:
            stale.unlink()
    return written


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    paths = generate(out_dir)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total} bytes, to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
