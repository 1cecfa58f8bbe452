"""Independent Python reader and writer of the FFF model file format 1.2.

Written from ``spec/FORMAT.md`` alone, so that it and the Swift library are two independent
readings of the specification; the conformance corpus (``fixtures/conformance``) keeps them
in agreement.  The reader follows the validation order of spec §16 exactly (the first failing
check wins) and checks every size of §15 before it allocates anything for a section.

Public API: :data:`ERROR_CODES`, :class:`FormatError`, :class:`MasterLeaf`, :class:`Model`,
:func:`read_model`, :func:`validate_bytes`, :func:`write_model`, :func:`quantized`,
:data:`ELEMENT_TYPES`, :class:`Signature`, :class:`SignatureBlock`, :func:`check_card_value`,
:func:`read_model_payloads`, and, for crafting files
(including broken ones) and for inspection tools, :class:`RawSection`, :func:`assemble`,
:func:`recompute_checksums`, :func:`describe`.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field, replace as _dataclass_replace
from typing import Any, NoReturn

import numpy as np
import zstandard

# ---------------------------------------------------------------------------------------------
# Constants of the specification
# ---------------------------------------------------------------------------------------------

#: The 20 error codes of spec §17, in the order of their numbers (code ``i`` is number i + 1).
ERROR_CODES: tuple[str, ...] = (
    "bad-magic",
    "unsupported-version",
    "truncated",
    "trailing-bytes",
    "checksum-mismatch",
    "reserved-nonzero",
    "bad-layout",
    "unknown-critical-section",
    "duplicate-section",
    "missing-section",
    "unexpected-section",
    "unknown-codec",
    "unknown-filter",
    "decompression-failed",
    "shape-mismatch",
    "limit-exceeded",
    "invalid-value",
    "unsupported-feature",
    "non-finite-parameter",
    "io-error",
)

MAGIC = b"\x89FFF\r\n\x1a\n"
MAJOR_VERSION = 1
#: The minor version this reader implements (spec §2.2: files with a higher minor version have
#: their reserved fields and bits ignored, but padding must still be zero). Format 1.1 gives MODL
#: byte 26 a meaning (the node element type); the writer writes minor 1 only for a model with
#: compact weights (:data:`ELEMENT_TYPES`), and minor 0 otherwise, byte for byte as 1.0 did.
#: Format 1.2 adds the ancillary sections CARD and SIGN (provenance); the writer writes minor 2
#: when a model has either, else 1 with compact weights, else 0.
MINOR_VERSION = 2
HEADER_SIZE = 32
ENTRY_SIZE = 40
TRAILER_SIZE = 8
MAX_SECTIONS = 1024
MAX_DECODED_LENGTH = 1 << 34
MAX_TENSOR_BYTES = 1 << 34
MAX_IO_WIDTH = 1 << 24
MAX_DEPTH = 24
MAX_HIDDEN_WIDTH = 1 << 16
MODL_LENGTH = 64
MAX_LABEL_BYTES = 1024
MAX_META_PAIRS = 65536
MAX_META_KEY_BYTES = 256
MAX_META_VALUE_BYTES = 1 << 24
#: SIGN (format 1.2): the fixed part (count, reserved, three digests) and one signature's size.
SIGN_HEADER_BYTES = 104
SIGNATURE_BYTES = 104
MAX_SIGNATURES = 256
SIGN_ALGORITHM_ED25519 = 1

CODEC_NONE, CODEC_ZSTD = 0, 1
FILTER_NONE, FILTER_SHUFFLE = 0, 1
SHUFFLE_UNITS = (2, 4, 8)
LAYER_KIND_FFF = 1
#: Element type names of spec §7.2 (format 1.1), indexed by code: MODL byte 25 (the weight type:
#: LFW1, LFW2, MSW1, MSW2) and byte 26 (the node type: NODW). Biases are always float32.
ELEMENT_TYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "int8-row")
ELEMENT_FLOAT32, ELEMENT_FLOAT16, ELEMENT_BFLOAT16, ELEMENT_INT8_ROW = 0, 1, 2, 3
#: The tensor sections whose element type is MODL byte 25 (weight type) or byte 26 (node type).
WEIGHT_SECTIONS: tuple[bytes, ...] = (b"LFW1", b"LFW2", b"MSW1", b"MSW2")
NODE_SECTIONS: tuple[bytes, ...] = (b"NODW",)

#: Activation names of spec §7.1, indexed by code.
ACTIVATIONS: tuple[str, ...] = ("identity", "relu", "gelu", "gelu-tanh", "silu", "sigmoid", "tanh")

#: Known section types with their required critical bit, in the order of spec §6.
SECTION_CRITICAL: dict[bytes, bool] = {
    b"MODL": True,
    b"PREP": True,
    b"NODW": True,
    b"NODB": True,
    b"LFW1": True,
    b"LFB1": True,
    b"LFW2": True,
    b"LFB2": True,
    b"MSW1": True,
    b"MSB1": True,
    b"MSW2": True,
    b"MSB2": True,
    b"LABL": False,
    b"META": False,
    b"CARD": False,
    b"SIGN": False,
}
TENSOR_SECTIONS: tuple[bytes, ...] = (
    b"NODW", b"NODB", b"LFW1", b"LFB1", b"LFW2", b"LFB2", b"MSW1", b"MSB1", b"MSW2", b"MSB2",
)
_TYPE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_BLOCK_MAX = 128 * 1024


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class FormatError(Exception):
    """A file (or a model to be written) breaks the format; ``code`` is a spec §17 name.

    ``section`` names where: ``"header"``, ``"table"``, ``"entry N"`` or ``"TYPE (entry N)"``
    for file structures, and then ``offset`` is a file offset; or a bare section type such as
    ``"LABL"`` for an error in a decoded payload's content, and then ``offset`` counts from the
    start of the decoded payload (spec §1.1).
    """

    def __init__(self, code: str, message: str, section: str | None = None,
                 offset: int | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message
        self.section = section
        self.offset = offset
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.section is not None:
            where.append(f"section {self.section}")
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.code}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return f"FormatError({self.code!r}, {self.message!r}, {self.section!r}, {self.offset!r})"


def _fail(code: str, message: str, section: str | None = None,
          offset: int | None = None) -> NoReturn:
    raise FormatError(code, message, section, offset)


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


@dataclass
class MasterLeaf:
    """The master leaf every input passes through (spec §11), mixed in with logit ``k``."""

    w1: np.ndarray  # float32 (I, M)
    b1: np.ndarray  # (M,)
    w2: np.ndarray  # (M, O)
    b2: np.ndarray  # (O,)
    k: float

    @property
    def width(self) -> int:
        """The master width ``M``: the number of hidden units."""
        return int(np.shape(self.w1)[1]) if np.ndim(self.w1) == 2 else int(np.size(self.b1))


@dataclass
class Model:
    """One FFF in memory, with the arrays in the layouts of spec §9 ... §11."""

    input_width: int
    output_width: int
    depth: int
    leaf_width: int
    activation: str
    node_weights: np.ndarray  # float32 (N, I); (0, I) when depth is 0
    node_biases: np.ndarray  # (N,)
    w1: np.ndarray  # (L, I, H)
    b1: np.ndarray  # (L, H)
    w2: np.ndarray  # (L, H, O)
    b2: np.ndarray  # (L, O)
    master: MasterLeaf | None = None
    prep_scale: np.ndarray | None = None  # float32 (1,) or (I,)
    prep_offset: np.ndarray | None = None
    labels: list[str] | None = None
    metadata: list[tuple[str, str]] = field(default_factory=list)
    #: Element type of LFW1, LFW2, MSW1, MSW2 (MODL byte 25): one of :data:`ELEMENT_TYPES`.
    weight_type: str = "float32"
    #: Element type of NODW (MODL byte 26); not float32 only with a compact weight_type and depth >= 1.
    node_type: str = "float32"
    #: The model card (CARD section, format 1.2): ordered (key, value) pairs; None writes no CARD
    #: (an empty list writes an empty one). Typed keys are checked by :func:`check_card_value`.
    card: list[tuple[str, str]] | None = None
    #: The SIGN section (format 1.2) as stored; None writes none. pyfff.provenance makes one.
    signatures: "SignatureBlock | None" = None

    @property
    def leaf_count(self) -> int:
        """``L = 2**depth``."""
        return 1 << self.depth

    @property
    def node_count(self) -> int:
        """``N = 2**depth - 1``."""
        return (1 << self.depth) - 1

    def check(self) -> None:
        """Raise :class:`FormatError` (spec codes) unless this model can be written as a valid file.

        Checks the same rules a reader applies: ranges of §7 and §15, array shapes, finiteness,
        element types, preprocessing, labels and metadata; and that every weight can be encoded in
        its element type (a float16 overflow, say, is ``invalid-value``).
        """
        _check_int_field("input width", self.input_width, 1, MAX_IO_WIDTH)
        _check_int_field("output width", self.output_width, 1, MAX_IO_WIDTH)
        _check_int_field("depth", self.depth, 0, MAX_DEPTH)
        _check_int_field("leaf width", self.leaf_width, 1, MAX_HIDDEN_WIDTH)
        if self.activation not in ACTIVATIONS:
            _fail("invalid-value", f"activation {self.activation!r} is not one of {ACTIVATIONS}",
                  "MODL")
        m = 0
        if self.master is not None:
            if not isinstance(self.master, MasterLeaf):
                _fail("invalid-value", "master must be a MasterLeaf or None", "MODL")
            m = self.master.width
            _check_int_field("master width", m, 1, MAX_HIDDEN_WIDTH)
            with np.errstate(over="ignore", invalid="ignore"):
                k = np.float32(self.master.k)
            if not np.isfinite(k):
                _fail("non-finite-parameter",
                      f"mixing logit k = {self.master.k!r} is not finite as float32", "MODL")
        for what, value in (("weight_type", self.weight_type), ("node_type", self.node_type)):
            if value not in ELEMENT_TYPES:
                _fail("invalid-value", f"{what} {value!r} is not one of {ELEMENT_TYPES}", "MODL")
        if self.node_type != "float32" and self.weight_type == "float32":
            _fail("invalid-value", f"node_type {self.node_type!r} with weight_type 'float32': compact "
                  "nodes need compact leaf weights (§7)", "MODL")
        if self.node_type != "float32" and self.depth == 0:
            _fail("invalid-value", f"node_type {self.node_type!r} with depth 0: a model without nodes "
                  "has node type float32 (§7)", "MODL")
        codes = (ELEMENT_TYPES.index(self.weight_type), ELEMENT_TYPES.index(self.node_type))
        sizes = _tensor_shapes(self.input_width, self.output_width, self.depth, self.leaf_width, m)
        for name, shape in sizes.items():
            nbytes = _tensor_nbytes(name, shape, *codes)
            if nbytes > MAX_TENSOR_BYTES:
                _fail("limit-exceeded",
                      f"{name.decode()} would hold {nbytes} bytes, over the limit of 2^34", name.decode())
        arrays = {
            b"NODW": self.node_weights, b"NODB": self.node_biases,
            b"LFW1": self.w1, b"LFB1": self.b1, b"LFW2": self.w2, b"LFB2": self.b2,
        }
        if self.master is not None:
            arrays.update({b"MSW1": self.master.w1, b"MSB1": self.master.b1,
                           b"MSW2": self.master.w2, b"MSB2": self.master.b2})
        for name, arr in arrays.items():
            # int8-row values (scale * q, float64) may exceed float32's range; check them as given
            wide = _element_code(name, *codes) == ELEMENT_INT8_ROW
            _check_float_array(name.decode(), arr, sizes[name], wide=wide)
        for name, arr in arrays.items():
            code = _element_code(name, *codes)
            if code != ELEMENT_FLOAT32:
                _encode_tensor(name, arr, code)  # raises when a value cannot be represented
        if (self.prep_scale is None) != (self.prep_offset is None):
            _fail("invalid-value", "prep_scale and prep_offset must be given together", "PREP")
        if self.prep_scale is not None:
            scale = np.asarray(self.prep_scale)
            count = scale.shape[0] if scale.ndim == 1 else -1
            if count not in (1, self.input_width):
                _fail("shape-mismatch",
                      f"prep_scale has shape {scale.shape}; expected (1,) or ({self.input_width},)",
                      "PREP")
            _check_float_array("PREP", self.prep_scale, (count,), "prep_scale")
            _check_float_array("PREP", self.prep_offset, (count,), "prep_offset")
        if self.labels is not None:
            _encode_labels(self.labels, self.output_width)
        _encode_metadata(self.metadata)
        if self.card is not None:
            _encode_metadata(self.card, "CARD")
        if self.signatures is not None:
            if not isinstance(self.signatures, SignatureBlock):
                _fail("invalid-value", "signatures must be a SignatureBlock or None", "SIGN")
            self.signatures.encode()


def _check_int_field(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        _fail("invalid-value", f"{name} must be an integer, got {value!r}", "MODL")
    if value > high:
        _fail("limit-exceeded", f"{name} {value} is over the limit of {high}", "MODL")
    if value < low:
        _fail("invalid-value", f"{name} {value} is below the minimum of {low}", "MODL")


def _check_float_array(section: str, arr: Any, shape: tuple[int, ...], what: str | None = None,
                       wide: bool = False) -> None:
    """Type, shape and finiteness (as float32, or as given when ``wide``) of a parameter array."""
    what = what or section
    if not isinstance(arr, np.ndarray):
        _fail("invalid-value", f"{what} must be a numpy array, got {type(arr).__name__}", section)
    if arr.dtype.kind not in "fiu":
        _fail("invalid-value", f"{what} has dtype {arr.dtype}; expected real numbers", section)
    if tuple(arr.shape) != tuple(shape):
        _fail("shape-mismatch", f"{what} has shape {tuple(arr.shape)}; expected {tuple(shape)}",
              section)
    with np.errstate(over="ignore", invalid="ignore"):
        flat = np.asarray(arr, dtype=np.float64 if wide else np.float32).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        i = int(bad[0])
        _fail("non-finite-parameter",
              f"{what} element {i} is {arr.reshape(-1)[i]!r}, not finite{'' if wide else ' as float32'}", section)


def _tensor_shapes(i: int, o: int, d: int, h: int, m: int) -> dict[bytes, tuple[int, ...]]:
    """Shapes of every tensor section implied by the ``MODL`` fields (spec §9 ... §11)."""
    leaves = 1 << d
    nodes = leaves - 1
    shapes: dict[bytes, tuple[int, ...]] = {
        b"NODW": (nodes, i), b"NODB": (nodes,),
        b"LFW1": (leaves, i, h), b"LFB1": (leaves, h),
        b"LFW2": (leaves, h, o), b"LFB2": (leaves, o),
    }
    if m:
        shapes.update({b"MSW1": (i, m), b"MSB1": (m,), b"MSW2": (m, o), b"MSB2": (o,)})
    return shapes


# ---------------------------------------------------------------------------------------------
# Element types (format 1.1): sizes, rows, encoding and decoding
# ---------------------------------------------------------------------------------------------


def _element_code(name: bytes, weight_code: int, node_code: int) -> int:
    """The element type code of tensor section ``name``: biases are always float32."""
    if name in WEIGHT_SECTIONS:
        return weight_code
    if name in NODE_SECTIONS:
        return node_code
    return ELEMENT_FLOAT32


def _row_view(name: bytes, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(A, K, C)``: the tensor viewed as A x K x C, one int8-row row per (a, c), reduced over K.

    Row ``a * C + c`` holds the weights feeding one output unit: NODW ``[N][I]`` is (N, I, 1),
    LFW1 ``[L][I][H]`` and LFW2 ``[L][H][O]`` are themselves, MSW1 ``[I][M]`` and MSW2 ``[M][O]``
    are (1, I, M) and (1, M, O). So the rows and their order are those of the design's table.
    """
    if name == b"NODW":
        return (shape[0], shape[1], 1)
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    return (1, shape[0], shape[1])


