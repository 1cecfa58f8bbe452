#!/usr/bin/env python3
"""Generate the FFF conformance corpus: fixtures/conformance/{valid,invalid}/*.fff + manifest.json.

Every reader of the format must accept each valid file and reject each invalid file with the
manifest's error code (spec §17), the first error in the order of spec §16.  Each invalid file
breaks exactly one rule; all its checksums are valid unless the rule broken is a checksum.

Deterministic: fixed numpy seeds and zstd level 19, so re-running reproduces identical bytes
(for the pinned zstandard library).  Usage: python3 tools/make_conformance.py [OUT_DIR]
"""

from __future__ import annotations

import json
import os
import struct
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import zstandard

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyfff.format import (  # noqa: E402
    MAGIC, MasterLeaf, Model, RawSection, assemble, model_sections, validate_bytes,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "fixtures" / "conformance"


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def make_model(seed: int, i: int, o: int, d: int, h: int, activation: str, *, m: int = 0,
               k: float = 0.0, prep: str | None = None, labels: list[str] | None = None,
               metadata: list[tuple[str, str]] | None = None) -> Model:
    """A small model with weights on a 1/32 grid (exact in float32, compressible by zstd)."""
    rng = np.random.default_rng(seed)

    def t(*shape: int) -> np.ndarray:
        return (rng.integers(-64, 65, size=shape) / 32.0).astype(np.float32)

    leaves, nodes = 1 << d, (1 << d) - 1
    master = MasterLeaf(t(i, m), t(m), t(m, o), t(o), k) if m else None
    scale = offset = None
    if prep == "scalar":
        scale, offset = np.array([2 / 255], np.float32), np.array([-1.0], np.float32)
    elif prep == "per-feature":
        scale = (rng.integers(1, 9, size=i) / 8.0).astype(np.float32)
        offset = (rng.integers(-8, 9, size=i) / 4.0).astype(np.float32)
    return Model(i, o, d, h, activation, t(nodes, i), t(nodes), t(leaves, i, h), t(leaves, h),
                 t(leaves, h, o), t(leaves, o), master, scale, offset, labels, metadata or [])


def modl_payload(*, kind: int = 1, i: int = 4, o: int = 3, d: int = 1, h: int = 2, m: int = 0,
                 act: int = 1, elem: int = 0, res1: int = 0, k: float | bytes = 0.0,
                 res2: bytes = bytes(32)) -> bytes:
    """A MODL payload with any field values (spec §7); ``k`` may be raw f32 bytes."""
    kb = k if isinstance(k, bytes) else struct.pack("<f", k)
    return struct.pack("<IIIIIIBBH", kind, i, o, d, h, m, act, elem, res1) + kb + res2


def strings(count: int, items: list[bytes], reserved: int = 0) -> bytes:
    """A LABL-style payload: count, reserved, then u32-prefixed byte strings."""
    return struct.pack("<II", count, reserved) + b"".join(struct.pack("<I", len(s)) + s for s in items)


def pairs(items: list[tuple[bytes, bytes]], reserved: int = 0, count: int | None = None) -> bytes:
    """A META payload from raw key and value bytes."""
    n = len(items) if count is None else count
    return struct.pack("<II", n, reserved) + b"".join(
        struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v for k, v in items)


ZSTD_MAGIC = bytes([0x28, 0xB5, 0x2F, 0xFD])


def zstd(data: bytes, *, content_size: bool = True, checksum: bool = False) -> bytes:
    return zstandard.ZstdCompressor(level=19, write_content_size=content_size,
                                    write_checksum=checksum).compress(data)


# The model every invalid file is derived from: depth 1, relu, scalar PREP, labels, metadata,
# codec none, no filter (so that each break is a visible byte-level change).
BASE = make_model(100, 4, 3, 1, 2, "relu", prep="scalar", labels=["cat", "dog", "emu"],
                  metadata=[("name", "conformance base"), ("producer", "make_conformance.py")])
BASE_SECTIONS = model_sections(BASE, codec="none", shuffle=False)


def base(**changes: Callable[[RawSection], RawSection] | RawSection) -> list[RawSection]:
    """The base sections with some replaced: ``NAME=RawSection`` or ``NAME=function``."""
    out = []
    for s in BASE_SECTIONS:
        name = s.type.decode()
        if name in changes:
            c = changes[name]
            out.append(c(s) if callable(c) else c)
        else:
            out.append(s)
    return out


def sec(sections: list[RawSection], name: str) -> RawSection:
    return next(s for s in sections if s.type == name.encode())


def patch_content_size(frame: bytes, size: int) -> bytes:
    """Rewrite the Frame_Content_Size field of a zstd frame (RFC 8878 §3.1.1.1) in place."""
    fhd = frame[4]
    fcs_flag, single_segment, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_flag]
    width = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    value = size - 256 if width == 2 else size
    assert width and 0 <= value < 1 << (8 * width), "frame has no content size field that fits"
    return frame[:pos] + value.to_bytes(width, "little") + frame[pos + width:]


