"""Format 1.1 compact weights in pyfff.format: the writer rules against hand-computed values,
overflow and underflow errors, determinism and round trips, the reader's value rules beyond the
corpus, quantized(), and the float64 reference on decoded values.

Expected encodings are computed here without numpy's casts: by hand (bit patterns written out),
with Python's struct (its 'e' format is IEEE binary16 with round-half-even, its 'f' format rounds
a double to binary32 as a C cast does) and with exact rationals (fractions.Fraction). Comparisons
are exact (bit patterns, integers) unless a test states a tolerance.
"""

from __future__ import annotations

import itertools
import math
import struct
from fractions import Fraction

import numpy as np
import pytest

from pyfff.format import (
    ELEMENT_TYPES, FormatError, MasterLeaf, Model, default_node_type, describe, model_sections,
    quantized, read_model, validate_bytes, write_model,
)
from pyfff.reference import evaluate

F32 = np.float32


def make_model(seed: int = 0, i: int = 5, o: int = 3, d: int = 2, h: int = 3, m: int = 2,
               weight_type: str = "float32", node_type: str = "float32") -> Model:
    rng = np.random.default_rng(seed)

    def t(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.5).astype(F32)

    leaves = 1 << d
    master = MasterLeaf(t(i, m), t(m), t(m, o), t(o), 0.25) if m else None
    return Model(i, o, d, h, "relu", t(leaves - 1, i), t(leaves - 1), t(leaves, i, h), t(leaves, h),
                 t(leaves, h, o), t(leaves, o), master, weight_type=weight_type, node_type=node_type)


def tiny_model(w1: np.ndarray, weight_type: str, *, master_w1: np.ndarray | None = None) -> Model:
    """Depth 0, leaf weights ``w1`` of shape (I, H) (one leaf), output width 1."""
    i, h = w1.shape
    master = None
    if master_w1 is not None:
        mm = master_w1.shape[1]
        master = MasterLeaf(master_w1, np.zeros(mm, F32), np.ones((mm, 1), F32), np.zeros(1, F32), 0.0)
    return Model(i, 1, 0, h, "identity", np.zeros((0, i), F32), np.zeros(0, F32),
                 np.asarray(w1)[None], np.zeros((1, h), F32), np.ones((1, h, 1), F32), np.zeros((1, 1), F32),
                 master, weight_type=weight_type)


def section_payload(data: bytes, name: str) -> bytes:
    """The stored bytes of section ``name`` of a file written with codec none and no shuffle."""
    entry = next(s for s in describe(data)["sections"] if s["type"] == name)
    assert entry["codec"] == 0 and entry["filter"] == 0
    return data[entry["offset"]:entry["offset"] + entry["stored_length"]]


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bits_f32(b: int) -> float:
    return struct.unpack("<f", struct.pack("<I", b))[0]


# ---------------------------------------------------------------------------------------------
# float16: hand-computed encodings
# ---------------------------------------------------------------------------------------------

FLOAT16_CASES = [
    (1 / 3, 0x3555),                     # 1.0101010101|0101... x 2^-2: next bit 0, rounds down
    (-1 / 3, 0xB555),
    (1.0, 0x3C00),
    (1 + 2 ** -11, 0x3C00),              # halfway between 1 and 1 + 2^-10: ties to even (1)
    (1 + 3 * 2 ** -11, 0x3C02),          # halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even)
    (65504.0, 0x7BFF),                   # the largest float16
    (bits_f32(0x477FEFFF), 0x7BFF),      # 65519.996..., the largest float32 below 65520
    (2 ** -14, 0x0400),                  # smallest normal
    (2 ** -24, 0x0001),                  # smallest subnormal: a value, not flushed
    (2 ** -25, 0x0000),                  # halfway between 0 and 2^-24: ties to even (0)
    (3 * 2 ** -25, 0x0002),              # halfway between 2^-24 (odd) and 2^-23 (even)
    (-(2 ** -26), 0x8000),               # rounds to -0.0, which is a finite value
    (0.1, 0x2E66),
]


