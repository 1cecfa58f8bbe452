"""pyfff.format against spec/FORMAT.md: an independent encoder, round trips, damage, limits, order."""

from __future__ import annotations

import math
import os
import re
import struct
import time
import tracemalloc
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zstandard

from pyfff import format as fmt
from pyfff.format import (
    ERROR_CODES, FormatError, MasterLeaf, Model, RawSection, assemble, describe, model_sections,
    read_model, recompute_checksums, validate_bytes, write_model,
)

SPEC = Path(__file__).resolve().parents[2] / "spec" / "FORMAT.md"
MAGIC = b"\x89FFF\r\n\x1a\n"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# ---------------------------------------------------------------------------------------------
# Helpers: models and an independent, straight-from-the-spec encoder
# ---------------------------------------------------------------------------------------------


def make_model(seed: int = 0, i: int = 4, o: int = 3, d: int = 2, h: int = 2, act: str = "relu",
               m: int = 0, k: float = 0.5, prep: str | None = None, labels: bool = False,
               metadata: bool = False) -> Model:
    rng = np.random.default_rng(seed)

    def t(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    leaves = 1 << d
    master = MasterLeaf(t(i, m), t(m), t(m, o), t(o), k) if m else None
    scale = offset = None
    if prep == "scalar":
        scale, offset = np.array([2 / 255], np.float32), np.array([-1], np.float32)
    elif prep == "per-feature":
        scale, offset = t(i), t(i)
    return Model(i, o, d, h, act, t(leaves - 1, i), t(leaves - 1), t(leaves, i, h), t(leaves, h),
                 t(leaves, h, o), t(leaves, o), master, scale, offset,
                 [f"class {c} é" for c in range(o)] if labels else None,
                 [("name", "test"), ("empty", ""), ("training.f", "[1, 2]")] if metadata else [])


def spec_shuffle(payload: bytes, unit: int) -> bytes:
    """§4.2 literally: byte j of element i goes to position j * n + i."""
    n = len(payload) // unit
    out = bytearray(len(payload))
    for i in range(n):
        for j in range(unit):
            out[j * n + i] = payload[i * unit + j]
    return bytes(out)


def spec_encode(model: Model, codec: int = 0, shuffle: bool = False) -> bytes:
    """Encode ``model`` from the spec's tables alone (no pyfff code), as the reference writer should.

    Section order of §6, every section with ``codec``, tensor sections shuffled with unit 4.
    """
    act = ["identity", "relu", "gelu", "gelu-tanh", "silu", "sigmoid", "tanh"].index(model.activation)
    mw = 0 if model.master is None else model.master.w1.shape[1]
    k = 0.0 if model.master is None else model.master.k
    sections: list[tuple[bytes, bool, bytes, bool]] = []  # type, critical, payload, is tensor
    modl = struct.pack("<6I", 1, model.input_width, model.output_width, model.depth,
                       model.leaf_width, mw) + bytes([act, 0]) + bytes(2) + struct.pack("<f", k)
    sections.append((b"MODL", True, modl + bytes(32), False))
    if model.prep_scale is not None:
        c = len(model.prep_scale)
        sections.append((b"PREP", True, struct.pack("<II", c, 0)
                         + struct.pack(f"<{c}f", *model.prep_scale)
                         + struct.pack(f"<{c}f", *model.prep_offset), False))

    def f32(name: bytes, a: np.ndarray) -> None:
        flat = [float(x) for x in np.asarray(a).reshape(-1)]
        sections.append((name, True, struct.pack(f"<{len(flat)}f", *flat), True))

    if model.depth:
        f32(b"NODW", model.node_weights)
        f32(b"NODB", model.node_biases)
    for name, a in ((b"LFW1", model.w1), (b"LFB1", model.b1), (b"LFW2", model.w2), (b"LFB2", model.b2)):
        f32(name, a)
    if model.master is not None:
        ms = model.master
        for name, a in ((b"MSW1", ms.w1), (b"MSB1", ms.b1), (b"MSW2", ms.w2), (b"MSB2", ms.b2)):
            f32(name, a)
    if model.labels is not None:
        body = b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in model.labels)
        sections.append((b"LABL", False, struct.pack("<II", len(model.labels), 0) + body, False))
    if model.metadata:
        body = b"".join(struct.pack("<I", len(k.encode())) + k.encode()
                        + struct.pack("<I", len(v.encode())) + v.encode() for k, v in model.metadata)
        sections.append((b"META", False, struct.pack("<II", len(model.metadata), 0) + body, False))

    count = len(sections)
    table_end = 32 + 40 * count + 8
    blobs, entries, pos = [], [], table_end
    for name, critical, payload, tensor in sections:
        filt, unit = (1, 4) if (shuffle and tensor) else (0, 0)
        stored = spec_shuffle(payload, 4) if filt else payload
        if codec == 1:
            stored = zstandard.ZstdCompressor(level=19, write_content_size=True,
                                              write_checksum=False).compress(stored)
        pad = (-pos) % 8
        if blobs:
            blobs.append(bytes(pad))
            pos += pad
        entries.append(name + struct.pack("<IQQQBBBBI", int(critical), pos, len(stored), len(payload),
                                          codec, filt, unit, 0, zlib.crc32(stored)))
        blobs.append(stored)
        pos += len(stored)
    table = b"".join(entries)
    header = MAGIC + struct.pack("<HHIQI", 1, 0, count, pos, 0)
    return (header + struct.pack("<I", zlib.crc32(header)) + table
            + struct.pack("<II", zlib.crc32(table), 0) + b"".join(blobs))