def zstd_section(s: RawSection, **kw: object) -> RawSection:
    """``s`` compressed with zstd (no filter), with RawSection overrides ``kw``."""
    return replace(s, codec=1, filter=0, unit=0, **kw)


def ancillary(t: bytes, payload: bytes, **kw: object) -> RawSection:
    return RawSection(t, payload, critical=False, codec=0, filter=0, unit=0, **kw)


def insert_before(sections: list[RawSection], name: str, new: RawSection) -> list[RawSection]:
    i = next(j for j, s in enumerate(sections) if s.type == name.encode())
    return sections[:i] + [new] + sections[i:]


# ---------------------------------------------------------------------------------------------
# Valid files
# ---------------------------------------------------------------------------------------------


def valid_files() -> list[tuple[str, str, bytes]]:
    from pyfff.format import write_model

    out: list[tuple[str, str, bytes]] = []

    def add(name: str, description: str, data: bytes) -> None:
        out.append((name, description, data))

    m = make_model(1, 3, 2, 0, 4, "identity")
    add("depth0_identity", "depth 0 (a single leaf, no node sections), identity activation, "
        "codec none, no filter, no preprocessing", write_model(m, codec="none", shuffle=False))

    m = make_model(2, 5, 3, 1, 1, "relu", prep="scalar")
    add("depth1_relu_leaf_width1", "depth 1, leaf width 1, relu, scalar preprocessing "
        "(scale 2/255, offset -1), zstd with shuffle unit 4", write_model(m))

    m = make_model(3, 3, 2, 6, 2, "gelu")
    add("depth6_gelu", "a deep tree (depth 6: 63 nodes, 64 leaves) with small widths, gelu, "
        "zstd with shuffle", write_model(m))

    m = make_model(4, 6, 4, 2, 3, "gelu-tanh", m=5, k=0.75, prep="per-feature")
    add("master_gelu_tanh", "master leaf of width 5 with k = 0.75, gelu-tanh, per-feature "
        "preprocessing, zstd without shuffle", write_model(m, shuffle=False))

    m = make_model(5, 8, 5, 3, 2, "silu", labels=["zero", "un", "zwei", "três", "五"],
                   metadata=[("name", "silu labels"), ("dataset", "none — synthetic"),
                             ("empty", ""), ("training.f", "[0.5, 0.25]")])
    add("silu_labels_metadata", "silu, labels (some non-ASCII UTF-8), metadata including an "
        "empty value, codec none with shuffle unit 4", write_model(m, codec="none", shuffle=True))

    m = make_model(6, 4, 3, 1, 3, "sigmoid", m=2, k=-1.5)
    secs = model_sections(m)
    secs = insert_before(secs, "MSW1", RawSection(b"xTRN", b"training log: epoch 1 loss 0.5\n",
                                                  critical=False, codec=1, filter=0, unit=0))
    add("sigmoid_unknown_ancillary", "sigmoid, master leaf with k = -1.5, and an unknown "
        "ancillary section xTRN (critical bit clear) between the leaf and master sections, "
        "which a reader skips", assemble(secs))

    m = make_model(7, 4, 2, 2, 2, "tanh")
    add("tanh_minor1_header_flags", "tanh, minor version 1 with header flags 0x00000005: a 1.0 "
        "reader ignores reserved fields of a newer minor version (§2.2)",
        assemble(model_sections(m), minor=1, header_flags=5))

    m = make_model(8, 16, 10, 1, 16, "relu", labels=[str(c) for c in range(10)],
                   metadata=[("name", "wide leaf"), ("producer", "make_conformance.py"),
                             ("source", "synthetic.pt"), ("source.sha256", "0" * 64)])
    add("wide_leaf", "input width 16, output width 10, leaf width 16, relu, labels 0 ... 9, "
        "well-known metadata keys, zstd with shuffle", write_model(m))

    m = make_model(9, 3, 3, 0, 2, "silu", m=2, k=0.0)
    add("depth0_master", "depth 0 with a master leaf of width 2 and k = 0 (allowed with a master "
        "leaf), codec none with shuffle", write_model(m, codec="none"))

    m = make_model(10, 4, 3, 1, 2, "relu")
    secs = [replace(s, zstd_checksum=True) for s in model_sections(m)]
    add("zstd_content_checksum", "every zstd frame carries a content checksum besides its "
        "content size (allowed by §4.1)", assemble(secs))

    m = make_model(11, 4, 3, 2, 2, "gelu", prep="per-feature", labels=["a", "b", "c"])
    secs = model_sections(m, codec="none", shuffle=False)
    choice = {"MODL": (1, 1, 8), "PREP": (0, 1, 4), "NODW": (1, 1, 2), "NODB": (0, 0, 0),
              "LFW1": (1, 1, 8), "LFB1": (0, 1, 2), "LFW2": (1, 0, 0), "LFB2": (1, 1, 4),
              "LABL": (1, 0, 0)}
    secs = [replace(s, codec=choice[s.type.decode()][0], filter=choice[s.type.decode()][1],
                    unit=choice[s.type.decode()][2]) for s in secs]
    add("mixed_codecs_units", "per-section codecs and filters: zstd and none, shuffle units 2, 4 "
        "and 8 (also on MODL and PREP, whose lengths they divide)", assemble(secs))

    m = make_model(12, 4, 3, 1, 2, "tanh", prep="scalar", labels=["x", "y", "z"],
                   metadata=[("name", "reserved fields")])
    secs = model_sections(m, codec="none", shuffle=False)

    def bump(s: RawSection) -> RawSection:
        t = s.type
        p = s.payload
        if t == b"MODL":
            p = p[:26] + b"\x07\x00" + p[28:40] + b"\x09" + p[41:]
        elif t in (b"PREP", b"LABL", b"META"):
            p = p[:4] + struct.pack("<I", 0xDEADBEEF) + p[8:]
        return replace(s, payload=p, flags_override=(1 if s.critical else 0) | 0x80000000,
                       reserved=0x42)

    add("minor1_reserved_fields", "minor version 1 with every kind of reserved field or bit "
        "nonzero (header flags, entry flag bits and reserved byte, table trailer, MODL, PREP, "
        "LABL and META reserved fields) but zero padding: a 1.0 reader ignores them (§2.2)",
        assemble([bump(s) for s in secs], minor=1, header_flags=0xFFFFFFFF,
                 trailer_reserved=0x12345678))

    m = make_model(13, 3, 2, 1, 2, "relu")
    secs = model_sections(m)
    secs.append(RawSection(b"zJNK", b"", critical=False, codec=1, filter=1, unit=8,
                           stored_override=b"this is not a zstd frame", decoded_length_override=1000))
    add("ancillary_never_decoded", "an unknown ancillary section zJNK whose stored bytes are not "
        "a zstd frame (codec zstd, decoded length 1000, shuffle unit 8): it is checked through "
        "step 11 only and never decoded (§16)", assemble(secs))

    m = make_model(14, 3, 2, 1, 2, "sigmoid")
    secs = model_sections(m) + [RawSection(b"META", pairs([]), critical=False, codec=0, filter=0,
                                           unit=0)]
    add("empty_metadata", "a META section with zero pairs (an 8-byte payload)", assemble(secs))

    m = make_model(15, 5, 2, 1, 2, "relu", prep="scalar", metadata=[("name", "shuffled order")])
    secs = {s.type.decode(): s for s in model_sections(m, codec="none")}
    order = ["MODL", "META", "LFB2", "NODB", "LFW2", "PREP", "LFW1", "NODW", "LFB1"]
    add("sections_out_of_order", "known sections after MODL in an order other than §6's "
        "(META, LFB2, NODB, LFW2, PREP, LFW1, NODW, LFB1): allowed, only MODL must be first",
        assemble([secs[t] for t in order]))

    m = make_model(16, 3, 2, 1, 1, "identity")
    secs = model_sections(m, codec="none", shuffle=False)
    secs = insert_before(secs, "LFW1", ancillary(b"xNUL", b""))
    secs.append(ancillary(b"xEND", b""))
    add("empty_ancillary_sections", "two unknown ancillary sections with 0 stored bytes (codec "
        "none): one in the middle, starting at the same offset as the section after it, and "
        "one last, ending exactly at the file length", assemble(secs))

    return out