@pytest.mark.parametrize("value,bits", FLOAT16_CASES)
def test_float16_writer_rounds_to_nearest_even(value: float, bits: int) -> None:
    x = float(F32(value))
    if abs(x) < 65504 or x == 65504.0:  # struct 'e' is an independent binary16 encoder
        assert struct.unpack("<H", struct.pack("<e", x))[0] == bits
    w1 = np.array([[x, 0.5]], F32)  # one leaf, one input, two hidden units
    data = write_model(tiny_model(w1, "float16"), codec="none", shuffle=False)
    assert struct.unpack("<HH", section_payload(data, "LFW1")) == (bits, 0x3800)
    back = read_model(data)
    assert back.w1.dtype == np.float32
    assert struct.pack("<e", float(back.w1[0, 0, 0])) == struct.pack("<H", bits)


@pytest.mark.parametrize("value", [65520.0, -65520.0, 1e6, float(np.finfo(F32).max)])
def test_float16_overflow_is_a_clear_error(value: float) -> None:
    w1 = np.array([[0.5, value]], F32)
    model = tiny_model(w1, "float16")
    for call in (lambda: write_model(model), model.check, lambda: quantized(model, "float16")):
        with pytest.raises(FormatError) as info:
            call()
        assert info.value.code == "invalid-value"
        assert "LFW1 element 1" in str(info.value) and "float16" in str(info.value)
        assert "infinity" in str(info.value)


# ---------------------------------------------------------------------------------------------
# bfloat16: hand-computed encodings
# ---------------------------------------------------------------------------------------------

BFLOAT16_CASES = [
    (0x3EAAAAAB, 0x3EAB),   # 1/3: lower half 0xAAAB > 0x8000, rounds up
    (0xBEAAAAAB, 0xBEAB),   # -1/3
    (0x3F800000, 0x3F80),   # 1.0
    (0x3F808000, 0x3F80),   # exactly halfway, upper half even: stays
    (0x3F818000, 0x3F82),   # exactly halfway, upper half odd: rounds up to even
    (0x3F817FFF, 0x3F81),   # just below halfway
    (0x3F80FFFF, 0x3F81),   # carry within the mantissa
    (0x3FFF8000, 0x4000),   # halfway, odd: the carry runs into the exponent (1.99... -> 2.0)
    (0x7F7F7FFF, 0x7F7F),   # the largest float32 that stays finite
    (0x00000001, 0x0000),   # the smallest float32 subnormal rounds to +0
    (0x00018000, 0x0002),   # a subnormal, halfway, odd: rounds up
    (0x80000000, 0x8000),   # -0.0
]


@pytest.mark.parametrize("bits,expected", BFLOAT16_CASES)
def test_bfloat16_writer_rounds_the_bit_pattern_to_nearest_even(bits: int, expected: int) -> None:
    w1 = np.array([[bits_f32(bits), 1.0]], F32)
    data = write_model(tiny_model(w1, "bfloat16"), codec="none", shuffle=False)
    assert struct.unpack("<HH", section_payload(data, "LFW1")) == (expected, 0x3F80)
    back = read_model(data)
    assert back.w1.dtype == np.float32
    assert f32_bits(float(back.w1[0, 0, 0])) == expected << 16


@pytest.mark.parametrize("bits", [0x7F7FFFFF, 0x7F7F8000, 0xFF7FFFFF])
def test_bfloat16_overflow_is_a_clear_error(bits: int) -> None:
    model = tiny_model(np.array([[1.0, bits_f32(bits)]], F32), "bfloat16")
    with pytest.raises(FormatError) as info:
        write_model(model)
    assert info.value.code == "invalid-value" and "bfloat16" in str(info.value)
    assert "LFW1 element 1" in str(info.value)


# ---------------------------------------------------------------------------------------------
# int8-row: hand-computed scales and q
# ---------------------------------------------------------------------------------------------


