"""Issue 12's acceptance of compact weights, through Benchmarks/scripts/compact_acceptance.py.

The file-size targets use a generated model and always run. The agreement and accuracy targets
need the paper's checkpoints and MNIST in ../shared ($FFF_SHARED_DIR) and skip, saying so,
without them. Agreement is counted in whole records of the float64 reference (reproducible bit
for bit, see pyfff/reference.py), so the comparisons with the targets are exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from conftest import REPO_ROOT, load_script

acceptance = load_script("compact_acceptance", REPO_ROOT / "Benchmarks" / "scripts" / "compact_acceptance.py")


def test_best_shape_file_sizes_meet_the_targets() -> None:
    rows = acceptance.measure_sizes()
    ratio = {(tails, w, n): size / size32 for tails, w, n, size, size32 in rows}
    assert ratio[("student-t", "float32", "float32")] == 1.0
    assert ratio[("student-t", "float16", "float16")] <= 0.53
    assert ratio[("student-t", "int8-row", "float32")] <= 0.36
    # the same holds for Gaussian weights of the same scales
    assert ratio[("gaussian", "float16", "float16")] <= 0.53
    assert ratio[("gaussian", "int8-row", "float32")] <= 0.36
    # and the order of the types is the expected one
    for tails in ("student-t", "gaussian"):
        assert (ratio[(tails, "int8-row", "int8-row")] < ratio[(tails, "int8-row", "float32")]
                < ratio[(tails, "bfloat16", "bfloat16")] < ratio[(tails, "float16", "float16")]
                < ratio[(tails, "float16", "float32")] < 1)
    assert acceptance.size_targets_met(rows)


def test_best_shape_model_is_the_papers_best_shape_and_deterministic() -> None:
    model = acceptance.best_shape_model()
    assert (model.input_width, model.output_width, model.depth, model.leaf_width, model.master.width) == (
        784, 10, 4, 8, 8)
    again = acceptance.best_shape_model()
    assert (model.w1 == again.w1).all() and (model.node_weights == again.node_weights).all()


def test_paper_checkpoints_agree_on_mnist(require_shared: Callable[[str], Path]) -> None:
    require_shared("data/paper-checkpoints")
    require_shared("data/mnist/t10k-images-idx3-ubyte.gz")
    shared = require_shared("data/mnist/t10k-labels-idx1-ubyte.gz").parents[2]
    rows = acceptance.measure_agreement(shared)
    assert {(r.checkpoint, r.dtype) for r in rows} == {
        (c, d) for c in acceptance.CHECKPOINTS for d in ("float16", "bfloat16", "int8-row")}
    for r in rows:
        minimum, tolerance = acceptance.AGREEMENT_TARGETS[r.dtype]
        assert r.records == 10000
        assert r.accuracy_float32 == pytest.approx(r.published, abs=1e-9), r  # the float32 conversion
        assert r.agreement >= minimum, r
        assert abs(r.accuracy_compact - r.published) <= tolerance + 1e-9, r
        assert r.node_dtype == {"float16": "float16", "bfloat16": "bfloat16", "int8-row": "float32"}[r.dtype]
        assert r.size_compact < r.size_float32
        if r.dtype == "int8-row":
            assert r.leaf_agree == r.records  # float32 nodes: the routing is untouched
