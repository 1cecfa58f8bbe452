"""Tests for pyfff.checkpoint.

torch is not available (and must never be needed), so the checkpoints here are written by hand:
a tiny pickle-opcode emitter produces exactly the stream ``torch.save`` writes for a state_dict,
and two zip writers produce the archive, one through :mod:`zipfile` for honest files and one
byte by byte for archives that lie. The published checkpoints in ``../shared`` are checked too,
down to reproducing their published MNIST accuracy, when ``../shared`` is present.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from pyfff.checkpoint import MAX_ZIP_ENTRIES, CheckpointError, load_checkpoint
from pyfff.idx import read_idx

# --------------------------------------------------------------------------- pickle emitter


@dataclass(frozen=True)
class Global:
    """GLOBAL opcode (protocol 2, what torch.save uses)."""

    module: str
    name: str


@dataclass(frozen=True)
class StackGlobal:
    """STACK_GLOBAL opcode (protocol 4), optionally with the strings memoised and fetched back."""

    module: str
    name: str
    memoise: bool = False


@dataclass(frozen=True)
class Call:
    """``func(*args)`` via REDUCE."""

    func: Any
    args: tuple[Any, ...]


@dataclass(frozen=True)
class PersId:
    """BINPERSID on a tuple, as torch.save does for storages."""

    pid: tuple[Any, ...]


@dataclass(frozen=True)
class ODict:
    """``OrderedDict()`` then SETITEMS, then BUILD with ``state`` (torch's ``_metadata``)."""

    items: tuple[tuple[Any, Any], ...] = ()
    state: dict[str, Any] | None = None


@dataclass(frozen=True)
class Raw:
    """Opcode bytes emitted verbatim."""

    data: bytes


def emit(obj: Any) -> bytes:
    """Serialise a small object tree into pickle opcodes, the way torch.save's pickler would."""
    if isinstance(obj, Raw):
        return obj.data
    if obj is None:
        return b"N"
    if obj is True or obj is False:
        return b"\x88" if obj else b"\x89"
    if isinstance(obj, int):
        if 0 <= obj < 256:
            return b"K" + bytes([obj])
        if 0 <= obj < 65536:
            return b"M" + struct.pack("<H", obj)
        if -(2**31) <= obj < 2**31:
            return b"J" + struct.pack("<i", obj)
        data = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
        if len(data) < 256:
            return b"\x8a" + bytes([len(data)]) + data
        return b"\x8b" + struct.pack("<I", len(data)) + data
    if isinstance(obj, str):
        data = obj.encode()
        return b"X" + struct.pack("<I", len(data)) + data
    if isinstance(obj, tuple):
        return b")" if not obj else b"(" + b"".join(emit(item) for item in obj) + b"t"
    if isinstance(obj, list):
        return b"]" + (b"(" + b"".join(emit(item) for item in obj) + b"e" if obj else b"")
    if isinstance(obj, dict):
        body = b"".join(emit(k) + emit(v) for k, v in obj.items())
        return b"}" + (b"(" + body + b"u" if obj else b"")
    if isinstance(obj, Global):
        return b"c" + f"{obj.module}\n{obj.name}\n".encode()
    if isinstance(obj, StackGlobal):
        module, name = obj.module.encode(), obj.name.encode()
        if obj.memoise:  # strings parked in the memo and fetched back, as a real pickler may do
            return (
                b"\x8c" + bytes([len(module)]) + module + b"q\x50" + b"0"
                + b"\x8c" + bytes([len(name)]) + name + b"q\x51" + b"0"
                + b"h\x50h\x51\x93"
            )
        return b"\x8c" + bytes([len(module)]) + module + b"\x8c" + bytes([len(name)]) + name + b"\x93"
    if isinstance(obj, Call):
        return emit(obj.func) + emit(obj.args) + b"R"
    if isinstance(obj, PersId):
        return emit(obj.pid) + b"Q"
    if isinstance(obj, ODict):
        out = emit(Call(Global("collections", "OrderedDict"), ()))
        if obj.items:
            out += b"(" + b"".join(emit(k) + emit(v) for k, v in obj.items) + b"u"
        if obj.state is not None:
            out += emit(obj.state) + b"b"
        return out
    raise TypeError(f"cannot emit {obj!r}")


def pickle_bytes(obj: Any, protocol: int = 2) -> bytes:
    return b"\x80" + bytes([protocol]) + emit(obj) + b"."


REBUILD_V2 = Global("torch._utils", "_rebuild_tensor_v2")

STORAGE_CLASSES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}


def tensor(
    key: str,
    dtype: str,
    numel: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    offset: int = 0,
    location: str = "cpu",
    storage_type: Any = None,
    rebuild: Any = REBUILD_V2,
) -> Call:
    """The ``_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`` call."""
    storage_type = storage_type or Global("torch", STORAGE_CLASSES[dtype])
    storage = PersId(("storage", storage_type, key, location, numel))
    return Call(rebuild, (storage, offset, size, stride, False, ODict()))


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def state_dict(arrays: dict[str, np.ndarray], location: str = "cpu") -> tuple[ODict, dict[str, bytes]]:
    """The pickle tree and storage members torch.save writes for a dict of contiguous tensors."""
    items, storages = [], {}
    for i, (name, array) in enumerate(arrays.items()):
        key = str(i)
        storages[key] = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        items.append(
            (name, tensor(key, array.dtype.name, array.size, array.shape, contiguous_strides(array.shape), location=location))
        )
    metadata = ODict((("", {"version": 1}),))
    return ODict(tuple(items), {"_metadata": metadata}), storages