def test_int8_row_rows_scales_and_ties_by_hand() -> None:
    # MSW1 [I=3][M=2]: a row is a master unit c, over the inputs b (elements b * 2 + c).
    # Row 0: max 127 -> scale 1.0 exactly; q = round-half-even(w): 2.5 -> 2, -2.5 -> -2.
    # Row 1: max 63.5 -> scale 0.5 exactly; 1.25 / 0.5 = 2.5 -> 2, -0.75 / 0.5 = -1.5 -> -2.
    msw1 = np.array([[127.0, 63.5], [2.5, 1.25], [-2.5, -0.75]], F32)
    # LFW1 [L=1][I=3][H=2]: rows a * 2 + c; row 0 = column 0, row 1 = column 1.
    # Row 0: 3.5 -> 4 and 0.49 -> 0 with scale 1 (max 127 is -127.0 here: |w|);
    # row 1: all zero (one -0.0): scale 1.0 and q 0.
    lfw1 = np.array([[-127.0, 0.0], [3.5, -0.0], [0.49, 0.0]], F32)
    model = tiny_model(lfw1, "int8-row", master_w1=msw1)
    data = write_model(model, codec="none", shuffle=False)
    msw1_payload = section_payload(data, "MSW1")
    assert msw1_payload == struct.pack("<2f", 1.0, 0.5) + struct.pack("<6b", 127, 127, 2, 2, -2, -2)
    lfw1_payload = section_payload(data, "LFW1")
    assert lfw1_payload == struct.pack("<2f", 1.0, 1.0) + struct.pack("<6b", -127, 0, 4, 0, 0, 0)
    # LFW2 [1][H=2][O=1] holds ones: one row (o = 0) over both hidden units, scale f32(1/127)
    scale = struct.unpack("<f", struct.pack("<f", 1 / 127))[0]
    assert section_payload(data, "LFW2") == struct.pack("<f", scale) + struct.pack("<2b", 127, 127)
    back = read_model(data)
    assert back.w1.dtype == np.float64 and back.master.w1.dtype == np.float64
    assert back.w2[0, 0, 0] == 127 * scale  # exact in float64, not 1.0
    assert back.master.w1.tolist() == [[127.0, 63.5], [2.0, 1.0], [-2.0, -1.0]]


def test_int8_row_scale_is_one_float32_rounding_of_the_float64_quotient() -> None:
    # Row [1.0, 0.5, -0.3]: scale = float32(1 / 127); q from exact rationals (the float64
    # quotients are far from .5 ties here, so their rounding cannot matter).
    row = [1.0, 0.5, float(F32(-0.3))]
    data = write_model(tiny_model(np.array([row], F32).T.copy(), "int8-row"), codec="none", shuffle=False)
    payload = section_payload(data, "LFW1")
    scale = struct.unpack_from("<f", payload)[0]
    assert scale == struct.unpack("<f", struct.pack("<f", 1.0 / 127.0))[0]
    expected = [round(Fraction(w) / Fraction(scale)) for w in row]  # round(): half to even
    # float32(1/127) is 0x3C010204, just below 1/127: 0.5 / scale = 63.50000024... -> 64
    assert list(struct.unpack_from("<3b", payload, 4)) == expected == [127, 64, -38]


def test_int8_row_clamps_q_when_a_subnormal_scale_rounds_down() -> None:
    # m = 2^-142: m / 127 is 1.008 * 2^-149, so the scale is 2^-149 (bits 0x00000001) and
    # m / scale = 128, clamped to 127.
    m = 2.0 ** -142
    data = write_model(tiny_model(np.array([[m], [-m]], F32), "int8-row"), codec="none", shuffle=False)
    payload = section_payload(data, "LFW1")
    assert struct.unpack("<I2b", payload) == (0x00000001, 127, -127)
    assert read_model(data).w1[0, :, 0].tolist() == [127 * 2.0 ** -149, -127 * 2.0 ** -149]


def test_int8_row_scale_that_underflows_to_zero_is_a_clear_error() -> None:
    model = tiny_model(np.array([[1.0], [0.0]], F32), "int8-row")
    model.w1[0, :, 0] = [2.0 ** -149, 0.0]  # m / 127 rounds to 0 in float32
    with pytest.raises(FormatError) as info:
        write_model(model)
    assert info.value.code == "invalid-value" and "LFW1 row 0" in str(info.value)
    assert "rounds to 0" in str(info.value)


def test_compact_nodes_need_compact_weights_and_nodes() -> None:
    for weight, node, depth in (("float32", "float16", 2), ("float32", "int8-row", 2),
                                ("float16", "float16", 0), ("int8-row", "bfloat16", 0)):
        model = make_model(d=depth, weight_type=weight, node_type=node)
        with pytest.raises(FormatError) as info:
            write_model(model)
        assert info.value.code == "invalid-value" and "node_type" in str(info.value)
    with pytest.raises(FormatError):
        write_model(make_model(weight_type="float8"))


