"""The package against the float64 reference evaluator (tools/pyfff/reference.py) on the demo
model and every golden model (fixtures/golden, compact weights included), with the tolerances of
spec §14.3: leaves equal except on near-ties (unless the golden file is `exact`), outputs within
`1e-4 (1 + max|ref|) + 1e-4 |ref|` where the leaf agrees, the class equal where the top two
reference outputs are not within twice that. Also: the description getters against pyfff's
reader, single records against batches (bitwise), preprocessed input, float64 and uint8 input,
and loading from bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fastfeedforward as fff
from fff_testing import FIXTURES, argmax_checkable, first_argmax, outputs_agree
from pyfff.format import read_model
from pyfff.reference import evaluate


def _cases() -> list[tuple[str, Path, np.ndarray, bool]]:
    demo = json.loads((FIXTURES / "demo" / "digits-test.expected.json").read_text())
    records = np.loadtxt(FIXTURES / "demo" / demo["records"], delimiter=",", dtype=np.float32, ndmin=2)
    cases = [("demo_digits", FIXTURES / "demo" / "digits.fff", records, False)]
    for file in sorted((FIXTURES / "golden").glob("*.json")):
        golden = json.loads(file.read_text())
        assert golden.get("apply_preprocessing", True), file
        cases.append((file.stem, FIXTURES / golden["model"], np.asarray(golden["inputs"], np.float32),
                      bool(golden.get("exact", False))))
    return cases


CASES = _cases()
IDS = [case[0] for case in CASES]


def check_against_reference(name: str, model: fff.Model, reference_model, records: np.ndarray, exact: bool,
                            raw: bool = True) -> int:
    """Every answer of `model` on `records` against the reference; returns the records excused
    (a near-tie where the runtime took the other child)."""
    reference = evaluate(reference_model, records, apply_preprocessing=raw)
    outputs = model.predict(records, raw=raw)
    leaves = model.leaf(records, raw=raw)
    classes = model.classify(records, raw=raw)
    assert outputs.dtype == np.float32 and outputs.shape == (len(records), model.output_width)
    assert leaves.dtype == np.int64 and classes.dtype == np.int64
    excused = reference.near_tie & ~np.asarray(exact) & (leaves != reference.leaves)
    checked = ~excused
    bad_leaves = np.flatnonzero(checked & (leaves != reference.leaves))
    assert bad_leaves.size == 0, f"{name}: leaves differ from the reference at records {bad_leaves.tolist()}"
    agree = outputs_agree(outputs, reference.outputs)
    bad_outputs = np.flatnonzero(checked & ~agree)
    assert bad_outputs.size == 0, (
        f"{name}: outputs disagree at records {bad_outputs.tolist()}: "
        f"{outputs[bad_outputs[0]].tolist()} vs {reference.outputs[bad_outputs[0]].tolist()}"
    )
    # The class is the first argmax of the float32 outputs, and the reference's when checkable.
    assert np.array_equal(classes, first_argmax(outputs)), f"{name}: classify is not the argmax of predict"
    must_match = checked & ~reference.near_tie & argmax_checkable(reference.outputs)
    bad_classes = np.flatnonzero(must_match & (classes != reference.argmax))
    assert bad_classes.size == 0, f"{name}: classes differ from the reference at records {bad_classes.tolist()}"
    return int(excused.sum())


@pytest.mark.parametrize("name,model_path,records,exact", CASES, ids=IDS)
def test_model_against_the_reference(name: str, model_path: Path, records: np.ndarray, exact: bool) -> None:
    model = fff.Model(model_path)
    reference_model = read_model(model_path)
    excused = check_against_reference(name, model, reference_model, records, exact)
    if excused:
        print(f"{name}: {excused} near-tie record(s) took the other child (allowed by §14.3)")

    # One record at a time gives bitwise the batch's answers.
    outputs, leaves, classes = model.predict(records), model.leaf(records), model.classify(records)
    for r in range(len(records)):
        one = model.predict(records[r])
        assert one.shape == (model.output_width,)
        assert np.array_equal(one, outputs[r], equal_nan=True)
        assert model.leaf(records[r]) == leaves[r]
        assert model.classify(records[r]) == classes[r]

    # float64 and uint8 records are converted to float32: the same answers as float32 ones.
    assert np.array_equal(model.predict(records.astype(np.float64)), outputs, equal_nan=True)
    if np.array_equal(records, np.clip(np.round(records), 0, 255)):
        assert np.array_equal(model.predict(records.astype(np.uint8)), outputs, equal_nan=True)

    # From the file's bytes: the same model.
    from_bytes = fff.Model.from_bytes(model_path.read_bytes())
    assert np.array_equal(from_bytes.predict(records), outputs, equal_nan=True)
    assert from_bytes.metadata_items == model.metadata_items and from_bytes.labels == model.labels


@pytest.mark.parametrize("name,model_path,records,exact", CASES, ids=IDS)
def test_preprocessed_records_against_the_reference(name: str, model_path: Path, records: np.ndarray,
                                                    exact: bool) -> None:
    """raw=False: the records are x itself (here x = raw * scale + offset, rounded to float32)."""
    model = fff.Model(model_path)
    if model.preprocessing is None:
        x = records
    else:
        scale, offset = model.preprocessing
        x = (records.astype(np.float64) * scale + offset).astype(np.float32)
    check_against_reference(name, model, read_model(model_path), x, exact, raw=False)


@pytest.mark.parametrize("name,model_path,records,exact", CASES, ids=IDS)
def test_description_matches_pyfff(name: str, model_path: Path, records: np.ndarray, exact: bool) -> None:
    model = fff.Model(model_path)
    expected = read_model(model_path)
    assert (model.input_width, model.output_width, model.depth, model.leaf_width) == (
        expected.input_width, expected.output_width, expected.depth, expected.leaf_width)
    assert model.leaf_count == expected.leaf_count
    assert model.master_width == (expected.master.width if expected.master is not None else 0)
    assert (model.activation, model.weight_type, model.node_type) == (
        expected.activation, expected.weight_type, expected.node_type)
    assert model.labels == expected.labels
    assert model.metadata_items == list(expected.metadata)
    first: dict[str, str] = {}
    for key, value in expected.metadata:
        first.setdefault(key, value)
    assert model.metadata == first
    if expected.prep_scale is None and expected.prep_offset is None:
        assert model.preprocessing is None
    else:
        scale, offset = model.preprocessing
        width = expected.input_width
        want_scale = np.ones(width, np.float32) if expected.prep_scale is None else np.broadcast_to(
            np.asarray(expected.prep_scale, np.float32).reshape(-1), (width,))
        want_offset = np.zeros(width, np.float32) if expected.prep_offset is None else np.broadcast_to(
            np.asarray(expected.prep_offset, np.float32).reshape(-1), (width,))
        assert np.array_equal(scale, want_scale) and np.array_equal(offset, want_offset)
    assert model.kernel in ("avx512", "avx2", "portable") and model.packed_bytes > 0
    assert str(model.input_width) in repr(model)


def test_nan_and_infinite_records_follow_the_spec() -> None:
    """NaN and infinities are not rejected (as in the C API): descent, outputs and class follow
    the spec's arithmetic, as the reference computes it (a NaN score goes to child 2n + 1)."""
    path = FIXTURES / "demo" / "digits.fff"
    model = fff.Model(path)
    rng = np.random.default_rng(7)
    records = rng.uniform(0, 16, size=(24, model.input_width)).astype(np.float32)
    records[0, :] = np.nan
    records[1, 5] = np.nan
    records[2, 0] = np.inf
    records[3, 10] = -np.inf
    records[4, :] = np.inf
    with np.errstate(invalid="ignore"):
        reference = evaluate(read_model(path), records)
    leaves = model.leaf(records)
    assert np.array_equal(leaves[~reference.near_tie], reference.leaves[~reference.near_tie])
    outputs = model.predict(records)
    assert np.isnan(outputs[0]).all() and np.isnan(reference.outputs[0]).all()
    assert np.array_equal(np.isnan(outputs), np.isnan(reference.outputs))
    assert np.array_equal(model.classify(records), first_argmax(outputs))
    assert model.classify(records[0]) == 0  # all NaN: the first NaN