def assert_models_equal(a: Model, b: Model) -> None:
    for f in ("input_width", "output_width", "depth", "leaf_width", "activation", "labels", "metadata"):
        assert getattr(a, f) == getattr(b, f), f
    for f in ("node_weights", "node_biases", "w1", "b1", "w2", "b2"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.shape == y.shape and x.dtype == y.dtype == np.float32, f
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), f
    assert (a.master is None) == (b.master is None)
    if a.master is not None:
        for f in ("w1", "b1", "w2", "b2"):
            assert np.array_equal(getattr(a.master, f), getattr(b.master, f)), f
        assert np.float32(a.master.k) == np.float32(b.master.k)
    assert (a.prep_scale is None) == (b.prep_scale is None)
    if a.prep_scale is not None:
        assert np.array_equal(a.prep_scale, b.prep_scale)
        assert np.array_equal(a.prep_offset, b.prep_offset)


def code_of(data: bytes) -> str | None:
    err = validate_bytes(data)
    return None if err is None else err.code


def base_sections(**kw: object) -> list[RawSection]:
    return model_sections(make_model(**kw), codec="none", shuffle=False)


def patch(sections: list[RawSection], name: str, **changes: object) -> list[RawSection]:
    return [replace(s, **changes) if s.type == name.encode() else s for s in sections]


# ---------------------------------------------------------------------------------------------
# Error codes and FormatError
# ---------------------------------------------------------------------------------------------


def test_error_codes_are_the_spec_table_in_order() -> None:
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("## 17. Error codes"):text.index("## 18.")]
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*`([a-z-]+)`\s*\|", section, re.M)
    assert [int(n) for n, _ in rows] == list(range(1, 21))
    assert ERROR_CODES == tuple(code for _, code in rows)


def test_format_error_string_forms() -> None:
    assert str(FormatError("truncated", "short", "header", 16)) == "truncated: short (section header, offset 16)"
    assert str(FormatError("truncated", "short", "LFW1")) == "truncated: short (section LFW1)"
    assert str(FormatError("truncated", "short", None, 3)) == "truncated: short (offset 3)"
    assert str(FormatError("truncated", "short")) == "truncated: short"
    e = FormatError("bad-layout", "x", "MODL", 0)
    assert (e.code, e.message, e.section, e.offset) == ("bad-layout", "x", "MODL", 0)
    with pytest.raises(ValueError):
        FormatError("no-such-code", "x")


def test_crc_is_the_spec_check_value() -> None:
    assert fmt._crc(b"123456789") == 0xCBF43926


def test_shuffle_matches_the_spec_permutation() -> None:
    payload = bytes(range(256)) * 3
    for unit in (2, 4, 8):
        assert fmt._shuffle(payload, unit) == spec_shuffle(payload, unit)
        assert fmt._unshuffle(spec_shuffle(payload, unit), unit) == payload


# ---------------------------------------------------------------------------------------------
# Writer against the independent encoder; round trips; determinism
# ---------------------------------------------------------------------------------------------

VARIANTS = {
    "depth0": dict(d=0, h=3),
    "depth2-master-prep-labels-meta": dict(d=2, m=3, prep="per-feature", labels=True, metadata=True),
    "depth1-scalar-prep": dict(d=1, prep="scalar", act="gelu-tanh"),
    "depth5-wide": dict(d=5, i=7, o=2, h=9, act="silu"),
}


@pytest.mark.parametrize("codec", ["none", "zstd"])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_writer_matches_independent_encoder_and_round_trips(codec: str, shuffle: bool, variant: str) -> None:
    model = make_model(seed=len(variant), **VARIANTS[variant])
    data = write_model(model, codec=codec, shuffle=shuffle)
    assert data == spec_encode(model, codec=1 if codec == "zstd" else 0, shuffle=shuffle)
    back = read_model(data)
    assert_models_equal(model, back)
    assert write_model(back, codec=codec, shuffle=shuffle) == data  # write -> read -> write
    assert write_model(model, codec=codec, shuffle=shuffle) == data  # deterministic


def test_independent_encoder_file_is_read_by_pyfff() -> None:
    model = make_model(seed=9, d=3, m=2, prep="scalar", labels=True, metadata=True, act="tanh")
    for codec in (0, 1):
        for shuffle in (False, True):
            assert_models_equal(model, read_model(spec_encode(model, codec, shuffle)))


def test_all_activations_round_trip() -> None:
    for act in fmt.ACTIVATIONS:
        model = make_model(act=act)
        assert read_model(write_model(model)).activation == act


def test_zstd_level_changes_nothing_but_the_frames() -> None:
    model = make_model(d=3, i=16, h=8)
    fast = write_model(model, level=1)
    assert_models_equal(read_model(fast), read_model(write_model(model, level=19)))


def test_float64_arrays_are_written_as_float32() -> None:
    model = make_model()
    model.w1 = model.w1.astype(np.float64)
    back = read_model(write_model(model))
    assert back.w1.dtype == np.float32 and np.array_equal(back.w1, model.w1.astype(np.float32))


def test_write_model_to_path_is_atomic_and_complete(tmp_path: Path) -> None:
    model = make_model(labels=True)
    target = tmp_path / "m.fff"
    target.write_bytes(b"old contents")
    data = write_model(model, target)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fff"]  # no temporary left behind
    bad = make_model()
    bad.b2[0, 0] = np.nan
    with pytest.raises(FormatError) as e:
        write_model(bad, target)
    assert e.value.code == "non-finite-parameter"
    assert target.read_bytes() == data  # a failed write leaves the old file alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fff"]
    assert_models_equal(model, read_model(str(target)))