# ---------------------------------------------------------------------------------------------
# Writer: versions, filters, determinism, round trips
# ---------------------------------------------------------------------------------------------

COMBINATIONS = [("float32", "float32")] + [
    (w, n) for w in ELEMENT_TYPES[1:] for n in ELEMENT_TYPES]


@pytest.mark.parametrize("weight,node", COMBINATIONS)
def test_minor_version_filters_determinism_and_round_trip(weight: str, node: str) -> None:
    model = make_model(seed=3, weight_type=weight, node_type=node)
    data = write_model(model)
    assert write_model(model) == data  # deterministic
    info = describe(data)
    assert info["minor"] == (0 if weight == "float32" else 1)
    units = {s["type"]: (s["filter"], s["filter_unit"]) for s in info["sections"]}
    expected_unit = {"float32": (1, 4), "float16": (1, 2), "bfloat16": (1, 2), "int8-row": (0, 0)}
    for name in ("LFW1", "LFW2", "MSW1", "MSW2"):
        assert units[name] == expected_unit[weight], name
    assert units["NODW"] == expected_unit[node]
    for name in ("NODB", "LFB1", "LFB2", "MSB1", "MSB2"):
        assert units[name] == (1, 4), name  # biases stay float32
    assert all(units[name] == (0, 0) for name in ("MODL",))
    unshuffled = write_model(model, shuffle=False)
    assert all(s["filter"] == 0 for s in describe(unshuffled)["sections"])
    back = read_model(data)
    assert (back.weight_type, back.node_type) == (weight, node)
    assert write_model(back) == data  # a model read from this writer's file writes the same bytes
    assert write_model(back, shuffle=False) == unshuffled
    assert write_model(read_model(unshuffled), shuffle=False) == unshuffled
    q = quantized(model, weight, node)
    for name in ("node_weights", "node_biases", "w1", "b1", "w2", "b2"):
        a, b = getattr(back, name), getattr(q, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    for name in ("w1", "b1", "w2", "b2"):
        assert np.array_equal(getattr(back.master, name), getattr(q.master, name)), name


def test_float32_models_write_minor_0_exactly_as_before() -> None:
    model = make_model(seed=4)
    data = write_model(model)
    assert describe(data)["minor"] == 0
    assert data[8:12] == struct.pack("<HH", 1, 0)
    modl = model_sections(model)[0].payload
    assert modl[24:28] == bytes([1, 0, 0, 0])


def test_modl_bytes_25_to_27() -> None:
    for (weight, node), (wcode, ncode) in zip(
            [("float16", "float32"), ("bfloat16", "float16"), ("int8-row", "int8-row"), ("float16", "bfloat16")],
            [(1, 0), (2, 1), (3, 3), (1, 2)]):
        modl = model_sections(make_model(weight_type=weight, node_type=node))[0].payload
        assert modl[25:28] == bytes([wcode, ncode, 0])


def test_decoded_lengths_use_the_element_sizes() -> None:
    # I=5, O=3, d=2 (N=3, L=4), H=3, M=2
    sizes = {
        "float16": {"NODW": 2 * 15, "LFW1": 2 * 60, "LFW2": 2 * 36, "MSW1": 2 * 10, "MSW2": 2 * 6},
        "int8-row": {"NODW": 4 * 3 + 15, "LFW1": 4 * 12 + 60, "LFW2": 4 * 12 + 36,
                     "MSW1": 4 * 2 + 10, "MSW2": 4 * 3 + 6},
    }
    for weight, want in sizes.items():
        info = describe(write_model(make_model(weight_type=weight, node_type=weight)))
        got = {s["type"]: s["decoded_length"] for s in info["sections"]}
        for name, n in want.items():
            assert got[name] == n, (weight, name)
        assert got["NODB"] == 12 and got["LFB1"] == 48 and got["MSB2"] == 12


# ---------------------------------------------------------------------------------------------
# quantized()
# ---------------------------------------------------------------------------------------------


def test_quantized_defaults_and_idempotence() -> None:
    assert default_node_type("float32") == "float32"
    assert default_node_type("float16") == "float16"
    assert default_node_type("bfloat16") == "bfloat16"
    assert default_node_type("int8-row") == "float32"
    assert default_node_type("float16", depth=0) == "float32"
    with pytest.raises(ValueError):
        default_node_type("int4")
    model = make_model(seed=5)
    for weight in ELEMENT_TYPES:
        q = quantized(model, weight)
        assert (q.weight_type, q.node_type) == (weight, default_node_type(weight))
        again = quantized(q, weight)
        for name in ("node_weights", "w1", "w2"):
            assert np.array_equal(getattr(q, name), getattr(again, name)), (weight, name)
        assert q.w1.dtype == (np.float64 if weight == "int8-row" else np.float32)
        # biases are untouched; the original is not modified
        assert np.array_equal(q.b1, model.b1) and model.weight_type == "float32"
        assert write_model(q) == write_model(replace_types(model, weight, q.node_type))
    depth0 = make_model(d=0)
    assert quantized(depth0, "bfloat16").node_type == "float32"


def replace_types(model: Model, weight: str, node: str) -> Model:
    from dataclasses import replace
    return replace(model, weight_type=weight, node_type=node)


def test_quantization_error_is_within_the_types_precision() -> None:
    """Stated bounds: float16 within half an ulp (2^-11 relative for normals), bfloat16 2^-8,
    int8-row half a step of the row's scale (m / 254, plus the float32 rounding of the scale)."""
    model = make_model(seed=6, i=40, h=8)
    w = model.w1.astype(np.float64)
    err16 = np.abs(quantized(model, "float16").w1 - w)
    assert (err16 <= np.abs(w) * 2.0 ** -11 + 2.0 ** -25).all()
    errbf = np.abs(quantized(model, "bfloat16").w1 - w)
    assert (errbf <= np.abs(w) * 2.0 ** -8).all()
    err8 = np.abs(quantized(model, "int8-row").w1 - w)
    m = np.abs(w).max(axis=1, keepdims=True)  # rows: (leaf, hidden unit), over the inputs
    assert (err8 <= m / 254 * (1 + 2.0 ** -20)).all()
    assert err8.max() > errbf.max() > err16.max() > 0


# ---------------------------------------------------------------------------------------------
# Reader: value rules beyond the corpus
# ---------------------------------------------------------------------------------------------


def _patched(data_model: Model, name: str, offset: int, new: bytes) -> bytes:
    from pyfff.format import assemble
    secs = model_sections(data_model, codec="none", shuffle=False)
    from dataclasses import replace
    return assemble([replace(s, payload=s.payload[:offset] + new + s.payload[offset + len(new):])
                     if s.type == name.encode() else s for s in secs])


@pytest.mark.parametrize("mantissa", [0, 1, 0x155, 0x200, 0x3FF])
@pytest.mark.parametrize("sign", [0, 0x8000])
def test_float16_exponent_all_ones_is_non_finite(mantissa: int, sign: int) -> None:
    model = make_model(weight_type="float16", node_type="float16")
    for name in ("NODW", "LFW2", "MSW1"):
        data = _patched(model, name, 2, struct.pack("<H", sign | 0x7C00 | mantissa))
        err = validate_bytes(data)
        assert err is not None and err.code == "non-finite-parameter" and err.offset == 2, name


@pytest.mark.parametrize("mantissa", [0, 1, 0x40, 0x7F])
@pytest.mark.parametrize("sign", [0, 0x8000])
def test_bfloat16_exponent_all_ones_is_non_finite(mantissa: int, sign: int) -> None:
    model = make_model(weight_type="bfloat16", node_type="bfloat16")
    for name in ("NODW", "LFW1", "MSW2"):
        data = _patched(model, name, 4, struct.pack("<H", sign | 0x7F80 | mantissa))
        err = validate_bytes(data)
        assert err is not None and err.code == "non-finite-parameter" and err.offset == 4, name


def test_every_finite_float16_and_bfloat16_pattern_reads_exactly() -> None:
    """All 2 x 63488 finite 16-bit patterns, as LFW1 of a 1 -> 1 model with 2^16 hidden units."""
    all_bits = np.arange(1 << 16, dtype=np.uint32)
    for weight, exponent in (("float16", 0x7C00), ("bfloat16", 0x7F80)):
        finite = all_bits[(all_bits & exponent) != exponent].astype("<u2")
        h = finite.size
        model = Model(1, 1, 0, h, "identity", np.zeros((0, 1), F32), np.zeros(0, F32),
                      np.zeros((1, 1, h), F32), np.zeros((1, h), F32), np.zeros((1, h, 1), F32),
                      np.zeros((1, 1), F32), weight_type=weight)
        data = _patched(model, "LFW1", 0, finite.tobytes())
        got = read_model(data).w1.reshape(-1)
        if weight == "float16":
            expected = [struct.unpack("<e", struct.pack("<H", int(b)))[0] for b in finite]
        else:
            expected = [bits_f32(int(b) << 16) for b in finite]
        assert got.dtype == np.float32
        assert np.array_equal(got.astype(np.float64), np.array(expected))
        assert np.array_equal(np.signbit(got), np.array([math.copysign(1, e) < 0 for e in expected]))


def test_int8_row_reader_accepts_every_q_but_minus_128_and_any_positive_scale() -> None:
    model = make_model(i=255, d=0, h=1, m=0, weight_type="int8-row")
    q = np.arange(-127, 128, dtype=np.int8)  # 255 values, one row (LFW1 [1][255][1])
    for scale_bits in (0x00000001, 0x3F800000, 0x7F7FFFFF, 0x3C010204):
        data = _patched(model, "LFW1", 0, struct.pack("<I", scale_bits) + q.tobytes())
        back = read_model(data).w1.reshape(-1)
        scale = bits_f32(scale_bits)
        assert back.dtype == np.float64
        assert [Fraction(v) for v in back] == [Fraction(scale) * int(k) for k in q]  # exact
    bad = q.copy()
    bad[200] = -128
    err = validate_bytes(_patched(model, "LFW1", 0, struct.pack("<f", 1.0) + bad.tobytes()))
    assert err.code == "invalid-value" and err.section == "LFW1" and err.offset == 4 + 200


def test_int8_row_scale_rules_in_row_order() -> None:
    model = make_model(weight_type="int8-row")  # LFW1: 4 leaves x 3 hidden = 12 rows
    cases = [
        ({5: 0x80000000}, "invalid-value", 20),
        ({5: 0xFF800000}, "non-finite-parameter", 20),
        ({5: 0x7FC00001}, "non-finite-parameter", 20),
        ({3: 0xBF800000, 7: 0x7F800000}, "invalid-value", 12),
        ({3: 0x7F800000, 7: 0xBF800000}, "non-finite-parameter", 12),
        ({11: 0x00000000}, "invalid-value", 44),
    ]
    for patches, code, offset in cases:
        secs_payload = model_sections(model, codec="none", shuffle=False)
        payload = next(s.payload for s in secs_payload if s.type == b"LFW1")
        for row, bits in patches.items():
            payload = payload[:4 * row] + struct.pack("<I", bits) + payload[4 * row + 4:]
        err = validate_bytes(_patched(model, "LFW1", 0, payload))
        assert (err.code, err.offset) == (code, offset), patches


# ---------------------------------------------------------------------------------------------
# The float64 reference evaluates the decoded values
# ---------------------------------------------------------------------------------------------


def test_reference_uses_the_exact_int8_row_values_in_float64() -> None:
    # 1 -> 1, depth 0, leaf width 1, identity: out = x * W1 * W2 with W1 = 127 * scale1 and
    # W2 = 127 * scale2. With x = 1: h = W1 exactly, out = W1 * W2 in one float64 rounding.
    model = Model(1, 1, 0, 1, "identity", np.zeros((0, 1), F32), np.zeros(0, F32),
                  np.array([[[0.3]]], F32), np.zeros((1, 1), F32), np.array([[[0.7]]], F32),
                  np.zeros((1, 1), F32), weight_type="int8-row")
    back = read_model(write_model(model))
    w1, w2 = float(back.w1[0, 0, 0]), float(back.w2[0, 0, 0])
    assert w1 == 127 * struct.unpack("<f", struct.pack("<f", float(F32(0.3)) / 127))[0]
    assert float(F32(w1)) != w1  # scale * q is not a float32 here: it must not be rounded to one
    out = evaluate(back, np.array([[1.0]])).outputs[0, 0]
    assert out == w1 * w2
    assert evaluate(quantized(model, "int8-row"), np.array([[1.0]])).outputs[0, 0] == out


def test_reference_near_tie_bound_uses_decoded_node_weights() -> None:
    model = make_model(seed=7, d=3, weight_type="int8-row", node_type="int8-row")
    back = read_model(write_model(model))
    x = np.random.default_rng(1).standard_normal((20, model.input_width))
    result = evaluate(back, x, apply_preprocessing=False)
    for r in range(20):
        for t in range(3):
            n = result.nodes[r, t]
            w = back.node_weights[n]
            assert w.dtype == np.float64
            score = sum(float(a) * float(b) for a, b in zip(w, x[r])) + float(back.node_biases[n])
            bound = 1e-5 * (1 + sum(abs(float(a) * float(b)) for a, b in zip(w, x[r]))
                            + abs(float(back.node_biases[n])))
            # stated tolerance: the same sums in another order differ by at most a few ulps
            assert result.scores[r, t] == pytest.approx(score, rel=1e-12, abs=1e-15)
            assert result.tie_bounds[r, t] == pytest.approx(bound, rel=1e-12)


def test_all_combinations_are_valid_files() -> None:
    for (weight, node), depth, shuffle in itertools.product(COMBINATIONS, (0, 1, 3), (True, False)):
        if depth == 0 and node != "float32":
            continue
        data = write_model(make_model(seed=depth, d=depth, weight_type=weight, node_type=node),
                           shuffle=shuffle)
        assert validate_bytes(data) is None, (weight, node, depth, shuffle)


def test_golden_outputs_cover_every_compact_type_with_a_master_leaf_and_depth_3() -> None:
    """fixtures/golden holds float64 reference outputs for compact models (make_golden.py);
    test_reference.py re-evaluates every golden file from its model file."""
    import json
    from pathlib import Path
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    found = set()
    for path in sorted((fixtures / "golden").glob("*.json")):
        model = read_model(fixtures / json.loads(path.read_text())["model"])
        if model.master is not None and model.depth >= 3:
            found.add(model.weight_type)
    assert found >= {"float16", "bfloat16", "int8-row"}


def test_int8_row_values_beyond_float32_range_read_and_write() -> None:
    """scale * q can exceed float32's range (scale near FLT_MAX): still a valid model, kept in
    float64, and written again with the same scale and q."""
    model = make_model(i=4, d=0, h=1, m=0, weight_type="int8-row")
    q = np.array([127, -3, 0, 64], np.int8)
    data = _patched(model, "LFW1", 0, struct.pack("<I", 0x7F7FFFFF) + q.tobytes())
    back = read_model(data)
    assert back.w1[0, 0, 0] == 127 * float(np.finfo(F32).max) > float(np.finfo(F32).max)
    back.check()
    again = write_model(back, codec="none", shuffle=False)
    assert section_payload(again, "LFW1") == struct.pack("<I", 0x7F7FFFFF) + q.tobytes()


def test_int8_row_float64_values_beyond_float32_scales_are_a_clear_error() -> None:
    model = make_model(i=4, d=0, h=1, m=0, weight_type="int8-row")
    model.w1 = model.w1.astype(np.float64)
    model.w1[0, 2, 0] = 1e300  # finite in float64; its scale 1e300 / 127 is no float32
    with pytest.raises(FormatError) as info:
        write_model(model)
    assert info.value.code == "invalid-value" and "LFW1 row 0" in str(info.value)
    assert "beyond float32's range" in str(info.value)


def test_the_specs_int8_row_example_bytes() -> None:
    """spec/FORMAT.md §7.2.4's worked example: NODW of d = 2, I = 3, node type int8-row."""
    nodes = np.array([[0.5, -1.25, 0.1], [0.0, -0.0, 0.0], [-3.0, 2.0, 0.7]], F32)
    model = Model(3, 1, 2, 1, "relu", nodes, np.zeros(3, F32), np.ones((4, 3, 1), F32), np.zeros((4, 1), F32),
                  np.ones((4, 1, 1), F32), np.zeros((4, 1), F32), weight_type="int8-row", node_type="int8-row")
    payload = section_payload(write_model(model, codec="none", shuffle=False), "NODW")
    assert payload == bytes.fromhex("8542213c 0000803f 0683c13c 33810a 000000 81551e".replace(" ", ""))
    back = read_model(write_model(model)).node_weights
    assert [Fraction(v) for v in back[0]] == [Fraction(538984575, 2**30), Fraction(-1342177275, 2**30),
                                              Fraction(52841625, 2**29)]
