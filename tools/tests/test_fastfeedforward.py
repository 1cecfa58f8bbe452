"""fff-convert --trainer fastfeedforward against the fastfeedforward library's own outputs.

The fixture (fixtures/fastfeedforward, made by make_fixture.py with torch and fastfeedforward
0.2.1; neither is needed here) holds six small FFFs built and trained by that library, one per
activation the format can express, with the library's own ``model.eval()`` outputs on 128 fixed
inputs, and its ``training_forward(use_hard_decisions=True)`` outputs on the same inputs. None of
these numbers were computed by this project's code.

What is checked, per model:
- converted with ``--trainer fastfeedforward --activation A``, the float64 reference evaluator
  (pyfff.reference) and, when $FFFRUN names an fffrun binary, ``fffrun classify --output
  scores`` reproduce the library's eval outputs to within 1e-5 absolute plus 1e-5 relative
  (float32 arithmetic on outputs of magnitude up to about 30: observed differences are below
  1e-5 absolute), and the same argmax on every record that is not a near tie;
- converted with the default ``--trainer paper``, the outputs do NOT match the library's eval
  outputs: they differ by exactly the leaf output bias b2s of the leaf reached, and match the
  library's hard-routing training_forward instead, which adds b2s;
- converted with any other activation, the outputs do not match either (the fixture can tell
  activations apart, so a wrong --activation would be caught).

Records whose descent passes within the §14.3 near-tie bound of a node are left out of the
output comparison (none is, in this fixture; the test says so if that changes).
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from pyfff.checkpoint import CheckpointError, load_checkpoint
from pyfff.convert import ACTIVATION_NAMES, ConvertWarning, convert_checkpoint
from pyfff.format import read_model
from pyfff.reference import evaluate

TOOLS = Path(__file__).resolve().parents[1]
CLI = TOOLS / "fff-convert"
FIXTURE = TOOLS.parent / "fixtures" / "fastfeedforward"
MANIFEST = json.loads((FIXTURE / "manifest.json").read_text())
MODELS = {entry["name"]: entry for entry in MANIFEST["models"]}
INPUTS = np.load(FIXTURE / "inputs.npy", allow_pickle=False)
RTOL = ATOL = 1e-5  # float32 arithmetic, outputs up to ~30 in magnitude


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=120)


def library_eval(name: str) -> np.ndarray:
    return np.load(FIXTURE / MODELS[name]["eval_outputs"], allow_pickle=False).astype(np.float64)


def library_train_hard(name: str) -> np.ndarray:
    return np.load(FIXTURE / MODELS[name]["train_hard_outputs"], allow_pickle=False).astype(np.float64)


def convert(name: str, tmp_path: Path, *options: str) -> Path:
    out = tmp_path / f"{name}{'-'.join(options)}.fff"
    proc = run_cli(FIXTURE / MODELS[name]["checkpoint"], "-o", out, "--no-preprocessing", *options)
    assert proc.returncode == 0, proc.stderr
    return out


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[int, float]:
    """(records with the same argmax, largest |difference| of any output)."""
    return int((ours.argmax(axis=1) == theirs.argmax(axis=1)).sum()), float(np.abs(ours - theirs).max())


def assert_matches(ours: np.ndarray, theirs: np.ndarray, near_tie: np.ndarray, what: str) -> None:
    keep = ~near_tie
    np.testing.assert_allclose(ours[keep], theirs[keep], rtol=RTOL, atol=ATOL, err_msg=what)
    # Same argmax, except where the library's two best outputs are within the tolerance.
    top2 = np.sort(theirs, axis=1)[:, -2:]
    clear = keep & (top2[:, 1] - top2[:, 0] > ATOL + RTOL * np.abs(top2[:, 1]))
    assert np.array_equal(ours[clear].argmax(axis=1), theirs[clear].argmax(axis=1)), what


def test_fixture_is_what_the_manifest_says() -> None:
    assert MANIFEST["fastfeedforward"] == "0.2.1"
    assert INPUTS.dtype == np.float32 and INPUTS.shape == tuple(MANIFEST["inputs"]["shape"])
    assert set(MODELS) == {"relu", "gelu", "gelu-tanh", "silu", "sigmoid", "tanh"}
    for name, entry in MODELS.items():
        state = load_checkpoint(FIXTURE / entry["checkpoint"])
        assert int(state["depth"]) == entry["depth"]
        assert state["w2s"].shape == (1 << entry["depth"], entry["leaf_width"], entry["output_width"])
        assert np.abs(state["b2s"]).max() == pytest.approx(entry["max_abs_b2s"]) and entry["max_abs_b2s"] > 0.1
        assert library_eval(name).shape == library_train_hard(name).shape == (len(INPUTS), entry["output_width"])
        assert entry["fff_convert_activation"] in ACTIVATION_NAMES


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fastfeedforward_trainer_reproduces_the_library_eval(name: str, tmp_path: Path) -> None:
    entry = MODELS[name]
    out = convert(name, tmp_path, "--trainer", "fastfeedforward", "--activation", entry["fff_convert_activation"])
    model = read_model(out)
    assert model.activation == entry["fff_convert_activation"]
    assert not model.b2.any()
    assert dict(model.metadata)["source.trainer"] == "fastfeedforward"
    result = evaluate(model, INPUTS)
    theirs = library_eval(name)
    assert not result.near_tie.any(), f"{int(result.near_tie.sum())} near-tie records: they are left out below"
    assert len(set(result.leaves.tolist())) >= (1 << entry["depth"]) - 1  # nearly every leaf is exercised
    same, delta = agreement(result.outputs, theirs)
    print(f"\n{name}: --trainer fastfeedforward: argmax {same}/{len(INPUTS)}, max |delta| {delta:.3g}")
    assert_matches(result.outputs, theirs, result.near_tie, f"{name}: reference vs library eval")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_default_paper_trainer_does_not_match_the_library_eval(name: str, tmp_path: Path) -> None:
    """The test above can fail: without --trainer fastfeedforward the outputs are off by b2s."""
    entry = MODELS[name]
    model = read_model(convert(name, tmp_path, "--activation", entry["fff_convert_activation"]))
    assert dict(model.metadata)["source.trainer"] == "paper"
    result = evaluate(model, INPUTS)
    theirs = library_eval(name)
    same, delta = agreement(result.outputs, theirs)
    print(f"\n{name}: --trainer paper: argmax {same}/{len(INPUTS)}, max |delta| {delta:.3g}")
    assert delta > 0.1
    # The whole difference is the b2s of the leaf reached ...
    np.testing.assert_allclose(result.outputs - model.b2[result.leaves], theirs, rtol=RTOL, atol=ATOL)
    # ... which the library's own training_forward adds (hard routing): that is what paper gives.
    assert_matches(result.outputs, library_train_hard(name), result.near_tie, f"{name}: paper vs training_forward")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_wrong_activation_does_not_match(name: str) -> None:
    theirs = library_eval(name)
    for other in ACTIVATION_NAMES:
        if other == MODELS[name]["fff_convert_activation"]:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvertWarning)  # an explicit activation: nothing to warn about
            model = convert_checkpoint(FIXTURE / MODELS[name]["checkpoint"], trainer="fastfeedforward", activation=other)
        delta = np.abs(evaluate(model, INPUTS).outputs - theirs).max()
        assert delta > 1e-3, f"{name} converted as {other} still matches (max |delta| {delta:.3g})"


def fffrun_binary() -> Path:
    value = os.environ.get("FFFRUN")
    if not value:
        pytest.skip("FFFRUN is not set: skipping the fffrun check (set FFFRUN=/path/to/fffrun to run it)")
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"FFFRUN={value} is not an executable file")
    return path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fffrun_reproduces_the_library_eval(name: str, tmp_path: Path) -> None:
    fffrun = fffrun_binary()
    entry = MODELS[name]
    model_path = convert(name, tmp_path, "--trainer", "fastfeedforward", "--activation", entry["fff_convert_activation"])
    proc = subprocess.run(
        [str(fffrun), "classify", str(model_path), "--output", "scores", "--leaf", str(FIXTURE / "inputs.npy")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == len(INPUTS) and all(len(r) == entry["output_width"] + 1 for r in rows)
    scores = np.array([[float(v) for v in r[:-1]] for r in rows])
    leaves = np.array([int(r[-1]) for r in rows])
    reference = evaluate(read_model(model_path), INPUTS)
    assert np.array_equal(leaves[~reference.near_tie], reference.leaves[~reference.near_tie])
    theirs = library_eval(name)
    same, delta = agreement(scores, theirs)
    print(f"\n{name}: fffrun, --trainer fastfeedforward: argmax {same}/{len(INPUTS)}, max |delta| {delta:.3g}")
    assert_matches(scores, theirs, reference.near_tie, f"{name}: fffrun vs library eval")


def test_cli_without_activation_warns_that_it_assumed_relu(tmp_path: Path) -> None:
    out = tmp_path / "relu.fff"
    proc = run_cli(FIXTURE / "relu.pt", "-o", out, "--trainer", "fastfeedforward", "--no-preprocessing")
    assert proc.returncode == 0
    assert "fff-convert: warning: fastfeedforward checkpoints do not record the activation" in proc.stderr
    assert "--activation gelu for nn.GELU()" in proc.stderr
    assert read_model(out).activation == "relu"
    proc = run_cli(FIXTURE / "relu.pt", "-o", out, "--trainer", "fastfeedforward", "--no-preprocessing",
                   "--activation", "relu")
    assert proc.returncode == 0 and proc.stderr == ""


def test_a_pickled_fastfeedforward_module_is_explained(tmp_path: Path) -> None:
    """whole-module.pt is torch.save(FFF(4, 2, 2, 1)) as torch wrote it, not a state_dict."""
    src = FIXTURE / "whole-module.pt"
    with pytest.raises(CheckpointError, match=r"forbidden global 'fastfeedforward\.fff\.FFF' in data\.pkl: this looks "
                       r"like a whole pickled model \(torch\.save\(model\)\), not a state_dict"):
        load_checkpoint(src)
    out = tmp_path / "x.fff"
    proc = run_cli(src, "-o", out)
    assert proc.returncode == 65 and not out.exists()
    assert "torch.save(model.state_dict(), 'model_state_dict.pt')" in proc.stderr
    assert "torch.load('whole-module.pt', weights_only=False).state_dict()" in proc.stderr
    assert "Traceback" not in proc.stderr
