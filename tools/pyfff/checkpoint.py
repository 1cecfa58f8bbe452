"""Read PyTorch ``torch.save`` checkpoints and safetensors files without torch.

Checkpoints come from strangers, and a torch pickle can run arbitrary code when loaded the
usual way. This module never imports torch and never lets a pickle reach a callable other than
a handful of tensor-rebuilding stand-ins defined here, which build numpy arrays. The zip
container is checked before anything is read from it: names, sizes, compression ratios and
entry overlaps are bounded so a hostile archive cannot write outside memory, exhaust it, or
smuggle a second archive in.

Public API: :func:`load_checkpoint` and :class:`CheckpointError`.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import pickletools
import re
import struct
import sys
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Callable, NoReturn, TypeVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["CheckpointError", "load_checkpoint"]

MAX_ZIP_ENTRIES = 10_000
MAX_ENTRY_BYTES = 4 << 30  # declared uncompressed size of one zip entry
MAX_TOTAL_BYTES = 8 << 30  # declared uncompressed size of all entries, and of all tensors built
MAX_COMPRESSION_RATIO = 1000
MAX_PICKLE_BYTES = 64 << 20  # a state_dict pickle is kilobytes; tensors live outside it
MAX_SAFETENSORS_HEADER = 100 << 20
MAX_TENSOR_DIMS = 64

_ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER_BYTES = 30
_STORAGE_KEY = re.compile(r"[A-Za-z0-9_]+")


class CheckpointError(Exception):
    """The checkpoint is malformed, hostile or unsupported; the message names the file and why."""


class _PickledModelError(CheckpointError):
    """A forbidden global that names a model's class; ``load_checkpoint`` fills in the file name."""

    def __init__(self, before: str, after: str) -> None:
        super().__init__(before + "'model.pt'" + after)
        self.before, self.after = before, after


def _fail(message: str) -> NoReturn:
    raise CheckpointError(message)


_T = TypeVar("_T")


def _refuse_setstate(self: object, state: object) -> NoReturn:
    _fail(f"data.pkl applies BUILD to a {type(self).__name__.lstrip('_')}; tensor stand-ins are immutable")


def _sealed(cls: type[_T]) -> type[_T]:
    """Make a frozen, slotted dataclass that the pickle BUILD opcode cannot modify.

    Every object a pickle can reach is built this way, so a hostile file cannot alter the shared
    stand-ins for later loads. Slots leave no instance ``__dict__`` to write into and frozen
    blocks setattr; the ``__setstate__`` that dataclasses add to frozen slotted classes would
    reopen the door, so it is replaced by one that refuses.
    """
    sealed = dataclass(frozen=True, slots=True, eq=False)(cls)
    sealed.__setstate__ = _refuse_setstate  # type: ignore[attr-defined]
    return sealed


@_sealed
class _DType:
    """One tensor element type: its torch and safetensors names and its on-disk layout."""

    name: str  # torch dtype name, e.g. "float32" (global ``torch.float32``)
    storage: str  # legacy typed-storage class, e.g. "FloatStorage"
    safetensors: str  # safetensors dtype code, e.g. "F32"
    raw: np.dtype  # little-endian element layout on disk

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Turn a private contiguous copy of on-disk elements into the native array we return.

        bfloat16 has no numpy type; its bits are the top half of a float32, so widening is exact.
        """
        # Ufuncs turn 0-d arrays into numpy scalars: fill fresh arrays of the right shape instead.
        if self.name == "bfloat16":
            out = np.empty(raw.shape, np.float32)
            out.view(np.uint32)[...] = raw.astype(np.uint32) << 16
            return out
        if self.name == "bool":
            out = np.empty(raw.shape, np.bool_)
            out[...] = raw != 0  # normalise: a hostile byte like 0x07 must not make an odd bool
            return out
        return raw.astype(raw.dtype.newbyteorder("="), copy=False)


_DTYPES = (
    _DType("float32", "FloatStorage", "F32", np.dtype("<f4")),
    _DType("float64", "DoubleStorage", "F64", np.dtype("<f8")),
    _DType("float16", "HalfStorage", "F16", np.dtype("<f2")),
    _DType("bfloat16", "BFloat16Storage", "BF16", np.dtype("<u2")),
    _DType("int64", "LongStorage", "I64", np.dtype("<i8")),
    _DType("int32", "IntStorage", "I32", np.dtype("<i4")),
    _DType("int16", "ShortStorage", "I16", np.dtype("<i2")),
    _DType("int8", "CharStorage", "I8", np.dtype("i1")),
    _DType("uint8", "ByteStorage", "U8", np.dtype("u1")),
    _DType("bool", "BoolStorage", "BOOL", np.dtype("u1")),
)
_UINT8 = next(d for d in _DTYPES if d.name == "uint8")
_SAFETENSORS_DTYPES = {d.safetensors: d for d in _DTYPES}


def _materialise(view: np.ndarray, dtype: _DType) -> np.ndarray:
    """Copy a (possibly strided, read-only) view of file bytes into an independent C array."""
    return dtype.decode(np.array(view, order="C", copy=True))


# --------------------------------------------------------------------------- torch pickle


@_sealed
class _StorageClass:
    """Stand-in for ``torch.FloatStorage`` & co.: only ever a tag in a persistent id, never callable."""

    name: str
    dtype: _DType


class _Budget:
    """Bytes of tensor data one load may still build; views sharing a storage each cost a copy."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, nbytes: int) -> None:
        if nbytes > self.left:
            _fail(f"tensors would exceed {MAX_TOTAL_BYTES} bytes in total")
        self.left -= nbytes