# ---------------------------------------------------------------------------------------------
# Invalid files
# ---------------------------------------------------------------------------------------------


def invalid_files() -> list[tuple[str, str, str, bytes]]:
    out: list[tuple[str, str, str, bytes]] = []

    def add(name: str, code: str, description: str, data: bytes) -> None:
        out.append((name, code, description, data))

    good = assemble(base())
    modl = sec(BASE_SECTIONS, "MODL")

    def with_modl(**fields: object) -> bytes:
        return assemble(base(MODL=replace(modl, payload=modl_payload(**fields))))

    # §16 steps 1-2: magic and size
    add("bad_magic", "bad-magic", "byte 2 of the magic is 'G' instead of 'F' (header checksum "
        "recomputed)", assemble(base(), magic=b"\x89FGF\r\n\x1a\n"))
    add("empty", "truncated", "an empty file: no byte differs from the magic, but it is missing",
        b"")
    add("magic_only", "truncated", "only the 8 magic bytes", MAGIC)
    add("header_truncated", "truncated", "the first 20 bytes of a valid file: the header is cut",
        good[:20])
    # step 3
    add("major_version_2", "unsupported-version", "major version 2", assemble(base(), major=2))
    # step 4
    hcrc = struct.unpack_from("<I", good, 28)[0]
    add("header_checksum", "checksum-mismatch", "the header checksum has one bit flipped",
        assemble(base(), header_checksum=hcrc ^ 0x00010000))
    # step 5
    add("header_flags_nonzero", "reserved-nonzero", "header flags 1 in a minor version 0 file",
        assemble(base(), header_flags=1))
    add("section_count_zero", "invalid-value", "section count 0: a 40-byte file of a header "
        "and an empty table's trailer", assemble([]))
    add("section_count_2000", "limit-exceeded", "section count 2000, over the limit of 1024",
        assemble(base(), section_count=2000))
    # step 6
    add("file_length_too_large", "truncated", "the declared file length is 8 bytes more than "
        "the file has", assemble(base(), file_length=len(good) + 8))
    add("file_length_below_table", "truncated", "the declared file length (and the file) end "
        "inside the section table", assemble(base(), file_length=100)[:100])
    add("trailing_bytes", "trailing-bytes", "8 zero bytes appended after the declared file "
        "length", good + bytes(8))
    add("trailing_bytes_inside_table", "trailing-bytes", "the file is 8 bytes longer than its "
        "declared length, and both end inside the section table: trailing-bytes is checked first",
        assemble(base(), file_length=100)[:108])
    # step 7
    tpos = 32 + 40 * len(BASE_SECTIONS)
    tcrc = struct.unpack_from("<I", good, tpos)[0]
    add("table_checksum", "checksum-mismatch", "the table checksum has one bit flipped",
        assemble(base(), table_checksum=tcrc ^ 1))
    add("trailer_reserved_nonzero", "reserved-nonzero", "the table trailer's reserved field is 1",
        assemble(base(), trailer_reserved=1))
    # step 8: table entries
    add("type_not_alphanumeric", "invalid-value", "an ancillary section named 'x-TR' (a hyphen "
        "in the type)", assemble(base() + [ancillary(b"x-TR", b"abc")]))
    add("entry_flag_reserved_bit", "reserved-nonzero", "LFW1's flags are 0x3: reserved flag bit "
        "1 set", assemble(base(LFW1=lambda s: replace(s, flags_override=3))))
    add("entry_reserved_byte", "reserved-nonzero", "the reserved byte (entry offset 35) of LFB1 "
        "is 1", assemble(base(LFB1=lambda s: replace(s, reserved=1))))
    add("unknown_codec", "unknown-codec", "LFB2 has codec 2", assemble(
        base(LFB2=lambda s: replace(s, codec=2))))
    add("unknown_filter", "unknown-filter", "LFB2 has filter 2 (unit 4)", assemble(
        base(LFB2=lambda s: replace(s, filter=2, unit=4))))
    add("shuffle_unit_3", "invalid-value", "LFB2 has filter shuffle with unit 3", assemble(
        base(LFB2=lambda s: replace(s, filter=1, unit=3))))
    add("filter_none_unit_4", "invalid-value", "LFB2 has filter none with unit 4 (must be 0)",
        assemble(base(LFB2=lambda s: replace(s, filter=0, unit=4))))
    add("decoded_length_2_40", "limit-exceeded", "LFW1 (zstd) declares a decoded length of 2^40, "
        "over the limit of 2^34", assemble(base(LFW1=lambda s: zstd_section(
            s, decoded_length_override=1 << 40))))
    lfb1 = sec(BASE_SECTIONS, "LFB1")
    secs = base()
    layout = []  # (offset, stored length) of the base layout
    end = 32 + 40 * len(secs) + 8
    for s in secs:
        off = (end + 7) & ~7
        layout.append((off, len(s.payload)))
        end = off + len(s.payload)
    names = [s.type.decode() for s in secs]
    i_lfb1 = names.index("LFB1")
    add("offset_gap", "bad-layout", "LFB1 starts 8 zero bytes later than align8 of the previous "
        "section's end: a gap", assemble(base(LFB1=replace(
            lfb1, offset_override=layout[i_lfb1][0] + 8))))
    i_meta = names.index("META")
    add("offset_overlap", "bad-layout", "the last section (META) starts 8 bytes before LABL "
        "ends: an overlap", assemble(base(META=lambda s: replace(
            s, offset_override=layout[i_meta - 1][0] + layout[i_meta - 1][1] - 8))))
    add("stored_past_end", "bad-layout", "the last section's stored length runs 16 bytes past "
        "the file length", assemble(base(META=lambda s: replace(
            s, stored_length_override=len(s.payload) + 16))))
    add("codec_none_length_mismatch", "bad-layout", "LFB1 has codec none with a decoded length "
        "4 more than its stored length", assemble(base(LFB1=lambda s: replace(
            s, decoded_length_override=len(s.payload) + 4))))
    add("zstd_stored_empty", "bad-layout", "LFB1 has codec zstd with stored length 0",
        assemble(base(LFB1=lambda s: zstd_section(s, stored_override=b""))))
    add("padding_nonzero", "reserved-nonzero", "a padding byte after NODB (4 stored bytes, 4 "
        "padding bytes) is 0xAA", assemble(base(NODB=lambda s: replace(s, padding_byte=0xAA))))
    add("padding_nonzero_minor1", "reserved-nonzero", "a padding byte after NODB is 0xAA in a "
        "minor version 1 file: padding must be zero in every minor version (§2.2)",
        assemble(base(NODB=lambda s: replace(s, padding_byte=0xAA)), minor=1))
    # step 9
    add("last_section_short", "bad-layout", "8 zero bytes after the last section, inside the "
        "declared file length", assemble(base(), file_length=len(good) + 8) + bytes(8))
    # step 10: types
    secs = base()
    add("modl_not_first", "missing-section", "PREP comes before MODL",
        assemble([secs[1], secs[0]] + secs[2:]))
    add("duplicate_section", "duplicate-section", "LFB2 appears twice",
        assemble(insert_before(base(), "LABL", sec(BASE_SECTIONS, "LFB2"))))
    add("duplicate_ancillary", "duplicate-section", "an unknown ancillary section xTRN appears "
        "twice", assemble(base() + [ancillary(b"xTRN", b"one"), ancillary(b"xTRN", b"two")]))
    add("unknown_critical_section", "unknown-critical-section", "a section xFOO of unknown type "
        "with the critical bit set", assemble(base() + [RawSection(
            b"xFOO", b"data", critical=True, codec=0, filter=0, unit=0)]))
    add("known_critical_bit_clear", "invalid-value", "LFB1 (critical) has its critical bit clear",
        assemble(base(LFB1=lambda s: replace(s, critical=False))))
    add("known_ancillary_bit_set", "invalid-value", "META (ancillary) has its critical bit set",
        assemble(base(META=lambda s: replace(s, critical=True))))
    # step 11
    add("section_checksum", "checksum-mismatch", "LFW1's checksum does not match its stored "
        "bytes (one bit flipped in the checksum field)", assemble(base(LFW1=lambda s: replace(
            s, checksum_override=(__import__("zlib").crc32(s.payload) ^ 0x80)))))
    add("ancillary_checksum", "checksum-mismatch", "an unknown ancillary section's checksum does "
        "not match: ancillary sections are checked through step 11",
        assemble(base() + [ancillary(b"xTRN", b"log", checksum_override=0)]))
    # step 12: MODL
    add("modl_60_bytes", "shape-mismatch", "the MODL payload is 60 bytes instead of 64",
        assemble(base(MODL=replace(modl, payload=modl.payload[:60]))))
    add("modl_zstd_corrupt", "decompression-failed", "MODL's zstd frame is cut short by 2 bytes",
        assemble(base(MODL=zstd_section(modl, stored_override=zstd(modl.payload)[:-2]))))
    add("layer_kind_7", "unsupported-feature", "MODL layer kind 7 (only 1 is defined; a later "
        "version's layer kind is unsupported, §7)", with_modl(kind=7))
    add("layer_kind_0", "invalid-value", "MODL layer kind 0 (never assigned)", with_modl(kind=0))
    add("input_width_zero", "invalid-value", "MODL input width 0", with_modl(i=0))
    add("input_width_2_31", "limit-exceeded", "MODL input width 2^31, over the limit of 2^24",
        with_modl(i=1 << 31))
    add("depth_60", "limit-exceeded", "MODL depth 60, over the limit of 24", with_modl(d=60))
    add("depth_25", "limit-exceeded", "MODL depth 25, one over the limit of 24", with_modl(d=25))
    add("leaf_width_zero", "invalid-value", "MODL leaf width 0", with_modl(h=0))
    add("master_width_65537", "limit-exceeded", "MODL master width 2^16 + 1, over the limit",
        with_modl(m=65537))
    add("activation_200", "unsupported-feature", "MODL activation 200 (unassigned in 1.0)",
        with_modl(act=200))
    add("activation_7", "unsupported-feature", "MODL activation 7, the first unassigned code",
        with_modl(act=7))
    add("element_type_float16", "unsupported-feature", "MODL element type 1 (float16, reserved "
        "in 1.0)", with_modl(elem=1))
    add("element_type_4", "unsupported-feature", "MODL element type 4 (not defined in 1.0)",
        with_modl(elem=4))
    add("modl_reserved_nonzero", "reserved-nonzero", "MODL reserved byte at payload offset 40 is "
        "1", with_modl(res2=bytes(8) + b"\x01" + bytes(23)))
    add("modl_reserved_26", "reserved-nonzero", "MODL reserved u16 at payload offset 26 is 1",
        with_modl(res1=1))
    add("k_nonzero_without_master", "invalid-value", "MODL mixing logit k = 1.0 with master "
        "width 0", with_modl(k=1.0))
    add("k_negative_zero_without_master", "invalid-value", "MODL mixing logit k = -0.0 with "
        "master width 0 (must be +0.0)", with_modl(k=b"\x00\x00\x00\x80"))
    add("k_infinite_without_master", "non-finite-parameter", "MODL mixing logit k = +inf "
        "(non-finite is checked before the master-leaf rule)", with_modl(k=float("inf")))
    add("tensor_size_over_limit", "limit-exceeded", "MODL input width 2^24 and leaf width 2^16 "
        "(each in range) make LFW1 2^42 bytes, over the tensor limit of 2^34",
        with_modl(i=1 << 24, h=1 << 16))
    # step 13: presence
    add("missing_lfw1", "missing-section", "no LFW1 section",
        assemble([s for s in base() if s.type != b"LFW1"]))
    add("missing_nodb", "missing-section", "no NODB section in a depth-1 model",
        assemble([s for s in base() if s.type != b"NODB"]))
    secs0 = model_sections(make_model(101, 4, 3, 0, 2, "relu"), codec="none", shuffle=False)
    add("nodw_in_depth0", "unexpected-section", "NODW and NODB sections (16 and 4 bytes) in a "
        "depth-0 model", assemble(insert_before(insert_before(secs0, "LFW1", RawSection(
            b"NODW", bytes(16), codec=0, filter=0, unit=0)), "LFW1", RawSection(
            b"NODB", bytes(4), codec=0, filter=0, unit=0))))
    add("master_section_without_master", "unexpected-section", "an MSB2 section in a model "
        "without a master leaf", assemble(insert_before(base(), "LABL", RawSection(
            b"MSB2", bytes(12), codec=0, filter=0, unit=0))))
    # step 14: lengths
    add("tensor_length_wrong", "shape-mismatch", "LFB2 holds 4 bytes more than the 2 x 3 float32 "
        "the model implies", assemble(base(LFB2=lambda s: replace(s, payload=s.payload + bytes(4)))))
    add("prep_length_wrong", "shape-mismatch", "PREP is 24 bytes; count 1 needs 16",
        assemble(base(PREP=lambda s: replace(s, payload=s.payload + bytes(8)))))
    add("shuffle_unit_not_dividing", "invalid-value", "LABL (23 bytes) has shuffle unit 2, which "
        "does not divide its decoded length", assemble(base(LABL=lambda s: replace(
            s, filter=1, unit=2))))
    # step 15: decoding and content
    lfb1p = lfb1.payload
    add("zstd_no_content_size", "decompression-failed", "LFB1's zstd frame does not declare its "
        "content size (§4.1 requires it)", assemble(base(
            LFB1=zstd_section(lfb1, stored_override=zstd(lfb1p, content_size=False)))))
    add("zstd_decodes_longer", "decompression-failed", "LFB1's zstd frame declares the right "
        "content size but its blocks decode to 4 bytes more (a lying frame)", assemble(base(
            LFB1=zstd_section(lfb1, stored_override=patch_content_size(
                zstd(lfb1p + bytes(4)), len(lfb1p))))))
    add("zstd_decodes_shorter", "decompression-failed", "LFB1's zstd frame declares the right "
        "content size but its blocks decode to 4 bytes less", assemble(base(
            LFB1=zstd_section(lfb1, stored_override=patch_content_size(
                zstd(lfb1p[:-4]), len(lfb1p))))))
    add("zstd_content_size_mismatch", "decompression-failed", "LFB1's zstd frame declares a "
        "content size 4 more than the table's decoded length", assemble(base(
            LFB1=zstd_section(lfb1, stored_override=zstd(lfb1p + bytes(4))))))
    frame = bytearray(zstd(lfb1p))
    fhs = zstandard.frame_header_size(bytes(frame))
    frame[fhs] |= 0x06  # block type 3 (reserved)
    add("zstd_corrupt_block", "decompression-failed", "LFB1's zstd frame has a block of the "
        "reserved type 3", assemble(base(LFB1=zstd_section(lfb1, stored_override=bytes(frame)))))
    add("zstd_truncated_frame", "decompression-failed", "LFB1's zstd frame is missing its last "
        "byte", assemble(base(LFB1=zstd_section(lfb1, stored_override=zstd(lfb1p)[:-1]))))
    add("zstd_two_frames", "decompression-failed", "LFB1's stored bytes are two zstd frames of "
        "half the payload each", assemble(base(LFB1=zstd_section(lfb1, stored_override=(
            patch_content_size(zstd(lfb1p[:8]), len(lfb1p)) + zstd(lfb1p[8:]))))))
    add("zstd_trailing_byte", "decompression-failed", "a zero byte follows LFB1's zstd frame",
        assemble(base(LFB1=zstd_section(lfb1, stored_override=zstd(lfb1p) + b"\x00"))))
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"skip"
    add("zstd_skippable_frame", "decompression-failed", "a skippable frame precedes LFB1's zstd "
        "frame", assemble(base(LFB1=zstd_section(lfb1, stored_override=skippable + zstd(lfb1p)))))
    # A 20-byte frame declaring 2 GiB (4-byte content size, one raw block): within every
    # budget, but no frame of that size can expand that far; readers refuse it unallocated.
    meta = sec(BASE_SECTIONS, "META")
    lying = (ZSTD_MAGIC + bytes([0xA0]) + struct.pack("<I", 1 << 31)
             + struct.pack("<I", 1 | (8 << 3))[:3] + meta.payload[:8])
    add("zstd_impossible_expansion", "decompression-failed", "META's 20-byte zstd frame declares "
        "2 GiB of content: more than any frame of that size can decode to (§4.1)",
        assemble(base(META=lambda s: replace(s, codec=1, filter=0, unit=0, stored_override=lying,
                                             decoded_length_override=1 << 31))))
    bad_sum = bytearray(zstd(lfb1p, checksum=True))
    bad_sum[-1] ^= 0xFF
    add("zstd_bad_content_checksum", "decompression-failed", "LFB1's zstd frame carries a "
        "content checksum that does not match", assemble(base(
            LFB1=zstd_section(lfb1, stored_override=bytes(bad_sum)))))
    nan = struct.pack("<I", 0x7FC00000)
    add("nan_weight", "non-finite-parameter", "LFW1 element 5 is a NaN", assemble(base(
        LFW1=lambda s: replace(s, payload=s.payload[:20] + nan + s.payload[24:]))))
    ninf = struct.pack("<f", float("-inf"))
    add("infinite_node_bias", "non-finite-parameter", "NODB element 0 is -infinity",
        assemble(base(NODB=lambda s: replace(s, payload=ninf))))
    add("prep_scale_infinite", "non-finite-parameter", "PREP scale is +infinity", assemble(base(
        PREP=lambda s: replace(s, payload=s.payload[:8] + struct.pack("<f", float("inf"))
                               + s.payload[12:]))))
    add("prep_count_zero", "invalid-value", "PREP count 0 (must be 1 or the input width) in a "
        "16-byte payload", assemble(base(PREP=lambda s: replace(
            s, payload=struct.pack("<I", 0) + s.payload[4:]))))
    add("prep_count_1_length_per_feature", "shape-mismatch", "PREP count 1 in a payload sized "
        "for count = input width (8 + 8 * 4 bytes)", assemble(base(PREP=lambda s: replace(
            s, payload=s.payload + bytes(24)))))
    add("labl_count_wrong", "shape-mismatch", "LABL holds 2 labels for output width 3",
        assemble(base(LABL=lambda s: replace(s, payload=strings(2, [b"cat", b"dog"])))))
    add("labl_duplicate", "invalid-value", "LABL labels 0 and 2 are both 'cat'",
        assemble(base(LABL=lambda s: replace(s, payload=strings(3, [b"cat", b"dog", b"cat"])))))
    add("labl_empty_label", "invalid-value", "LABL label 1 is empty",
        assemble(base(LABL=lambda s: replace(s, payload=strings(3, [b"cat", b"", b"emu"])))))
    add("labl_leftover_bytes", "shape-mismatch", "LABL has 4 bytes left over after its last "
        "label", assemble(base(LABL=lambda s: replace(s, payload=s.payload + bytes(4)))))
    add("labl_length_past_payload", "shape-mismatch", "LABL's last label declares 5 bytes but 3 "
        "remain", assemble(base(LABL=lambda s: replace(
            s, payload=strings(3, [b"cat", b"dog"]) + struct.pack("<I", 5) + b"emu"))))
    add("meta_bad_utf8", "invalid-value", "META value of 'name' is the overlong UTF-8 C0 AF",
        assemble(base(META=lambda s: replace(s, payload=pairs([(b"name", b"\xc0\xaf")])))))
    add("meta_surrogate", "invalid-value", "META value of 'name' encodes the surrogate U+D800",
        assemble(base(META=lambda s: replace(s, payload=pairs([(b"name", b"\xed\xa0\x80")])))))
    add("meta_key_space", "invalid-value", "META key 'a b' contains a space (not 0x21 ... 0x7E)",
        assemble(base(META=lambda s: replace(s, payload=pairs([(b"a b", b"v")])))))
    add("meta_duplicate_key", "invalid-value", "META key 'name' appears twice",
        assemble(base(META=lambda s: replace(s, payload=pairs([(b"name", b"a"), (b"name", b"b")])))))
    add("meta_count_past_payload", "shape-mismatch", "META declares 2 pairs but holds 1",
        assemble(base(META=lambda s: replace(s, payload=pairs([(b"name", b"a")], count=2)))))
    return out


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def build() -> tuple[dict[str, bytes], dict]:
    """All corpus files (path relative to the corpus root -> bytes) and the manifest."""
    files: dict[str, bytes] = {}
    manifest: dict = {"format_version": "1.0", "valid": [], "invalid": []}
    for name, description, data in valid_files():
        path = f"valid/{name}.fff"
        assert path not in files, path
        files[path] = data
        manifest["valid"].append({"file": path, "description": description})
    for name, code, description, data in invalid_files():
        path = f"invalid/{name}.fff"
        assert path not in files, path
        files[path] = data
        manifest["invalid"].append({"file": path, "code": code, "description": description})
    return files, manifest


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write(out_dir: Path) -> tuple[dict[str, bytes], dict]:
    """Write the corpus into ``out_dir``, replacing any .fff files left from earlier runs."""
    files, manifest = build()
    for sub in ("valid", "invalid"):
        d = out_dir / sub
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.fff"):
            old.unlink()
    for path, data in files.items():
        (out_dir / path).write_bytes(data)
    (out_dir / "manifest.json").write_bytes(manifest_bytes(manifest))
    return files, manifest


def self_check(files: dict[str, bytes], manifest: dict) -> list[str]:
    """Problems found by reading every file back with pyfff (empty when the corpus is sound)."""
    problems = []
    for item in manifest["valid"]:
        err = validate_bytes(files[item["file"]])
        if err is not None:
            problems.append(f"{item['file']}: expected valid, got {err}")
    for item in manifest["invalid"]:
        err = validate_bytes(files[item["file"]])
        if err is None or err.code != item["code"]:
            problems.append(f"{item['file']}: expected {item['code']}, got {err}")
    return problems


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    files, manifest = write(out_dir)
    problems = self_check(files, manifest)
    for p in problems:
        print("MISMATCH", p, file=sys.stderr)
    sizes = [len(b) for b in files.values()]
    print(f"wrote {len(manifest['valid'])} valid and {len(manifest['invalid'])} invalid files "
          f"to {out_dir} (largest {max(sizes)} bytes)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