def torch_zip(
    pickle_data: bytes,
    storages: dict[str, bytes],
    root: str = "archive",
    byteorder: bytes | None = b"little",
) -> bytes:
    """A zip laid out as torch.save lays it out (members stored, uncompressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", pickle_data)
        if byteorder is not None:
            zf.writestr(f"{root}/byteorder", byteorder)
        for key, data in storages.items():
            zf.writestr(f"{root}/data/{key}", data)
        zf.writestr(f"{root}/version", b"3\n")
        zf.writestr(f"{root}/.data/serialization_id", b"1234567890")
    return buffer.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "model.pt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def save(tmp_path: Path, arrays: dict[str, np.ndarray], **kwargs: Any) -> Path:
    tree, storages = state_dict(arrays)
    return write(tmp_path, torch_zip(pickle_bytes(tree), storages, **kwargs))


def save_tree(tmp_path: Path, tree: Any, storages: dict[str, bytes] | None = None, protocol: int = 2) -> Path:
    return write(tmp_path, torch_zip(pickle_bytes(tree, protocol), storages or {}))


# --------------------------------------------------------------------------- raw zip writer


@dataclass
class Member:
    """One member for :func:`raw_zip`, whose central-directory record may lie."""

    name: str
    data: bytes = b""
    method: int = zipfile.ZIP_STORED
    declared_size: int | None = None  # uncompressed size (and compressed, if stored) to claim
    header_offset_of: int | None = None  # claim the local header of member #i (overlap)
    crc: int | None = field(default=None, repr=False)


def raw_zip(members: list[Member]) -> bytes:
    """Write a zip byte by byte, so central-directory fields can claim what they like."""
    out, central, offsets = bytearray(), bytearray(), []
    payloads = []
    for m in members:
        if m.method == zipfile.ZIP_DEFLATED:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = compressor.compress(m.data) + compressor.flush()
        else:
            payload = m.data
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        name = m.name.encode()
        offsets.append(len(out))
        payloads.append((payload, crc))
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, m.method, 0, 33, crc, len(payload), len(m.data), len(name), 0
        )
        out += name + payload
    for i, (m, (payload, crc)) in enumerate(zip(members, payloads)):
        name = m.name.encode()
        usize = len(m.data) if m.declared_size is None else m.declared_size
        csize = usize if m.declared_size is not None and m.method == zipfile.ZIP_STORED else len(payload)
        extra = b""
        if usize > 0xFFFFFFFF:
            extra += struct.pack("<Q", usize)
            usize = 0xFFFFFFFF
        if csize > 0xFFFFFFFF:
            extra += struct.pack("<Q", csize)
            csize = 0xFFFFFFFF
        if extra:
            extra = struct.pack("<HH", 1, len(extra)) + extra
        offset = offsets[i if m.header_offset_of is None else m.header_offset_of]
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02", 45, 45, 0, m.method, 0, 33, crc, csize, usize, len(name), len(extra), 0, 0, 0, 0, offset,
        )
        central += name + extra
    count = len(members)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + eocd)


def minimal_members(root: str = "archive") -> list[Member]:
    """Members of a valid archive holding one float32 tensor ``x = [1, 2]``."""
    tree = ODict((("x", tensor("0", "float32", 2, (2,), (1,))),))
    return [
        Member(f"{root}/data.pkl", pickle_bytes(tree)),
        Member(f"{root}/byteorder", b"little"),
        Member(f"{root}/data/0", np.array([1, 2], "<f4").tobytes()),
        Member(f"{root}/version", b"3\n"),
    ]


def test_raw_zip_writer_makes_loadable_archives(tmp_path: Path) -> None:
    """The lying-zip writer is honest by default, so every refusal below is the lie's doing."""
    result = load_checkpoint(write(tmp_path, raw_zip(minimal_members())))
    np.testing.assert_array_equal(result["x"], [1, 2])


# --------------------------------------------------------------------------- good checkpoints


def sample_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "depth": np.array(3, dtype=np.int64),
        "k": np.array(0.25, dtype=np.float32),
        "weights": rng.standard_normal((3, 5)).astype(np.float32),
        "f64": rng.standard_normal((2, 2, 2)),
        "f16": rng.standard_normal(7).astype(np.float16),
        "i32": rng.integers(-(2**31), 2**31 - 1, size=(4,), dtype=np.int32),
        "i16": rng.integers(-(2**15), 2**15 - 1, size=(2, 3), dtype=np.int16),
        "i8": np.array([-128, 0, 127], dtype=np.int8),
        "u8": np.array([[0, 255]], dtype=np.uint8),
        "flags": np.array([True, False, True]),
        "i64": np.array([-(2**62), 2**62], dtype=np.int64),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


def test_round_trip_every_dtype(tmp_path: Path) -> None:
    arrays = sample_arrays()
    result = load_checkpoint(save(tmp_path, arrays))
    assert list(result) == list(arrays), "keys come back in stored order"
    for name, expected in arrays.items():
        got = result[name]
        assert got.dtype == expected.dtype, name
        assert got.shape == expected.shape, name
        np.testing.assert_array_equal(got, expected, err_msg=name)
        assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata, name
    assert result["depth"].ndim == 0 and int(result["depth"]) == 3
    assert result["k"].ndim == 0 and result["k"].dtype == np.float32


def test_format_is_detected_by_content_not_name(tmp_path: Path) -> None:
    tree, storages = state_dict({"a": np.arange(3, dtype=np.float32)})
    path = write(tmp_path, torch_zip(pickle_bytes(tree), storages), name="weights.safetensors")
    np.testing.assert_array_equal(load_checkpoint(path)["a"], [0, 1, 2])


def test_bfloat16_widens_to_float32(tmp_path: Path) -> None:
    values = np.array([1.0, -2.5, 3.140625, 0.0, np.inf], dtype=np.float32)  # exact in bfloat16
    bits = (values.view(np.uint32) >> 16).astype("<u2")
    tree = ODict((("b", tensor("0", "bfloat16", 5, (5,), (1,))),))
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": bits.tobytes()}))
    assert result["b"].dtype == np.float32
    np.testing.assert_array_equal(result["b"], values)


def test_bool_storage_treats_any_nonzero_byte_as_true(tmp_path: Path) -> None:
    tree = ODict((("m", tensor("0", "bool", 3, (3,), (1,))),))
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": b"\x00\x01\x07"}))
    assert result["m"].dtype == np.bool_
    np.testing.assert_array_equal(result["m"], [False, True, True])


def test_cuda_location_and_metadata_build_like_the_real_files(tmp_path: Path) -> None:
    tree, storages = state_dict({"w": np.ones((2, 3), np.float32)}, location="cuda:0")
    np.testing.assert_array_equal(load_checkpoint(write(tmp_path, torch_zip(pickle_bytes(tree), storages)))["w"], 1)