def test_write_model_rejects_unknown_codec() -> None:
    with pytest.raises(ValueError, match="codec"):
        write_model(make_model(), codec="lz4")


# ---------------------------------------------------------------------------------------------
# Damage: bit flips, truncations, appended bytes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_every_single_bit_flip_is_rejected(codec: str) -> None:
    data = write_model(make_model(d=1, i=3, o=2, h=1, labels=True), codec=codec)
    assert validate_bytes(data) is None
    buf = bytearray(data)
    for pos in range(len(buf)):
        for bit in range(8):
            buf[pos] ^= 1 << bit
            err = validate_bytes(bytes(buf))
            buf[pos] ^= 1 << bit
            assert err is not None, f"flip of bit {bit} at byte {pos} accepted"


def test_every_truncation_is_rejected_as_truncated() -> None:
    data = write_model(make_model(d=1, i=3, o=2, h=2, m=1, metadata=True))
    for n in range(len(data)):
        err = validate_bytes(data[:n])
        assert err is not None and err.code == "truncated", (n, err)


@pytest.mark.parametrize("tail", [b"\x00", b"\x00" * 8, b"\xff", b"junk after the end"])
def test_appended_bytes_are_rejected(tail: bytes) -> None:
    data = write_model(make_model())
    assert code_of(data + tail) == "trailing-bytes"


# ---------------------------------------------------------------------------------------------
# Limits: refused before allocating
# ---------------------------------------------------------------------------------------------


def _peak_while(fn) -> tuple[object, int, float]:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak, elapsed


def _tiny_frame(n: int) -> bytes:
    """A zstd frame without content size that decodes to ``n`` zero bytes (n a few MiB at most)."""
    return zstandard.ZstdCompressor(level=1, write_content_size=False).compress(bytes(n))


def test_huge_declared_sections_are_refused_quickly_without_allocating() -> None:
    # MODL implies LFW1 of exactly 2^34 bytes (the tensor limit); its table entry declares that
    # much, stored as a 20-byte frame. The reader's 4 GiB budget must refuse it before decoding.
    i, h = 1 << 16, 1 << 16
    secs = base_sections(d=0, i=1, o=1, h=1)
    from make_conformance import modl_payload
    secs = patch(secs, "MODL", payload=modl_payload(i=i, o=1, d=0, h=h))
    sizes = {"LFW1": i * h * 4, "LFB1": h * 4, "LFW2": h * 4, "LFB2": 4}
    secs = [replace(s, codec=1, filter=0, unit=0, stored_override=_tiny_frame(16),
                    decoded_length_override=sizes[s.type.decode()]) if s.type.decode() in sizes else s
            for s in secs]
    data = assemble(secs)
    err, peak, elapsed = _peak_while(lambda: validate_bytes(data))
    assert err is not None and err.code == "limit-exceeded" and "budget" in err.message
    assert peak < 1 << 20 and elapsed < 1.0
    # The budget counts the decoded lengths of all known sections, MODL included.
    total = sum(sizes.values()) + 64
    with pytest.raises(FormatError) as e:
        read_model(data, max_decoded_bytes=total - 1)
    assert e.value.code == "limit-exceeded"


def test_decompression_bomb_stops_at_the_declared_length() -> None:
    bomb = _tiny_frame(32 << 20)  # 32 MiB of zeros in a frame of a few KB without content size
    assert len(bomb) < 4096
    secs = patch(base_sections(d=1), "LFB1", codec=1, stored_override=bomb, filter=0, unit=0)
    data = assemble(secs)
    err, peak, elapsed = _peak_while(lambda: validate_bytes(data))
    assert err is not None and err.code == "decompression-failed"
    assert peak < 1 << 20 and elapsed < 1.0


@pytest.mark.parametrize("field,value", [("i", 1 << 31), ("d", 60), ("h", 1 << 20), ("m", 1 << 30)])
def test_absurd_modl_fields_are_refused_quickly(field: str, value: int) -> None:
    from make_conformance import modl_payload
    secs = patch(base_sections(d=1), "MODL", payload=modl_payload(**{field: value}))
    err, peak, elapsed = _peak_while(lambda: validate_bytes(assemble(secs)))
    assert err is not None and err.code == "limit-exceeded"
    assert peak < 1 << 20 and elapsed < 1.0


def test_section_count_and_decoded_length_limits() -> None:
    good = write_model(make_model())
    assert code_of(assemble(base_sections(), section_count=1025)) == "limit-exceeded"
    # decoded length exactly 2^34 passes step 8 (and fails later, on the shape); 2^34 + 1 does not.
    at = patch(base_sections(), "LFW1", codec=1, decoded_length_override=1 << 34)
    over = patch(base_sections(), "LFW1", codec=1, decoded_length_override=(1 << 34) + 1)
    assert code_of(assemble(at)) == "shape-mismatch"
    assert code_of(assemble(over)) == "limit-exceeded"
    assert validate_bytes(good) is None


def test_budget_boundary() -> None:
    data = write_model(make_model())
    total = sum(s["decoded_length"] for s in describe(data)["sections"])
    read_model(data, max_decoded_bytes=total)
    with pytest.raises(FormatError) as e:
        read_model(data, max_decoded_bytes=total - 1)
    assert e.value.code == "limit-exceeded"


def test_unknown_ancillary_sections_do_not_count_against_the_budget() -> None:
    secs = base_sections() + [RawSection(b"xBIG", b"", critical=False, codec=1, filter=0, unit=0,
                                         stored_override=b"not a frame",
                                         decoded_length_override=1 << 34)]
    read_model(assemble(secs), max_decoded_bytes=1 << 20)