def _tensor_nbytes(name: bytes, shape: tuple[int, ...], weight_code: int, node_code: int) -> int:
    """Decoded byte length of tensor section ``name`` in its element type (§9 ... §11, §7.2)."""
    count = math.prod(shape)
    code = _element_code(name, weight_code, node_code)
    if code == ELEMENT_FLOAT32:
        return 4 * count
    if code in (ELEMENT_FLOAT16, ELEMENT_BFLOAT16):
        return 2 * count
    a, _, c = _row_view(name, shape)
    return 4 * a * c + count


def _as_float32(name: bytes, arr: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)


def _encode_float16(name: bytes, arr: np.ndarray) -> bytes:
    """IEEE binary16, round to nearest even from float32; a value that rounds to inf fails."""
    values = _as_float32(name, arr)
    with np.errstate(over="ignore"):
        half = values.astype("<f2")
    bad = np.flatnonzero(~np.isfinite(half))
    if bad.size:
        j = int(bad[0])
        _fail("invalid-value", f"{name.decode()} element {j} is {float(values[j])!r}: as float16 it "
              f"rounds to infinity (float16 holds |x| < 65520); {bad.size} value(s) too large. Write "
              "this model as bfloat16 or int8-row, or as float32", name.decode())
    return half.tobytes()


def _encode_bfloat16(name: bytes, arr: np.ndarray) -> bytes:
    """The upper 16 bits of the float32, rounded to nearest even on the bit pattern."""
    values = _as_float32(name, arr)
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    bad = np.flatnonzero((rounded & 0x7F80) == 0x7F80)
    if bad.size:
        j = int(bad[0])
        _fail("invalid-value", f"{name.decode()} element {j} is {float(values[j])!r}: as bfloat16 it "
              f"rounds to infinity; {bad.size} value(s) too large. Write this model as float32",
              name.decode())
    return rounded.astype("<u2").tobytes()