def test_non_contiguous_views(tmp_path: Path) -> None:
    base = np.arange(12, dtype=np.float32)
    tree = ODict(
        (
            ("matrix", tensor("0", "float32", 12, (3, 4), (4, 1))),
            ("transposed", tensor("0", "float32", 12, (4, 3), (1, 4))),
            ("offset_slice", tensor("0", "float32", 12, (2, 2), (4, 1), offset=5)),
            ("every_other", tensor("0", "float32", 12, (6,), (2,), offset=1)),
            ("broadcast_row", tensor("0", "float32", 12, (3, 4), (0, 1))),
            ("scalar_view", tensor("0", "float32", 12, (), (), offset=11)),
        )
    )
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": base.tobytes()}))
    matrix = base.reshape(3, 4)
    np.testing.assert_array_equal(result["matrix"], matrix)
    np.testing.assert_array_equal(result["transposed"], matrix.T)
    np.testing.assert_array_equal(result["offset_slice"], [[5, 6], [9, 10]])
    np.testing.assert_array_equal(result["every_other"], base[1::2])
    np.testing.assert_array_equal(result["broadcast_row"], np.broadcast_to(base[:4], (3, 4)))
    assert result["scalar_view"].shape == () and result["scalar_view"] == 11
    for array in result.values():
        assert array.flags.c_contiguous and array.flags.owndata
    result["matrix"][0, 0] = 99  # tensors sharing a storage must not share memory
    assert result["transposed"][0, 0] == 0


def test_newer_storage_forms_and_other_rebuild_functions(tmp_path: Path) -> None:
    data = np.array([1.5, -2.0], "<f4").tobytes()
    rebuild_parameter = Global("torch._utils", "_rebuild_parameter")
    tree = ODict(
        (
            ("untyped", tensor("0", "uint8", 8, (8,), (1,), storage_type=Global("torch", "UntypedStorage"))),
            ("untyped2", tensor("0", "uint8", 8, (8,), (1,), storage_type=Global("torch.storage", "UntypedStorage"))),
            ("dtype_tag", tensor("1", "float32", 2, (2,), (1,), storage_type=Global("torch", "float32"))),
            (
                "legacy_rebuild",
                Call(
                    Global("torch._utils", "_rebuild_tensor"),
                    (PersId(("storage", Global("torch", "FloatStorage"), "1", "cpu", 2)), 0, (2,), (1,)),
                ),
            ),
            ("parameter", Call(rebuild_parameter, (tensor("1", "float32", 2, (2,), (1,)), True, ODict()))),
        )
    )
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": data, "1": data}))
    np.testing.assert_array_equal(result["untyped"], np.frombuffer(data, np.uint8))
    np.testing.assert_array_equal(result["untyped2"], result["untyped"])
    for name in ("dtype_tag", "legacy_rebuild", "parameter"):
        assert result[name].dtype == np.float32
        np.testing.assert_array_equal(result[name], [1.5, -2.0])


def test_protocol_4_stack_global_checkpoint_loads(tmp_path: Path) -> None:
    tree = ODict(
        (
            (
                "w",
                tensor(
                    "0",
                    "float32",
                    2,
                    (2,),
                    (1,),
                    storage_type=StackGlobal("torch", "FloatStorage", memoise=True),
                    rebuild=StackGlobal("torch._utils", "_rebuild_tensor_v2"),
                ),
            ),
        )
    )
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": np.array([3, 4], "<f4").tobytes()}, protocol=4))
    np.testing.assert_array_equal(result["w"], [3, 4])