@_sealed
class _Storage:
    """A storage loaded from ``<root>/data/<key>``: raw little-endian elements, read-only."""

    key: str
    dtype: _DType
    elements: np.ndarray  # 1-D, read-only view over the entry's bytes
    budget: _Budget  # shared by every storage of one archive


@_sealed
class _Tensor:
    """What the rebuild stand-ins return; unwrapped into a plain array once the pickle is done."""

    array: np.ndarray


@_sealed
class _Rebuilder:
    """Stand-in for a ``torch._utils`` rebuild function: calls our numpy version instead."""

    name: str
    build: Callable[..., object]

    def __call__(self, *args: object) -> object:
        return self.build(*args)


def _show(value: object, width: int = 80, depth: int = 2) -> str:
    """A ``repr`` of an untrusted unpickled value, cut to ``width``, computed in bounded time.

    Never the builtin repr of a container: a pickle of a few hundred bytes can build a list
    whose repr is exponentially long (each level holding the one below twice, via the memo).
    Containers show at most 8 items, ``depth`` levels deep; other objects show their type.
    """
    kind = type(value)
    if value is None or kind in (bool, float):
        text = repr(value)
    elif kind is int:
        text = repr(value) if value.bit_length() < 200 else "a huge integer"  # type: ignore[attr-defined]
    elif kind in (str, bytes, bytearray):
        text = repr(value[: width + 1])  # type: ignore[index]
    elif kind in (tuple, list, dict, OrderedDict):
        size = len(value)  # type: ignore[arg-type]
        if isinstance(value, dict):
            opening, closing = ("{", "}") if kind is dict else ("OrderedDict({", "})")
        else:
            opening, closing = ("(", ")") if kind is tuple else ("[", "]")
        if depth <= 0:
            inner = "..." if size else ""
        else:
            if isinstance(value, dict):
                pairs = islice(value.items(), 8)
                items = [f"{_show(k, width, depth - 1)}: {_show(v, width, depth - 1)}" for k, v in pairs]
            else:
                items = [_show(v, width, depth - 1) for v in islice(value, 8)]  # type: ignore[call-overload]
            inner = ", ".join(items) + (", ..." if size > 8 else "," if kind is tuple and size == 1 else "")
        text = opening + inner + closing
    else:
        text = f"<{kind.__name__.lstrip('_')}>"
    return text[:width]


def _check_int(value: object, what: str, minimum: int = 0) -> int:
    """Accept an int in ``[minimum, 2**63)``: torch's int64 range, and no bignum arithmetic later."""
    if type(value) is not int or not minimum <= value < 2**63:
        _fail(f"{what} must be an integer in [{minimum}, 2**63), got {type(value).__name__} {_show(value, 60)}")
    return value


def _check_int_tuple(value: object, what: str) -> tuple[int, ...]:
    if type(value) is not tuple or len(value) > MAX_TENSOR_DIMS:
        _fail(f"{what} must be a tuple of at most {MAX_TENSOR_DIMS} integers, got {_show(value)}")
    return tuple(_check_int(v, f"{what} entry") for v in value)


