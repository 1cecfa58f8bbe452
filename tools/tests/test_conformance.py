"""The committed conformance corpus: reproducible, well-formed, and judged as its manifest says."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import make_conformance
from pyfff.format import (
    ACTIVATIONS, ELEMENT_TYPES, ERROR_CODES, MINOR_VERSION, describe, read_model, validate_bytes,
    write_model,
)
from pyfff.provenance import VERDICTS, identity, load_public_key, verify

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "conformance"
KEYS = CORPUS.parent / "provenance"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
VALID = [item["file"] for item in MANIFEST["valid"]]
INVALID = [(item["file"], item["code"]) for item in MANIFEST["invalid"]]


def test_regenerating_reproduces_the_committed_bytes(tmp_path: Path) -> None:
    make_conformance.write(tmp_path)
    generated = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
    assert generated == committed
    for rel in generated:
        assert (tmp_path / rel).read_bytes() == (CORPUS / rel).read_bytes(), rel


def test_manifest_schema() -> None:
    assert set(MANIFEST) == {"format_version", "changes", "valid", "invalid"}
    assert MANIFEST["format_version"] == "1.2"
    assert MANIFEST["changes"] and all(isinstance(c, str) and c.strip() for c in MANIFEST["changes"])
    keys = {p.name for p in KEYS.glob("*.pub")}
    for item in MANIFEST["valid"]:
        assert set(item) - {"verify"} == {"file", "description", "identity"}
        assert re.fullmatch(r"valid/[a-z0-9_]+\.fff", item["file"]), item
        assert re.fullmatch(r"[0-9a-f]{64}", item["identity"]), item
        assert item["description"].strip()
        for case in item.get("verify", []):
            assert set(case) == {"keys", "verdict"}, item
            assert case["verdict"] in VERDICTS and set(case["keys"]) <= keys, item
    for item in MANIFEST["invalid"]:
        assert set(item) == {"file", "code", "description"}
        assert re.fullmatch(r"invalid/[a-z0-9_]+\.fff", item["file"]), item
        assert item["code"] in ERROR_CODES and item["code"] != "io-error", item
        assert item["description"].strip()
    files = VALID + [f for f, _ in INVALID]
    assert len(files) == len(set(files))
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.fff")}
    assert on_disk == set(files)


def test_corpus_size_and_code_coverage() -> None:
    assert len(VALID) >= 8
    assert len(INVALID) >= 30
    # Every error code that bytes can cause appears at least once.
    assert {code for _, code in INVALID} == set(ERROR_CODES) - {"io-error"}
    for rel in VALID + [f for f, _ in INVALID]:
        assert (CORPUS / rel).stat().st_size <= 4096, rel


@pytest.mark.parametrize("rel", VALID)
def test_valid_file_is_accepted(rel: str) -> None:
    data = (CORPUS / rel).read_bytes()
    assert validate_bytes(data) is None
    read_model(CORPUS / rel).check()


@pytest.mark.parametrize("rel,code", INVALID)
def test_invalid_file_is_rejected_with_its_code(rel: str, code: str) -> None:
    err = validate_bytes((CORPUS / rel).read_bytes())
    assert err is not None, f"{rel} was accepted"
    assert err.code == code, f"{rel}: {err}"


def _checksums_consistent(data: bytes) -> list[str]:
    """Which CRCs of ``data`` are wrong, recomputed here independently with struct and zlib."""
    wrong = []
    if len(data) < 32:
        return wrong
    if zlib.crc32(data[:28]) != struct.unpack_from("<I", data, 28)[0]:
        wrong.append("header")
    count = struct.unpack_from("<I", data, 12)[0]
    trailer = 32 + 40 * count
    if trailer + 8 > len(data):
        return wrong
    if zlib.crc32(data[32:trailer]) != struct.unpack_from("<I", data, trailer)[0]:
        wrong.append("table")
    for i in range(count):
        offset, stored = struct.unpack_from("<QQ", data, 32 + 40 * i + 8)
        crc = struct.unpack_from("<I", data, 32 + 40 * i + 36)[0]
        if offset + stored <= len(data) and zlib.crc32(data[offset:offset + stored]) != crc:
            wrong.append(f"section {i}")
    return wrong


@pytest.mark.parametrize("rel,code", INVALID)
def test_invalid_file_checksums_are_valid_unless_a_checksum_is_the_rule(rel: str, code: str) -> None:
    wrong = _checksums_consistent((CORPUS / rel).read_bytes())
    if code == "checksum-mismatch":
        assert len(wrong) == 1, (rel, wrong)
    else:
        assert wrong == [], (rel, wrong)


def test_valid_files_cover_the_required_features() -> None:
    models = {rel: read_model(CORPUS / rel) for rel in VALID}
    infos = {rel: describe((CORPUS / rel).read_bytes()) for rel in VALID}
    assert {m.activation for m in models.values()} == set(ACTIVATIONS)
    depths = {m.depth for m in models.values()}
    assert 0 in depths and 1 in depths and max(depths) >= 6
    widths = {m.leaf_width for m in models.values()}
    assert 1 in widths and max(widths) >= 16
    assert any(m.master is not None for m in models.values())
    assert any(m.master is None for m in models.values())
    preps = {None if m.prep_scale is None else m.prep_scale.shape[0] for m in models.values()}
    assert None in preps and 1 in preps and any(p is not None and p > 1 for p in preps)
    assert any(m.labels for m in models.values())
    assert any(m.metadata for m in models.values())
    sections = [s for info in infos.values() for s in info["sections"]]
    assert {s["codec"] for s in sections} == {0, 1}
    assert {s["filter"] for s in sections} == {0, 1}
    assert {s["filter_unit"] for s in sections if s["filter"] == 1} == {2, 4, 8}
    known = {"MODL", "PREP", "NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1",
             "MSW2", "MSB2", "LABL", "META", "CARD", "SIGN"}
    unknown = [s for s in sections if s["type"] not in known]
    assert unknown and all(not s["critical"] for s in unknown)
    newer = [info for info in infos.values() if info["minor"] > MINOR_VERSION]
    assert newer and any(info["header_flags"] != 0 for info in newer)


def test_valid_files_cover_every_element_type_combination() -> None:
    """Format 1.1: every weight type, and every node type with each compact weight type."""
    models = {rel: read_model(CORPUS / rel) for rel in VALID}
    pairs = {(m.weight_type, m.node_type) for m in models.values()}
    assert {w for w, _ in pairs} == set(ELEMENT_TYPES)
    assert {n for _, n in pairs} == set(ELEMENT_TYPES)
    for wanted in [("float16", "float32"), ("float16", "float16"), ("bfloat16", "bfloat16"),
                   ("bfloat16", "float16"), ("int8-row", "float32"), ("int8-row", "int8-row")]:
        assert wanted in pairs, wanted
    assert all(n == "float32" for w, n in pairs if w == "float32")
    assert any(m.master is not None and m.weight_type == "int8-row" for m in models.values())
    assert any(m.depth == 0 and m.weight_type != "float32" for m in models.values())
    # int8-row values are exact products scale * q, kept in float64; the others are float32
    for m in models.values():
        assert m.w1.dtype == (np.float64 if m.weight_type == "int8-row" else np.float32)
        assert m.node_weights.dtype == (np.float64 if m.node_type == "int8-row" else np.float32)
    # minor 1 exactly for compact weights, as the reference writer writes (except the files
    # crafted to say another minor version)
    for rel in VALID:
        info, m = describe((CORPUS / rel).read_bytes()), models[rel]
        if info["minor"] in (0, 1) and "minor" not in rel:
            assert info["minor"] == (0 if m.weight_type == "float32" else 1), rel


# Compact corpus files that are plain write_model output, with the settings they were written with.
WRITTEN_BY_THE_WRITER = {
    "valid/float16_weights_float32_nodes.fff": {},
    "valid/float16_float16_master.fff": dict(codec="none", shuffle=False),
    "valid/float16_subnormal_and_extreme.fff": dict(codec="none"),
    "valid/bfloat16_bfloat16.fff": {},
    "valid/bfloat16_weights_float16_nodes.fff": dict(codec="none"),
    "valid/int8_row_weights_float32_nodes.fff": {},
    "valid/int8_row_int8_row.fff": dict(codec="none", shuffle=False),
    "valid/int8_row_master.fff": {},
    "valid/int8_row_zero_rows.fff": dict(codec="none", shuffle=False),
    "valid/float16_depth0_master.fff": dict(codec="none"),
}


@pytest.mark.parametrize("rel", sorted(WRITTEN_BY_THE_WRITER))
def test_writing_a_compact_file_read_back_gives_the_same_bytes(rel: str) -> None:
    """The design's round trip: a model read from a file this writer wrote writes the same bytes
    (int8-row re-quantises scale * q to the same scale and q)."""
    data = (CORPUS / rel).read_bytes()
    model = read_model(data)
    assert model.weight_type != "float32"
    assert write_model(model, **WRITTEN_BY_THE_WRITER[rel]) == data


@pytest.mark.parametrize("rel", VALID)
def test_identity_of_every_valid_file_is_the_manifests(rel: str) -> None:
    entry = next(item for item in MANIFEST["valid"] if item["file"] == rel)
    assert identity(CORPUS / rel).hex() == entry["identity"]


VERIFY_CASES = [(item["file"], case["keys"], case["verdict"])
                for item in MANIFEST["valid"] for case in item.get("verify", [])]


@pytest.mark.parametrize("rel,keys,verdict", VERIFY_CASES)
def test_verify_gives_the_manifests_verdict(rel: str, keys: list[str], verdict: str) -> None:
    got = verify(CORPUS / rel, [load_public_key(KEYS / k) for k in keys])
    assert got.verdict == verdict, got.message


def test_provenance_coverage() -> None:
    """Format 1.2: every verdict, identity shared across encodings, and a file per CARD/SIGN rule."""
    assert {v for _, _, v in VERIFY_CASES} == set(VERDICTS)
    by_identity: dict[str, list[str]] = {}
    for item in MANIFEST["valid"]:
        by_identity.setdefault(item["identity"], []).append(item["file"])
    same = by_identity[next(i["identity"] for i in MANIFEST["valid"] if i["file"] == "valid/same_model_none.fff")]
    assert len(same) >= 4
    invalid = [f for f, _ in INVALID]
    assert sum(f.startswith("invalid/card_") for f in invalid) >= 30
    assert sum(f.startswith("invalid/sign_") for f in invalid) >= 12