# ---------------------------------------------------------------------------------------------
# Each rule, and the order of §16
# ---------------------------------------------------------------------------------------------


def test_magic_and_size_rules() -> None:
    good = write_model(make_model())
    assert code_of(b"") == "truncated"
    for n in range(1, 8):
        assert code_of(MAGIC[:n]) == "truncated"
        assert code_of(b"\x00" + MAGIC[1:n]) == "bad-magic"
    assert code_of(b"PK\x03\x04") == "bad-magic"
    assert code_of(b"\x89FFF\r\n\x1a\x0a" + bytes(10)) == "truncated"
    assert code_of(b"\x89FFF\n\x1a\n" + good[7:]) == "bad-magic"  # CR LF turned into LF


def test_version_rules() -> None:
    secs = base_sections()
    assert code_of(assemble(secs, major=0)) == "unsupported-version"
    assert code_of(assemble(secs, major=2)) == "unsupported-version"
    # version is checked before the header checksum
    assert code_of(assemble(secs, major=2, header_checksum=0)) == "unsupported-version"
    assert validate_bytes(assemble(secs, minor=7)) is None


def test_newer_minor_version_ignores_reserved_fields_but_not_padding() -> None:
    from make_conformance import modl_payload
    secs = base_sections(d=1, prep="scalar", labels=True, metadata=True)
    broken = {
        "header flags": dict(header_flags=1),
        "trailer": dict(trailer_reserved=1),
    }
    for name, kw in broken.items():
        assert code_of(assemble(secs, **kw)) == "reserved-nonzero", name
        # 1.2: minor 2 is this reader's own version, so only minor 3 and later are newer
        assert code_of(assemble(secs, minor=1, **kw)) == "reserved-nonzero", name
        assert code_of(assemble(secs, minor=2, **kw)) == "reserved-nonzero", name
        assert validate_bytes(assemble(secs, minor=3, **kw)) is None, name
    payload_broken = {
        "entry flag bit": patch(secs, "LFW1", flags_override=0x80000001),
        "entry reserved byte": patch(secs, "LFW1", reserved=9),
        "MODL reserved": patch(secs, "MODL", payload=modl_payload(
            i=4, o=3, d=1, h=2, res2=bytes(31) + b"\x01")),
        "MODL reserved byte 27": patch(secs, "MODL", payload=modl_payload(i=4, o=3, d=1, h=2, res27=1)),
        "PREP reserved": [replace(s, payload=s.payload[:4] + b"\x01\0\0\0" + s.payload[8:])
                          if s.type in (b"PREP",) else s for s in secs],
        "LABL reserved": [replace(s, payload=s.payload[:4] + b"\x01\0\0\0" + s.payload[8:])
                          if s.type in (b"LABL",) else s for s in secs],
        "META reserved": [replace(s, payload=s.payload[:4] + b"\x01\0\0\0" + s.payload[8:])
                          if s.type in (b"META",) else s for s in secs],
    }
    for name, changed in payload_broken.items():
        assert code_of(assemble(changed)) == "reserved-nonzero", name
        assert code_of(assemble(changed, minor=1)) == "reserved-nonzero", name
        assert code_of(assemble(changed, minor=2)) == "reserved-nonzero", name
        assert validate_bytes(assemble(changed, minor=3)) is None, name
    padded = patch(secs, "NODB", padding_byte=1)
    assert code_of(assemble(padded)) == "reserved-nonzero"
    assert code_of(assemble(padded, minor=1)) == "reserved-nonzero"
    assert code_of(assemble(padded, minor=2)) == "reserved-nonzero"
    assert code_of(assemble(padded, minor=3)) == "reserved-nonzero"
    # byte 26 is no longer reserved: a newer minor version does not make it ignorable
    node_type = patch(secs, "MODL", payload=modl_payload(i=4, o=3, d=1, h=2, node=1))
    assert code_of(assemble(node_type, minor=3)) == "invalid-value"


def test_layout_rules() -> None:
    secs = base_sections(d=1)
    data = assemble(secs)
    info = describe(data)
    assert info["sections"][0]["offset"] == 32 + 40 * len(secs) + 8
    for prev, cur in zip(info["sections"], info["sections"][1:]):
        end = prev["offset"] + prev["stored_length"]
        assert cur["offset"] == end + (-end) % 8
    last = info["sections"][-1]
    assert last["offset"] + last["stored_length"] == len(data) == info["file_length"]
    # the first section may not be preceded by padding
    first = secs[0]
    assert code_of(assemble([replace(first, offset_override=info["sections"][0]["offset"] + 8)]
                            + secs[1:])) == "bad-layout"


def test_checks_within_an_entry_follow_the_spec_order() -> None:
    secs = base_sections()
    # codec before filter before unit before decoded length limit before offset
    e = patch(secs, "LFW1", codec=5, filter=5, unit=3, decoded_length_override=1 << 40,
              offset_override=4096)
    assert code_of(assemble(e)) == "unknown-codec"
    e = patch(secs, "LFW1", filter=5, unit=3, decoded_length_override=1 << 40, offset_override=4096)
    assert code_of(assemble(e)) == "unknown-filter"
    e = patch(secs, "LFW1", filter=1, unit=3, decoded_length_override=1 << 40, offset_override=4096)
    assert code_of(assemble(e)) == "invalid-value"
    e = patch(secs, "LFW1", codec=1, decoded_length_override=1 << 40, offset_override=4096)
    assert code_of(assemble(e)) == "limit-exceeded"
    # reserved bits before the codec
    e = patch(secs, "LFW1", reserved=1, codec=5)
    assert code_of(assemble(e)) == "reserved-nonzero"
    # type characters before everything in the entry
    e = patch(secs, "LFW1", type=b"LF W", reserved=1)
    assert code_of(assemble(e)) == "invalid-value"


