"""fff-convert and save_fff with compact weights (format 1.1): --dtype, --node-dtype, the usage
error for compact nodes with float32 leaves, --check-inputs/--check-labels/--check-raw on the
demo digits model, the record and label readers, and check_quantization against an independent
evaluation of the written file.

Figures printed by --check-inputs are compared with numbers computed here from the file the
converter wrote (read back with pyfff.format, evaluated with pyfff.reference): counts exactly
(the reference is reproducible bit for bit, see reference.py), output differences within a
stated tolerance.
"""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pyfff.convert import (
    ConvertError, check_quantization, convert_checkpoint, load_labels, load_records, resolve_dtypes,
    save_fff,
)
from pyfff.format import describe, quantized, read_model
from pyfff.reference import evaluate

TOOLS = Path(__file__).resolve().parents[1]
CLI = TOOLS / "fff-convert"
DEMO = TOOLS.parent / "fixtures" / "demo"
DIGITS_PREP = ["--input-scale", "0.125", "--input-offset", "-1"]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, timeout=300)


def digits_records() -> tuple[np.ndarray, np.ndarray]:
    raw = np.loadtxt(DEMO / "digits-test.csv", delimiter=",")
    labels = np.loadtxt(DEMO / "digits-test-labels.txt", dtype=np.int64)
    return raw, labels


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file (unsigned bytes) written here by hand: magic 0 0 8 ndim, big-endian dims."""
    head = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return head + array.astype(np.uint8).tobytes()


def parse_report(stdout: str) -> dict[str, object]:
    found: dict[str, object] = {}
    m = re.search(r"argmax agreement +(\d+) / (\d+) +\((\d+\.\d\d) %\)", stdout)
    assert m, stdout
    found["argmax"] = (int(m[1]), int(m[2]))
    m = re.search(r"leaf agreement +(\d+) / (\d+)", stdout)
    found["leaf"] = (int(m[1]), int(m[2]))
    m = re.search(r"max \|delta\| of outputs +(\S+) \(records on the same leaf: (\S+); largest \|output\| (\S+)\)",
                  stdout)
    found["max_delta"] = float(m[1])
    m = re.search(r"accuracy +float32 (\d+\.\d\d) % \((\d+)\), (\S+) (\d+\.\d\d) % \((\d+)\)", stdout)
    if m:
        found["accuracy"] = (int(m[2]), int(m[5]))
    return found


# --------------------------------------------------------------------------- dtypes


def test_resolve_dtypes_defaults_and_refusals() -> None:
    assert resolve_dtypes() == ("float32", "float32")
    assert resolve_dtypes("float16") == ("float16", "float16")
    assert resolve_dtypes("bfloat16") == ("bfloat16", "bfloat16")
    assert resolve_dtypes("int8-row") == ("int8-row", "float32")
    assert resolve_dtypes("int8-row", "int8-row") == ("int8-row", "int8-row")
    assert resolve_dtypes("float16", "float32") == ("float16", "float32")
    assert resolve_dtypes("float16", depth=0) == ("float16", "float32")
    with pytest.warns(UserWarning, match="no nodes"):
        assert resolve_dtypes("float16", "float16", depth=0) == ("float16", "float32")
    for weight, node in (("float32", "float16"), ("float32", "int8-row"), ("float32", "bfloat16")):
        with pytest.raises(ConvertError, match="compact nodes need compact leaves") as info:
            resolve_dtypes(weight, node)
        assert info.value.usage
    with pytest.raises(ConvertError, match="unknown dtype 'fp8'"):
        resolve_dtypes("fp8")


@pytest.mark.parametrize("dtype,node,expected", [
    ("float32", None, ("float32", "float32", 0)),
    ("float16", None, ("float16", "float16", 1)),
    ("float16", "float32", ("float16", "float32", 1)),
    ("bfloat16", None, ("bfloat16", "bfloat16", 1)),
    ("int8-row", None, ("int8-row", "float32", 1)),
    ("int8-row", "int8-row", ("int8-row", "int8-row", 1)),
])
def test_cli_dtype_options_write_the_types(tmp_path: Path, dtype: str, node: str | None,
                                           expected: tuple[str, str, int]) -> None:
    out = tmp_path / "d.fff"
    args = [DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--dtype", dtype]
    if node:
        args += ["--node-dtype", node]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    model = read_model(out)
    assert (model.weight_type, model.node_type, describe(out.read_bytes())["minor"]) == expected
    if dtype != "float32":
        assert f"{expected[0]} weights, {expected[1]} nodes (format 1.1)" in proc.stdout
        # the file holds exactly quantized() of the float32 conversion
        base = convert_checkpoint(DEMO / "digits.pt", input_scale=0.125, input_offset=-1)
        q = quantized(base, expected[0], expected[1])
        for name in ("node_weights", "w1", "w2"):
            assert np.array_equal(getattr(model, name), getattr(q, name)), name
        assert np.array_equal(model.master.w1, q.master.w1)
    else:
        assert "format 1.1" not in proc.stdout
        # float32 (the default) gives the same bytes as no --dtype at all
        again = tmp_path / "e.fff"
        assert run_cli(DEMO / "digits.pt", "-o", again, *DIGITS_PREP).returncode == 0
        assert again.read_bytes() == out.read_bytes()


def test_cli_compact_nodes_with_float32_leaves_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "x.fff"
    for args in (["--node-dtype", "float16"], ["--dtype", "float32", "--node-dtype", "int8-row"]):
        proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, *args)
        assert proc.returncode == 64, proc.stderr
        assert "compact nodes need compact leaves" in proc.stderr
        assert not out.exists()
    proc = run_cli(DEMO / "digits.pt", "-o", out, "--dtype", "int4")
    assert proc.returncode == 64 and "invalid choice" in proc.stderr
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--check-labels", DEMO / "digits-test-labels.txt")
    assert proc.returncode == 64 and "go with --check-inputs" in proc.stderr and not out.exists()


def test_cli_help_teaches_the_choice() -> None:
    proc = run_cli("--help")
    text = " ".join(proc.stdout.split())
    for phrase in ("--dtype {float32,float16,bfloat16,int8-row}", "--node-dtype protects the routing",
                   "float16 2 bytes a weight", "int8-row 1 byte a weight plus one float32 scale per row",
                   "Compact nodes need compact leaves", "How to check: --check-inputs FILE",
                   "--check-labels", "--check-raw", "a format 1.0 reader refuses them"):
        assert phrase in text, phrase


# --------------------------------------------------------------------------- --check-inputs


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int8-row"])
def test_cli_check_inputs_on_the_demo_matches_an_evaluation_of_the_written_file(tmp_path: Path, dtype: str) -> None:
    out = tmp_path / "d.fff"
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--dtype", dtype,
                   "--check-inputs", DEMO / "digits-test.csv", "--check-labels", DEMO / "digits-test-labels.txt")
    assert proc.returncode == 0, proc.stderr
    assert "360 records of digits-test.csv (the model's preprocessing applied)" in proc.stdout
    report = parse_report(proc.stdout)
    raw, labels = digits_records()
    # Independently: the demo's own float32 file and the file just written, each evaluated.
    reference32 = evaluate(read_model(DEMO / "digits.fff"), raw)
    compact = evaluate(read_model(out), raw)
    assert report["argmax"] == (int((reference32.argmax == compact.argmax).sum()), 360)
    assert report["leaf"] == (int((reference32.leaves == compact.leaves).sum()), 360)
    assert report["accuracy"] == (int((reference32.argmax == labels).sum()), int((compact.argmax == labels).sum()))
    assert report["accuracy"][0] == 332  # the demo's documented 92.22 %
    # the printed maximum has 3 significant digits
    assert report["max_delta"] == pytest.approx(float(np.abs(reference32.outputs - compact.outputs).max()), rel=5e-3)
    assert report["max_delta"] > 0


def test_check_inputs_reads_idx_npy_and_csv_alike(tmp_path: Path) -> None:
    raw, labels = digits_records()
    (tmp_path / "r.idx.gz").write_bytes(gzip.compress(idx_bytes(raw.reshape(-1, 8, 8))))
    (tmp_path / "r.idx").write_bytes(idx_bytes(raw.reshape(-1, 8, 8)))
    (tmp_path / "l.idx.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    np.save(tmp_path / "r.npy", raw.astype(np.float32).reshape(-1, 8, 8))
    np.save(tmp_path / "l.npy", labels)
    header = "," .join(f"p{i}" for i in range(64))
    (tmp_path / "h.csv").write_text(header + "\n" + "\n".join(",".join(str(int(v)) for v in r) for r in raw) + "\n")
    (tmp_path / "l.txt").write_text("label\n" + "\n".join(map(str, labels)) + "\n")
    (tmp_path / "r.tsv.gz").write_bytes(gzip.compress(
        "\n".join("\t".join(f"{v:.1f}" for v in r) for r in raw).encode()))
    outputs = set()
    for records, labels_file in (("r.idx.gz", "l.idx.gz"), ("r.idx", "l.npy"), ("r.npy", "l.txt"),
                                 ("h.csv", "l.idx.gz"), ("r.tsv.gz", "l.txt")):
        proc = run_cli(DEMO / "digits.pt", "-o", tmp_path / "o.fff", *DIGITS_PREP, "--dtype", "int8-row",
                       "--check-inputs", tmp_path / records, "--check-labels", tmp_path / labels_file)
        assert proc.returncode == 0, (records, proc.stderr)
        outputs.add("\n".join(line for line in proc.stdout.splitlines()[1:] if not line.startswith("check:")))
    assert len(outputs) == 1
    for name in ("r.idx.gz", "r.npy", "h.csv"):
        array = load_records(tmp_path / name, 64)
        assert array.dtype == np.float32 and np.array_equal(array, raw.astype(np.float32))
    assert np.array_equal(load_labels(tmp_path / "l.txt", 360), labels)
    assert np.array_equal(load_labels(tmp_path / "l.idx.gz", 360), labels)


def test_check_raw_takes_preprocessed_records(tmp_path: Path) -> None:
    raw, labels = digits_records()
    np.save(tmp_path / "x.npy", (raw * 0.125 - 1).astype(np.float32))  # exact: 1/8 steps
    common = [DEMO / "digits.pt", "-o", tmp_path / "o.fff", *DIGITS_PREP, "--dtype", "bfloat16",
              "--check-labels", DEMO / "digits-test-labels.txt"]
    a = run_cli(*common, "--check-inputs", DEMO / "digits-test.csv")
    b = run_cli(*common, "--check-inputs", tmp_path / "x.npy", "--check-raw")
    assert a.returncode == b.returncode == 0
    assert "(preprocessing skipped: --check-raw)" in b.stdout
    assert parse_report(a.stdout) == parse_report(b.stdout)
    # preprocessed records without --check-raw are preprocessed twice: another (worse) answer
    c = run_cli(*common, "--check-inputs", tmp_path / "x.npy")
    assert parse_report(c.stdout)["accuracy"] != parse_report(a.stdout)["accuracy"]


@pytest.mark.parametrize("content,message", [
    (b"1,2,3\n4,5,6\n", "3 values each; the model takes 64"),
    (b"1,2,x\n", "record 1 is not all numbers"),
    (bytes([0x50, 0x4B, 0x03, 0x04, 0xFF, 0xFE, 0x00]) * 3, "not .npy, IDX or UTF-8 text"),
    ((",".join(["1"] * 64) + "\n" + ",".join(["1"] * 63) + "\n").encode(), "records of different lengths"),
    ((",".join(["nan"] * 64) + "\n").encode(), "not finite"),
])
def test_check_inputs_bad_records_are_usage_errors_and_write_nothing(tmp_path: Path, content: bytes,
                                                                     message: str) -> None:
    bad, out = tmp_path / "bad.csv", tmp_path / "o.fff"
    bad.write_bytes(content)
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--dtype", "float16", "--check-inputs", bad)
    assert proc.returncode == 64, proc.stderr
    assert message in proc.stderr
    assert not out.exists()


def test_check_inputs_missing_files_and_wrong_labels(tmp_path: Path) -> None:
    out = tmp_path / "o.fff"
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--check-inputs", tmp_path / "missing.csv")
    assert proc.returncode == 66 and "missing.csv: no such file" in proc.stderr and not out.exists()
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--check-inputs", DEMO / "digits-test.csv",
                   "--check-labels", tmp_path / "missing.txt")
    assert proc.returncode == 66 and "missing.txt: no such file" in proc.stderr and not out.exists()
    # the records given as labels: their last column holds pixel values 0 ... 16
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--check-inputs", DEMO / "digits-test.csv",
                   "--check-labels", DEMO / "digits-test.csv")
    assert proc.returncode == 64 and "label 10 is 14, not a class of this model (0 ... 9)" in proc.stderr
    assert not out.exists()
    short = tmp_path / "short.txt"
    short.write_text("1\n2\n")
    proc = run_cli(DEMO / "digits.pt", "-o", out, *DIGITS_PREP, "--check-inputs", DEMO / "digits-test.csv",
                   "--check-labels", short)
    assert proc.returncode == 64 and "2 labels for 360 records" in proc.stderr and not out.exists()


def test_check_quantization_counts_against_an_independent_evaluation() -> None:
    """A model with differences to find: random weights, int8-row nodes, inputs near the nodes."""
    rng = np.random.default_rng(5)
    model = convert_checkpoint(DEMO / "digits.pt", input_scale=0.125, input_offset=-1)
    model.node_weights = (rng.standard_normal(model.node_weights.shape) * 0.3).astype(np.float32)
    records = rng.integers(0, 17, size=(3000, 64)).astype(np.float32)
    labels = rng.integers(0, 10, size=3000)
    for weight, node in (("int8-row", "int8-row"), ("bfloat16", "bfloat16"), ("float16", "float32")):
        report = check_quantization(model, records, weight, node, labels=labels, chunk=700)
        a = evaluate(model, records)
        b = evaluate(quantized(model, weight, node), records)
        assert report.records == 3000
        assert report.argmax_agree == int((a.argmax == b.argmax).sum())
        assert report.leaf_agree == int((a.leaves == b.leaves).sum())
        assert report.correct_float32 == int((a.argmax == labels).sum())
        assert report.correct_compact == int((b.argmax == labels).sum())
        assert report.max_abs_diff == float(np.abs(a.outputs - b.outputs).max())
        same = a.leaves == b.leaves
        assert report.max_abs_diff_same_leaf == float(np.abs(a.outputs - b.outputs)[same].max())
        if node == "float32":
            assert report.leaf_agree == 3000  # float32 nodes: the routing cannot change
    worst = check_quantization(model, records, "int8-row", "int8-row")
    assert worst.leaf_agree < 3000  # the test has something to count


# --------------------------------------------------------------------------- save_fff


def test_save_fff_dtype(tmp_path: Path) -> None:
    from pyfff.checkpoint import load_checkpoint
    state = load_checkpoint(DEMO / "digits.pt")
    model = save_fff(state, tmp_path / "a.fff", input_scale=0.125, input_offset=-1, dtype="int8-row")
    assert (model.weight_type, model.node_type) == ("int8-row", "float32")
    back = read_model(tmp_path / "a.fff")
    assert (back.weight_type, back.node_type) == ("int8-row", "float32")
    assert np.array_equal(back.w1, quantized(model, "int8-row", "float32").w1)
    model = save_fff(state, tmp_path / "b.fff", input_scale=0.125, input_offset=-1, dtype="float16",
                     node_dtype="float32")
    assert read_model(tmp_path / "b.fff").node_type == "float32"
    with pytest.raises(ConvertError, match="compact nodes need compact leaves"):
        save_fff(state, tmp_path / "c.fff", no_preprocessing=True, node_dtype="bfloat16")
    assert not (tmp_path / "c.fff").exists()
    big = dict(state)
    big["w2s"] = np.array(state["w2s"], dtype=np.float32) * 0 + 70000.0
    with pytest.raises(ConvertError, match="cannot write the weights as float16.*rounds to infinity"):
        save_fff(big, tmp_path / "d.fff", no_preprocessing=True, dtype="float16")
    assert not (tmp_path / "d.fff").exists()
    save_fff(big, tmp_path / "e.fff", no_preprocessing=True, dtype="bfloat16")  # bfloat16 has the range


def test_cli_float16_overflow_is_a_data_error_naming_the_alternatives(tmp_path: Path) -> None:
    from pyfff.checkpoint import load_checkpoint
    state = {k: np.asarray(v) for k, v in load_checkpoint(DEMO / "digits.pt").items()}
    state["w1s"] = state["w1s"].astype(np.float32).copy()
    state["w1s"][0, 0, 0] = 1e5
    from test_convert import torch_zip_bytes
    src = tmp_path / "big.pt"
    src.write_bytes(torch_zip_bytes(state))
    proc = run_cli(src, "-o", tmp_path / "o.fff", "--no-preprocessing", "--dtype", "float16")
    assert proc.returncode == 65
    assert "LFW1 element 0 is 100000.0: as float16 it rounds to infinity" in proc.stderr
    assert "bfloat16 or int8-row" in proc.stderr
    assert not (tmp_path / "o.fff").exists()
    assert run_cli(src, "-o", tmp_path / "o.fff", "--no-preprocessing", "--dtype", "int8-row").returncode == 0