def test_nested_archive_in_a_storage_is_raw_bytes(tmp_path: Path) -> None:
    inner = torch_zip(b"\x80\x02N.", {})
    inner += b"\x00" * (-len(inner) % 4)
    tree = ODict((("blob", tensor("0", "float32", len(inner) // 4, (len(inner) // 4,), (1,))),))
    result = load_checkpoint(save_tree(tmp_path, tree, {"0": inner}))
    assert result["blob"].tobytes() == inner


# --------------------------------------------------------------------------- hostile pickles


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """A file that a hostile pickle would create if any of its code ran."""
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "hostile pickle code ran"


def hostile_payloads(marker: Path) -> dict[str, tuple[Any, str]]:
    """name -> (pickle tree or raw opcodes, text the CheckpointError must contain)."""
    touch = f"touch {marker}"
    opener = f"open({str(marker)!r}, 'w')"
    return {
        "os.system": (Call(Global("os", "system"), (touch,)), "forbidden global 'os.system' in data.pkl"),
        "posix.system": (
            Call(Global("posix", "system"), (touch,)),
            "forbidden global 'posix.system' in data.pkl: only tensor-rebuilding globals are allowed",
        ),
        "nt.system": (Call(Global("nt", "system"), (touch,)), "forbidden global 'nt.system'"),
        "builtins.eval": (Call(Global("builtins", "eval"), (opener,)), "forbidden global 'builtins.eval'"),
        "builtins.exec": (Call(Global("builtins", "exec"), (opener,)), "forbidden global 'builtins.exec'"),
        "builtins.open": (Call(Global("builtins", "open"), (str(marker), "w")), "forbidden global 'builtins.open'"),
        "subprocess.Popen": (
            Call(Global("subprocess", "Popen"), (["touch", str(marker)],)),
            "forbidden global 'subprocess.Popen'",
        ),
        "__builtin__.getattr": (
            Call(Call(Global("__builtin__", "getattr"), (Global("collections", "OrderedDict"), "fromkeys")), ((1,),)),
            "forbidden global '__builtin__.getattr'",
        ),
        "global as a bare value": (Global("os", "system"), "forbidden global 'os.system'"),
        "hidden in a storage location": (
            tensor("0", "float32", 1, (1,), (1,), location=Call(Global("os", "system"), (touch,))),  # type: ignore[arg-type]
            "forbidden global 'os.system'",
        ),
        "stack_global os.system": (
            Call(StackGlobal("os", "system"), (touch,)),
            "forbidden global 'os.system'",
        ),
        "stack_global memoised builtins.eval": (
            Call(StackGlobal("builtins", "eval", memoise=True), (opener,)),
            "forbidden global 'builtins.eval'",
        ),
        "stack_global dotted attribute walk": (
            Call(StackGlobal("torch._utils", "_rebuild_tensor_v2.__globals__"), ()),
            "forbidden global 'torch._utils._rebuild_tensor_v2.__globals__'",
        ),
        "stack_global posix.system": (
            Call(StackGlobal("posix", "system"), (touch,)),
            "forbidden global 'posix.system'",
        ),
        "INST os.system": (Raw(b"(" + emit(touch) + b"ios\nsystem\n"), "forbidden global 'os.system'"),
        "INST allowed class": (Raw(b"(icollections\nOrderedDict\n"), "forbidden pickle opcode INST"),
        "OBJ os.system": (Raw(b"(" + emit(Global("os", "system")) + emit(touch) + b"o"), "forbidden global 'os.system'"),
        "OBJ allowed class": (Raw(b"(" + emit(Global("collections", "OrderedDict")) + b"o"), "forbidden pickle opcode OBJ"),
        "NEWOBJ": (Raw(emit(Global("collections", "OrderedDict")) + b")\x81"), "forbidden pickle opcode NEWOBJ"),
        "EXT1": (Raw(b"\x82\x01"), "forbidden pickle opcode EXT1"),
        "text PERSID": (Raw(b"P0\n"), "forbidden pickle opcode PERSID"),
    }


HOSTILE_NAMES = list(hostile_payloads(Path("x")))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("where", ["top level", "as a state_dict value"])
def test_hostile_pickles_are_refused(tmp_path: Path, marker: Path, name: str, where: str) -> None:
    payload, message = hostile_payloads(marker)[name]
    tree = payload if where == "top level" else ODict((("weight", payload),))
    protocol = 4 if isinstance(payload, Call) and isinstance(payload.func, StackGlobal) else 2
    path = save_tree(tmp_path, tree, {"0": b"\x00" * 4}, protocol=protocol)
    with pytest.raises(CheckpointError, match=re.escape(message)) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_marker_payload_is_live(tmp_path: Path) -> None:
    """Control: the file-creating payload really does create the file under plain pickle.

    This proves the refusal tests above are meaningful. Only the harmless ``open(path, 'w')``
    payload is run, inside the test's temporary directory.
    """
    marker = tmp_path / "PWNED"
    payload, _ = hostile_payloads(marker)["builtins.open"]
    path = save_tree(tmp_path, ODict((("weight", payload),)))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
    handle = pickle.loads(pickle_bytes(payload))
    handle.close()
    assert marker.exists()


def pickled_module(cls: Any) -> Raw:
    """What torch.save(model) writes (protocol 2): the class, NEWOBJ, then BUILD with the module's
    __dict__, whose _parameters hold the tensors. (Compare fixtures/fastfeedforward/whole-module.pt,
    written by torch itself.)"""
    weight = tensor("0", "float32", 4, (2, 2), (2, 1))
    state = {"training": True, "_parameters": ODict((("node_weights", weight),)), "_buffers": ODict()}
    return Raw(emit(cls) + b")\x81" + emit(state) + b"b")


@pytest.mark.parametrize(
    ("module", "name", "where"),
    [
        ("__main__", "Net", "in the script that defines Net (it ran as __main__ when saved)"),
        ("fastfeedforward.fff", "FFF", "with fastfeedforward.fff importable"),
        ("torch.nn.modules.container", "Sequential", "with torch.nn.modules.container importable"),
        ("model", "FFFNet", "with model importable"),
    ],
)
@pytest.mark.parametrize("protocol", [2, 4])
def test_a_pickled_model_is_explained(tmp_path: Path, module: str, name: str, where: str, protocol: int) -> None:
    """torch.save(model) instead of torch.save(model.state_dict()): say so, and what to run instead."""
    cls = Global(module, name) if protocol == 2 else StackGlobal(module, name)
    path = save_tree(tmp_path, pickled_module(cls), {"0": b"\x00" * 16}, protocol=protocol)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: forbidden global '{module}.{name}' in data.pkl: this looks like a whole "
                              "pickled model (torch.save(model)), not a state_dict.")
    assert "torch.save(model.state_dict(), 'model_state_dict.pt')" in message
    assert f"{where}: torch.save(torch.load('model.pt', weights_only=False).state_dict(), " in message


@pytest.mark.parametrize(
    ("module", "name"),
    [("subprocess", "Popen"), ("pathlib", "PosixPath"), ("os", "system"), ("numpy", "ndarray"),
     ("torch", "Tensor"), ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("fastfeedforward.fff", "compute_entropy_safe"),
     ("builtins", "getattr"), ("x.y", "A-B")],
)
def test_other_forbidden_globals_get_no_state_dict_advice(tmp_path: Path, module: str, name: str) -> None:
    path = save_tree(tmp_path, pickled_module(Global(module, name)), {"0": b"\x00" * 16})
    with pytest.raises(CheckpointError, match=re.escape(f"forbidden global '{module}.{name}' in data.pkl: only "
                                                        "tensor-rebuilding globals are allowed")) as info:
        load_checkpoint(path)
    assert "state_dict()" not in str(info.value)


STORAGE_0 = PersId(("storage", Global("torch", "FloatStorage"), "0", "cpu", 4))


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (Call(REBUILD_V2, ("not a storage", 0, (1,), (1,), False, ODict())), "storage must come from a persistent id"),
        (Call(REBUILD_V2, (STORAGE_0, 0, ("a",), (1,), False, ODict())), "tensor size entry must be an integer"),
        (Call(REBUILD_V2, (STORAGE_0, 0, [2], (1,), False, ODict())), "tensor size must be a tuple"),
        (Call(REBUILD_V2, (STORAGE_0, -1, (1,), (1,), False, ODict())), "storage offset must be an integer in \\[0, 2\\*\\*63\\)"),
        (Call(REBUILD_V2, (STORAGE_0, 2**63, (1,), (1,), False, ODict())), "storage offset must be an integer in"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (10**5000,), False, ODict())), "got int a huge integer"),
        (Call(REBUILD_V2, (STORAGE_0, True, (1,), (1,), False, ODict())), "storage offset must be an integer"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (2,), (-1,), False, ODict())), "tensor stride entry must be an integer in"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (2, 2), (1,), False, ODict())), "different lengths"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (1,), 1, ODict())), "requires_grad must be a bool"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (1,), False, ODict((("h", 1),)))), "backward_hooks must be an empty"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (1,), False, None)), "backward_hooks must be an empty"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (1,), False, ODict(), {"x": 1})), "metadata is not supported"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,), (1,), False, ODict(), None, 8)), "TypeError"),
        (Call(REBUILD_V2, (STORAGE_0,)), "TypeError"),
        (Call(REBUILD_V2, (STORAGE_0, 0, (1,) * 65, (0,) * 65, False, ODict())), "at most 64 integers"),
        (Call(Global("collections", "OrderedDict"), (5,)), "TypeError"),
        (Call(Global("torch", "FloatStorage"), (10,)), "not callable"),
        (Call(Global("torch", "float32"), ()), "not callable"),
        (Call(Global("torch._utils", "_rebuild_parameter"), ("x", False, ODict())), "parameter data must be a tensor"),
        (Raw(emit(STORAGE_0) + emit({"elements": None}) + b"b"), "applies BUILD to a Storage"),
        (Raw(emit(STORAGE_0) + emit((None, {"key": "1"})) + b"b"), "applies BUILD to a Storage"),
        (PersId(("module", "x")), "unsupported persistent id"),
        (PersId(("storage", "FloatStorage", "0", "cpu", 4)), "not a storage type or dtype"),
        (PersId(("storage", Global("torch", "FloatStorage"), "../0", "cpu", 4)), "bad storage key"),
        (PersId(("storage", Global("torch", "FloatStorage"), "0", 0, 4)), "location must be a string"),
        (PersId(("storage", Global("torch", "FloatStorage"), "0", "cpu", -4)), "element count must be an integer in"),
        (PersId(("storage", Global("torch", "FloatStorage"), "9", "cpu", 4)), "has no member 'archive/data/9'"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_allowed_globals_with_wrong_arguments_are_refused(tmp_path: Path, tree: Any, message: str) -> None:
    path = save_tree(tmp_path, ODict((("t", tree),)), {"0": b"\x00" * 16})
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ([1, 2], "holds a list, not a state_dict"),
        (None, "holds a NoneType"),
        (ODict(((1, tensor("0", "float32", 4, (4,), (1,))),)), "key 1 is not a string"),
        (ODict((("n", 5),)), "entry 'n' is a int, not a tensor"),
        (ODict((("n", ODict()),)), "entry 'n' is a OrderedDict, not a tensor"),
        # BUILD on a tensor: the stand-in has no __dict__ to write into.
        (ODict((("t", Raw(emit(tensor("0", "float32", 4, (4,), (1,))) + emit({"array": 1}) + b"b")),)), "BUILD to a Tensor"),
        (Raw(b""), "cannot unpickle data.pkl: UnpicklingError: unpickling stack underflow"),
        (Raw(b"X\xff\xff\xff\x00"), "not a valid pickle"),
        (Raw(b"N" + b"r" + struct.pack("<I", 2**31 - 1)), "memo index 2147483647 at byte 3 in data.pkl exceeds"),
        (Raw(b"Np99999999\n"), "memo index 99999999"),
        (Raw(b"\xff"), "not a valid pickle"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_structures_that_are_not_state_dicts(tmp_path: Path, tree: Any, message: str) -> None:
    path = save_tree(tmp_path, tree, {"0": b"\x00" * 16})
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_pickle(tmp_path: Path) -> None:
    tree, storages = state_dict({"w": np.ones(3, np.float32)})
    data = pickle_bytes(tree)
    for cut in (3, len(data) // 2, len(data) - 1):
        with pytest.raises(CheckpointError, match="data.pkl"):
            load_checkpoint(write(tmp_path, torch_zip(data[:cut], storages)))


# --------------------------------------------------------------------------- storage bounds


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (tensor("0", "int32", 4, (4,), (1,)), "storage '0' is used as both float32 and int32"),
        (tensor("0", "float32", 2, (2,), (1,)), "storage '0' is declared with 4 and 2 elements"),
    ],
    ids=["dtype", "numel"],
)
def test_shared_storage_must_be_declared_consistently(tmp_path: Path, second: Call, message: str) -> None:
    tree = ODict((("a", tensor("0", "float32", 4, (4,), (1,))), ("b", second)))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(save_tree(tmp_path, tree, {"0": b"\x00" * 16}))


@pytest.mark.parametrize(
    ("numel", "stored_bytes", "size", "stride", "offset", "message"),
    [
        (4, 8, (4,), (1,), 0, "declares 4 float32 elements \\(16 bytes\\) but 'archive/data/0' holds 8"),
        (4, 16, (5,), (1,), 0, "holds 4 elements but a tensor of size \\(5,\\).*reaches element 4"),
        (4, 16, (2, 2), (1, 2), 1, "reaches element 4"),
        (4, 16, (), (), 4, "reaches element 4"),
        (4, 16, (2, 3), (0, 1), 0, "more elements than its storage"),
        (4, 16, (10**6, 10**6), (0, 0), 0, "more elements than its storage"),
        (4, 16, (2**62, 2), (2**62, 1), 0, "reaches element"),
    ],
)
def test_storage_too_short_for_the_tensor(
    tmp_path: Path, numel: int, stored_bytes: int, size: tuple[int, ...], stride: tuple[int, ...], offset: int, message: str
) -> None:
    tree = ODict((("t", tensor("0", "float32", numel, size, stride, offset=offset)),))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(save_tree(tmp_path, tree, {"0": b"\x00" * stored_bytes}))


# --------------------------------------------------------------------------- zip tricks


@pytest.mark.parametrize(
    "evil",
    [
        "../archive/data.pkl",
        "archive/../../etc/passwd",
        "/archive/evil",
        "archive\\..\\evil",
        "C:/evil",
        "archive/./evil",
        "archive//evil",
        "archive/dir/",
    ],
)
def test_unsafe_member_names(tmp_path: Path, evil: str) -> None:
    members = minimal_members() + [Member(evil, b"x")]
    with pytest.raises(CheckpointError, match="unsafe member name"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_duplicate_members(tmp_path: Path) -> None:
    members = minimal_members()
    members.append(Member("archive/data/0", np.array([666, 666], "<f4").tobytes()))
    with pytest.raises(CheckpointError, match="duplicate zip member 'archive/data/0'"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_absurd_declared_size(tmp_path: Path) -> None:
    members = minimal_members()
    members[2].declared_size = 5 << 30  # zip64: one member claims 5 GiB
    with pytest.raises(CheckpointError, match="declares 5368709120 bytes; at most 4294967296"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_absurd_declared_total(tmp_path: Path) -> None:
    members = minimal_members() + [Member(f"archive/pad{i}", b"p", declared_size=3 << 30) for i in range(3)]
    with pytest.raises(CheckpointError, match="in total; at most 8589934592"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_deflate_bomb_ratio(tmp_path: Path) -> None:
    zeros = bytes(8 << 20)
    members = minimal_members() + [Member("archive/data/1", zeros, method=zipfile.ZIP_DEFLATED)]
    compressed = len(zlib.compress(zeros, 9))
    assert len(zeros) / compressed > 1000, "the test payload must really be a >1000x bomb"
    with pytest.raises(CheckpointError, match="compression ratio over 1000"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_deflate_member_lying_about_its_size(tmp_path: Path) -> None:
    members = minimal_members()
    members.append(Member("archive/data/1", b"\x00" * 100, method=zipfile.ZIP_DEFLATED, declared_size=2 << 30))
    with pytest.raises(CheckpointError, match="compression ratio over 1000"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_deflated_members_within_limits_are_read(tmp_path: Path) -> None:
    members = minimal_members()
    members[2].method = zipfile.ZIP_DEFLATED
    np.testing.assert_array_equal(load_checkpoint(write(tmp_path, raw_zip(members)))["x"], [1, 2])


def test_stored_member_with_inconsistent_sizes(tmp_path: Path) -> None:
    members = minimal_members()
    raw = bytearray(raw_zip(members))
    central = raw.index(b"PK\x01\x02" + struct.pack("<HHH", 45, 45, 0))
    struct.pack_into("<I", raw, central + 20, 1)  # compressed size of data.pkl: 1
    with pytest.raises(CheckpointError, match="compressed size 1 != size"):
        load_checkpoint(write(tmp_path, bytes(raw)))


def test_unsupported_compression_method(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as zf:
        for m in minimal_members():
            zf.writestr(m.name, m.data)
    with pytest.raises(CheckpointError, match="unsupported compression method 12"):
        load_checkpoint(write(tmp_path, buffer.getvalue()))


def test_too_many_entries(tmp_path: Path) -> None:
    members = minimal_members() + [Member(f"archive/extra/{i}") for i in range(MAX_ZIP_ENTRIES)]
    with pytest.raises(CheckpointError, match="10004 entries; at most 10000"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_overlapping_members(tmp_path: Path) -> None:
    members = minimal_members()
    members.append(Member("archive/data/1", members[2].data, header_offset_of=2))
    with pytest.raises(CheckpointError, match="overlaps"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


def test_corrupted_member_fails_crc(tmp_path: Path) -> None:
    members = minimal_members()
    members[2].crc = zlib.crc32(members[2].data) ^ 1
    with pytest.raises(CheckpointError, match="cannot read zip member 'archive/data/0'.*CRC"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_zip(tmp_path: Path, keep: float) -> None:
    tree, storages = state_dict({"w": np.ones(64, np.float32)})
    data = torch_zip(pickle_bytes(tree), storages)
    with pytest.raises(CheckpointError, match="not a readable zip archive"):
        load_checkpoint(write(tmp_path, data[: int(len(data) * keep)]))


def test_big_endian_byteorder_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path, {"w": np.ones(2, np.float32)}, byteorder=b"big")
    with pytest.raises(CheckpointError, match="byteorder is not 'little'"):
        load_checkpoint(path)


def test_missing_byteorder_means_little(tmp_path: Path) -> None:
    result = load_checkpoint(save(tmp_path, {"w": np.ones(2, np.float32)}, byteorder=None))
    np.testing.assert_array_equal(result["w"], [1, 1])


@pytest.mark.parametrize(
    "members",
    [
        [Member("archive/byteorder", b"little")],
        minimal_members("a") + minimal_members("b"),
        [Member("data.pkl", pickle_bytes(ODict()))],
    ],
    ids=["no data.pkl", "two roots", "no root folder"],
)
def test_not_a_torch_archive(tmp_path: Path, members: list[Member]) -> None:
    with pytest.raises(CheckpointError, match="not a torch.save archive"):
        load_checkpoint(write(tmp_path, raw_zip(members)))


# --------------------------------------------------------------------------- other formats


def test_legacy_torch_pickle_is_refused_without_unpickling(tmp_path: Path, marker: Path) -> None:
    legacy_magic = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
    path = write(tmp_path, legacy_magic + pickle_bytes(Call(Global("os", "system"), (f"touch {marker}",))))
    with pytest.raises(CheckpointError, match=r"legacy \(pre-1.6, non-zip\) torch.save format.*torch >= 1.6") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("data", [b"", b"hello world, not a checkpoint", b"PK\x05\x06" + bytes(18)])
def test_unrecognised_format(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(CheckpointError, match="unrecognised checkpoint format"):
        load_checkpoint(write(tmp_path, data))


# --------------------------------------------------------------------------- safetensors


SAFETENSORS_CODES = {
    "float32": "F32",
    "float64": "F64",
    "float16": "F16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "bool": "BOOL",
}


def safetensors_bytes(header: dict[str, Any], data: bytes, header_len: int | None = None, pad: int = 0) -> bytes:
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text) if header_len is None else header_len) + text + data


def safetensors_from(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    header: dict[str, Any] = {"__metadata__": metadata} if metadata is not None else {}
    data = bytearray()
    for name, array in arrays.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": SAFETENSORS_CODES[array.dtype.name],
            "shape": list(array.shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    return safetensors_bytes(header, bytes(data), pad=5)


def test_safetensors_round_trip(tmp_path: Path) -> None:
    arrays = sample_arrays()
    path = write(tmp_path, safetensors_from(arrays, {"format": "pt"}), name="model.pt")
    result = load_checkpoint(path)
    assert list(result) == list(arrays)
    for name, expected in arrays.items():
        assert result[name].dtype == expected.dtype and result[name].shape == expected.shape, name
        np.testing.assert_array_equal(result[name], expected, err_msg=name)
        assert result[name].flags.c_contiguous and result[name].flags.writeable


def test_safetensors_bfloat16(tmp_path: Path) -> None:
    values = np.array([[1.0, -0.5], [256.0, 0.0]], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = {"b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}
    result = load_checkpoint(write(tmp_path, safetensors_bytes(header, bits)))
    assert result["b"].dtype == np.float32
    np.testing.assert_array_equal(result["b"], values)


def entry(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


@pytest.mark.parametrize(
    ("header", "data_len", "message"),
    [
        ({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, 12, "entries 'a' and 'b' overlap"),
        ({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 8, 16)}, 12, "outside the 12-byte data"),
        ({"a": entry("F32", [2], 0, 8)}, 12, "bytes \\[8, 12\\) belong to no tensor"),
        ({"a": entry("F32", [1], 4, 8)}, 8, "bytes \\[0, 4\\) belong to no tensor"),
        ({"a": entry("F32", [3], 0, 8)}, 8, "needs 12 bytes but spans 8"),
        ({"a": entry("F32", [2], 8, 0)}, 8, "outside"),
        ({"a": entry("F32", [2], -8, 0)}, 8, "begin offset .* must be an integer in \\[0, 2\\*\\*63\\)"),
        ({"a": entry("F32", [-2], 0, 8)}, 8, "shape .* must be an integer in"),
        ({"a": entry("F32", [True, 2], 0, 8)}, 8, "must be an integer"),
        ({"a": entry("F32", [2.0], 0, 8)}, 8, "must be an integer"),
        ({"a": entry("C64", [1], 0, 8)}, 8, "unsupported dtype 'C64'"),
        ({"a": entry("F32", [2], 0, 8) | {"extra": 1}}, 8, "exactly dtype, shape and data_offsets"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, 8, "two data_offsets"),
        ({"a": entry("F32", [2], 0, 8), "__metadata__": {"k": 1}}, 8, "__metadata__ must map strings"),
    ],
)
def test_safetensors_bad_headers(tmp_path: Path, header: dict[str, Any], data_len: int, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(write(tmp_path, safetensors_bytes(header, b"\x00" * data_len)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}', "not valid JSON"),
        (b'{"a": 1, "a": 2}', "repeats key 'a'"),
        (b'{"a": NaN}', "non-JSON number NaN"),
        (b'{"\xff": 1}', "not valid JSON"),
        (b'{"deep": ' + b"[" * 100000 + b"]" * 100000 + b"}", "not valid JSON"),
    ],
)
def test_safetensors_bad_json(tmp_path: Path, text: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(write(tmp_path, struct.pack("<Q", len(text)) + text + b"\x00" * 4))


def test_safetensors_header_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="unrecognised"):  # does not even look like safetensors
        load_checkpoint(write(tmp_path, struct.pack("<Q", 2) + b"[]"))


@pytest.mark.parametrize(
    ("header_len", "message"),
    [
        (10**6, "header length 1000000 is impossible"),
        (2**63, "is impossible"),
        ((100 << 20) + 1, "limit 104857600"),
    ],
)
def test_safetensors_header_length_lies(tmp_path: Path, header_len: int, message: str) -> None:
    header = {"a": entry("F32", [1], 0, 4)}
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(write(tmp_path, safetensors_bytes(header, b"\x00" * 4, header_len=header_len)))


def test_safetensors_header_length_too_short_cuts_the_json(tmp_path: Path) -> None:
    header = {"a": entry("F32", [1], 0, 4)}
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(write(tmp_path, safetensors_bytes(header, b"\x00" * 4, header_len=20)))


def test_safetensors_empty_and_zero_sized(tmp_path: Path) -> None:
    assert load_checkpoint(write(tmp_path, safetensors_bytes({}, b""), "empty")) == {}
    header = {"z": entry("F32", [0, 3], 0, 0), "a": entry("I8", [2], 0, 2)}
    result = load_checkpoint(write(tmp_path, safetensors_bytes(header, b"\x01\xff"), "zero"))
    assert result["z"].shape == (0, 3)
    np.testing.assert_array_equal(result["a"], [1, -1])


# --------------------------------------------------------------------------- shared checkpoints


PAPER_CHECKPOINTS = {
    # file: (depth, leaf width, master leaf, correct of 10000 published)
    "lb_mnist_l8_d1.pt": (1, 8, False, 9346),
    "ml_mnist_l2_d3.pt": (3, 2, True, 9414),
    "ml_mnist_l4_d2.pt": (2, 4, True, 9473),
}


def expected_layout(depth: int, width: int, master: bool) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The state_dict table of shared/README.md, in stored order."""
    leaves = 2**depth
    nodes = leaves - 1
    layout = {
        "depth": ("int64", ()),
        "node_weights": ("float32", (nodes, 784)),
        "node_biases": ("float32", (nodes, 1)),
        "w1s": ("float32", (leaves, 784, width)),
        "b1s": ("float32", (leaves, width)),
        "w2s": ("float32", (leaves, width, 10)),
        "b2s": ("float32", (leaves, 10)),
    }
    if master:
        layout |= {
            "magic_w1": ("float32", (1, 784, 8)),
            "magic_b1": ("float32", (1, 8)),
            "magic_w2": ("float32", (1, 8, 10)),
            "magic_b2": ("float32", (1, 10)),
            "k": ("float32", ()),
        }
    return layout | {
        "node_usage": ("float32", (nodes,)),
        "leaf_usage": ("float32", (leaves,)),
        "f": ("float32", (leaves,)),
    }


@pytest.mark.parametrize("name", list(PAPER_CHECKPOINTS))
def test_shared_checkpoint_layout(require_shared: Callable[[str], Path], name: str) -> None:
    path = require_shared(f"data/paper-checkpoints/{name}")
    depth, width, master, _ = PAPER_CHECKPOINTS[name]
    params = load_checkpoint(path)
    layout = expected_layout(depth, width, master)
    assert list(params) == list(layout)
    for key, (dtype, shape) in layout.items():
        assert params[key].dtype == np.dtype(dtype), key
        assert params[key].shape == shape, key
        assert np.all(np.isfinite(params[key])), key
    assert int(params["depth"]) == depth


def fff_forward(params: dict[str, np.ndarray], x: np.ndarray, dtype: type[np.floating[Any]]) -> dict[str, np.ndarray]:
    """The trainer's eval_forward (shared/README.md, "Inference semantics") in numpy ``dtype``.

    Returns the outputs, the chosen leaf, and for the near-tie rule of spec §14.3 the smallest
    relative ``|score| / (1 + sum_i |w_i x_i| + |b|)`` met on each record's path.
    """
    depth = int(params["depth"])
    nodes = 2**depth - 1
    weights = params["node_weights"].astype(dtype)
    biases = params["node_biases"][:, 0].astype(dtype)
    scores = x @ weights.T + biases
    rows = np.arange(x.shape[0])
    node = np.zeros(x.shape[0], dtype=np.int64)
    closeness = np.full(x.shape[0], np.inf)
    for _ in range(depth):
        score = scores[rows, node]
        scale = 1 + np.abs(weights[node] * x).sum(axis=1) + np.abs(biases[node])
        closeness = np.minimum(closeness, np.abs(score) / scale)
        node = np.where(score >= 0, 2 * node + 2, 2 * node + 1)
    leaf = node - nodes

    def mlp(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray, rows_x: np.ndarray) -> np.ndarray:
        hidden = np.maximum(rows_x @ w1.astype(dtype) + b1.astype(dtype), dtype(0))
        return hidden @ w2.astype(dtype) + b2.astype(dtype)

    out = np.empty((x.shape[0], 10), dtype=dtype)
    for j in range(nodes + 1):
        chosen = leaf == j
        out[chosen] = mlp(params["w1s"][j], params["b1s"][j], params["w2s"][j], params["b2s"][j], x[chosen])
    if "k" in params:
        master = mlp(params["magic_w1"][0], params["magic_b1"][0], params["magic_w2"][0], params["magic_b2"][0], x)
        s = dtype(1) / (dtype(1) + np.exp(-params["k"].astype(dtype)))
        out = s * out + (dtype(1) - s) * master
    assert out.dtype == dtype
    return {"out": out, "leaf": leaf, "closeness": closeness}


def test_shared_checkpoints_reproduce_published_accuracy(require_shared: Callable[[str], Path]) -> None:
    """Float64 must hit the published figures exactly; float32 disagreements are reported.

    Run with ``-s`` to see the float32-vs-float64 table.
    """
    checkpoints = require_shared("data/paper-checkpoints")
    mnist = require_shared("data/mnist")
    pixels = read_idx(mnist / "t10k-images-idx3-ubyte.gz").reshape(10000, 784)
    labels = read_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    x64 = pixels / 255 * 2 - 1
    x32 = (pixels.astype(np.float32) / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    assert x32.dtype == np.float32
    for name, (_, _, _, published) in PAPER_CHECKPOINTS.items():
        params = load_checkpoint(checkpoints / name)
        ref = fff_forward(params, x64, np.float64)
        f32 = fff_forward(params, x32, np.float32)
        pred64, pred32 = ref["out"].argmax(axis=1), f32["out"].argmax(axis=1)
        correct64 = int((pred64 == labels).sum())
        correct32 = int((pred32 == labels).sum())
        top2 = np.sort(ref["out"], axis=1)[:, -2:]
        print(
            f"\n{name}: float64 {correct64}/10000 (published {published}), float32 {correct32}/10000; "
            f"float32 vs float64: {int((f32['leaf'] != ref['leaf']).sum())} leaf and "
            f"{int((pred32 != pred64).sum())} argmax disagreements; "
            f"near-ties (spec 14.3, rel. margin <= 1e-5): {int((ref['closeness'] <= 1e-5).sum())}; "
            f"smallest rel. node margin {ref['closeness'].min():.3g}; "
            f"smallest top-2 gap {float((top2[:, 1] - top2[:, 0]).min()):.3g}; "
            f"max |out32 - out64| {float(np.abs(f32['out'] - ref['out']).max()):.3g}"
        )
        assert correct64 == published, f"{name}: {correct64} correct in float64, published {published}"


ALLOWED_GLOBALS = [
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "UntypedStorage"),
    ("torch.storage", "UntypedStorage"),
    *(("torch", storage) for storage in STORAGE_CLASSES.values()),
    *(("torch", dtype) for dtype in STORAGE_CLASSES),
]


@pytest.mark.parametrize("state", ["dict state", "slot state"])
@pytest.mark.parametrize(("module", "name"), ALLOWED_GLOBALS)
def test_build_cannot_alter_allowed_globals(tmp_path: Path, module: str, name: str, state: str) -> None:
    """BUILD on a stand-in must fail, or a hostile file could poison every later load."""
    changes = {"dtype": Global("torch", "int8"), "name": "x", "__defaults__": (1,), "raw": None}
    build_state = changes if state == "dict state" else (None, changes)
    tree = ODict((("t", Raw(emit(Global(module, name)) + emit(build_state) + b"b")),))
    with pytest.raises(CheckpointError, match="applies BUILD to a|cannot unpickle data.pkl: TypeError"):
        load_checkpoint(save_tree(tmp_path, tree))
    arrays = sample_arrays()
    result = load_checkpoint(save(tmp_path, arrays))
    for key, expected in arrays.items():
        assert result[key].dtype == expected.dtype
        np.testing.assert_array_equal(result[key], expected)


def test_loading_never_imports_torch(tmp_path: Path) -> None:
    """Loading runs in a fresh interpreter: other test modules (the trainer's) may import torch
    into this one, so sys.modules here proves nothing."""
    import subprocess
    ckpt = save(tmp_path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)})
    tools = Path(__file__).resolve().parents[1]
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from pyfff.checkpoint import load_checkpoint;"
        "import pyfff.convert, pyfff.format, pyfff.reference;"
        "t = load_checkpoint(sys.argv[2]); assert t['w'].shape == (2, 3);"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tools), str(ckpt)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