def test_entries_are_checked_in_table_order() -> None:
    secs = base_sections()
    # a layout error in an earlier entry wins over a codec error in a later one
    e = patch(patch(secs, "NODW", decoded_length_override=1), "LFB2", codec=9)
    assert code_of(assemble(e)) == "bad-layout"
    e = patch(patch(secs, "NODW", codec=9), "LFB2", decoded_length_override=1)
    assert code_of(assemble(e)) == "unknown-codec"


def test_stage_order_across_the_file() -> None:
    secs = base_sections(d=1, labels=True)
    nan = struct.pack("<f", float("nan"))
    # header checksum (step 4) before trailing bytes (step 6)
    assert code_of(assemble(secs, header_checksum=1) + b"\0") == "checksum-mismatch"
    # trailing bytes (6) before table checksum (7)
    assert code_of(assemble(secs, table_checksum=1) + b"\0") == "trailing-bytes"
    # table entries (8) before section types (10)
    e = patch(patch(secs, "LFB2", codec=9), "LFW1", critical=False)
    assert code_of(assemble(e)) == "unknown-codec"
    # types (10) before section checksums (11)
    e = patch(patch(secs, "LFB2", checksum_override=0), "LFW1", critical=False)
    assert code_of(assemble(e)) == "invalid-value"
    # section checksums (11) before MODL (12)
    e = patch(patch(secs, "LFB2", checksum_override=0), "MODL", payload=bytes(64))
    assert code_of(assemble(e)) == "checksum-mismatch"
    # MODL (12) before presence (13)
    e = [s for s in patch(secs, "MODL", payload=secs[0].payload[:60]) if s.type != b"LFW1"]
    assert code_of(assemble(e)) == "shape-mismatch"
    # presence (13) before lengths (14)
    e = [s for s in patch(secs, "LFB2", payload=bytes(4)) if s.type != b"LFW1"]
    assert code_of(assemble(e)) == "missing-section"
    # lengths of all known sections (14) before any content (15)
    e = patch(patch(secs, "NODW", payload=nan * 4), "LABL", payload=secs[-1].payload + b"\0")
    assert code_of(assemble(patch(e, "LFB2", payload=bytes(4)))) == "shape-mismatch"
    # contents in table order: NaN in NODW before the bad label in LABL
    assert code_of(assemble(patch(e, "LABL", payload=struct.pack("<II", 3, 0)))) == "non-finite-parameter"
    # and decoding is section by section: content of NODW before decoding LFB1
    e = patch(patch(secs, "NODW", payload=nan * 4), "LFB1", codec=1,
              stored_override=ZSTD_MAGIC + b"garbage")
    assert code_of(assemble(e)) == "non-finite-parameter"


def test_section_type_rules() -> None:
    secs = base_sections(d=1)
    assert code_of(assemble(secs[1:] + secs[:1])) == "missing-section"
    assert code_of(assemble(secs + [secs[2]])) == "duplicate-section"
    unknown = RawSection(b"abcd", b"x", critical=True, codec=0, filter=0, unit=0)
    assert code_of(assemble(secs + [unknown])) == "unknown-critical-section"
    assert validate_bytes(assemble(secs + [replace(unknown, critical=False)])) is None
    # one pass over the entries: whichever entry comes first decides
    lfb2 = next(x for x in secs if x.type == b"LFB2")
    assert code_of(assemble(secs + [unknown, lfb2])) == "unknown-critical-section"
    assert code_of(assemble(secs + [lfb2, unknown])) == "duplicate-section"
    assert code_of(assemble(secs + [unknown, unknown])) == "unknown-critical-section"
    assert code_of(assemble(patch(secs, "MODL", critical=False))) == "invalid-value"
    for bad_type in (b"MOD ", b"\x00\x00\x00\x00", b"M\xc3\x89D"):
        assert code_of(assemble(secs + [replace(unknown, type=bad_type, critical=False)])) == "invalid-value"
    # section types are case-sensitive: 'modl' is an unknown type
    assert code_of(assemble(secs + [replace(unknown, type=b"modl")])) == "unknown-critical-section"


def test_presence_rules() -> None:
    secs = base_sections(d=1, m=2)
    for name in ("LFW1", "LFB1", "LFW2", "LFB2", "NODW", "NODB", "MSW1", "MSB1", "MSW2", "MSB2"):
        assert code_of(assemble([s for s in secs if s.type != name.encode()])) == "missing-section", name
    nomaster = base_sections(d=1)
    extra = RawSection(b"MSB1", bytes(8), codec=0, filter=0, unit=0)
    assert code_of(assemble(nomaster + [extra])) == "unexpected-section"
    depth0 = base_sections(d=0)
    assert code_of(assemble(depth0 + [RawSection(b"NODB", b"", codec=0, filter=0, unit=0)])) == \
        "unexpected-section"


