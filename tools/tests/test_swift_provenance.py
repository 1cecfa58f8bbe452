"""The Swift and the Python provenance implementations agree (format 1.2, spec/FORMAT.md §13):
`fffrun info` prints the identity pyfff computes, `fffrun verify` gives the corpus's verdicts
with the documented exit codes, `fffrun sign` writes the same bytes as `pyfff.provenance.sign`,
and keys made by either side work on the other.

Needs the built `fffrun` binary in $FFFRUN (`.ci/test` passes it); skipped, saying so, when
$FFFRUN is unset.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyfff import provenance as pv
from pyfff.format import read_model, recompute_checksums, write_model

from make_conformance import make_model

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fixtures" / "conformance"
KEYS = ROOT / "fixtures" / "provenance"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
VALID = [item["file"] for item in MANIFEST["valid"]]
VERIFY_CASES = [(item["file"], case["keys"], case["verdict"])
                for item in MANIFEST["valid"] for case in item.get("verify", []) if case["keys"]]
EX_DATAERR, EX_NOINPUT = 65, 66


@pytest.fixture(scope="module")
def fffrun() -> str:
    given = os.environ.get("FFFRUN")
    if not given:
        pytest.skip("$FFFRUN is unset: skipping the Swift/Python provenance agreement tests "
                    "(build with `swift build` and set FFFRUN=.build/debug/fffrun)")
    assert Path(given).is_file(), f"$FFFRUN names {given}, which does not exist"
    return given


def run(fffrun: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([fffrun, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def test_key():
    return pv.load_private_key(KEYS / "test-key.pem")


def test_info_prints_the_identity_of_every_valid_corpus_file(fffrun: str) -> None:
    wrong = []
    for item in MANIFEST["valid"]:
        proc = run(fffrun, "info", CORPUS / item["file"])
        assert proc.returncode == 0, (item["file"], proc.stderr)
        found = re.findall(r"^\s*identity: ([0-9a-f]{64})$", proc.stdout, re.M)
        if found != [item["identity"]]:
            wrong.append(f"{item['file']}: manifest {item['identity']}, fffrun info {found}")
    assert not wrong, "\n".join(wrong)


def test_info_identity_of_recompressed_and_compact_files(fffrun: str, tmp_path: Path) -> None:
    for index, weight in enumerate(("float32", "float16", "bfloat16", "int8-row")):
        model = make_model(60 + index, 5, 3, 2, 3, "relu", m=2, k=0.5, prep="per-feature")
        model.weight_type = weight
        for enc in (dict(codec="none", shuffle=False), dict(codec="zstd", level=1), dict()):
            path = tmp_path / f"{weight}.fff"
            write_model(model, path, **enc)
            proc = run(fffrun, "info", path)
            assert proc.returncode == 0, proc.stderr
            assert f"identity: {pv.identity(path).hex()}" in proc.stdout, (weight, enc)


@pytest.mark.parametrize("rel,keys,verdict", VERIFY_CASES)
def test_verify_gives_the_corpus_verdict_and_exit_code(fffrun: str, rel: str, keys: list[str],
                                                        verdict: str) -> None:
    args = [a for k in keys for a in ("--key", KEYS / k)]
    proc = run(fffrun, "verify", CORPUS / rel, *args, "--json")
    assert proc.returncode == (0 if verdict == "good-signature" else EX_DATAERR), proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == verdict
    assert report["identity"] == pv.identity(CORPUS / rel).hex()
    text = run(fffrun, "verify", CORPUS / rel, *args)
    assert text.returncode == proc.returncode
    assert text.stdout.splitlines()[0].endswith(verdict), text.stdout


def test_verify_exit_codes_for_bad_inputs(fffrun: str, tmp_path: Path) -> None:
    signed = CORPUS / "valid" / "card_full_signed.fff"
    assert run(fffrun, "verify", signed, "--key", tmp_path / "missing.pub").returncode == EX_NOINPUT
    proc = run(fffrun, "verify", signed, "--key", KEYS / "test-key.pem")  # a private key
    assert proc.returncode == EX_DATAERR and proc.stderr
    (tmp_path / "junk.pub").write_text("not a key\n")
    assert run(fffrun, "verify", signed, "--key", tmp_path / "junk.pub").returncode == EX_DATAERR
    invalid = CORPUS / "invalid" / "sign_count_zero.fff"
    proc = run(fffrun, "verify", invalid, "--key", KEYS / "test-key.pub")
    assert proc.returncode == EX_DATAERR and "invalid-value" in proc.stdout + proc.stderr
    # an OpenSSH public key line is a trusted key as well
    assert run(fffrun, "verify", signed, "--key", KEYS / "test-key.ssh.pub").returncode == 0


def test_every_covered_bit_flip_fails_fffrun_verify(fffrun: str, tmp_path: Path, test_key) -> None:
    """Acceptance, through the CLI: one bit of every covered section flipped (CRCs recomputed)
    exits 65; a sample of bits per section, the full sweep is in test_provenance.py."""
    from make_conformance import spec_example_model
    from pyfff.format import describe
    data = pv.sign(write_model(spec_example_model(), codec="none", shuffle=False), test_key)
    path = tmp_path / "flipped.fff"
    for entry in describe(data)["sections"]:
        if entry["type"] == "SIGN":
            continue
        for bit in (0, 8 * entry["stored_length"] - 1, 4 * entry["stored_length"]):
            changed = bytearray(data)
            changed[entry["offset"] + bit // 8] ^= 1 << (bit % 8)
            path.write_bytes(recompute_checksums(bytes(changed)))
            proc = run(fffrun, "verify", path, "--key", KEYS / "test-key.pub")
            assert proc.returncode == EX_DATAERR, (entry["type"], bit, proc.stdout)


@pytest.mark.parametrize("rel", ["valid/card_unsigned.fff", "valid/same_model_zstd19_shuffle.fff",
                                 "valid/sigmoid_unknown_ancillary.fff", "valid/signed_two_keys.fff",
                                 "valid/int8_row_master.fff", "valid/tanh_minor3_header_flags.fff",
                                 "valid/sign_untrusted_garbage_and_good.fff"])
def test_fffrun_sign_writes_the_bytes_pyfff_writes(fffrun: str, tmp_path: Path, rel: str, test_key) -> None:
    out = tmp_path / "signed.fff"
    proc = run(fffrun, "sign", CORPUS / rel, "--key", KEYS / "test-key.pem", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert_same_signed_file(out.read_bytes(), pv.sign(CORPUS / rel, test_key))
    other = pv.load_private_key(KEYS / "other-key.pem")
    out2 = tmp_path / "signed2.fff"
    proc = run(fffrun, "sign", out, "--key", KEYS / "other-key.pem", "-o", out2)
    assert proc.returncode == 0, proc.stderr
    assert_same_signed_file(out2.read_bytes(), pv.sign(out, other))


def assert_same_signed_file(swift: bytes, python: bytes, keys: list | None = None) -> None:
    """Byte for byte on Linux (RFC 8032 signing is deterministic in BoringSSL and OpenSSL). On
    Apple platforms swift-crypto signs with CryptoKit, which randomises the nonce (spec §13.4):
    there the files must agree everywhere but in the signature bytes, and both must verify."""
    if sys.platform != "darwin":
        assert swift == python
        return
    assert len(swift) == len(python)
    keys = keys or [pv.load_public_key(KEYS / k) for k in ("test-key.pub", "other-key.pub")]
    assert pv.verify(swift, keys).ok and pv.verify(python, keys).ok
    assert read_model(swift).card == read_model(python).card
    assert pv.identity(swift) == pv.identity(python)


def test_stale_signatures_on_both_sides(fffrun: str, tmp_path: Path, test_key) -> None:
    stale = CORPUS / "valid" / "signed_weights_changed.fff"
    out = tmp_path / "o.fff"
    proc = run(fffrun, "sign", stale, "--key", KEYS / "other-key.pem", "-o", out)
    assert proc.returncode == EX_DATAERR and "stale" in proc.stderr and not out.exists()
    with pytest.raises(pv.ProvenanceError):
        pv.sign(stale, test_key)
    proc = run(fffrun, "sign", stale, "--key", KEYS / "other-key.pem", "--drop-stale", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert_same_signed_file(out.read_bytes(),
                            pv.sign(stale, pv.load_private_key(KEYS / "other-key.pem"), drop_stale=True))


def test_keys_made_by_one_side_work_on_the_other(fffrun: str, tmp_path: Path) -> None:
    proc = run(fffrun, "keygen", "-o", tmp_path / "swift-key")
    assert proc.returncode == 0, proc.stderr
    swift_priv = pv.load_private_key(tmp_path / "swift-key")
    swift_pub = pv.load_public_key(tmp_path / "swift-key.pub")
    assert pv.key_id(swift_priv) == pv.key_id(swift_pub)
    assert pv.key_id(swift_pub).hex() in proc.stdout
    model = tmp_path / "m.fff"
    write_model(make_model(70, 4, 3, 1, 2, "relu", labels=["a", "b", "c"]), model)
    signed = tmp_path / "signed-by-pyfff.fff"
    signed.write_bytes(pv.sign(model, swift_priv))
    assert run(fffrun, "verify", signed, "--key", tmp_path / "swift-key.pub").returncode == 0
    py_kid = pv.keygen(tmp_path / "py-key.pem")
    out = tmp_path / "signed-by-fffrun.fff"
    assert run(fffrun, "sign", model, "--key", tmp_path / "py-key.pem", "-o", out).returncode == 0
    verdict = pv.verify(out, [pv.load_public_key(tmp_path / "py-key.pem.pub")])
    assert verdict.ok and verdict.key_ids == [py_kid]
    assert_same_signed_file(out.read_bytes(), pv.sign(model, pv.load_private_key(tmp_path / "py-key.pem")),
                            [pv.load_public_key(tmp_path / "py-key.pem.pub")])


def test_fff_convert_signed_output_verifies_with_fffrun(fffrun: str, tmp_path: Path) -> None:
    from test_convert import CLI, fff_state, safetensors_bytes
    src = tmp_path / "model.safetensors"
    src.write_bytes(safetensors_bytes(fff_state(depth=2, width_in=5, hidden=3, width_out=4, master=2)))
    out = tmp_path / "out.fff"
    proc = subprocess.run([str(CLI), str(src), "-o", str(out), "--no-preprocessing", "--card",
                           str(ROOT / "tools" / "examples" / "card.toml"), "--sign-key",
                           str(KEYS / "test-key.pem"), "--dtype", "int8-row"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check = run(fffrun, "verify", out, "--key", KEYS / "test-key.pub", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["identity"] == pv.identity(out).hex()
    info = run(fffrun, "info", out)
    assert info.returncode == 0 and "Apache-2.0 OR MIT" in info.stdout


def test_a_file_of_1024_sections_is_not_signed_by_either(fffrun: str, tmp_path: Path, test_key) -> None:
    from pyfff.format import FormatError, RawSection, assemble, model_sections
    secs = model_sections(make_model(1, 3, 2, 0, 4, "identity"), codec="none", shuffle=False)
    secs += [RawSection(f"x{i:03x}".encode(), b"", critical=False, codec=0, filter=0, unit=0)
             for i in range(1024 - len(secs))]
    model = tmp_path / "full.fff"
    model.write_bytes(assemble(secs))
    out = tmp_path / "o.fff"
    proc = run(fffrun, "sign", model, "--key", KEYS / "test-key.pem", "-o", out)
    assert proc.returncode == EX_DATAERR and "limit-exceeded" in proc.stderr, proc.stderr
    assert not out.exists()
    with pytest.raises(FormatError):
        pv.sign(model, test_key)


def _random_card_values(seed: int, count: int) -> list[tuple[str, bytes]]:
    """Values near the edges of every CARD type: built from the characters the grammars care
    about, so that about half are valid."""
    import numpy as np
    rng = np.random.default_rng(seed)
    pieces = {
        "license": ["MIT", "BSD-3-Clause", "GPL-2.0", "+", " ", "  ", "(", ")", "AND", "OR", "WITH",
                    "and", "LicenseRef-x", "a:b", "\t", "/", "é", "X"],
        "source.url": ["https", "h", "1", "+", ".", "-", ":", "//", "x", "é", " ", "%20", "~", "\x7f"],
        "source.sha256": ["0", "a", "f", "F", "g", "00000000", "abcdef12"],
        "date": ["2024", "2023", "0000", "9999", "-", "02", "29", "30", "31", "12", "13", "1", "T"],
        "metrics.m": ["-", "0", "1", "9", ".", "e", "E", "+", "-", "00", "308", "309", "999", " "],
        "name": ["a", "é", "\t", "\n", "\x7f", "\x00", "\u0085", " ", "\u2028"],
        "description": ["a", "\t", "\n", "\r", "\x1f", "\x7f", "é", " "],
    }
    out = []
    for _ in range(count):
        key = list(pieces)[int(rng.integers(len(pieces)))]
        n = int(rng.integers(0, 9))
        value = "".join(pieces[key][int(rng.integers(len(pieces[key])))] for _ in range(n))
        if key == "source.sha256" and rng.random() < 0.5:
            value = (value * 64)[:64]
        out.append((key, value.encode("utf-8")))
    return out


def test_card_type_checks_agree_on_random_values(fffrun: str, tmp_path: Path) -> None:
    """Differential: files whose CARD holds random edge values; fffrun validate and pyfff give
    the same verdict on each."""
    from make_conformance import pairs
    from pyfff.format import assemble, model_sections, validate_bytes
    base = model_sections(replace_card(make_model(1, 3, 2, 0, 4, "identity")), codec="none", shuffle=False)
    paths, expected = [], []
    for index, (key, value) in enumerate(_random_card_values(7, 2000)):
        secs = [s if s.type != b"CARD" else
                type(s)(s.type, pairs([(key.encode(), value)]), critical=False, codec=0, filter=0, unit=0)
                for s in base]
        data = assemble(secs)
        path = tmp_path / f"c{index}.fff"
        path.write_bytes(data)
        paths.append(path)
        err = validate_bytes(data)
        expected.append(None if err is None else err.code)
    assert 30 < expected.count(None) < 1950, expected.count(None)  # both verdicts well represented
    proc = run(fffrun, "validate", "--json", *paths)
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(reports) == len(paths), proc.stderr
    disagreements = [(path.name, code, report) for path, code, report in zip(paths, expected, reports)
                     if (None if report["valid"] else report["code"]) != code]
    assert not disagreements, disagreements[:10]


def replace_card(model):
    model.card = [("name", "placeholder")]
    return model