def _int8_row_quantise(name: bytes, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8-row writer rule: per row float32 ``scale`` (rows in order) and ``q`` (element order).

    ``m = max |w|`` over the row; a zero row gets scale 1.0 and q 0; otherwise
    ``scale = float32(m / 127)`` (float64 division, one rounding) and
    ``q = clamp(round_half_even(w / scale), -127, 127)`` (float64 division). Values are read in
    float64 as given (a float32 array widens exactly).
    """
    a, k, c = _row_view(name, tuple(np.shape(arr)))
    w = np.asarray(arr, dtype=np.float64).reshape(a, k, c)
    m = np.abs(w).max(axis=1) if k else np.zeros((a, c))
    zero = m == 0.0
    with np.errstate(under="ignore", over="ignore"):
        scale = (m / 127.0).astype(np.float32)
    scale[zero] = np.float32(1.0)
    unfit = np.flatnonzero(((scale == 0) | ~np.isfinite(scale)).reshape(-1))
    if unfit.size:
        r = int(unfit[0])
        how = ("so small that its int8-row scale (|w| / 127) rounds to 0 in float32; write this model "
               "as float16, bfloat16 or float32" if scale.reshape(-1)[r] == 0 else
               "so large that its int8-row scale (|w| / 127) is beyond float32's range")
        _fail("invalid-value", f"{name.decode()} row {r}: its largest |w| is {float(m.reshape(-1)[r])!r}, "
              f"{how}", name.decode())
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.rint(w / scale.astype(np.float64)[:, None, :])
    q = np.clip(q, -127, 127).astype(np.int8)
    return scale.reshape(-1), q.reshape(-1)


def _encode_int8_row(name: bytes, arr: np.ndarray) -> bytes:
    scale, q = _int8_row_quantise(name, arr)
    return scale.astype("<f4").tobytes() + q.astype("i1").tobytes()


def _encode_tensor(name: bytes, arr: np.ndarray, code: int) -> bytes:
    """The decoded payload of tensor section ``name`` in element type ``code``."""
    if code == ELEMENT_FLOAT16:
        return _encode_float16(name, arr)
    if code == ELEMENT_BFLOAT16:
        return _encode_bfloat16(name, arr)
    if code == ELEMENT_INT8_ROW:
        return _encode_int8_row(name, arr)
    return np.ascontiguousarray(arr, dtype="<f4").tobytes()


def _decoded_values(name: bytes, shape: tuple[int, ...], arr: np.ndarray, code: int) -> np.ndarray:
    """The exact values a reader decodes after writing ``arr`` in type ``code`` (no file needed).

    float32, float16 and bfloat16 give float32 arrays; int8-row gives float64 (``scale * q``,
    exact in float64).
    """
    if code == ELEMENT_FLOAT32:
        return _as_float32(name, arr).reshape(shape).copy()
    if code == ELEMENT_FLOAT16:
        return np.frombuffer(_encode_float16(name, arr), dtype="<f2").astype(np.float32).reshape(shape)
    if code == ELEMENT_BFLOAT16:
        bits = np.frombuffer(_encode_bfloat16(name, arr), dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape).copy()
    scale, q = _int8_row_quantise(name, arr)
    a, k, c = _row_view(name, shape)
    values = scale.astype(np.float64).reshape(a, 1, c) * q.astype(np.float64).reshape(a, k, c)
    return values.reshape(shape)


# ---------------------------------------------------------------------------------------------
# Small helpers shared by reader and writer
# ---------------------------------------------------------------------------------------------


def _align8(x: int) -> int:
    return (x + 7) & ~7


def _crc(data: bytes | memoryview) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _shuffle(payload: bytes, unit: int) -> bytes:
    """Spec §4.2: byte ``j`` of element ``i`` goes to position ``j * n + i``."""
    n = len(payload) // unit
    return np.frombuffer(payload, dtype=np.uint8).reshape(n, unit).T.tobytes()


def _unshuffle(payload: bytes, unit: int) -> bytes:
    """Inverse of :func:`_shuffle`."""
    n = len(payload) // unit
    return np.frombuffer(payload, dtype=np.uint8).reshape(unit, n).T.tobytes()


def _type_name(t: bytes) -> str:
    """A printable name for a section type, even for bytes that break §3.1."""
    if all(c in _TYPE_CHARS for c in t):
        return t.decode("ascii")
    return repr(t)


def _is_printable_key(key: bytes) -> bool:
    return all(0x21 <= c <= 0x7E for c in key)


def _encode_labels(labels: list[str], output_width: int) -> bytes:
    if len(labels) != output_width:
        _fail("shape-mismatch", f"{len(labels)} labels for {output_width} outputs", "LABL")
    out = [struct.pack("<II", len(labels), 0)]
    seen: set[bytes] = set()
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            _fail("invalid-value", f"label {i} is not a string: {label!r}", "LABL")
        try:
            raw = label.encode("utf-8")
        except UnicodeEncodeError:
            _fail("invalid-value", f"label {i} cannot be encoded as UTF-8", "LABL")
        if not 1 <= len(raw) <= MAX_LABEL_BYTES:
            _fail("invalid-value", f"label {i} is {len(raw)} bytes; expected 1 ... 1024", "LABL")
        if raw in seen:
            _fail("invalid-value", f"label {i} ({label!r}) is a duplicate", "LABL")
        seen.add(raw)
        out.append(struct.pack("<I", len(raw)) + raw)
    return b"".join(out)


def _encode_metadata(metadata: list[tuple[str, str]], section: str = "META") -> bytes:
    """A META payload, or with ``section="CARD"`` a CARD payload (whose typed keys are checked)."""
    what = "card" if section == "CARD" else "metadata"
    if not isinstance(metadata, (list, tuple)):
        _fail("invalid-value", f"{what} must be a list of (str, str) pairs", section)
    if len(metadata) > MAX_META_PAIRS:
        _fail("invalid-value", f"{len(metadata)} {what} pairs; at most 65536", section)
    out = [struct.pack("<II", len(metadata), 0)]
    seen: set[bytes] = set()
    for i, pair in enumerate(metadata):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and isinstance(pair[0], str) and isinstance(pair[1], str)):
            _fail("invalid-value", f"{what} entry {i} is not a (str, str) pair: {pair!r}", section)
        key, value = pair
        try:
            kraw = key.encode("ascii")
        except UnicodeEncodeError:
            _fail("invalid-value", f"{what} key {i} {key!r} is not printable ASCII", section)
        if not 1 <= len(kraw) <= MAX_META_KEY_BYTES:
            _fail("invalid-value", f"{what} key {i} is {len(kraw)} bytes; expected 1 ... 256", section)
        if not _is_printable_key(kraw):
            _fail("invalid-value", f"{what} key {i} {key!r} is not printable ASCII", section)
        if kraw in seen:
            _fail("invalid-value", f"{what} key {key!r} appears twice", section)
        seen.add(kraw)
        try:
            vraw = value.encode("utf-8")
        except UnicodeEncodeError:
            _fail("invalid-value", f"{what} value of {key!r} cannot be encoded as UTF-8", section)
        if len(vraw) > MAX_META_VALUE_BYTES:
            _fail("invalid-value", f"{what} value of {key!r} is {len(vraw)} bytes; at most 2^24",
                  section)
        if section == "CARD":
            problem = check_card_value(key, value)
            if problem is not None:
                _fail("invalid-value", f"card value of {key!r}: {problem}", section)
        out.append(struct.pack("<I", len(kraw)) + kraw + struct.pack("<I", len(vraw)) + vraw)
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# The model card (CARD, format 1.2): typed keys
# ---------------------------------------------------------------------------------------------

#: The typed keys of CARD (spec §13.1) and their types; any ``metrics.<name>`` key is a number.
CARD_KEYS: dict[str, str] = {
    "name": "line",
    "version": "line",
    "description": "text",
    "author": "line",
    "license": "spdx",
    "source.url": "url",
    "source.sha256": "sha256",
    "dataset": "line",
    "date": "date",
    "intended_use": "text",
    "limitations": "text",
}
CARD_METRICS_PREFIX = "metrics."
MAX_CARD_LINE_BYTES = 1024
MAX_CARD_TEXT_BYTES = 65536
MAX_CARD_SPDX_BYTES = 1024
MAX_CARD_URL_BYTES = 2048

_SPDX_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-")
_SPDX_OPERATORS = ("AND", "OR", "WITH")
_URL_SCHEME_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_URL_SCHEME_CHARS = _URL_SCHEME_FIRST | frozenset("0123456789+.-")
_DIGITS = "0123456789"


def card_key_type(key: str) -> str | None:
    """The type of CARD key ``key`` (``line``, ``text``, ``spdx``, ``url``, ``sha256``, ``date``,
    ``number``), or None for an untyped key."""
    if key in CARD_KEYS:
        return CARD_KEYS[key]
    if key.startswith(CARD_METRICS_PREFIX) and len(key) > len(CARD_METRICS_PREFIX):
        return "number"
    return None


def _spdx_tokens(text: str) -> list[str] | None:
    """Split an SPDX expression into words, ``(`` and ``)``; None on a character outside the
    grammar, or a space that does not separate two tokens (leading or trailing)."""
    if text.startswith(" ") or text.endswith(" "):
        return None
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch in _SPDX_ID_CHARS or ch == "+":
            word += ch
            continue
        if word:
            tokens.append(word)
            word = ""
        if ch in "()":
            tokens.append(ch)
        elif ch != " ":
            return None
    if word:
        tokens.append(word)
    return tokens


def _is_spdx_id(token: str) -> bool:
    return (token not in _SPDX_OPERATORS and len(token) >= 1
            and all(c in _SPDX_ID_CHARS for c in token))


def spdx_problem(text: str) -> str | None:
    """Why ``text`` is not an SPDX license expression by the grammar of spec §13.1, or None."""
    tokens = _spdx_tokens(text)
    if tokens is None:
        return ("not an SPDX license expression: only letters, digits, '.', ':', '-', '+', "
                "parentheses and single spaces between tokens are allowed (no leading or trailing space)")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def expr() -> str | None:
        nonlocal pos
        why = andexp()
        while why is None and peek() == "OR":
            pos += 1
            why = andexp()
        return why

    def andexp() -> str | None:
        nonlocal pos
        why = term()
        while why is None and peek() == "AND":
            pos += 1
            why = term()
        return why

    def term() -> str | None:
        nonlocal pos
        t = peek()
        if t is None:
            return "an operator or '(' is not followed by a license"
        if t == "(":
            pos += 1
            why = expr()
            if why is not None:
                return why
            if peek() != ")":
                return "a '(' is not closed"
            pos += 1
            return None
        base = t[:-1] if t.endswith("+") else t
        if not _is_spdx_id(base):
            return f"{t!r} is not a license identifier"
        pos += 1
        if peek() == "WITH":
            pos += 1
            e = peek()
            if e is None or not _is_spdx_id(e):
                return "WITH is not followed by an exception identifier"
            pos += 1
        return None

    why = expr()
    if why is None and pos != len(tokens):
        why = f"unexpected {tokens[pos]!r} (operators are AND, OR and WITH, in capitals)"
    return None if why is None else f"not an SPDX license expression: {why}"


def _number_problem(text: str) -> str | None:
    """Why ``text`` is not a JSON number (RFC 8259 §6) with a finite float64 value, or None."""
    i, n = 0, len(text)

    def digits(start: int) -> int:
        j = start
        while j < n and text[j] in _DIGITS:
            j += 1
        return j

    if i < n and text[i] == "-":
        i += 1
    if i < n and text[i] == "0":
        i += 1
    elif i < n and text[i] in "123456789":
        i = digits(i + 1)
    else:
        return "not a JSON number (RFC 8259 §6)"
    if i < n and text[i] == ".":
        j = digits(i + 1)
        if j == i + 1:
            return "not a JSON number (RFC 8259 §6): digits must follow '.'"
        i = j
    if i < n and text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        j = digits(i)
        if j == i:
            return "not a JSON number (RFC 8259 §6): digits must follow the exponent"
        i = j
    if i != n:
        return "not a JSON number (RFC 8259 §6)"
    if not math.isfinite(float(text)):
        return "a number whose float64 value is not finite"
    return None


def _controls(text: str, allowed: str = "") -> str | None:
    for c in text:
        if (ord(c) < 0x20 or ord(c) == 0x7F) and c not in allowed:
            return f"holds the control character U+{ord(c):04X}"
    return None


def check_card_value(key: str, value: str) -> str | None:
    """Why ``value`` is not valid for CARD key ``key`` (spec §13.1), or None (untyped keys:
    always None). ``value`` is the decoded text; sizes are counted in UTF-8 bytes."""
    kind = card_key_type(key)
    if kind is None:
        return None
    size = len(value.encode("utf-8", "surrogatepass"))
    if kind in ("line", "text"):
        high = MAX_CARD_LINE_BYTES if kind == "line" else MAX_CARD_TEXT_BYTES
        if not 1 <= size <= high:
            return f"a {kind} of {size} bytes; expected 1 ... {high}"
        why = _controls(value, "" if kind == "line" else "\t\n")
        return None if why is None else f"a {kind} that {why}" + (
            " (a line has no control characters)" if kind == "line" else
            " (text allows tab and line feed only)")
    if kind == "spdx":
        if not 1 <= size <= MAX_CARD_SPDX_BYTES:
            return f"an SPDX expression of {size} bytes; expected 1 ... {MAX_CARD_SPDX_BYTES}"
        return spdx_problem(value)
    if kind == "url":
        if not 1 <= size <= MAX_CARD_URL_BYTES:
            return f"a URL of {size} bytes; expected 1 ... {MAX_CARD_URL_BYTES}"
        if not all(0x21 <= ord(c) <= 0x7E for c in value):
            return "a URL holds a character outside printable ASCII 0x21 ... 0x7E (percent-encode it)"
        colon = value.find(":")
        if (colon < 1 or value[0] not in _URL_SCHEME_FIRST
                or not all(c in _URL_SCHEME_CHARS for c in value[:colon]) or colon == len(value) - 1):
            return "not a URL: expected scheme:rest, the scheme a letter then letters, digits, '+', '.' or '-'"
        return None
    if kind == "sha256":
        if len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
            return "not a SHA-256: expected 64 lowercase hexadecimal digits"
        return None
    if kind == "date":
        if (len(value) != 10 or value[4] != "-" or value[7] != "-"
                or not all(value[j] in _DIGITS for j in (0, 1, 2, 3, 5, 6, 8, 9))):
            return "not a date: expected YYYY-MM-DD"
        year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
        if year < 1:
            return "not a date: the year must be 0001 ... 9999"
        if not 1 <= month <= 12:
            return f"not a date: month {month:02d}"
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
        if not 1 <= day <= days:
            return f"not a date: {value} does not exist"
        return None
    return _number_problem(value)


# ---------------------------------------------------------------------------------------------
# Signatures (SIGN, format 1.2): the section as stored
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """One signature of a SIGN section: algorithm (1 = Ed25519), key id (SHA-256 of the raw
    public key), and the 64-byte signature."""

    algorithm: int
    key_id: bytes
    signature: bytes

    def encode(self) -> bytes:
        if not (isinstance(self.algorithm, int) and 1 <= self.algorithm <= 255):
            _fail("invalid-value", f"signature algorithm {self.algorithm!r}; must be 1 ... 255", "SIGN")
        if len(self.key_id) != 32 or len(self.signature) != 64:
            _fail("invalid-value", "a signature needs a 32-byte key id and 64 signature bytes", "SIGN")
        return bytes([self.algorithm]) + bytes(7) + bytes(self.key_id) + bytes(self.signature)


@dataclass
class SignatureBlock:
    """A SIGN section (spec §13.3): the three digests the signatures were made over, as stored
    (they may disagree with the file: verification compares them), and 1 ... 256 signatures."""

    identity: bytes
    card_digest: bytes
    labels_digest: bytes
    signatures: list[Signature] = field(default_factory=list)

    def encode(self) -> bytes:
        """The SIGN payload; raises :class:`FormatError` for a block a reader would reject."""
        for what, digest in (("identity", self.identity), ("card digest", self.card_digest),
                             ("labels digest", self.labels_digest)):
            if not isinstance(digest, (bytes, bytearray)) or len(digest) != 32:
                _fail("invalid-value", f"the {what} must be 32 bytes", "SIGN")
        if not 1 <= len(self.signatures) <= MAX_SIGNATURES:
            _fail("invalid-value", f"{len(self.signatures)} signatures; a SIGN section holds 1 ... 256",
                  "SIGN")
        seen: set[bytes] = set()
        out = [struct.pack("<II", len(self.signatures), 0), bytes(self.identity),
               bytes(self.card_digest), bytes(self.labels_digest)]
        for sig in self.signatures:
            if bytes(sig.key_id) in seen:
                _fail("invalid-value", f"key id {bytes(sig.key_id).hex()} signs twice", "SIGN")
            seen.add(bytes(sig.key_id))
            out.append(sig.encode())
        return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Zstandard decoding
# ---------------------------------------------------------------------------------------------


def _zstd_frame_length(stored: bytes, section: str, offset: int) -> int:
    """Length of the Zstandard frame at the start of ``stored``, by walking its block headers.

    This is how "exactly one frame, nothing after it" (spec §4.1) is proven without decoding.
    """
    def bad(why: str) -> NoReturn:
        _fail("decompression-failed", why, section, offset)

    if len(stored) < 4 or stored[:4] != _ZSTD_MAGIC:
        bad("stored bytes do not start a Zstandard frame (magic 28 B5 2F FD; "
            "skippable frames are not allowed)")
    try:
        pos = zstandard.frame_header_size(stored)
    except zstandard.ZstdError as e:
        bad(f"bad Zstandard frame header: {e}")
    if pos > len(stored):
        bad("Zstandard frame header runs past the stored bytes")
    has_checksum = bool(stored[4] & 0x04)
    while True:
        if pos + 3 > len(stored):
            bad("Zstandard frame ends inside a block header")
        header = int.from_bytes(stored[pos:pos + 3], "little")
        pos += 3
        last, btype, bsize = header & 1, (header >> 1) & 3, header >> 3
        if btype == 3:
            bad("Zstandard block of reserved type 3")
        if bsize > _ZSTD_BLOCK_MAX:
            bad(f"Zstandard block of {bsize} bytes, over the maximum of 128 KiB")
        pos += 1 if btype == 1 else bsize
        if pos > len(stored):
            bad("Zstandard frame ends inside a block")
        if last:
            break
    if has_checksum:
        pos += 4
        if pos > len(stored):
            bad("Zstandard frame ends inside its content checksum")
    return pos


#: Bytes of output one stored byte can yield at most (an RLE block of 128 KiB from 4 bytes).
ZSTD_MAX_EXPANSION = 32768


def _zstd_decode(stored: bytes, expected: int, section: str, offset: int) -> bytes:
    """Decode one Zstandard frame into at most ``expected`` bytes (spec §4.1)."""
    def bad(why: str) -> NoReturn:
        _fail("decompression-failed", why, section, offset)

    frame_len = _zstd_frame_length(stored, section, offset)
    if frame_len != len(stored):
        bad(f"{len(stored) - frame_len} bytes follow the Zstandard frame; "
            "the stored bytes must be exactly one frame")
    try:
        params = zstandard.get_frame_parameters(stored)
    except zstandard.ZstdError as e:
        bad(f"bad Zstandard frame header: {e}")
    if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
        bad("Zstandard frame does not declare its content size; §4.1 requires it")
    if params.content_size != expected:
        bad(f"Zstandard frame declares {params.content_size} content bytes; "
            f"the table declares {expected}")
    if params.dict_id != 0:
        bad(f"Zstandard frame needs dictionary {params.dict_id}; dictionaries are not allowed")
    if expected // ZSTD_MAX_EXPANSION > len(stored):
        # The densest block is RLE: 4 stored bytes for at most 128 KiB. Refused before allocating.
        bad(f"{len(stored)} stored bytes cannot decode to {expected} bytes (a Zstandard frame "
            f"expands at most {ZSTD_MAX_EXPANSION}-fold)")
    dctx = zstandard.ZstdDecompressor()
    try:
        if expected == 0:
            # decompress() returns early for an empty frame without decoding it; the stream
            # reader decodes the blocks and its read size caps the output at one byte.
            out = dctx.stream_reader(stored, read_across_frames=False).read(1)
        else:
            # The output buffer is exactly ``expected`` bytes (the frame's content size, when
            # declared, was just proven equal to it); producing more is an error.
            out = dctx.decompress(stored, max_output_size=expected, allow_extra_data=False)
    except zstandard.ZstdError as e:
        bad(f"Zstandard frame does not decode to {expected} bytes: {e}")
    if len(out) != expected:
        bad(f"Zstandard frame decodes to {len(out)}{'+' if expected == 0 else ''} bytes; "
            f"the table declares {expected}")
    return out


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    index: int
    type: bytes
    flags: int
    offset: int
    stored: int
    decoded: int
    codec: int
    filter: int
    unit: int
    reserved: int
    checksum: int

    @property
    def pos(self) -> int:
        """File offset of this table entry."""
        return HEADER_SIZE + ENTRY_SIZE * self.index

    @property
    def name(self) -> str:
        return _type_name(self.type)


_ENTRY_STRUCT = struct.Struct("<4sIQQQBBBBI")
_HEADER_STRUCT = struct.Struct("<HHIQII")


def _parse_entry(data: bytes, index: int) -> _Entry:
    fields = _ENTRY_STRUCT.unpack_from(data, HEADER_SIZE + ENTRY_SIZE * index)
    return _Entry(index, *fields)


def read_model(source: str | os.PathLike | bytes | bytearray | memoryview, *,
               max_decoded_bytes: int = 4 << 30) -> Model:
    """Read and fully validate a file; raise :class:`FormatError` naming the first broken rule.

    ``source`` is a path or the file's bytes.  ``max_decoded_bytes`` is this reader's own budget
    (spec §15) for the total decoded payload of the known sections, checked before any of them
    is decoded (``limit-exceeded``).
    """
    return _Reader(_read_source(source), max_decoded_bytes).read()


def _read_source(source: str | os.PathLike | bytes | bytearray | memoryview) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    try:
        with open(source, "rb") as f:
            return f.read()
    except OSError as e:
        _fail("io-error", f"cannot read {os.fspath(source)!r}: {e.strerror or e}")


def read_model_payloads(source: str | os.PathLike | bytes | bytearray | memoryview, *,
                        max_decoded_bytes: int = 4 << 30) -> tuple[Model, dict[bytes, bytes]]:
    """:func:`read_model`, and the decoded payload of every known section (type -> bytes): what
    the identity and the digests of format 1.2 (pyfff.provenance) are computed from."""
    data = _read_source(source)
    reader = _Reader(data, max_decoded_bytes)
    model = reader.read()
    return model, reader.payloads


def validate_bytes(data: bytes) -> FormatError | None:
    """The first error of spec §16 in ``data``, or None for a valid file."""
    try:
        read_model(data)
    except FormatError as e:
        return e
    return None


class _Reader:
    """One pass of spec §16 over a file's bytes; each step method raises on its first failure."""

    def __init__(self, data: bytes, max_decoded_bytes: int) -> None:
        self.data = data
        self.budget = max_decoded_bytes
        self.entries: list[_Entry] = []
        self.by_type: dict[bytes, _Entry] = {}
        #: The decoded payload of every known section, filled as the reader decodes them.
        self.payloads: dict[bytes, bytes] = {}

    def read(self) -> Model:
        self._header()
        self._table()
        self._types()
        self._section_checksums()
        self._modl()
        self._presence()
        self._lengths()
        return self._contents()

    # -- steps 1 ... 7 -------------------------------------------------------------------------

    def _header(self) -> None:
        data, size = self.data, len(self.data)
        available = min(8, size)
        for i in range(available):
            if data[i] != MAGIC[i]:
                _fail("bad-magic", f"byte {i} is 0x{data[i]:02X}, the magic has 0x{MAGIC[i]:02X}; "
                      "not an FFF file", "header", i)
        if size < 8:
            _fail("truncated", f"the file has {size} bytes, fewer than the 8-byte magic", "header", size)
        if size < HEADER_SIZE:
            _fail("truncated", f"the file has {size} bytes, fewer than the 32-byte header",
                  "header", size)
        (self.major, self.minor, self.count, self.file_length, self.header_flags,
         header_crc) = _HEADER_STRUCT.unpack_from(data, 8)
        if self.major != MAJOR_VERSION:
            _fail("unsupported-version",
                  f"major version {self.major}; this reader implements {MAJOR_VERSION}", "header", 8)
        actual = _crc(data[:28])
        if actual != header_crc:
            _fail("checksum-mismatch",
                  f"header checksum is 0x{header_crc:08X}, bytes 0..<28 give 0x{actual:08X}",
                  "header", 28)
        # Spec §2.2: a file of a newer minor version may use reserved fields and bits.
        self.strict = self.minor <= MINOR_VERSION
        if self.strict and self.header_flags != 0:
            _fail("reserved-nonzero", f"header flags are 0x{self.header_flags:08X}; must be 0",
                  "header", 24)
        if self.count == 0:
            _fail("invalid-value", "section count is 0; at least the MODL section is required",
                  "header", 12)
        if self.count > MAX_SECTIONS:
            _fail("limit-exceeded", f"section count {self.count} is over the limit of 1024",
                  "header", 12)
        self.table_end = HEADER_SIZE + ENTRY_SIZE * self.count + TRAILER_SIZE
        if size > self.file_length:
            _fail("trailing-bytes", f"{size - self.file_length} bytes follow the declared file "
                  f"length {self.file_length}", "header", self.file_length)
        if size < self.file_length:
            _fail("truncated", f"the file has {size} bytes; its header declares {self.file_length}",
                  "header", 16)
        if size < self.table_end:
            _fail("truncated", f"the file has {size} bytes; its section table of {self.count} "
                  f"entries ends at {self.table_end}", "header", size)

    def _table(self) -> None:
        data = self.data
        trailer = HEADER_SIZE + ENTRY_SIZE * self.count
        table_crc, trailer_reserved = struct.unpack_from("<II", data, trailer)
        actual = _crc(data[HEADER_SIZE:trailer])
        if actual != table_crc:
            _fail("checksum-mismatch",
                  f"table checksum is 0x{table_crc:08X}, the entries give 0x{actual:08X}",
                  "table", trailer)
        if self.strict and trailer_reserved != 0:
            _fail("reserved-nonzero", f"table trailer reserved field is 0x{trailer_reserved:08X}",
                  "table", trailer + 4)
        previous_end = 0
        for index in range(self.count):
            e = _parse_entry(data, index)
            where = f"entry {index}"
            if not all(c in _TYPE_CHARS for c in e.type):
                _fail("invalid-value", f"section type {e.type!r} is not four ASCII letters or digits",
                      where, e.pos)
            where = f"{e.name} (entry {index})"
            if self.strict and e.flags & ~1:
                _fail("reserved-nonzero", f"flags 0x{e.flags:08X} set reserved bits", where, e.pos + 4)
            if self.strict and e.reserved != 0:
                _fail("reserved-nonzero", f"reserved byte is 0x{e.reserved:02X}", where, e.pos + 35)
            if e.codec not in (CODEC_NONE, CODEC_ZSTD):
                _fail("unknown-codec", f"codec {e.codec} is not defined (0 none, 1 zstd)", where,
                      e.pos + 32)
            if e.filter not in (FILTER_NONE, FILTER_SHUFFLE):
                _fail("unknown-filter", f"filter {e.filter} is not defined (0 none, 1 shuffle)",
                      where, e.pos + 33)
            if e.filter == FILTER_NONE and e.unit != 0:
                _fail("invalid-value", f"filter unit {e.unit} with filter none; must be 0", where,
                      e.pos + 34)
            if e.filter == FILTER_SHUFFLE and e.unit not in SHUFFLE_UNITS:
                _fail("invalid-value", f"shuffle filter unit {e.unit}; must be 2, 4 or 8", where,
                      e.pos + 34)
            if e.decoded > MAX_DECODED_LENGTH:
                _fail("limit-exceeded",
                      f"decoded length {e.decoded} is over the limit of 2^34", where, e.pos + 24)
            expected = self.table_end if index == 0 else _align8(previous_end)
            if e.offset != expected:
                _fail("bad-layout", f"offset {e.offset}; the layout rules require {expected}",
                      where, e.pos + 8)
            if e.offset + e.stored > self.file_length:
                _fail("bad-layout", f"stored bytes {e.offset} ..< {e.offset + e.stored} end past the "
                      f"file length {self.file_length}", where, e.pos + 16)
            if e.codec == CODEC_NONE and e.stored != e.decoded:
                _fail("bad-layout", f"codec none with stored length {e.stored} and decoded length "
                      f"{e.decoded}; they must be equal", where, e.pos + 16)
            if e.codec == CODEC_ZSTD and e.stored == 0:
                _fail("bad-layout", "codec zstd with stored length 0", where, e.pos + 16)
            if index > 0:
                for p in range(previous_end, e.offset):
                    if data[p] != 0:
                        _fail("reserved-nonzero", f"padding byte is 0x{data[p]:02X}; must be 0",
                              where, p)
            previous_end = e.offset + e.stored
            self.entries.append(e)
        if previous_end != self.file_length:
            _fail("bad-layout", f"the last section ends at {previous_end}, not at the file length "
                  f"{self.file_length}", f"{self.entries[-1].name} (entry {self.count - 1})",
                  previous_end)

    # -- steps 10, 11 ---------------------------------------------------------------------------

    def _types(self) -> None:
        first = self.entries[0]
        if first.type != b"MODL":
            _fail("missing-section", f"the first section is {first.name}; it must be MODL",
                  "entry 0", first.pos)
        for e in self.entries:
            where = f"{e.name} (entry {e.index})"
            if e.type in self.by_type:
                _fail("duplicate-section", f"section {e.name} appears again (first at entry "
                      f"{self.by_type[e.type].index})", where, e.pos)
            self.by_type[e.type] = e
            critical = bool(e.flags & 1)
            required = SECTION_CRITICAL.get(e.type)
            if required is None:
                if critical:
                    _fail("unknown-critical-section",
                          f"section type {e.name} is unknown and marked critical", where, e.pos)
            elif critical != required:
                _fail("invalid-value", f"section {e.name} must have its critical bit "
                      f"{'set' if required else 'clear'}", where, e.pos + 4)

    def _section_checksums(self) -> None:
        for e in self.entries:
            actual = _crc(self.data[e.offset:e.offset + e.stored])
            if actual != e.checksum:
                _fail("checksum-mismatch", f"section checksum is 0x{e.checksum:08X}, its stored "
                      f"bytes give 0x{actual:08X}", f"{e.name} (entry {e.index})", e.pos + 36)

    # -- step 12 --------------------------------------------------------------------------------

    def _decode(self, e: _Entry) -> bytes:
        stored = self.data[e.offset:e.offset + e.stored]
        if e.codec == CODEC_ZSTD:
            filtered = _zstd_decode(stored, e.decoded, f"{e.name} (entry {e.index})", e.offset)
        else:
            filtered = stored
        if e.filter == FILTER_SHUFFLE:
            return _unshuffle(filtered, e.unit)
        return filtered

    def _modl(self) -> None:
        e = self.entries[0]
        if e.decoded != MODL_LENGTH:
            _fail("shape-mismatch", f"MODL payload is {e.decoded} bytes; it must be 64", "MODL",
                  e.pos + 24)
        p = self._decode(e)
        self.payloads[b"MODL"] = p
        (kind, i, o, d, h, m, act, wtype, ntype, res1, k, res2) = struct.unpack("<IIIIIIBBBBf32s", p)

        def field_error(code: str, message: str, off: int) -> NoReturn:
            _fail(code, message, "MODL", off)

        if kind == 0:
            field_error("invalid-value", "layer kind 0 is never assigned (1 is fff)", 0)
        if kind != LAYER_KIND_FFF:
            field_error("unsupported-feature", f"layer kind {kind} is not implemented by this "
                        "1.0 reader (1 fff)", 0)
        for name, value, high, off in (("input width", i, MAX_IO_WIDTH, 4),
                                       ("output width", o, MAX_IO_WIDTH, 8)):
            if value > high:
                field_error("limit-exceeded", f"{name} {value} is over the limit of 2^24", off)
            if value == 0:
                field_error("invalid-value", f"{name} is 0", off)
        if d > MAX_DEPTH:
            field_error("limit-exceeded", f"depth {d} is over the limit of 24", 12)
        if h > MAX_HIDDEN_WIDTH:
            field_error("limit-exceeded", f"leaf width {h} is over the limit of 2^16", 16)
        if h == 0:
            field_error("invalid-value", "leaf width is 0", 16)
        if m > MAX_HIDDEN_WIDTH:
            field_error("limit-exceeded", f"master width {m} is over the limit of 2^16", 20)
        if act >= len(ACTIVATIONS):
            field_error("unsupported-feature", f"activation {act} is not assigned in 1.0 "
                        "(0 ... 6)", 24)
        defined = ", ".join(f"{c} {n}" for c, n in enumerate(ELEMENT_TYPES))
        # 1.1: bytes 25 and 26 mean the same whatever the minor version (a 1.0 reader rejects
        # every compact file through byte 25).
        if wtype >= len(ELEMENT_TYPES):
            field_error("unsupported-feature", f"weight element type {wtype} is not defined in 1.1 "
                        f"({defined})", 25)
        if ntype >= len(ELEMENT_TYPES):
            field_error("unsupported-feature", f"node element type {ntype} is not defined in 1.1 "
                        f"({defined})", 26)
        if ntype != ELEMENT_FLOAT32 and wtype == ELEMENT_FLOAT32:
            field_error("invalid-value", f"node element type {ntype} ({ELEMENT_TYPES[ntype]}) with "
                        "weight element type 0 (float32): compact nodes need compact weights", 26)
        if ntype != ELEMENT_FLOAT32 and d == 0:
            field_error("invalid-value", f"node element type {ntype} ({ELEMENT_TYPES[ntype]}) with "
                        "depth 0: a model without nodes must have node element type 0", 26)
        if self.strict and res1 != 0:
            field_error("reserved-nonzero", f"reserved byte is 0x{res1:02X}", 27)
        if not math.isfinite(k):
            field_error("non-finite-parameter", f"mixing logit k is {k}", 28)
        k_bits = p[28:32]
        if m == 0 and k_bits != b"\x00\x00\x00\x00":
            field_error("invalid-value", f"mixing logit k is {k!r} without a master leaf; "
                        "must be +0.0", 28)
        if self.strict and any(res2):
            first = next(j for j, c in enumerate(res2) if c)
            field_error("reserved-nonzero", f"reserved byte is 0x{res2[first]:02X}", 32 + first)
        self.i, self.o, self.d, self.h, self.m, self.act, self.k = i, o, d, h, m, act, k
        self.wtype, self.ntype = wtype, ntype
        self.shapes = _tensor_shapes(i, o, d, h, m)
        for name, shape in self.shapes.items():
            nbytes = _tensor_nbytes(name, shape, wtype, ntype)
            if nbytes > MAX_TENSOR_BYTES:
                etype = ELEMENT_TYPES[_element_code(name, wtype, ntype)]
                _fail("limit-exceeded", f"{name.decode()} would hold {nbytes} bytes "
                      f"({' x '.join(map(str, shape))} {etype}), over the limit of 2^34", "MODL")

    # -- steps 13, 14 ---------------------------------------------------------------------------

    def _presence(self) -> None:
        for t in SECTION_CRITICAL:
            present = t in self.by_type
            if t in (b"NODW", b"NODB"):
                allowed = required = self.d >= 1
            elif t in (b"MSW1", b"MSB1", b"MSW2", b"MSB2"):
                allowed = required = self.m >= 1
            elif t in (b"PREP", b"LABL", b"META", b"CARD", b"SIGN"):
                allowed, required = True, False
            else:
                allowed = required = True
            if required and not present:
                why = ("required when depth >= 1" if t in (b"NODW", b"NODB") else
                       "required with a master leaf" if t.startswith(b"MS") else "required")
                _fail("missing-section", f"section {t.decode()} is absent; it is {why}", t.decode())
            if present and not allowed:
                why = "the model has depth 0" if t in (b"NODW", b"NODB") else "the model has no master leaf"
                e = self.by_type[t]
                _fail("unexpected-section", f"section {t.decode()} is present but {why}",
                      f"{t.decode()} (entry {e.index})", e.pos)

    def _lengths(self) -> None:
        total = 0
        for e in self.entries:
            if e.type not in SECTION_CRITICAL:
                continue  # unknown ancillary: never decoded
            where = f"{e.name} (entry {e.index})"
            if e.type in self.shapes:
                shape = self.shapes[e.type]
                want = _tensor_nbytes(e.type, shape, self.wtype, self.ntype)
                code = _element_code(e.type, self.wtype, self.ntype)
                if e.decoded != want:
                    how = ""
                    if code == ELEMENT_INT8_ROW:
                        a, _, c = _row_view(e.type, shape)
                        how = f" ({a * c} float32 scales, then {math.prod(shape)} int8)"
                    _fail("shape-mismatch", f"decoded length {e.decoded}; a {ELEMENT_TYPES[code]} "
                          f"tensor of shape {shape} needs {want}{how}", where, e.pos + 24)
            elif e.type == b"PREP":
                allowed = sorted({8 + 8, 8 + 8 * self.i})
                if e.decoded not in allowed:
                    _fail("shape-mismatch", f"decoded length {e.decoded}; PREP must be "
                          f"{' or '.join(map(str, allowed))} bytes for input width {self.i}",
                          where, e.pos + 24)
            if e.filter == FILTER_SHUFFLE and e.decoded % e.unit:
                _fail("invalid-value", f"decoded length {e.decoded} is not a multiple of the "
                      f"shuffle unit {e.unit}", where, e.pos + 34)
            total += e.decoded
        if total > self.budget:
            _fail("limit-exceeded", f"the known sections decode to {total} bytes, over this "
                  f"reader's budget of {self.budget} bytes (max_decoded_bytes)")

    # -- step 15 --------------------------------------------------------------------------------

    def _contents(self) -> Model:
        tensors: dict[bytes, np.ndarray] = {}
        prep: tuple[np.ndarray, np.ndarray] | None = None
        labels: list[str] | None = None
        metadata: list[tuple[str, str]] = []
        card: list[tuple[str, str]] | None = None
        signatures: SignatureBlock | None = None
        for e in self.entries[1:]:
            if e.type not in SECTION_CRITICAL:
                continue
            payload = self._decode(e)
            self.payloads[e.type] = payload
            if e.type in self.shapes:
                tensors[e.type] = self._tensor(e, payload)
            elif e.type == b"PREP":
                prep = self._prep(payload)
            elif e.type == b"LABL":
                labels = self._labels(payload)
            elif e.type == b"META":
                metadata = self._metadata(payload)
            elif e.type == b"CARD":
                card = self._metadata(payload, "CARD")
            elif e.type == b"SIGN":
                signatures = self._signatures(payload)
        master = None
        if self.m:
            master = MasterLeaf(tensors[b"MSW1"], tensors[b"MSB1"], tensors[b"MSW2"],
                                tensors[b"MSB2"], float(self.k))
        empty = np.zeros((0, self.i), dtype=np.float32)
        return Model(
            weight_type=ELEMENT_TYPES[self.wtype], node_type=ELEMENT_TYPES[self.ntype],
            input_width=self.i, output_width=self.o, depth=self.d, leaf_width=self.h,
            activation=ACTIVATIONS[self.act],
            node_weights=tensors.get(b"NODW", empty),
            node_biases=tensors.get(b"NODB", np.zeros((0,), dtype=np.float32)),
            w1=tensors[b"LFW1"], b1=tensors[b"LFB1"], w2=tensors[b"LFW2"], b2=tensors[b"LFB2"],
            master=master,
            prep_scale=None if prep is None else prep[0],
            prep_offset=None if prep is None else prep[1],
            labels=labels, metadata=metadata, card=card, signatures=signatures,
        )

    def _tensor(self, e: _Entry, payload: bytes) -> np.ndarray:
        """A tensor's exact decoded values, after the value checks of its element type.

        float32, float16 and bfloat16 give float32 arrays (widening is exact); int8-row gives
        float64 (``scale * q`` is exact in float64). Checks, first failure wins: float32, an
        element that is NaN or infinite; float16 and bfloat16, an element whose exponent bits
        are all ones; int8-row, every scale in row order (NaN or infinite:
        ``non-finite-parameter``; +0.0, -0.0 or negative: ``invalid-value``), then every q in
        element order (-128: ``invalid-value``).
        """
        shape = self.shapes[e.type]
        code = _element_code(e.type, self.wtype, self.ntype)
        if code == ELEMENT_FLOAT32:
            arr = np.frombuffer(payload, dtype="<f4").astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                j = int(bad[0])
                _fail("non-finite-parameter", f"element {j} is {arr[j]}", e.name, 4 * j)
            return arr.reshape(shape)
        if code in (ELEMENT_FLOAT16, ELEMENT_BFLOAT16):
            bits = np.frombuffer(payload, dtype="<u2")
            exponent = 0x7C00 if code == ELEMENT_FLOAT16 else 0x7F80
            bad = np.flatnonzero((bits & exponent) == exponent)
            if bad.size:
                j = int(bad[0])
                what = "NaN" if bits[j] & (0x03FF if code == ELEMENT_FLOAT16 else 0x007F) else "infinite"
                _fail("non-finite-parameter", f"{ELEMENT_TYPES[code]} element {j} (0x{int(bits[j]):04X}) "
                      f"is {what}", e.name, 2 * j)
            if code == ELEMENT_FLOAT16:
                return bits.view("<f2").astype(np.float32).reshape(shape)
            return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)
        a, k, c = _row_view(e.type, shape)
        rows = a * c
        scale = np.frombuffer(payload, dtype="<f4", count=rows).astype(np.float32)
        q = np.frombuffer(payload, dtype="i1", offset=4 * rows)
        bad = np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))
        if bad.size:
            r = int(bad[0])
            if not np.isfinite(scale[r]):
                _fail("non-finite-parameter", f"int8-row scale of row {r} is {scale[r]}", e.name, 4 * r)
            _fail("invalid-value", f"int8-row scale of row {r} is {scale[r]!r} (bits 0x"
                  f"{int(scale[r:r + 1].view(np.uint32)[0]):08X}); scales must be > 0", e.name, 4 * r)
        bad = np.flatnonzero(q == -128)
        if bad.size:
            j = int(bad[0])
            _fail("invalid-value", f"int8-row element {j} is -128; q must be in -127 ... 127",
                  e.name, 4 * rows + j)
        values = scale.astype(np.float64).reshape(a, 1, c) * q.astype(np.float64).reshape(a, k, c)
        return values.reshape(shape)

    def _prep(self, p: bytes) -> tuple[np.ndarray, np.ndarray]:
        count, reserved = struct.unpack_from("<II", p, 0)
        if count not in (1, self.i):
            _fail("invalid-value", f"count {count}; must be 1 or the input width {self.i}",
                  "PREP", 0)
        if len(p) != 8 + 8 * count:
            _fail("shape-mismatch", f"payload is {len(p)} bytes; count {count} needs {8 + 8 * count}",
                  "PREP", 0)
        if self.strict and reserved:
            _fail("reserved-nonzero", f"reserved field is 0x{reserved:08X}",
                  "PREP", 4)
        values = np.frombuffer(p, dtype="<f4", offset=8).astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            j = int(bad[0])
            what = f"scale[{j}]" if j < count else f"offset[{j - count}]"
            _fail("non-finite-parameter", f"{what} is {values[j]}",
                  "PREP", 8 + 4 * j)
        return values[:count].copy(), values[count:].copy()

    @staticmethod
    def _string(p: bytes, pos: int, section: str, what: str, low: int, high: int) -> tuple[bytes, int]:
        """Read a u32-prefixed string at ``pos``: range of its length first, then its extent."""
        if pos + 4 > len(p):
            _fail("shape-mismatch", f"{what}: its length field at payload offset {pos} runs past "
                  f"the {len(p)}-byte payload", section, pos)
        (n,) = struct.unpack_from("<I", p, pos)
        if not low <= n <= high:
            _fail("invalid-value", f"{what} is {n} bytes; expected {low} ... {high}", section, pos)
        if pos + 4 + n > len(p):
            _fail("shape-mismatch", f"{what}: {n} bytes at payload offset {pos + 4} run past the "
                  f"{len(p)}-byte payload", section, pos)
        return p[pos + 4:pos + 4 + n], pos + 4 + n

    def _labels(self, p: bytes) -> list[str]:
        if len(p) < 8:
            _fail("shape-mismatch", f"payload is {len(p)} bytes; at least 8 needed", "LABL", 0)
        count, reserved = struct.unpack_from("<II", p, 0)
        if count != self.o:
            _fail("shape-mismatch", f"{count} labels for output width {self.o}",
                  "LABL", 0)
        if self.strict and reserved:
            _fail("reserved-nonzero", f"reserved field is 0x{reserved:08X}",
                  "LABL", 4)
        pos, labels, seen = 8, [], set()
        for c in range(count):
            start = pos
            raw, pos = self._string(p, pos, "LABL", f"label {c}", 1, MAX_LABEL_BYTES)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as ex:
                _fail("invalid-value", f"label {c} is not well-formed UTF-8 ({ex.reason})",
                      "LABL", start + 4 + ex.start)
            if raw in seen:
                _fail("invalid-value", f"label {c} {text!r} is a duplicate",
                      "LABL", start)
            seen.add(raw)
            labels.append(text)
        if pos != len(p):
            _fail("shape-mismatch", f"{len(p) - pos} bytes left over after the last label", "LABL", pos)
        return labels

    def _metadata(self, p: bytes, section: str = "META") -> list[tuple[str, str]]:
        """A META payload, or (``section="CARD"``) a CARD one: the same structure, then each
        pair's typed-key check (spec §13.1) right after the pair's own checks."""
        if len(p) < 8:
            _fail("shape-mismatch", f"payload is {len(p)} bytes; at least 8 needed", section, 0)
        count, reserved = struct.unpack_from("<II", p, 0)
        if count > MAX_META_PAIRS:
            _fail("invalid-value", f"{count} pairs; at most 65536", section, 0)
        if self.strict and reserved:
            _fail("reserved-nonzero", f"reserved field is 0x{reserved:08X}",
                  section, 4)
        pos, pairs, seen = 8, [], set()
        for c in range(count):
            start = pos
            key, pos = self._string(p, pos, section, f"key {c}", 1, MAX_META_KEY_BYTES)
            if not _is_printable_key(key):
                _fail("invalid-value", f"key {c} {key!r} is not printable ASCII 0x21 ... 0x7E",
                      section, start + 4)
            if key in seen:
                _fail("invalid-value", f"key {key.decode()!r} appears twice",
                      section, start)
            seen.add(key)
            vstart = pos
            value, pos = self._string(p, pos, section, f"value of {key.decode()!r}", 0,
                                      MAX_META_VALUE_BYTES)
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError as ex:
                _fail("invalid-value", f"value of {key.decode()!r} is not well-formed UTF-8 "
                      f"({ex.reason})", section,
                      vstart + 4 + ex.start)
            if section == "CARD":
                problem = check_card_value(key.decode("ascii"), text)
                if problem is not None:
                    _fail("invalid-value", f"value of {key.decode()!r}: {problem}", section,
                          vstart + 4)
            pairs.append((key.decode("ascii"), text))
        if pos != len(p):
            _fail("shape-mismatch", f"{len(p) - pos} bytes left over after the last pair", section, pos)
        return pairs

    def _signatures(self, p: bytes) -> SignatureBlock:
        """The structural checks of SIGN (spec §13.3), in order; nothing is hashed or verified."""
        if len(p) < SIGN_HEADER_BYTES:
            _fail("shape-mismatch", f"payload is {len(p)} bytes; at least {SIGN_HEADER_BYTES} needed",
                  "SIGN", 0)
        count, reserved = struct.unpack_from("<II", p, 0)
        if not 1 <= count <= MAX_SIGNATURES:
            _fail("invalid-value", f"{count} signatures; a SIGN section holds 1 ... {MAX_SIGNATURES}",
                  "SIGN", 0)
        if self.strict and reserved:
            _fail("reserved-nonzero", f"reserved field is 0x{reserved:08X}", "SIGN", 4)
        want = SIGN_HEADER_BYTES + SIGNATURE_BYTES * count
        if len(p) != want:
            _fail("shape-mismatch", f"payload is {len(p)} bytes; {count} signatures need {want}",
                  "SIGN", 0)
        signatures: list[Signature] = []
        seen: dict[bytes, int] = {}
        for j in range(count):
            at = SIGN_HEADER_BYTES + SIGNATURE_BYTES * j
            algorithm = p[at]
            if algorithm == 0:
                _fail("invalid-value", f"signature {j} has algorithm 0 (1 is Ed25519)", "SIGN", at)
            if self.strict and any(p[at + 1:at + 8]):
                _fail("reserved-nonzero", f"reserved bytes of signature {j} are not zero", "SIGN",
                      at + 1 + next(q for q, c in enumerate(p[at + 1:at + 8]) if c))
            key_id = p[at + 8:at + 40]
            if key_id in seen:
                _fail("invalid-value", f"signature {j} has the key id of signature {seen[key_id]} "
                      f"({key_id.hex()})", "SIGN", at + 8)
            seen[key_id] = j
            signatures.append(Signature(algorithm, key_id, p[at + 40:at + 104]))
        return SignatureBlock(p[8:40], p[40:72], p[72:104], signatures)