def test_modl_field_rules() -> None:
    from make_conformance import modl_payload
    cases = [
        (dict(kind=0), "invalid-value"), (dict(kind=2), "unsupported-feature"),
        (dict(i=0), "invalid-value"), (dict(o=0), "invalid-value"), (dict(h=0), "invalid-value"),
        (dict(i=(1 << 24) + 1), "limit-exceeded"), (dict(o=(1 << 24) + 1), "limit-exceeded"),
        (dict(d=25), "limit-exceeded"), (dict(h=(1 << 16) + 1), "limit-exceeded"),
        (dict(m=(1 << 16) + 1), "limit-exceeded"), (dict(act=7), "unsupported-feature"),
        (dict(act=255), "unsupported-feature"),
        # 1.1: types 1 ... 3 are defined (then the float32-sized tensors do not match)
        (dict(elem=1), "shape-mismatch"), (dict(elem=2), "shape-mismatch"),
        (dict(elem=3), "shape-mismatch"),
        (dict(elem=4), "unsupported-feature"), (dict(elem=255), "unsupported-feature"),
        (dict(node=4), "unsupported-feature"), (dict(elem=1, node=4), "unsupported-feature"),
        (dict(node=1), "invalid-value"), (dict(node=3), "invalid-value"),
        (dict(elem=1, node=1, d=0), "invalid-value"),
        (dict(elem=2, node=2), "shape-mismatch"), (dict(elem=3, node=1), "shape-mismatch"),
        (dict(res27=1), "reserved-nonzero"), (dict(elem=1, res27=0x80), "reserved-nonzero"),
        (dict(k=float("nan")), "non-finite-parameter"),
        (dict(k=float("-inf")), "non-finite-parameter"), (dict(k=1e-30), "invalid-value"),
        (dict(k=b"\0\0\0\x80"), "invalid-value"),
        # field order: layer kind before widths, widths before activation, ...
        (dict(kind=3, i=0), "unsupported-feature"), (dict(i=1 << 30, act=9), "limit-exceeded"),
        (dict(act=9, elem=1), "unsupported-feature"), (dict(elem=4, k=float("nan")), "unsupported-feature"),
        (dict(elem=1, k=float("nan")), "non-finite-parameter"),
        (dict(elem=9, node=1), "unsupported-feature"), (dict(node=9, res27=1), "unsupported-feature"),
        (dict(node=1, res27=1), "invalid-value"), (dict(elem=1, node=1, d=0, res27=1), "invalid-value"),
        (dict(res27=1, k=float("nan")), "reserved-nonzero"),
        (dict(k=float("nan"), res2=b"\1" * 32), "non-finite-parameter"),
        (dict(k=2.0, res2=b"\1" * 32), "invalid-value"),
    ]
    secs = base_sections(d=1)
    for fields, code in cases:
        payload = modl_payload(**{"i": 4, "o": 3, "d": 1, "h": 2, **fields})
        assert code_of(assemble(patch(secs, "MODL", payload=payload))) == code, fields
    # widths at their limits are fine as far as MODL goes (then the tensors do not match)
    payload = modl_payload(i=1 << 24, o=1 << 24, d=0, h=1, m=0)
    assert code_of(assemble(patch(secs, "MODL", payload=payload))) == "unexpected-section"
    # a master leaf allows any finite k, including -0.0
    msecs = base_sections(d=1, m=2)
    for k in (0.0, -3.5, b"\0\0\0\x80"):
        payload = modl_payload(i=4, o=3, d=1, h=2, m=2, k=k)
        assert validate_bytes(assemble(patch(msecs, "MODL", payload=payload))) is None


def test_modl_may_be_compressed_and_shuffled() -> None:
    secs = base_sections(d=1)
    for codec, filt, unit in ((1, 0, 0), (0, 1, 8), (1, 1, 2)):
        assert validate_bytes(assemble(patch(secs, "MODL", codec=codec, filter=filt, unit=unit))) is None


def test_tensor_length_and_content_rules() -> None:
    secs = base_sections(d=1, m=2)
    for name in ("NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2"):
        s = next(x for x in secs if x.type == name.encode())
        assert code_of(assemble(patch(secs, name, payload=s.payload[:-4]))) == "shape-mismatch", name
        for bad in (float("nan"), float("inf"), float("-inf")):
            p = s.payload[:-4] + struct.pack("<f", bad)
            assert code_of(assemble(patch(secs, name, payload=p))) == "non-finite-parameter", name
    # a signalling NaN and a NaN with payload bits are NaN too
    s = next(x for x in secs if x.type == b"LFB1")
    for bits in (0x7F800001, 0xFFFFFFFF):
        p = struct.pack("<I", bits) + s.payload[4:]
        assert code_of(assemble(patch(secs, "LFB1", payload=p))) == "non-finite-parameter"
    # shuffled length not a multiple of the unit: NODB is 4 bytes
    assert code_of(assemble(patch(secs, "NODB", filter=1, unit=8))) == "invalid-value"


def test_prep_rules() -> None:
    secs = base_sections(d=1, prep="per-feature")
    prep = next(s for s in secs if s.type == b"PREP").payload
    assert validate_bytes(assemble(secs)) is None
    cases = [
        # count 2 (neither 1 nor I = 4) in a 40-byte payload, a length step 14 accepts
        (struct.pack("<I", 2) + prep[4:], "invalid-value"),
        (struct.pack("<I", 0) + prep[4:], "invalid-value"),
        (struct.pack("<I", 1) + prep[4:], "shape-mismatch"),  # count 1 needs 16 bytes
        (prep + bytes(4), "shape-mismatch"),  # neither 16 nor 40 bytes (step 14)
        (prep[:8], "shape-mismatch"),
        (prep[:8 + 16] + struct.pack("<f", float("nan")) + prep[28:], "non-finite-parameter"),
        (prep[:8] + struct.pack("<f", float("-inf")) + prep[12:], "non-finite-parameter"),
    ]
    for payload, code in cases:
        assert code_of(assemble(patch(secs, "PREP", payload=payload))) == code, payload


