"""The bundled demo (fixtures/demo): the model reads, and the float64 reference reproduces both the
committed golden predictions and the test accuracy the trainer recorded in the model's metadata.

No torch needed. The golden file is what the Swift runtime's tests compare against, so a change
to the model, the test split or the reference evaluator that moves a single prediction fails here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pyfff.convert import convert_checkpoint
from pyfff.format import read_model
from pyfff.reference import MACHINE_RTOL, evaluate, outputs_agree

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
MODEL = DEMO / "digits.fff"
RECORDS = DEMO / "digits-test.csv"
LABELS = DEMO / "digits-test-labels.txt"
EXPECTED = DEMO / "digits-test.expected.json"
CHECKPOINT = DEMO / "digits.pt"


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return read_model(MODEL)


@pytest.fixture(scope="module")
def records() -> np.ndarray:
    rows = [[int(v) for v in line.split(",")] for line in RECORDS.read_text().splitlines()]
    return np.array(rows, dtype=np.int64)


@pytest.fixture(scope="module")
def labels() -> list[str]:
    return LABELS.read_text().splitlines()


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED.read_text())


def test_demo_model_reads_with_the_documented_shape(model) -> None:  # type: ignore[no-untyped-def]
    assert (model.input_width, model.output_width, model.depth, model.leaf_width) == (64, 10, 3, 2)
    assert model.master is not None and model.master.width == 8
    assert model.activation == "relu"
    assert model.prep_scale.tolist() == [0.125] and model.prep_offset.tolist() == [-1.0]
    assert model.labels == [str(d) for d in range(10)]
    meta = dict(model.metadata)
    assert "load_digits" in meta["dataset"]
    assert json.loads(meta["training.hyperparameters"])["master_width"] == 8


def test_test_split_files_are_well_formed(records: np.ndarray, labels: list[str]) -> None:
    assert records.shape == (360, 64)
    assert records.min() >= 0 and records.max() <= 16
    assert len(labels) == 360 and set(labels) == {str(d) for d in range(10)}


def test_expected_file_names_this_model(expected: dict) -> None:
    assert expected["model"] == MODEL.name
    assert expected["model_sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert expected["count"] == 360


def test_reference_reproduces_golden_predictions(model, records: np.ndarray, expected: dict) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(model, records)
    # Leaves and near-tie flags exactly: the reference's node scores are fixed-order sums, the
    # same bits on every machine. Outputs within MACHINE_RTOL, |a - b| <= 1e-9 * (1 + |b|) (see
    # pyfff.reference: exp in the master leaf's mixing may differ in its last bits by machine).
    reference_outputs = np.array(expected["outputs"], dtype=np.float64)
    assert outputs_agree(result.outputs, reference_outputs).all()
    # argmax exactly: no record's top two outputs are within that tolerance, so it is determined.
    top_two = np.sort(reference_outputs, axis=1)[:, -2:]
    assert (top_two[:, 1] - top_two[:, 0] > 2 * MACHINE_RTOL * (1 + np.abs(top_two[:, 1]))).all()
    assert result.argmax.tolist() == expected["argmax"]
    assert result.leaves.tolist() == expected["leaves"]
    assert result.near_tie.tolist() == expected["near_tie"]
    assert [model.labels[i] for i in result.argmax] == expected["predicted_labels"]
    # A demo worth having: every leaf is used and no record sits on a near-tie.
    assert sorted(set(expected["leaves"])) == list(range(8))
    assert expected["near_ties"] == 0


def test_reference_accuracy_matches_the_trainers_record(model, records: np.ndarray, labels: list[str], expected: dict) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(model, records)
    predicted = [model.labels[i] for i in result.argmax]
    correct = sum(p == y for p, y in zip(predicted, labels))
    recorded_correct, recorded_count = json.loads(dict(model.metadata)["training.correct"])["test"]
    assert (correct, len(labels)) == (recorded_correct, recorded_count)
    assert correct == expected["correct"]
    assert json.loads(dict(model.metadata)["training.accuracy"])["test"] == pytest.approx(correct / len(labels), abs=1e-6)


def test_converting_the_demo_checkpoint_gives_the_demo_model(model) -> None:  # type: ignore[no-untyped-def]
    """digits.pt is what tools/train saved; fff-convert's path (no torch) must rebuild the same network."""
    converted = convert_checkpoint(CHECKPOINT, input_scale=0.125, input_offset=-1.0)
    for name in ("node_weights", "node_biases", "w1", "b1", "w2", "b2"):
        assert np.array_equal(getattr(converted, name), getattr(model, name)), name
    for name in ("w1", "b1", "w2", "b2"):
        assert np.array_equal(getattr(converted.master, name), getattr(model.master, name)), name
    assert np.float32(converted.master.k) == np.float32(model.master.k)


def test_committed_split_is_the_trainers_digits_split(records: np.ndarray, labels: list[str]) -> None:
    """The CSV is the fixed split's test part, so retraining evaluates on the same records."""
    pytest.importorskip("sklearn", reason="scikit-learn is not importable: skipping check of the digits split")
    from pyfff.digits import load_digits_split

    data = load_digits_split()
    assert np.array_equal(data.test.raw.astype(np.int64), records)
    assert [str(int(y)) for y in data.test.labels] == labels