# ---------------------------------------------------------------------------------------------
# Crafting: raw sections, assembly, checksums, description
# ---------------------------------------------------------------------------------------------


@dataclass
class RawSection:
    """One section as it goes into :func:`assemble`; the overrides craft broken files.

    ``payload`` is the decoded payload.  It is shuffled when ``filter`` is 1 and ``unit`` is 2, 4
    or 8 and divides its length (otherwise stored unfiltered, so that bad declarations can be
    crafted), then compressed when ``codec`` is 1 (any other codec stores it as is).
    """

    type: bytes
    payload: bytes
    critical: bool = True
    codec: int = 1
    filter: int = 1
    unit: int = 4
    flags_override: int | None = None          # the whole flags field
    stored_override: bytes | None = None       # the stored bytes, instead of encoding payload
    decoded_length_override: int | None = None  # the declared decoded length
    stored_length_override: int | None = None  # the declared stored length (bytes laid out as is)
    offset_override: int | None = None         # where the stored bytes go (and the declared offset)
    reserved: int = 0                          # entry byte 35
    checksum_override: int | None = None       # the declared section checksum
    padding_byte: int = 0                      # fill of the padding that follows this section
    zstd_level: int = 19
    zstd_content_size: bool = True
    zstd_checksum: bool = False

    def stored_bytes(self) -> bytes:
        """The bytes laid out in the file for this section."""
        if self.stored_override is not None:
            return self.stored_override
        data = self.payload
        if self.filter == FILTER_SHUFFLE and self.unit in SHUFFLE_UNITS and len(data) % self.unit == 0:
            data = _shuffle(data, self.unit)
        if self.codec == CODEC_ZSTD:
            cctx = zstandard.ZstdCompressor(level=self.zstd_level,
                                            write_content_size=self.zstd_content_size,
                                            write_checksum=self.zstd_checksum)
            data = cctx.compress(data)
        return data