def test_label_rules() -> None:
    secs = base_sections(d=1, o=3, labels=True)

    def lab(count: int, items: list[bytes], tail: bytes = b"") -> list[RawSection]:
        p = struct.pack("<II", count, 0) + b"".join(struct.pack("<I", len(x)) + x for x in items)
        return patch(secs, "LABL", payload=p + tail)

    assert validate_bytes(assemble(lab(3, [b"a", "é".encode(), b"x" * 1024]))) is None
    assert code_of(assemble(lab(3, [b"a", b"b", b"x" * 1025]))) == "invalid-value"
    assert code_of(assemble(lab(3, [b"a", b"b", b""]))) == "invalid-value"
    assert code_of(assemble(lab(3, [b"a", b"b", b"a"]))) == "invalid-value"
    assert code_of(assemble(lab(3, [b"a", b"b", b"\xff"]))) == "invalid-value"
    assert code_of(assemble(lab(4, [b"a", b"b", b"c", b"d"]))) == "shape-mismatch"
    assert code_of(assemble(lab(3, [b"a", b"b", b"c"], b"\0"))) == "shape-mismatch"
    assert code_of(assemble(lab(3, [b"a", b"b"], b"\1\0"))) == "shape-mismatch"
    assert code_of(assemble(patch(secs, "LABL", payload=b"\3\0\0"))) == "shape-mismatch"
    # an over-long length that also runs past the payload: the range is checked first
    assert code_of(assemble(lab(3, [b"a", b"b"], struct.pack("<I", 5000)))) == "invalid-value"
    # distinctness is by bytes: NFC and NFD forms of é are different labels
    assert validate_bytes(assemble(lab(3, [b"a", "é".encode(), "e\u0301".encode()]))) is None


def test_metadata_rules() -> None:
    secs = base_sections(d=1, metadata=True)

    def meta(items: list[tuple[bytes, bytes]], count: int | None = None, tail: bytes = b"") -> list[RawSection]:
        p = struct.pack("<II", len(items) if count is None else count, 0) + b"".join(
            struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v for k, v in items)
        return patch(secs, "META", payload=p + tail)

    assert validate_bytes(assemble(meta([]))) is None
    assert validate_bytes(assemble(meta([(b"!~" * 128, "ünï".encode()), (b"k", b"")]))) is None
    assert code_of(assemble(meta([(b"", b"v")]))) == "invalid-value"
    assert code_of(assemble(meta([(b"k" * 257, b"v")]))) == "invalid-value"
    assert code_of(assemble(meta([(b"k\x7f", b"v")]))) == "invalid-value"
    assert code_of(assemble(meta([("ké".encode(), b"v")]))) == "invalid-value"
    assert code_of(assemble(meta([(b"k", b"v"), (b"k", b"w")]))) == "invalid-value"
    assert code_of(assemble(meta([(b"k", b"\xf4\x90\x80\x80")]))) == "invalid-value"  # > U+10FFFF
    assert code_of(assemble(meta([], count=65537))) == "invalid-value"
    assert code_of(assemble(meta([(b"k", b"v")], count=2))) == "shape-mismatch"
    assert code_of(assemble(meta([(b"k", b"v")], tail=b"\0"))) == "shape-mismatch"
    assert code_of(assemble(patch(secs, "META", payload=b"\0" * 7))) == "shape-mismatch"
    p = struct.pack("<III", 1, 0, 1) + b"k" + struct.pack("<I", (1 << 24) + 1)
    assert code_of(assemble(patch(secs, "META", payload=p))) == "invalid-value"


def test_zstd_rules() -> None:
    secs = base_sections(d=1)
    s = next(x for x in secs if x.type == b"LFW1")
    payload = s.payload

    def z(**kw: object) -> bytes:
        return zstandard.ZstdCompressor(level=19, **kw).compress(payload)

    def check(stored: bytes) -> str | None:
        return code_of(assemble(patch(secs, "LFW1", codec=1, filter=0, unit=0, stored_override=stored)))

    assert check(z()) is None
    assert check(z(write_content_size=False)) == "decompression-failed"  # §4.1: size required
    assert check(z(write_checksum=True)) is None
    assert check(z() + z()) == "decompression-failed"
    assert check(z()[:-1]) == "decompression-failed"
    assert check(z() + b"\0") == "decompression-failed"
    assert check(b"\0" + z()) == "decompression-failed"
    assert check(struct.pack("<II", 0x184D2A5F, 0) + z()) == "decompression-failed"
    assert check(struct.pack("<II", 0x184D2A50, 0)) == "decompression-failed"
    assert check(ZSTD_MAGIC) == "decompression-failed"
    bad = bytearray(z(write_checksum=True))
    bad[-2] ^= 1
    assert check(bytes(bad)) == "decompression-failed"
    # a hand-made frame: single segment, 1-byte content size, one raw last block
    assert len(payload) < 256
    raw_block = struct.pack("<I", 1 | (len(payload) << 3))[:3] + payload
    assert check(ZSTD_MAGIC + bytes([0x20, len(payload)]) + raw_block) is None
    # the same frame needing dictionary 7 (descriptor: dictionary ID flag 1, one byte)
    assert check(ZSTD_MAGIC + bytes([0x21, 7, len(payload)]) + raw_block) == "decompression-failed"
    # a block of reserved type 3
    assert check(ZSTD_MAGIC + bytes([0x20, len(payload)]) + bytes([raw_block[0] | 6])
                 + raw_block[1:]) == "decompression-failed"


def test_zstd_empty_payload_path() -> None:
    from make_conformance import patch_content_size
    assert fmt._zstd_decode(zstandard.ZstdCompressor().compress(b""), 0, "T", 0) == b""
    one = patch_content_size(zstandard.ZstdCompressor().compress(b"x"), 0)
    with pytest.raises(FormatError) as e:
        fmt._zstd_decode(one, 0, "T", 0)
    assert e.value.code == "decompression-failed"