def _check_numpy_shape(shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """numpy refuses shapes whose non-zero extents multiply past 2**63 bytes, even if one is 0."""
    extent = itemsize
    for n in shape:
        extent *= max(n, 1)
    if extent >= 2**63:
        _fail(f"{what} {shape} is too large for numpy, even with no elements")


def _rebuild_tensor(storage: object, storage_offset: object, size: object, stride: object) -> _Tensor:
    """Safe replacement for ``torch._utils._rebuild_tensor``: a numpy copy of a storage view.

    The bound check runs on Python integers before numpy sees the strides, so no view can reach
    past the storage; the result is a contiguous copy that owns its memory.
    """
    if not isinstance(storage, _Storage):
        _fail(f"tensor storage must come from a persistent id, got {type(storage).__name__}")
    offset = _check_int(storage_offset, "storage offset")
    shape = _check_int_tuple(size, "tensor size")
    strides = _check_int_tuple(stride, "tensor stride")
    if len(shape) != len(strides):
        _fail(f"tensor size {shape} and stride {strides} have different lengths")
    available = storage.elements.shape[0]
    numel = 1
    for n in shape:
        numel *= n
    if numel == 0:
        _check_numpy_shape(shape, storage.elements.itemsize, "tensor size")
        return _Tensor(_materialise(np.empty(shape, storage.dtype.raw), storage.dtype))
    last = offset + sum((n - 1) * s for n, s in zip(shape, strides))
    if last >= available:
        _fail(
            f"storage {storage.key!r} holds {available} elements but a tensor of size {shape}, "
            f"stride {strides}, offset {offset} reaches element {last}"
        )
    if numel > available:  # only broadcast (stride-0) views get here; refuse the amplification
        _fail(f"tensor of size {shape} has more elements than its storage {storage.key!r} ({available})")
    itemsize = storage.elements.itemsize
    storage.budget.spend(numel * itemsize)
    view = as_strided(
        storage.elements[offset:],
        shape=shape,
        strides=tuple(s * itemsize for s in strides),
        writeable=False,
    )
    return _Tensor(_materialise(view, storage.dtype))


def _check_hooks(backward_hooks: object) -> None:
    if not isinstance(backward_hooks, dict) or backward_hooks:
        _fail(f"backward_hooks must be an empty OrderedDict, got {_show(backward_hooks)}")


def _rebuild_tensor_v2(
    storage: object,
    storage_offset: object,
    size: object,
    stride: object,
    requires_grad: object,
    backward_hooks: object,
    metadata: object = None,
) -> _Tensor:
    """Safe replacement for ``torch._utils._rebuild_tensor_v2`` (what ``torch.save`` emits)."""
    if type(requires_grad) is not bool:
        _fail(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
    _check_hooks(backward_hooks)
    if metadata is not None and (not isinstance(metadata, dict) or metadata):
        _fail(f"tensor metadata is not supported, got {_show(metadata)}")
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data: object, requires_grad: object, backward_hooks: object) -> _Tensor:
    """Safe replacement for ``torch._utils._rebuild_parameter``: a Parameter is just its tensor."""
    if type(data) is not _Tensor:
        _fail(f"parameter data must be a tensor, got {type(data).__name__}")
    if type(requires_grad) is not bool:
        _fail(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
    _check_hooks(backward_hooks)
    return data


def _ordered_dict(*args: object) -> OrderedDict[Any, Any]:
    """Stand-in for ``collections.OrderedDict``: torch.save calls it with no arguments (the items
    follow as SETITEMS, whose keys the pre-scan checks); arguments could smuggle in unchecked keys."""
    if args:
        raise TypeError(f"OrderedDict() in data.pkl takes no arguments, got {len(args)}")
    return OrderedDict()


_UNTYPED_STORAGE = _StorageClass("UntypedStorage", _UINT8)

# The only globals a checkpoint may name. Every value is ours; none of them is torch's.
_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): _Rebuilder("OrderedDict", _ordered_dict),
    ("torch._utils", "_rebuild_tensor_v2"): _Rebuilder("_rebuild_tensor_v2", _rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor"): _Rebuilder("_rebuild_tensor", _rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _Rebuilder("_rebuild_parameter", _rebuild_parameter),
    ("torch", "UntypedStorage"): _UNTYPED_STORAGE,
    ("torch.storage", "UntypedStorage"): _UNTYPED_STORAGE,
    **{("torch", d.storage): _StorageClass(d.storage, d) for d in _DTYPES},
    **{("torch", d.name): d for d in _DTYPES},
}

# Opcodes that build objects by calling classes in ways a state_dict never needs, or that fetch
# globals from the process-wide extension cache without asking find_class (EXT1/2/4), or that
# hash their items as set members (ADDITEMS, FROZENSET: see _PickleShape).
_FORBIDDEN_OPCODES = frozenset(
    {
        "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID", "NEXT_BUFFER",
        "READONLY_BUFFER", "ADDITEMS", "FROZENSET",
    }
)

_OTHER, _TUPLE = 1, 2  # what the pre-scan knows about a stack or memo entry (0: unset memo slot)
_TO_MARK = -1
# opcode -> (entries it takes: a count or _TO_MARK; what it pushes: _OTHER, _TUPLE, or 0 when
# the entry below stays as it was (the dict, list or object being filled); whether the taken
# entries alternate key, value). MARK, POP, DUP and the memo opcodes are handled apart.
_STACK_EFFECTS: dict[str, tuple[int, int, bool]] = {
    **dict.fromkeys(
        (
            "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
            "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "NONE",
            "NEWTRUE", "NEWFALSE", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
            "FLOAT", "BINFLOAT", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "GLOBAL",
        ),
        (0, _OTHER, False),
    ),
    "EMPTY_TUPLE": (0, _TUPLE, False),
    "TUPLE1": (1, _TUPLE, False),
    "TUPLE2": (2, _TUPLE, False),
    "TUPLE3": (3, _TUPLE, False),
    "TUPLE": (_TO_MARK, _TUPLE, False),
    "LIST": (_TO_MARK, _OTHER, False),
    "DICT": (_TO_MARK, _OTHER, True),
    "SETITEM": (2, 0, True),
    "SETITEMS": (_TO_MARK, 0, True),
    "APPEND": (1, 0, False),
    "APPENDS": (_TO_MARK, 0, False),
    "BUILD": (1, 0, False),
    "POP_MARK": (_TO_MARK, 0, False),
    "REDUCE": (2, _OTHER, False),  # no allowed callable returns a tuple
    "STACK_GLOBAL": (2, _OTHER, False),
    "BINPERSID": (1, _OTHER, False),
    "PROTO": (0, 0, False),
    "FRAME": (0, 0, False),
    "STOP": (0, 0, False),
}


class _PickleShape:
    """Follows the C unpickler's stack and memo, knowing only which entries are tuples.

    Hashing a tuple hashes its items recursively, in C, with no recursion limit and no cache: a
    tuple nested a million deep (1 MB of TUPLE1) overflows the C stack, and one whose levels
    each hold the level below twice (via the memo) takes 2**depth steps that no signal can
    interrupt. A pickle hashes objects only as dict keys and set members, and a state_dict's
    keys are strings, so tuple keys are refused before anything runs (and the set opcodes are
    forbidden); every other object a pickle can build here hashes in constant or linear time.
    Marks follow the C unpickler: a separate stack whose top is a fence nothing may pop below.
    """

    def __init__(self, length: int) -> None:
        self.stack = bytearray()
        self.marks: list[int] = []
        self.memo = bytearray(length + 1)  # PUT indices were checked to be <= length
        self.memo_len = 0

    def _top(self, pos: int) -> int:
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            _fail(f"data.pkl is not a valid pickle: stack underflow at byte {pos}")
        return self.stack[-1]

    def step(self, name: str, arg: Any, pos: int) -> None:
        stack = self.stack
        effect = _STACK_EFFECTS.get(name)
        if effect is not None:
            taken, pushed, keyed = effect
            if taken == _TO_MARK:
                if not self.marks:
                    _fail(f"data.pkl is not a valid pickle: no MARK for the opcode at byte {pos}")
                start = self.marks.pop()
            else:
                start = len(stack) - taken
                if start < (self.marks[-1] if self.marks else 0):
                    _fail(f"data.pkl is not a valid pickle: stack underflow at byte {pos}")
            if keyed and _TUPLE in stack[start::2]:
                _fail(f"data.pkl uses a tuple as a dict key at byte {pos}; state_dict keys are strings")
            del stack[start:]
            if pushed:
                stack.append(pushed)
        elif name in ("BINGET", "GET", "LONG_BINGET"):
            index = int(arg)
            if not 0 <= index < len(self.memo) or not self.memo[index]:
                _fail(f"data.pkl is not a valid pickle: memo index {index} at byte {pos} was never written")
            stack.append(self.memo[index])
        elif name in ("BINPUT", "MEMOIZE", "PUT", "LONG_BINPUT"):
            top = self._top(pos)
            index = self.memo_len if name == "MEMOIZE" else int(arg)
            if index >= len(self.memo):
                _fail(f"memo index {index} at byte {pos} in data.pkl exceeds the pickle's length")
            self.memo_len += self.memo[index] == 0
            self.memo[index] = top
        elif name == "MARK":
            self.marks.append(len(stack))
        elif name == "POP":
            if self.marks and self.marks[-1] == len(stack):
                self.marks.pop()
            else:
                self._top(pos)
                del stack[-1]
        elif name == "DUP":
            stack.append(self._top(pos))
        else:
            _fail(f"pickle opcode {name} at byte {pos} in data.pkl is not supported")


def _global_name(module: object, name: object) -> str:
    return f"{module!s:.100}.{name!s:.100}"


_NOT_MODEL_CODE = frozenset({"torch", "numpy", "builtins", "__builtin__", "copyreg", "copy_reg", "_codecs"})


def _names_model_class(module: object, name: object) -> bool:
    """Whether a global looks like the class of a model, as ``torch.save(model)`` pickles it.

    That is a class (CamelCase) of torch.nn, or of any package outside the standard library, numpy
    and torch (``fastfeedforward.fff.FFF``, ``model.Net``), or anything from ``__main__`` (the
    training script). Only decides which advice to give: the global is refused either way.
    """
    if type(module) is not str or type(name) is not str or not module or not name:
        return False
    last = name.rpartition(".")[2]
    if not last.isidentifier():
        return False
    if module == "__main__":
        return True
    if not last[0].isupper() or not all(part.isidentifier() for part in module.split(".")):
        return False
    if module.startswith("torch.nn."):
        return True
    top = module.partition(".")[0]
    return top not in _NOT_MODEL_CODE and top not in sys.stdlib_module_names


def _forbidden_global(module: object, name: object) -> NoReturn:
    qualified = _global_name(module, name)
    if _names_model_class(module, name):
        where = (
            f"in the script that defines {name} (it ran as __main__ when saved)"
            if module == "__main__"
            else f"with {module} importable"
        )
        raise _PickledModelError(
            f"forbidden global '{qualified}' in data.pkl: this looks like a whole pickled model "
            f"(torch.save(model)), not a state_dict. Its pickle names the model's class and would run "
            f"code to rebuild it, so it is not loaded. Save the weights alone and convert that file: "
            f"torch.save(model.state_dict(), 'model_state_dict.pt') where the model is trained, or, "
            f"for a file you trust, {where}: torch.save(torch.load(",
            ", weights_only=False).state_dict(), 'model_state_dict.pt')",
        )
    _fail(f"forbidden global '{qualified}' in data.pkl: only tensor-rebuilding globals are allowed")


def _prescan_pickle(data: bytes) -> None:
    """Refuse forbidden globals and opcodes before a single opcode is executed.

    GLOBAL and INST name their global inline, so they are checked here; STACK_GLOBAL takes its
    names from the stack and is checked by :meth:`_RestrictedUnpickler.find_class`, and here too
    when the two strings are pushed right before it (memo puts aside), as picklers write a global
    the first time, so that a pickled model names its class instead of failing on the NEWOBJ that
    follows. Tuples used as dict keys are refused too (see :class:`_PickleShape`).

    The scan reads the stream front to back; the C unpickler reads a protocol-4 FRAME as one
    block and, when an opcode runs past the block's end, drops the block's last bytes and reads
    the opcode's argument afresh from after it. So an opcode straddling a frame's end would be
    read differently from what this scan checked (a LONG_BINPUT of index 0 here can become
    index 0x30000000 there: a 12 GB memo). Frames must therefore hold whole opcodes, as every
    pickler writes them.
    """
    shape = _PickleShape(len(data))
    frame_end = previous = 0  # previous: where the opcode before this one starts
    strings: list[str] = []  # string literals pushed just before this opcode (at most the last two)
    try:
        for opcode, arg, pos in pickletools.genops(data):
            if previous < frame_end < pos:
                _fail(f"pickle opcode at byte {previous} in data.pkl straddles the end of its frame")
            if opcode.name == "FRAME":
                if pos < frame_end:
                    _fail(f"pickle FRAME at byte {pos} in data.pkl starts inside the previous frame")
                frame_end = pos + 9 + int(arg)
            previous = pos
            if opcode.name in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                if (module, name) not in _ALLOWED_GLOBALS:
                    _forbidden_global(module, name)
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                strings = [*strings[-1:], str(arg)]
            elif opcode.name not in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                if opcode.name == "STACK_GLOBAL" and len(strings) == 2 and tuple(strings) not in _ALLOWED_GLOBALS:
                    _forbidden_global(*strings)
                strings = []
            if opcode.name in _FORBIDDEN_OPCODES:
                _fail(f"forbidden pickle opcode {opcode.name} at byte {pos} in data.pkl")
            # The C unpickler grows (and zeroes) its memo up to a PUT's index: bound it by the
            # stream length, which any honest pickler's sequential memo indices stay under.
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT") and not 0 <= int(arg) <= len(data):
                _fail(f"memo index {arg} at byte {pos} in data.pkl exceeds the pickle's length")
            shape.step(opcode.name, arg, pos)
    except CheckpointError:
        raise
    except Exception as err:  # genops raises ValueError and friends on malformed input
        raise CheckpointError(f"data.pkl is not a valid pickle: {err}") from err


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose whole world is :data:`_ALLOWED_GLOBALS` and the archive's storages."""

    def __init__(self, data: bytes, archive: _TorchArchive) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            _forbidden_global(module, name)

    def persistent_load(self, pid: object) -> _Storage:
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
            _fail(f"unsupported persistent id {_show(pid, 100)} in data.pkl")
        _, storage_type, key, location, numel = pid
        if isinstance(storage_type, _StorageClass):
            dtype = storage_type.dtype
        elif isinstance(storage_type, _DType):
            dtype = storage_type
        else:
            _fail(f"persistent id names {type(storage_type).__name__}, not a storage type or dtype")
        if type(key) is not str or not _STORAGE_KEY.fullmatch(key):
            _fail(f"bad storage key {_show(key, 60)} in data.pkl")
        if type(location) is not str:
            _fail(f"storage location must be a string, got {type(location).__name__}")
        return self._archive.storage(key, dtype, _check_int(numel, "storage element count"))


# --------------------------------------------------------------------------- zip container


def _check_member_name(name: str) -> None:
    parts = name.split("/")
    if (
        "\\" in name
        or name.startswith("/")
        or re.match(r"[A-Za-z]:", name)
        or any(part in ("", ".", "..") for part in parts)
    ):
        _fail(f"unsafe member name {name!r:.200} in zip archive")


class _TorchArchive:
    """A validated torch.save zip: member table checked up front, members read on demand."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            _fail(f"zip archive has {len(infos)} entries; at most {MAX_ZIP_ENTRIES} are allowed")
        self._members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            _check_member_name(name)
            if name in self._members:
                _fail(f"duplicate zip member {name!r:.200}")
            self._members[name] = info
            self._check_member_size(info)
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                _fail(f"zip members declare {total} bytes in total; at most {MAX_TOTAL_BYTES} are allowed")
        self._check_no_overlap(infos, zf.start_dir)
        roots = {name.split("/", 1)[0] for name in self._members}
        pickles = [name for name in self._members if name.count("/") == 1 and name.endswith("/data.pkl")]
        if len(pickles) != 1 or len(roots) != 1:
            _fail("not a torch.save archive: expected one top-level folder holding data.pkl")
        self.root = pickles[0].rsplit("/", 1)[0]
        self._storages: dict[str, _Storage] = {}
        self._budget = _Budget(MAX_TOTAL_BYTES)

    @staticmethod
    def _check_member_size(info: zipfile.ZipInfo) -> None:
        name = info.filename
        if info.flag_bits & 0x1:
            _fail(f"zip member {name!r} is encrypted")
        if info.file_size > MAX_ENTRY_BYTES:
            _fail(f"zip member {name!r} declares {info.file_size} bytes; at most {MAX_ENTRY_BYTES} are allowed")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                _fail(f"stored zip member {name!r} has compressed size {info.compress_size} != size {info.file_size}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                _fail(
                    f"zip member {name!r} expands {info.compress_size} bytes to {info.file_size}: "
                    f"compression ratio over {MAX_COMPRESSION_RATIO} (zip bomb?)"
                )
        else:
            _fail(f"zip member {name!r} uses unsupported compression method {info.compress_type}")

    @staticmethod
    def _check_no_overlap(infos: list[zipfile.ZipInfo], central_directory: int) -> None:
        """Refuse members whose data overlap (the 'overlapping files' zip bomb) or the directory."""
        ordered = sorted(infos, key=lambda i: i.header_offset)
        ends = [i.header_offset for i in ordered[1:]] + [central_directory]
        for info, limit in zip(ordered, ends):
            if info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size > limit:
                _fail(f"zip member {info.filename!r} overlaps the next member or the central directory")

    def read(self, name: str) -> bytes:
        """Read one member, never more than its declared size, and insist on exactly that size."""
        info = self._members.get(name)
        if info is None:
            _fail(f"zip archive has no member {name!r}")
        try:
            with self._zf.open(info) as f:
                data = f.read(info.file_size)
        except Exception as err:  # BadZipFile, zlib.error, EOFError, OSError, ...
            raise CheckpointError(f"cannot read zip member {name!r}: {err}") from err
        if len(data) != info.file_size:
            _fail(f"zip member {name!r} is truncated: {len(data)} of {info.file_size} bytes")
        return data

    def has(self, name: str) -> bool:
        return name in self._members

    def member_size(self, name: str) -> int:
        return self._members[name].file_size

    def storage(self, key: str, dtype: _DType, numel: int) -> _Storage:
        """Load ``<root>/data/<key>`` once; its byte length must be exactly ``numel`` elements."""
        cached = self._storages.get(key)
        if cached is not None:
            if cached.dtype is not dtype:
                _fail(f"storage {key!r} is used as both {cached.dtype.name} and {dtype.name}")
            if cached.elements.shape[0] != numel:
                _fail(f"storage {key!r} is declared with {cached.elements.shape[0]} and {numel} elements")
            return cached
        name = f"{self.root}/data/{key}"
        if not self.has(name):
            _fail(f"data.pkl refers to storage {key!r} but the archive has no member {name!r}")
        expected = numel * dtype.raw.itemsize
        if self.member_size(name) != expected:
            _fail(
                f"storage {key!r} declares {numel} {dtype.name} elements ({expected} bytes) "
                f"but {name!r} holds {self.member_size(name)} bytes"
            )
        # Raw bytes only: whatever the member holds (even another archive) is never interpreted.
        elements = np.frombuffer(self.read(name), dtype=dtype.raw)
        storage = _Storage(key, dtype, elements, self._budget)
        self._storages[key] = storage
        return storage


def _load_torch_zip(path: Path) -> dict[str, np.ndarray]:
    try:
        zf = zipfile.ZipFile(path)
    except Exception as err:  # BadZipFile, OSError, ValueError, struct.error on a mangled file
        raise CheckpointError(f"not a readable zip archive: {err}") from err
    with zf:
        archive = _TorchArchive(zf)
        byteorder = f"{archive.root}/byteorder"
        if archive.has(byteorder):
            if archive.member_size(byteorder) > 16 or archive.read(byteorder).strip() != b"little":
                _fail("archive byteorder is not 'little'; big-endian checkpoints are not supported")
        pickle_name = f"{archive.root}/data.pkl"
        if archive.member_size(pickle_name) > MAX_PICKLE_BYTES:
            _fail(f"data.pkl is {archive.member_size(pickle_name)} bytes; at most {MAX_PICKLE_BYTES} are allowed")
        data = archive.read(pickle_name)
        _prescan_pickle(data)
        try:
            obj = _RestrictedUnpickler(data, archive).load()
        except CheckpointError:
            raise
        except Exception as err:  # a malformed or hostile stream: wrong arity, bad types, truncation
            raise CheckpointError(f"cannot unpickle data.pkl: {type(err).__name__}: {err}") from err
    return _state_dict(obj)


def _state_dict(obj: Any) -> dict[str, np.ndarray]:
    """Insist on a flat mapping of names to tensors, as ``torch.save(model.state_dict())`` writes."""
    if not isinstance(obj, dict):
        _fail(f"data.pkl holds a {type(obj).__name__}, not a state_dict of named tensors")
    result: dict[str, np.ndarray] = {}
    for key, value in obj.items():
        if type(key) is not str:
            _fail(f"state_dict key {_show(key, 60)} is not a string")
        if type(value) is not _Tensor or not isinstance(value.array, np.ndarray):
            _fail(f"state_dict entry {key!r} is a {type(value).__name__}, not a tensor")
        result[key] = value.array
    return result


# --------------------------------------------------------------------------- safetensors


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(f"safetensors header repeats key {key!r:.100}")
        result[key] = value
    return result


def _reject_constant(token: str) -> NoReturn:
    _fail(f"safetensors header contains non-JSON number {token}")


def _load_safetensors(path: Path, file_size: int) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) != 8:
            _fail("safetensors file is shorter than its 8-byte header length")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > MAX_SAFETENSORS_HEADER or header_len > file_size - 8:
            _fail(
                f"safetensors header length {header_len} is impossible "
                f"(file is {file_size} bytes, limit {MAX_SAFETENSORS_HEADER})"
            )
        header_bytes = f.read(header_len)
        data_len = file_size - 8 - header_len
        data = f.read(data_len)
    if len(header_bytes) != header_len or len(data) != data_len:
        _fail("safetensors file changed size while being read")
    try:
        header = json.loads(
            header_bytes.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except CheckpointError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CheckpointError(f"safetensors header is not valid JSON: {err}") from err
    if not isinstance(header, dict):
        _fail("safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        _fail("safetensors __metadata__ must map strings to strings")

    entries: list[tuple[int, int, str, _DType, tuple[int, ...]]] = []
    for name, spec in header.items():
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            _fail(f"safetensors entry {name!r:.100} must have exactly dtype, shape and data_offsets")
        dtype = _SAFETENSORS_DTYPES.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None
        if dtype is None:
            _fail(f"safetensors entry {name!r:.100} has unsupported dtype {spec['dtype']!r:.40}")
        shape_list, offsets = spec["shape"], spec["data_offsets"]
        if type(shape_list) is not list or type(offsets) is not list or len(offsets) != 2:
            _fail(f"safetensors entry {name!r:.100} needs a shape list and two data_offsets")
        shape = _check_int_tuple(tuple(shape_list), f"safetensors shape of {name!r:.100}")
        begin = _check_int(offsets[0], f"safetensors begin offset of {name!r:.100}")
        end = _check_int(offsets[1], f"safetensors end offset of {name!r:.100}")
        if not begin <= end <= data_len:
            _fail(f"safetensors entry {name!r:.100} spans bytes [{begin}, {end}) outside the {data_len}-byte data")
        numel = 1
        for n in shape:
            numel *= n
        _check_numpy_shape(shape, dtype.raw.itemsize, f"safetensors shape of {name!r:.100}")
        if numel * dtype.raw.itemsize != end - begin:
            _fail(
                f"safetensors entry {name!r:.100} of shape {shape} {spec['dtype']} needs "
                f"{numel * dtype.raw.itemsize} bytes but spans {end - begin}"
            )
        entries.append((begin, end, name, dtype, shape))

    position, previous = 0, "the start of the data"
    for begin, end, name, _, _ in sorted(entries, key=lambda e: (e[0], e[1])):
        if begin < position:
            _fail(f"safetensors entries {previous} and {name!r:.100} overlap")
        if begin > position:
            _fail(f"safetensors bytes [{position}, {begin}) belong to no tensor")
        position, previous = end, repr(name)
    if position != data_len:
        _fail(f"safetensors bytes [{position}, {data_len}) belong to no tensor")

    buffer = np.frombuffer(data, dtype=np.uint8)
    return {
        name: _materialise(buffer[begin:end].view(dtype.raw).reshape(shape), dtype)
        for begin, end, name, dtype, shape in entries
    }


# --------------------------------------------------------------------------- entry point


def _looks_like_safetensors(head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


def _load(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        head = f.read(16)
        file_size = os.fstat(f.fileno()).st_size
    if head.startswith(_ZIP_MAGIC):
        return _load_torch_zip(path)
    if _looks_like_safetensors(head):
        return _load_safetensors(path, file_size)
    if head.startswith(b"\x80"):
        _fail(
            "legacy (pre-1.6, non-zip) torch.save format: a bare pickle stream, which is not "
            "unpickled for safety. Re-save it with torch >= 1.6 (torch.save writes the zip format) "
            "or as safetensors"
        )
    _fail("unrecognised checkpoint format: neither a torch.save zip archive nor safetensors")


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load a checkpoint's tensors by name, in stored order, as independent numpy arrays.

    The format is detected from the content (zip magic for ``torch.save``, else the safetensors
    header shape), never from the file name. 0-dim tensors become 0-d arrays; bfloat16 becomes
    float32. Raises :class:`CheckpointError` naming the file for anything malformed or hostile
    (and OSError if the file cannot be opened at all); torch is never imported.
    """
    path = Path(path)
    try:
        return _load(path)
    except _PickledModelError as err:
        raise CheckpointError(f"{path}: {err.before}{path.name!r}{err.after}") from None
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err.__cause__