def assemble(sections: list[RawSection], *, major: int = MAJOR_VERSION, minor: int | None = None,
             header_flags: int = 0, section_count: int | None = None,
             file_length: int | None = None, trailer_reserved: int = 0, magic: bytes = MAGIC,
             header_checksum: int | None = None, table_checksum: int | None = None) -> bytes:
    """Lay out ``sections`` as a file: header, table, stored bytes, zero padding, all checksums.

    Sections follow each other at ``align8`` offsets unless one has ``offset_override``; section
    checksums are computed over the final file bytes at the declared offset and stored length,
    so that even an overlapping layout has consistent checksums.  Keyword arguments override
    header fields for crafting broken files.  ``minor=None`` writes what :func:`write_model`
    would: 2 when a section is CARD or SIGN, else 1 when the first section is a 64-byte MODL
    whose weight type (byte 25) is a compact type (1, 2 or 3), else 0.
    """
    if minor is None:
        first = sections[0] if sections else None
        compact = (first is not None and first.type == b"MODL" and len(first.payload) == MODL_LENGTH
                   and first.payload[25] in (ELEMENT_FLOAT16, ELEMENT_BFLOAT16, ELEMENT_INT8_ROW))
        provenance = any(s.type in (b"CARD", b"SIGN") for s in sections)
        minor = 2 if provenance else 1 if compact else 0
    count = len(sections) if section_count is None else section_count
    table_end = HEADER_SIZE + ENTRY_SIZE * len(sections) + TRAILER_SIZE
    body = bytearray(table_end)
    stored_list = [s.stored_bytes() for s in sections]
    offsets: list[int] = []
    end = table_end
    for s, stored in zip(sections, stored_list):
        offset = _align8(end) if s.offset_override is None else s.offset_override
        if offset > len(body):
            body.extend(bytes(offset - len(body)))
        body[offset:offset + len(stored)] = stored  # overwrites when an override overlaps
        offsets.append(offset)
        end = offset + len(stored)
    for idx, s in enumerate(sections[:-1]):
        start = offsets[idx] + len(stored_list[idx])
        for p in range(start, offsets[idx + 1]):
            body[p] = s.padding_byte
    total = len(body) if file_length is None else file_length
    for idx, (s, stored) in enumerate(zip(sections, stored_list)):
        flags = (1 if s.critical else 0) if s.flags_override is None else s.flags_override
        stored_len = len(stored) if s.stored_length_override is None else s.stored_length_override
        decoded = len(s.payload) if s.decoded_length_override is None else s.decoded_length_override
        crc = (_crc(bytes(body[offsets[idx]:offsets[idx] + stored_len]))
               if s.checksum_override is None else s.checksum_override)
        entry = _ENTRY_STRUCT.pack(s.type, flags, offsets[idx], stored_len, decoded, s.codec,
                                   s.filter, s.unit, s.reserved, crc)
        pos = HEADER_SIZE + ENTRY_SIZE * idx
        body[pos:pos + ENTRY_SIZE] = entry
    trailer = HEADER_SIZE + ENTRY_SIZE * len(sections)
    tcrc = _crc(bytes(body[HEADER_SIZE:trailer])) if table_checksum is None else table_checksum
    struct.pack_into("<II", body, trailer, tcrc, trailer_reserved)
    body[0:8] = magic
    struct.pack_into("<HHIQI", body, 8, major, minor, count, total, header_flags)
    hcrc = _crc(bytes(body[:28])) if header_checksum is None else header_checksum
    struct.pack_into("<I", body, 28, hcrc)
    return bytes(body)