def test_errors_name_section_and_offset() -> None:
    secs = base_sections(d=1)
    data = assemble(patch(secs, "LFB1", reserved=1))
    err = validate_bytes(data)
    assert err is not None and err.section == "LFB1 (entry 4)" and err.offset == 32 + 40 * 4 + 35
    assert data[err.offset] == 1
    err = validate_bytes(assemble(patch(secs, "LFW2", payload=b"\0" * 4 + struct.pack("<f", math.inf)
                                        + next(s for s in secs if s.type == b"LFW2").payload[8:])))
    assert err is not None and (err.section, err.offset) == ("LFW2", 4)
    assert str(err).startswith("non-finite-parameter: ") and "section LFW2, offset 4" in str(err)


# ---------------------------------------------------------------------------------------------
# read_model sources, describe, recompute_checksums, Model.check
# ---------------------------------------------------------------------------------------------


def test_read_model_sources(tmp_path: Path) -> None:
    model = make_model()
    data = write_model(model)
    path = tmp_path / "x.fff"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data), memoryview(data)):
        assert_models_equal(model, read_model(source))
    for missing in (tmp_path / "nope.fff", tmp_path):
        with pytest.raises(FormatError) as e:
            read_model(missing)
        assert e.value.code == "io-error" and str(missing) in e.value.message


def test_describe_matches_hand_parsing() -> None:
    data = write_model(make_model(labels=True))
    info = describe(data)
    major, minor, count, length, flags, crc = struct.unpack_from("<HHIQII", data, 8)
    assert (info["major"], info["minor"], info["section_count"], info["file_length"],
            info["header_flags"], info["header_checksum"]) == (major, minor, count, length, flags, crc)
    assert info["header_checksum_ok"] and info["table_checksum_ok"]
    assert [s["type"] for s in info["sections"]] == [
        "MODL", "NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "LABL"]
    for i, s in enumerate(info["sections"]):
        raw = struct.unpack_from("<4sIQQQBBBBI", data, 32 + 40 * i)
        assert (s["type"].encode(), s["flags"], s["offset"], s["stored_length"], s["decoded_length"],
                s["codec"], s["filter"], s["filter_unit"], s["reserved"], s["checksum"]) == raw
        assert s["checksum_ok"] and s["critical"] == (s["type"] != "LABL")
    with pytest.raises(FormatError):
        describe(data[:31])
    assert describe(data[:32 + 40 * 3])["sections_listed"] == 3


def test_recompute_checksums_repairs_a_patched_value() -> None:
    data = bytearray(write_model(make_model(), codec="none", shuffle=False))
    lfb2 = next(s for s in describe(bytes(data))["sections"] if s["type"] == "LFB2")
    struct.pack_into("<f", data, lfb2["offset"], 42.0)
    assert code_of(bytes(data)) == "checksum-mismatch"
    fixed = recompute_checksums(bytes(data))
    assert read_model(fixed).b2[0, 0] == 42.0
    assert recompute_checksums(fixed) == fixed


def test_model_check_rules() -> None:
    def expect(code: str, **change: object) -> None:
        model = make_model(d=1, m=2, prep="scalar", labels=True)
        for k, v in change.items():
            setattr(model, k, v)
        with pytest.raises(FormatError) as e:
            model.check()
        assert e.value.code == code, (change, e.value)

    make_model(d=1, m=2, prep="per-feature", labels=True, metadata=True).check()
    expect("invalid-value", activation="swish")
    expect("invalid-value", input_width=0)
    expect("limit-exceeded", depth=25)
    expect("invalid-value", depth=-1)
    expect("invalid-value", leaf_width=2.0)
    expect("shape-mismatch", w1=np.zeros((2, 4, 3), np.float32))
    expect("shape-mismatch", node_weights=np.zeros((2, 4), np.float32))
    expect("invalid-value", b2=[[0.0] * 3] * 2)
    expect("non-finite-parameter", b1=np.full((2, 2), np.inf, np.float32))
    expect("non-finite-parameter", b1=np.full((2, 2), 1e300))  # overflows float32
    expect("invalid-value", prep_offset=None)
    expect("shape-mismatch", prep_scale=np.ones(3, np.float32), prep_offset=np.ones(3, np.float32))
    expect("non-finite-parameter", prep_scale=np.array([np.nan], np.float32))
    expect("shape-mismatch", labels=["a", "b"])
    expect("invalid-value", labels=["a", "b", "a"])
    expect("invalid-value", labels=["a", "b", ""])
    expect("invalid-value", labels=["a", "b", "\ud800"])
    expect("invalid-value", metadata=[("bad key", "v")])
    expect("invalid-value", metadata=[("k", "v"), ("k", "w")])
    expect("invalid-value", metadata=[("k", 1)])
    master = make_model(d=1, m=2).master
    expect("non-finite-parameter", master=replace(master, k=float("nan")))
    expect("non-finite-parameter", master=replace(master, k=1e39))
    expect("shape-mismatch", master=replace(master, w2=np.zeros((2, 4), np.float32)))
    big = make_model(d=0, i=1, o=1, h=1)
    big.input_width, big.leaf_width = 1 << 24, 1 << 16
    with pytest.raises(FormatError) as e:
        big.check()
    assert e.value.code == "limit-exceeded" and "LFW1" in e.value.message


def test_read_model_result_passes_check_and_is_writable() -> None:
    for variant in VARIANTS.values():
        back = read_model(write_model(make_model(**variant)))
        back.check()
        back.w1[0, 0, 0] = 1.0  # arrays are owned copies, not views of the file bytes