def recompute_checksums(data: bytes) -> bytes:
    """Return ``data`` with section, table and header CRCs fixed (for patching crafted files).

    Works on broken files too: entries whose stored bytes lie outside the data keep their CRC.
    """
    out = bytearray(data)
    if len(out) < HEADER_SIZE:
        return bytes(out)
    (count,) = struct.unpack_from("<I", out, 12)
    entries = min(count, max(0, (len(out) - HEADER_SIZE) // ENTRY_SIZE))
    for index in range(entries):
        pos = HEADER_SIZE + ENTRY_SIZE * index
        offset, stored = struct.unpack_from("<QQ", out, pos + 8)
        if offset + stored <= len(out):
            struct.pack_into("<I", out, pos + 36, _crc(bytes(out[offset:offset + stored])))
    trailer = HEADER_SIZE + ENTRY_SIZE * count
    if trailer + 4 <= len(out):
        struct.pack_into("<I", out, trailer, _crc(bytes(out[HEADER_SIZE:trailer])))
    struct.pack_into("<I", out, 28, _crc(bytes(out[:28])))
    return bytes(out)


def describe(data: bytes) -> dict[str, Any]:
    """The raw header fields and table entries of ``data``, without validating them.

    Raises ``FormatError`` (bad-magic or truncated) only when there is no header to describe.
    Entries beyond the end of the data are omitted (``sections_listed`` < ``section_count``).
    """
    if len(data) < HEADER_SIZE or data[:8] != MAGIC:
        code = "bad-magic" if data[:min(8, len(data))] != MAGIC[:min(8, len(data))] else "truncated"
        _fail(code, "no FFF header to describe", "header")
    major, minor, count, file_length, header_flags, header_crc = _HEADER_STRUCT.unpack_from(data, 8)
    result: dict[str, Any] = {
        "size": len(data),
        "major": major,
        "minor": minor,
        "section_count": count,
        "file_length": file_length,
        "header_flags": header_flags,
        "header_checksum": header_crc,
        "header_checksum_ok": _crc(data[:28]) == header_crc,
    }
    trailer = HEADER_SIZE + ENTRY_SIZE * count
    if trailer + TRAILER_SIZE <= len(data):
        tcrc, tres = struct.unpack_from("<II", data, trailer)
        result.update(table_checksum=tcrc, table_checksum_ok=_crc(data[HEADER_SIZE:trailer]) == tcrc,
                      trailer_reserved=tres)
    sections = []
    for index in range(min(count, (len(data) - HEADER_SIZE) // ENTRY_SIZE)):
        e = _parse_entry(data, index)
        in_file = e.offset + e.stored <= len(data)
        sections.append({
            "index": index,
            "type": _type_name(e.type),
            "flags": e.flags,
            "critical": bool(e.flags & 1),
            "offset": e.offset,
            "stored_length": e.stored,
            "decoded_length": e.decoded,
            "codec": e.codec,
            "filter": e.filter,
            "filter_unit": e.unit,
            "reserved": e.reserved,
            "checksum": e.checksum,
            "checksum_ok": in_file and _crc(data[e.offset:e.offset + e.stored]) == e.checksum,
        })
    result["sections_listed"] = len(sections)
    result["sections"] = sections
    return result


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------

_CODECS = {"none": CODEC_NONE, "zstd": CODEC_ZSTD}


def model_sections(model: Model, *, codec: str = "zstd", shuffle: bool = True,
                   level: int = 19) -> list[RawSection]:
    """The sections :func:`write_model` writes, in spec §6 order (after ``model.check()``).

    Every section gets ``codec``. With ``shuffle``, float32 tensor sections are shuffled with
    unit 4 and float16/bfloat16 ones with unit 2; int8-row sections (scales, then int8) and MODL,
    PREP, LABL and META are never filtered. Weights are encoded in ``model.weight_type`` and
    ``model.node_type`` by the writer rules (see :func:`quantized`).
    """
    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {sorted(_CODECS)}, got {codec!r}")
    model.check()
    c = _CODECS[codec]
    m = model.master.width if model.master is not None else 0
    k = float(np.float32(model.master.k)) if model.master is not None else 0.0
    wcode, ncode = ELEMENT_TYPES.index(model.weight_type), ELEMENT_TYPES.index(model.node_type)
    modl = struct.pack("<IIIIIIBBBBf32x", LAYER_KIND_FFF, model.input_width, model.output_width,
                       model.depth, model.leaf_width, m, ACTIVATIONS.index(model.activation),
                       wcode, ncode, 0, k)

    def plain(t: bytes, payload: bytes) -> RawSection:
        return RawSection(t, payload, critical=SECTION_CRITICAL[t], codec=c, filter=FILTER_NONE,
                          unit=0, zstd_level=level)

    def tensor(t: bytes, arr: np.ndarray) -> RawSection:
        code = _element_code(t, wcode, ncode)
        payload = _encode_tensor(t, arr, code)
        unit = {ELEMENT_FLOAT32: 4, ELEMENT_FLOAT16: 2, ELEMENT_BFLOAT16: 2}.get(code, 0)
        filtered = shuffle and unit != 0
        return RawSection(t, payload, critical=True, codec=c,
                          filter=FILTER_SHUFFLE if filtered else FILTER_NONE,
                          unit=unit if filtered else 0, zstd_level=level)

    sections = [plain(b"MODL", modl)]
    if model.prep_scale is not None and model.prep_offset is not None:
        scale = np.asarray(model.prep_scale, dtype="<f4")
        offset = np.asarray(model.prep_offset, dtype="<f4")
        sections.append(plain(b"PREP", struct.pack("<II", scale.shape[0], 0)
                              + scale.tobytes() + offset.tobytes()))
    if model.depth >= 1:
        sections.append(tensor(b"NODW", model.node_weights))
        sections.append(tensor(b"NODB", model.node_biases))
    sections += [tensor(b"LFW1", model.w1), tensor(b"LFB1", model.b1),
                 tensor(b"LFW2", model.w2), tensor(b"LFB2", model.b2)]
    if model.master is not None:
        sections += [tensor(b"MSW1", model.master.w1), tensor(b"MSB1", model.master.b1),
                     tensor(b"MSW2", model.master.w2), tensor(b"MSB2", model.master.b2)]
    if model.labels is not None:
        sections.append(plain(b"LABL", _encode_labels(model.labels, model.output_width)))
    if model.metadata:
        sections.append(plain(b"META", _encode_metadata(model.metadata)))
    # Format 1.2: CARD and SIGN always with codec none and no filter, after META (§6 order).
    if model.card is not None:
        sections.append(RawSection(b"CARD", _encode_metadata(model.card, "CARD"), critical=False,
                                   codec=CODEC_NONE, filter=FILTER_NONE, unit=0))
    if model.signatures is not None:
        sections.append(RawSection(b"SIGN", model.signatures.encode(), critical=False,
                                   codec=CODEC_NONE, filter=FILTER_NONE, unit=0))
    return sections


def writer_minor_version(model: Model) -> int:
    """The lowest minor version that describes ``model`` (spec §18): 2 with a CARD or SIGN
    section, else 1 with compact weights, else 0."""
    if model.card is not None or model.signatures is not None:
        return 2
    return 0 if model.weight_type == "float32" else 1


def write_model(model: Model, path: str | os.PathLike | None = None, *, codec: str = "zstd",
                shuffle: bool = True, level: int = 19) -> bytes:
    """Encode ``model`` as a file and return its bytes; also write them to ``path`` if given.

    Deterministic for a given zstandard library: zstd frames carry the content size and no
    checksum.  The file at ``path`` is replaced atomically (temporary file, then rename), so a
    reader never sees half a file.  An empty ``metadata`` list writes no META section.

    The header says minor version 2 when the model has a card or signatures (format 1.2), else 1
    when the weights are compact (``model.weight_type != "float32"``), else 0: an all-float32
    model without them gives the same bytes as a 1.0 writer. Compact weights are encoded from the arrays by the rules of
    :func:`quantized`; writing a model read from a file this writer wrote gives the same bytes.
    """
    minor = writer_minor_version(model)
    data = assemble(model_sections(model, codec=codec, shuffle=shuffle, level=level), minor=minor)
    if path is not None:
        _atomic_write(os.fspath(path), data)
    return data


def default_node_type(weight_type: str, depth: int = 1) -> str:
    """The node type a converter picks by default: float32 for float32 and int8-row weights (and
    for depth 0, which has no nodes), otherwise the weight type (float16 or bfloat16)."""
    if weight_type not in ELEMENT_TYPES:
        raise ValueError(f"unknown element type {weight_type!r}; expected one of {', '.join(ELEMENT_TYPES)}")
    if depth == 0 or weight_type in ("float32", "int8-row"):
        return "float32"
    return weight_type


def quantized(model: Model, weight_type: str = "float32", node_type: str | None = None) -> Model:
    """A copy of ``model`` whose weights hold exactly the values a reader decodes after
    :func:`write_model` writes them as ``weight_type`` (LFW1, LFW2, MSW1, MSW2) and
    ``node_type`` (NODW); biases, preprocessing, ``k``, labels and metadata are unchanged.

    ``node_type=None`` picks :func:`default_node_type`. The writer rules (format 1.1), from the
    float32 weights (for int8-row, the values as given, read in float64):

    - ``float16``: IEEE binary16, round to nearest, ties to even; a value that rounds to
      infinity (``|x| >= 65520``) raises :class:`FormatError` (``invalid-value``);
    - ``bfloat16``: the float32's upper 16 bits, rounded to nearest even on the bit pattern
      (``(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16``); rounding to infinity raises;
    - ``int8-row``: per row (the weights feeding one output unit), ``m = max |w|``; a zero row is
      scale 1.0 with every q 0; otherwise ``scale = float32(m / 127)`` and
      ``q = clamp(round_half_even(w / scale), -127, 127)``, both divisions in float64; the value
      is ``scale * q``.

    float32, float16 and bfloat16 weights come back as float32 arrays, int8-row ones as float64
    (``scale * q`` is exact in float64, not always in float32). ``quantized`` is idempotent, and
    writing its result with the same types gives the same bytes as writing ``model``. This is
    what ``fff-convert --check-inputs`` evaluates to measure what the compact types cost.
    """
    if node_type is None:
        node_type = default_node_type(weight_type, model.depth)
    out = _dataclass_replace(model, weight_type=weight_type, node_type=node_type)
    out.check()
    wcode, ncode = ELEMENT_TYPES.index(weight_type), ELEMENT_TYPES.index(node_type)
    shapes = _tensor_shapes(model.input_width, model.output_width, model.depth, model.leaf_width,
                            0 if model.master is None else model.master.width)

    def dec(name: bytes, arr: np.ndarray) -> np.ndarray:
        return _decoded_values(name, shapes[name], arr, _element_code(name, wcode, ncode))

    out.node_weights = dec(b"NODW", model.node_weights)
    out.node_biases = dec(b"NODB", model.node_biases)
    out.w1, out.b1 = dec(b"LFW1", model.w1), dec(b"LFB1", model.b1)
    out.w2, out.b2 = dec(b"LFW2", model.w2), dec(b"LFB2", model.b2)
    if model.master is not None:
        ms = model.master
        out.master = MasterLeaf(dec(b"MSW1", ms.w1), dec(b"MSB1", ms.b1), dec(b"MSW2", ms.w2),
                                dec(b"MSB2", ms.b2), float(np.float32(ms.k)))
    return out


def _atomic_write(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fff-", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; a model file gets the mode any new file would (0666 less umask).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
