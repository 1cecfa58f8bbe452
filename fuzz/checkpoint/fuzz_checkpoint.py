#!/usr/bin/env python3
"""Property-based fuzzing of the converter's untrusted-input surface, for SECONDS.

    fuzz/checkpoint/fuzz_checkpoint.py SECONDS [--target pickle,zip,safetensors,convert,format] [--out DIR]

Every target feeds hostile input to one reader and checks the same contract on every example:

* the reader returns, or raises its own error class (``CheckpointError`` for
  :func:`pyfff.checkpoint.load_checkpoint`, ``FormatError`` for :func:`pyfff.format.read_model`,
  ``ConvertError`` for :func:`pyfff.convert.convert_state_dict`), never anything else;
* it uses at most :data:`CPU_SECONDS` of CPU and :data:`PEAK_BYTES` of traced memory
  (``tracemalloc``, which also sees numpy's buffers), and is interrupted after
  :data:`WALL_SECONDS` (a watchdog ends the process if even that fails: a hang in C);
* it executes nothing: inputs carry live payloads that would create the marker file ``PWNED``
  in the current directory (the harness runs the reader in its work directory), which must
  never appear, and an audit hook (``sys.addaudithook``) allows nothing while the reader
  runs but opening the input for reading: no import, exec, compile, process, socket or file
  event, no ``pickle.find_class``;
* what it returns is well formed (independent numpy arrays; a model that re-encodes).

Targets: ``pickle`` (data.pkl: arbitrary bytes, opcode programs, mutated torch-like pickles,
live payloads, nesting and sharing bombs), ``zip`` (lying central directories, path tricks,
zip64 lies, nested archives, mutated archives), ``safetensors`` (random and lying headers),
``convert`` (hostile state_dicts through ``convert_state_dict``) and ``format``
(``read_model`` on random and mutated files, from the conformance corpus and from random
valid models, with checksums recomputed so mutations reach the deep checks).

Inputs are generated with hypothesis, in batches with fresh random seeds until the time is up;
a failing example is shrunk and saved under ``--out`` (default: a new ``fff-fuzz-*`` directory
in $TMPDIR) as ``finding-<target>-<n>.bin``. The example being run is always in
``current-<target>.bin`` there, so a crash or an uninterruptible hang leaves its reproducer.
The pytest suites tools/tests/test_checkpoint_properties.py and test_format_properties.py run
the same properties with few examples; this script is the long run.
"""

from __future__ import annotations

import argparse
import codecs
import collections
import faulthandler
import io
import json
import os
import pickle
import re
import resource
import signal
import struct
import sys
import tempfile
import time
import tracemalloc
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))  # pyfff

import numpy as np  # noqa: E402
import zstandard  # noqa: E402
from hypothesis import HealthCheck, Phase, Verbosity, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pyfff import format as fmt  # noqa: E402
from pyfff.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from pyfff.convert import ConvertError, ConvertWarning, convert_state_dict  # noqa: E402

CPU_SECONDS = 1.0
WALL_SECONDS = 5.0
WATCHDOG_SECONDS = 60.0
PEAK_BYTES = 64 << 20
# Codecs the readers may use (zip names, pickle text opcodes, JSON); imported up front.
WARM_CODECS = ("cp437", "utf-8", "ascii", "latin-1", "raw_unicode_escape", "unicode_escape", "utf-16", "utf-32")
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "conformance" / "valid"


# =============================================================================== the harness


class Violation(AssertionError):
    """A reader broke its contract on one input."""


class _Interrupted(BaseException):
    """Raised by the wall-clock timer; BaseException so no reader's ``except Exception`` eats it."""


_ARMED: list[Harness] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED:
        _ARMED[-1].audit(event, args)


class Harness:
    """Runs one reader call under the contract's checks; one per process and work directory."""

    _hook_installed = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.marker = self.workdir / "PWNED"
        self.runs = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.events: list[str] = []
        self.input_path = self.workdir / "input.bin"
        self._allowed_open = str(self.input_path)
        if not Harness._hook_installed:
            sys.addaudithook(_audit)
            Harness._hook_installed = True
        # A crash prints the Python stack. Under pytest its own faulthandler is already on and
        # writes to the real stderr; enabling again would send the stack to the test's captured
        # stderr, which a crash loses.
        if not faulthandler.is_enabled():
            faulthandler.enable()
        for codec in WARM_CODECS:  # codecs load on first use: load them outside the checks
            codecs.lookup(codec)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and str(args[0]) == self._allowed_open and args[1] in ("r", "rb"):
            return
        self.events.append(f"{event} {args!r:.200}")

    def input_file(self, name: str) -> Path:
        """Where the next input goes; it stays there, so a crash leaves its reproducer."""
        self.input_path = self.workdir / name
        self._allowed_open = str(self.input_path)
        return self.input_path

    def run(self, call: Callable[[], Any], allowed: tuple[type[BaseException], ...]) -> Any:
        """``call()`` under the checks; returns its result or the allowed exception it raised."""
        self.runs += 1
        self.events = []
        if self.marker.exists():
            self.marker.unlink()
        cwd = os.getcwd()
        os.chdir(self.workdir)  # live payloads name the marker relative to the current directory
        previous = signal.signal(signal.SIGALRM, _raise_interrupted)
        faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
        tracing = tracemalloc.is_tracing()  # trace only the call: tracing everything halves the rate
        if tracing:
            tracemalloc.reset_peak()
        else:
            tracemalloc.start()
        cpu = time.process_time()
        failure: str | None = None
        result: Any = None
        _ARMED.append(self)
        signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS)
        try:
            result = call()
        except allowed as err:
            result = err
        except KeyboardInterrupt:
            raise
        except _Interrupted:
            failure = f"hang: still running after {WALL_SECONDS} s (wall clock)"
        except BaseException as err:  # noqa: BLE001 - any other exception breaks the contract
            failure = f"raised {type(err).__name__}: {str(err)[:300]}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _ARMED.pop()
            os.chdir(cwd)
            cpu = time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1]
            if not tracing:
                tracemalloc.stop()
            faulthandler.cancel_dump_traceback_later()
            signal.signal(signal.SIGALRM, previous)
        if failure is None and cpu > CPU_SECONDS:
            failure = f"slow: {cpu:.2f} s of CPU, over {CPU_SECONDS} s"
        if failure is None and peak > PEAK_BYTES:
            failure = f"memory: traced peak {peak / 2**20:.1f} MiB, over {PEAK_BYTES >> 20} MiB"
        if failure is None and self.marker.exists():
            failure = "EXECUTED: the marker file was created"
        if failure is None and self.events:
            failure = f"side effect while reading: {self.events[:3]}"
        if failure is not None:
            raise Violation(failure)
        self.outcomes[_outcome(result)] += 1
        return result


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise _Interrupted()


def _outcome(result: Any) -> str:
    """A coarse class of the result, to show how deep the examples got."""
    if isinstance(result, BaseException):
        text = re.sub(r"\d+", "N", str(result).split(": ", 1)[-1])
        text = re.sub(r"'[^']*'", "'…'", text)
        return f"{type(result).__name__}: {text[:60]}"
    return f"ok: {type(result).__name__}"


def _check_arrays(result: Any) -> None:
    """A state_dict of independent arrays: C-contiguous, writable, native numeric dtypes."""
    if not isinstance(result, dict):
        raise Violation(f"load_checkpoint returned a {type(result).__name__}")
    for key, value in result.items():
        if type(key) is not str:
            raise Violation(f"load_checkpoint returned a {type(key).__name__} key")
        if type(value) is not np.ndarray:
            raise Violation(f"tensor {key!r} is a {type(value).__name__}, not an ndarray")
        if not (value.flags.c_contiguous and value.flags.writeable and value.flags.owndata):
            raise Violation(f"tensor {key!r} is not an independent writable C array")
        if value.dtype.byteorder not in ("=", "|") or value.dtype.kind not in "biuf":
            raise Violation(f"tensor {key!r} has dtype {value.dtype}")


def check_checkpoint_bytes(harness: Harness, data: bytes, name: str = "current.pt") -> Any:
    """The load_checkpoint contract on one file's bytes."""
    path = harness.input_file(name)
    path.write_bytes(data)
    result = harness.run(lambda: load_checkpoint(path), (CheckpointError,))
    if not isinstance(result, BaseException):
        _check_arrays(result)
    return result


def _reencoded(model: fmt.Model) -> fmt.Model:
    try:
        return fmt.read_model(fmt.write_model(model, codec="none", shuffle=False))
    except fmt.FormatError as err:
        raise Violation(f"an accepted file does not re-encode: {err}") from err


def check_format_bytes(harness: Harness, data: bytes) -> Any:
    """The read_model contract on one file's bytes; an accepted model must re-encode.

    Re-encoded, every tensor keeps its values, except int8-row ones: a file may carry any row
    scales, and the writer derives its own (max |w| / 127), so those may move once; re-encoding
    again must then change nothing (the writer reproduces what it wrote).
    """
    harness.input_file("current.fff").write_bytes(data)
    result = harness.run(lambda: fmt.read_model(data), (fmt.FormatError,))
    if isinstance(result, fmt.Model):
        try:
            result.check()
        except fmt.FormatError as err:
            raise Violation(f"an accepted model fails Model.check: {err}") from err
        again = _reencoded(result)
        types = {"node_weights": result.node_type, "w1": result.weight_type, "w2": result.weight_type}
        requantized = [name for name, kind in types.items() if kind == "int8-row"]
        fixed = _reencoded(again) if requantized else again
        if (again.weight_type, again.node_type) != (result.weight_type, result.node_type):
            raise Violation("element types changed when re-encoded")
        for name in ("node_weights", "node_biases", "w1", "b1", "w2", "b2"):
            reference = again if name in requantized else result
            if not np.array_equal(getattr(reference, name), getattr(fixed, name)):
                raise Violation(f"{name} changed when re-encoded")
        if (result.labels, result.metadata) != (again.labels, again.metadata):
            raise Violation("labels or metadata changed when re-encoded")
    return result


def check_state_dict(harness: Harness, tensors: dict[str, np.ndarray]) -> Any:
    """The convert_state_dict contract on one state_dict (warnings allowed)."""
    harness.input_file("current-state-dict.pkl").write_bytes(pickle.dumps(tensors))

    def call() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvertWarning)
            return convert_state_dict(tensors)

    result = harness.run(call, (ConvertError,))
    if isinstance(result, fmt.Model):
        try:
            result.check()
        except fmt.FormatError as err:
            raise Violation(f"convert_state_dict returned an invalid model: {err}") from err
    return result


# =============================================================================== pickles


class _Stub:
    """A torch global as a pickle names it; never called."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError("stub")

    def __reduce__(self) -> str:
        return self.name


@dataclass(eq=False)
class _Storage:
    cls: Any
    key: str
    numel: int
    location: str = "cpu"


@dataclass(eq=False)
class _Tensor:
    """Pickles as torch.save pickles a tensor: a rebuild call on a persistent storage."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    parameter: bool = False

    def __reduce__(self) -> Any:
        args = (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict())
        if self.parameter:
            inner = _Tensor(self.storage, self.offset, self.size, self.stride)
            return (REBUILD_PARAMETER, (inner, True, collections.OrderedDict()))
        return (REBUILD_V2, args)


REBUILD_V2 = _Stub("torch._utils", "_rebuild_tensor_v2")
REBUILD_PARAMETER = _Stub("torch._utils", "_rebuild_parameter")
DTYPES = {  # name -> (storage class, numpy dtype)
    "float32": ("FloatStorage", "<f4"),
    "float64": ("DoubleStorage", "<f8"),
    "float16": ("HalfStorage", "<f2"),
    "bfloat16": ("BFloat16Storage", "<u2"),
    "int64": ("LongStorage", "<i8"),
    "int32": ("IntStorage", "<i4"),
    "int16": ("ShortStorage", "<i2"),
    "int8": ("CharStorage", "i1"),
    "uint8": ("ByteStorage", "u1"),
    "bool": ("BoolStorage", "u1"),
}


class _TorchLikePickler(pickle._Pickler):  # type: ignore[misc,name-defined]
    """Python's own pickler (memo, BINGET, frames), with torch's globals and persistent ids."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            return ("storage", obj.cls, obj.key, obj.location, obj.numel)
        return None

    def save_global(self, obj: Any, name: Any = None) -> None:
        if isinstance(obj, _Stub):
            if self.proto >= 4:
                self.save(obj.module)
                self.save(obj.name)
                self.write(pickle.STACK_GLOBAL)
            else:
                self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


def torch_pickle(obj: Any, protocol: int = 2) -> bytes:
    buffer = io.BytesIO()
    _TorchLikePickler(buffer, protocol).dump(obj)
    return buffer.getvalue()


def torch_zip(pickle_data: bytes, storages: dict[str, bytes], root: str = "archive") -> bytes:
    """A zip laid out as torch.save lays it out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{root}/data.pkl", pickle_data)
        zf.writestr(f"{root}/byteorder", b"little")
        for key, data in storages.items():
            zf.writestr(f"{root}/data/{key}", data)
        zf.writestr(f"{root}/version", b"3\n")
    return buffer.getvalue()


def _sample_state_dict(variant: int) -> tuple[Any, dict[str, bytes]]:
    """A few torch-shaped state_dicts: dtypes, views sharing a storage, parameters, metadata."""
    rng = np.random.default_rng(variant)
    storages: dict[str, bytes] = {}
    items: list[tuple[str, Any]] = []
    names = list(DTYPES)
    for i in range(1 + variant % 4):
        dtype = names[(variant + i) % len(names)]
        cls, raw = DTYPES[dtype]
        numel = int(rng.integers(1, 7))
        key = f"{variant}_{i}"
        storages[key] = rng.integers(0, 256, numel * np.dtype(raw).itemsize, dtype=np.uint8).tobytes()
        storage = _Storage(_Stub("torch", cls), key, numel, "cuda:0" if i == 2 else "cpu")
        items.append((f"layer{i}.weight", _Tensor(storage, 0, (numel,), (1,), parameter=variant % 3 == 2)))
        if numel >= 4:
            items.append((f"layer{i}.view", _Tensor(storage, 1, (2,), (2,))))
        if i == 0:
            items.append(("tied", items[0][1]))
    state = collections.OrderedDict(items)
    state._metadata = collections.OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]
    return state, storages


def _seed_pickles() -> list[tuple[bytes, dict[str, bytes]]]:
    seeds = []
    for variant in range(6):
        state, storages = _sample_state_dict(variant)
        for protocol in (2, 4):
            seeds.append((torch_pickle(state, protocol), storages))
    return seeds


SEED_PICKLES = _seed_pickles()
# Every storage a seed or a snippet names: "0" ... "3" hold 16 bytes (4 float32), the others
# are the seeds' own (keys "<variant>_<i>"), so mutated pickles can still reach real tensors.
ARCHIVE_STORAGES = {str(i): bytes(range(16)) for i in range(4)}
for _, _seed_storages in SEED_PICKLES:
    ARCHIVE_STORAGES.update(_seed_storages)
MARKER = "PWNED"  # live payloads create this file in the current directory


def _pstr(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _short(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def live_payloads() -> list[bytes]:
    """Pickle fragments (each leaves one object) that create :data:`MARKER` when unpickled naively."""
    touch, opener = f"touch {MARKER}", f"open({MARKER!r}, 'w').close()"
    calls = [
        ("os", "system", _pstr(touch) + b"\x85"),
        ("posix", "system", _pstr(touch) + b"\x85"),
        ("builtins", "exec", _pstr(opener) + b"\x85"),
        ("builtins", "eval", _pstr(f"exec({opener!r})") + b"\x85"),
        ("__builtin__", "eval", _pstr(f"exec({opener!r})") + b"\x85"),
        ("builtins", "open", _pstr(MARKER) + _pstr("w") + b"\x86"),
        ("io", "open", _pstr(MARKER) + _pstr("w") + b"\x86"),
        ("subprocess", "call", b"](" + _pstr("touch") + _pstr(MARKER) + b"e\x85"),
    ]
    fragments = []
    for module, name, args in calls:
        fragments.append(b"c" + f"{module}\n{name}\n".encode() + args + b"R")
        fragments.append(_short(module) + _short(name) + b"\x93" + args + b"R")
        # the names parked in the memo and fetched back, as a protocol-4 pickler may write them
        fragments.append(_short(module) + b"q\x500" + _short(name) + b"q\x510h\x50h\x51\x93" + args + b"R")
    fragments.append(b"(" + _pstr(touch) + b"ios\nsystem\n")  # INST
    fragments.append(b"(cos\nsystem\n" + _pstr(touch) + b"o")  # OBJ
    return fragments


def _bomb(levels: int, kind: bytes) -> bytes:
    """An object whose every level holds the level below twice: 2**levels leaves, in few bytes."""
    body = b"N" + b"r\x00\x00\x00\x00" + b"0"
    for _ in range(levels):
        get = b"j\x00\x00\x00\x00"
        if kind == b"tuple":
            body += get + get + b"\x86"
        elif kind == b"list":
            body += b"](" + get + get + b"e"
        else:  # dict of list values
            body += b"}(" + _pstr("k") + get + _pstr("j") + get + b"u"
        body += b"r\x00\x00\x00\x00" + b"0"
    return body + b"j\x00\x00\x00\x00"


def bombs() -> list[bytes]:
    """Fragments (one object each) that are cheap to build and ruinous to hash, repr or walk."""
    return [
        _bomb(40, b"tuple"),
        _bomb(40, b"list"),
        _bomb(30, b"dict"),
        b"N" + b"\x85" * 30_000,  # a tuple 30 000 deep
        b"](" * 5_000 + b"N" + b"e" * 5_000,  # a list 5 000 deep
    ]


STORAGE_0 = b"(" + _pstr("storage") + b"ctorch\nFloatStorage\n" + _pstr("0") + _pstr("cpu") + b"K\x04tQ"


def _in_reduce(fragment: bytes, position: int) -> bytes:
    """``fragment`` as argument ``position`` of _rebuild_tensor_v2 (a bad storage offset etc.)."""
    args = [STORAGE_0, b"K\x00", b"K\x01\x85", b"K\x01\x85", b"\x89", b"ccollections\nOrderedDict\n)R", b"N"]
    args[position] = fragment
    return b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"".join(args) + b"tR"


def hostile_fragments() -> list[bytes]:
    """Live payloads and bombs, alone and in the places where the loader describes a bad value."""
    out = live_payloads() + bombs()
    for bomb in bombs()[:3]:
        out += [_in_reduce(bomb, i) for i in range(7)]
        out.append(bomb + b"Q")  # as a persistent id
        out.append(b"(" + _pstr("storage") + b"ctorch\nFloatStorage\n" + bomb + _pstr("cpu") + b"K\x04tQ")  # key
        out.append(b"}" + bomb + b"K\x01s")  # as a dict key
        out.append(b"ccollections\nOrderedDict\n]" + b"(" + bomb + b"K\x01\x86e\x85R")  # OrderedDict(pairs)
        out.append(b"\x8f(" + bomb + b"\x90")  # set member
        out.append(b"(" + bomb + b"\x91")  # frozenset member
    return out


def _opcode_snippets() -> list[bytes]:
    """Single opcodes with plausible arguments, and a few famous globals, for pickle programs."""
    allowed = [
        b"ccollections\nOrderedDict\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch._utils\n_rebuild_tensor\n",
        b"ctorch._utils\n_rebuild_parameter\n", b"ctorch\nFloatStorage\n", b"ctorch\nUntypedStorage\n",
        b"ctorch\nfloat32\n", b"ctorch\nbool\n", _short("torch") + _short("LongStorage") + b"\x93",
    ]
    simple = [
        b"N", b"\x88", b"\x89", b"K\x00", b"K\x04", b"M\xff\xff", b"J\xff\xff\xff\xff", b"\x8a\x08" + b"\xff" * 8,
        b"\x8a\x01\x80", b"I01\n", b"I12\n", b"L5L\n", b"F1.5\n", b"G" + struct.pack(">d", float("nan")),
        _pstr("storage"), _pstr("cpu"), _pstr("0"), _pstr("1"), _pstr("../0"), _short("w"), b"U\x01a",
        b"C\x02ab", b"B\x01\x00\x00\x00z", b"V\\u00e9\n", b"S'a'\n", b"]", b"}", b")", b"\x8f",
        b"(", b"t", b"\x85", b"\x86", b"\x87", b"l", b"d", b"a", b"e", b"s", b"u", b"\x90", b"\x91",
        b"0", b"1", b"2", b"R", b"b", b"Q", b"\x93", b"\x94", b"q\x00", b"q\x01", b"h\x00", b"h\x01",
        b"r\x00\x00\x00\x00", b"j\x00\x00\x00\x00", b"p0\n", b"g0\n", b"\x95" + struct.pack("<Q", 4),
        b"\x80\x05", b".", b"P0\n", b"\x82\x01", b"\x97", b"\x98", b"\x81", b"o", b"i", STORAGE_0,
    ]
    return allowed + simple + live_payloads()


@st.composite
def mutations(draw: Any, data: bytes, snippets: list[bytes], limit: int = 6) -> bytes:
    """``data`` after a few random edits: bit flips, byte sets, insertions, deletions, copies, cuts."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, limit))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "duplicate", "truncate", "splice"]))
        pos = draw(st.integers(0, len(out)))
        if kind == "flip" and out:
            pos = min(pos, len(out) - 1)
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and out:
            pos = min(pos, len(out) - 1)
            out[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif kind == "insert":
            out[pos:pos] = draw(st.sampled_from(snippets) | st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del out[pos : pos + draw(st.integers(1, 16))]
        elif kind == "duplicate":
            end = min(len(out), pos + draw(st.integers(1, 32)))
            out[end:end] = out[pos:end]
        elif kind == "truncate":
            del out[pos:]
        elif kind == "splice":
            other = draw(st.sampled_from(snippets))
            out[pos : pos + len(other)] = other
    return bytes(out)


@st.composite
def pickle_programs(draw: Any) -> bytes:
    """A protocol header, a random sequence of opcodes and globals, and STOP."""
    snippets = _opcode_snippets()
    body = b"".join(draw(st.lists(st.sampled_from(snippets), max_size=40)))
    return b"\x80" + bytes([draw(st.sampled_from([2, 3, 4, 5]))]) + body + b"."


@st.composite
def mutated_pickles(draw: Any) -> bytes:
    data, _ = draw(st.sampled_from(SEED_PICKLES))
    snippets = _opcode_snippets() + hostile_fragments()[:12]
    return draw(mutations(data, snippets))


@st.composite
def hostile_pickles(draw: Any) -> bytes:
    """A live payload or bomb: the whole pickle, a state_dict value, or spliced into a seed."""
    fragment = draw(st.sampled_from(hostile_fragments()))
    where = draw(st.sampled_from(["top", "value", "splice"]))
    if where == "top":
        return b"\x80\x04" + fragment + b"."
    if where == "value":
        return b"\x80\x02ccollections\nOrderedDict\n)R(" + _pstr("w") + fragment + b"u."
    data, _ = draw(st.sampled_from(SEED_PICKLES))
    pos = draw(st.integers(2, len(data) - 1))
    return data[:pos] + fragment + data[pos:]


def pickle_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"\x80\x02" + b),
        pickle_programs(),
        mutated_pickles(),
        hostile_pickles(),
    )


def pickle_archive(data: bytes) -> bytes:
    """``data`` as data.pkl of an honest archive holding every storage the seeds name."""
    return torch_zip(data, ARCHIVE_STORAGES)


# =============================================================================== zip archives


@dataclass
class ZipMember:
    """One member for :func:`build_zip`; every declared field may lie."""

    name: bytes
    data: bytes = b""
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    crc: int | None = None
    usize: int | None = None  # declared uncompressed size (central directory)
    csize: int | None = None  # declared compressed size (central directory)
    offset: int | None = None  # declared local header offset
    local_name: bytes | None = None  # the name in the local header
    zip64: bool = False  # sizes and offset through a zip64 extra field
    extra: bytes = b""  # more central extra-field bytes (may be malformed)


@dataclass
class ZipLies:
    count: int | None = None
    cd_size: int | None = None
    cd_offset: int | None = None
    comment: bytes = b""
    prefix: bytes = b""  # bytes before the first member (zipfile allows a prefix)
    zip64_eocd: bool = False


def build_zip(members: list[ZipMember], lies: ZipLies | None = None) -> bytes:
    """A zip written byte by byte, so that sizes, offsets, names and counts can lie."""
    lies = lies or ZipLies()
    out = bytearray(lies.prefix)
    records = []
    for m in members:
        if m.method == zipfile.ZIP_DEFLATED:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = compressor.compress(m.data) + compressor.flush()
        else:
            payload = m.data
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        local = m.name if m.local_name is None else m.local_name
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, m.flags & 0xFFFF, m.method & 0xFFFF, 0, 33, crc & 0xFFFFFFFF,
            len(payload) & 0xFFFFFFFF, len(m.data) & 0xFFFFFFFF, len(local) & 0xFFFF, 0,
        )
        out += local[:0xFFFF] + payload
        records.append((m, crc, len(payload), offset))
    cd_start = len(out)
    for m, crc, plen, offset in records:
        usize = len(m.data) if m.usize is None else m.usize
        csize = plen if m.csize is None else m.csize
        off = offset if m.offset is None else m.offset
        extra = b""
        if m.zip64 or usize > 0xFFFFFFFF or csize > 0xFFFFFFFF or off > 0xFFFFFFFF:
            extra = struct.pack("<HHQQQ", 1, 24, usize & (2**64 - 1), csize & (2**64 - 1), off & (2**64 - 1))
            usize = csize = off = 0xFFFFFFFF
        extra += m.extra
        out += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, m.flags & 0xFFFF, m.method & 0xFFFF, 0, 33,
            crc & 0xFFFFFFFF, csize, usize, len(m.name[:0xFFFF]), len(extra[:0xFFFF]), 0, 0, 0, 0, off,
        )
        out += m.name[:0xFFFF] + extra[:0xFFFF]
    cd_size = len(out) - cd_start if lies.cd_size is None else lies.cd_size
    cd_offset = cd_start if lies.cd_offset is None else lies.cd_offset
    count = len(members) if lies.count is None else lies.count
    if lies.zip64_eocd or count > 0xFFFF or cd_size > 0xFFFFFFFF or cd_offset > 0xFFFFFFFF:
        eocd64 = len(out)
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count % 2**64, count % 2**64,
                           cd_size % 2**64, cd_offset % 2**64)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64, 1)
        count, cd_size, cd_offset = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, len(lies.comment[:0xFFFF]))
    return bytes(out + lies.comment[:0xFFFF])


ROOT_NAMES = [b"archive/data.pkl", b"archive/byteorder", b"archive/data/0", b"archive/data/1", b"archive/version"]
NAME_TRICKS = [
    b"../archive/data/0", b"archive/../../etc/passwd", b"/archive/data/0", b"/etc/passwd", b"archive\\data\\0",
    b"archive/data/0\x00.txt", b"archive/data.pkl\x00", b"\x00", b"archive/./data.pkl", b"archive//data.pkl",
    b"C:/archive/data.pkl", b"c:archive", b"archive/data/", b"archive/", b"", b".", b"..", b"archive/..",
    b"archive/data/\xff\xfe", "archive/données".encode(), b"archive/data/0 ", b"archive/data/0/", b"ARCHIVE/data.pkl",
    b"archive/data/0" + b"/x" * 300, b"archive/" + b"a" * 1000,
]


@st.composite
def member_names(draw: Any) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind < 5:
        return draw(st.sampled_from(ROOT_NAMES))
    if kind < 8:
        return draw(st.sampled_from(NAME_TRICKS))
    if kind == 8:
        return b"archive/" + b"n" * draw(st.integers(200, 65535 - 8))
    return draw(st.binary(max_size=24))


SIZE_LIES = [0, 1, 3, 4, 0xFFFF, 0xFFFFFFFF, 2**32, 4 << 30, (4 << 30) + 1, 8 << 30, 2**62, 2**63, 2**64 - 1]


@st.composite
def zip_members(draw: Any, nested: list[bytes]) -> ZipMember:
    name = draw(member_names())
    data = draw(st.one_of(st.binary(max_size=64), st.sampled_from(nested), st.just(b"\x00" * 4096)))
    m = ZipMember(name, data)
    m.method = draw(st.sampled_from([0, 0, 0, 8, 8, 1, 12, 14, 93, 99, 0xFFFF]))
    if draw(st.booleans()):
        m.flags = draw(st.sampled_from([1, 8, 0x800, 0x41, 0xFFFF]))
    if draw(st.integers(0, 3)) == 0:
        m.crc = draw(st.integers(0, 2**32 - 1))
    for attr in ("usize", "csize", "offset"):
        if draw(st.integers(0, 4)) == 0:
            setattr(m, attr, draw(st.sampled_from(SIZE_LIES) | st.integers(0, 2**64 - 1)))
    if draw(st.integers(0, 5)) == 0:
        m.local_name = draw(member_names())
    m.zip64 = draw(st.integers(0, 5)) == 0
    if draw(st.integers(0, 5)) == 0:
        m.extra = draw(st.sampled_from([b"\x01\x00\x08\x00" + b"\xff" * 8, b"\x01\x00\xff\xff", b"\x01", b"\x99\x99\x00\x00"]))
    return m


def _nested_archives() -> list[bytes]:
    """Archives to hide inside a member: an honest one and one with a live payload."""
    honest, storages = SEED_PICKLES[0]
    evil = b"\x80\x02" + live_payloads()[0] + b"."
    return [torch_zip(honest, storages), torch_zip(evil, {})]


NESTED_ARCHIVES = _nested_archives()


@st.composite
def random_archives(draw: Any) -> bytes:
    members = [draw(zip_members(NESTED_ARCHIVES)) for _ in range(draw(st.integers(0, 6)))]
    if draw(st.booleans()):  # usually start from a loadable archive and add the lies to it
        pickle_data, storages = draw(st.sampled_from(SEED_PICKLES))
        honest = [ZipMember(b"archive/data.pkl", pickle_data)]
        honest += [ZipMember(f"archive/data/{k}".encode(), v) for k, v in storages.items()]
        members = honest + members
        order = draw(st.permutations(range(len(members))))
        members = [members[i] for i in order]
    lies = ZipLies()
    if draw(st.integers(0, 3)) == 0:
        lies.count = draw(st.sampled_from([0, 1, 0xFFFF, 10_001, 2**32, 2**63]))
    if draw(st.integers(0, 4)) == 0:
        lies.cd_size = draw(st.sampled_from([0, 1, 46, 0xFFFFFFFF, 2**40]) | st.integers(0, 4096))
    if draw(st.integers(0, 4)) == 0:
        lies.cd_offset = draw(st.sampled_from([0, 1, 0xFFFFFFFF, 2**40]) | st.integers(0, 4096))
    if draw(st.integers(0, 5)) == 0:
        lies.comment = draw(st.sampled_from([b"PK\x05\x06" + bytes(18), b"x" * 100, b"PK\x01\x02"]))
    if draw(st.integers(0, 5)) == 0:
        lies.prefix = draw(st.sampled_from([b"PK\x03\x04", b"\x00" * 100, NESTED_ARCHIVES[1]]))
    lies.zip64_eocd = draw(st.integers(0, 6)) == 0
    data = build_zip(members, lies)
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


SEED_ARCHIVES = [torch_zip(p, s) for p, s in SEED_PICKLES[:4]] + [
    build_zip([ZipMember(b"archive/data.pkl", p, method=8)] + [ZipMember(f"archive/data/{k}".encode(), v, method=8) for k, v in s.items()])
    for p, s in SEED_PICKLES[4:6]
]


@st.composite
def mutated_archives(draw: Any) -> bytes:
    data = draw(st.sampled_from(SEED_ARCHIVES))
    snippets = [b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"../", b"\\"]
    return draw(mutations(data, snippets, limit=4))


def zip_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(random_archives(), mutated_archives())


# =============================================================================== safetensors

ST_DTYPES = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]
ST_ITEMSIZE = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
HUGE = [2**31, 2**32, 2**40, 2**53, 2**62, 2**63 - 1, 2**63, 2**64, 10**30]


@st.composite
def safetensors_files(draw: Any) -> bytes:
    """A consistent layout of a few tensors, then (usually) one or two lies in it."""
    header: dict[str, Any] = {}
    position = 0
    for i in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(ST_DTYPES))
        shape = draw(st.lists(st.integers(0, 4), max_size=3))
        nbytes = int(np.prod(shape, dtype=np.int64)) * ST_ITEMSIZE[dtype]
        header[f"t{i}"] = {"dtype": dtype, "shape": shape, "data_offsets": [position, position + nbytes]}
        position += nbytes
    data_len = position
    for _ in range(draw(st.integers(0, 2))):
        lie = draw(st.sampled_from(["dtype", "shape", "offsets", "keys", "name", "metadata", "data_len"]))
        if lie == "data_len":
            data_len = max(0, data_len + draw(st.integers(-8, 8)))
            continue
        if lie == "metadata":
            header["__metadata__"] = draw(st.sampled_from([{"a": "b"}, {"a": 1}, "x", None, [], {"a": {"b": "c"}}]))
            continue
        if not header:
            continue
        name = draw(st.sampled_from(sorted(header)))
        spec = header[name]
        if not isinstance(spec, dict):
            continue
        if lie == "dtype":
            spec["dtype"] = draw(st.sampled_from(["F8_E4M3", "U64", "c64", "", "f32", 5, None, ["F32"]]))
        elif lie == "shape":
            spec["shape"] = draw(st.one_of(
                st.lists(st.integers(-2, 5) | st.sampled_from(HUGE), max_size=5),
                st.lists(st.sampled_from(HUGE), min_size=1, max_size=3).map(lambda s: s + [0]),
                st.just([1] * 65), st.sampled_from([None, "3", [[1]], [1.5], [True], {}]),
            ))
        elif lie == "offsets":
            spec["data_offsets"] = draw(st.one_of(
                st.lists(st.integers(-3, position + 8) | st.sampled_from(HUGE), max_size=3),
                st.sampled_from([None, "0", [0.0, 4.0], [True, False]]),
            ))
        elif lie == "keys":
            spec[draw(st.sampled_from(["extra", "dtype", "shape"]))] = "x"
            if draw(st.booleans()):
                spec.pop("dtype", None)
        elif lie == "name":
            header[draw(st.sampled_from(["", "__metadata__", "é" * 100, "x" * 5000]))] = spec
    text = json.dumps(header).encode()
    form = draw(st.integers(0, 9))
    if form == 0:
        text = draw(st.sampled_from([
            b'{"a": 1, "a": 2}', b'{"t": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 0]}}', b"[" * 50_000,
            b'{"t": Infinity}', b"\xff\xfe{}", b'{"t": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 0]}}',
            b"{}", b"[]", b"null", b'"x"', b"{" + b" " * 1000 + b"}",
        ]))
    elif form == 1:
        text = draw(st.binary(max_size=64))
    header_len = len(text) + (pad := draw(st.integers(0, 3)))
    if draw(st.integers(0, 4)) == 0:
        header_len = draw(st.sampled_from([0, 1, len(text) - 1, len(text) + 100, 100 << 20, (100 << 20) + 1, 2**63, 2**64 - 1]))
        header_len = max(0, min(header_len, 2**64 - 1))
    payload = draw(st.binary(min_size=data_len, max_size=data_len)) if data_len <= 64 else bytes(data_len)
    data = struct.pack("<Q", header_len) + text + b" " * pad + payload
    if draw(st.integers(0, 6)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _valid_safetensors() -> list[bytes]:
    out = []
    for n in range(1, 4):
        header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
        blob = b""
        for i in range(n):
            raw = np.arange(i + 2, dtype="<f4").tobytes()
            header[f"w{i}"] = {"dtype": "F32", "shape": [i + 2], "data_offsets": [len(blob), len(blob) + len(raw)]}
            blob += raw
        text = json.dumps(header).encode()
        out.append(struct.pack("<Q", len(text)) + text + blob)
    return out


SEED_SAFETENSORS = _valid_safetensors()


@st.composite
def mutated_safetensors(draw: Any) -> bytes:
    data = draw(st.sampled_from(SEED_SAFETENSORS))
    return draw(mutations(data, [b"{", b"}", b'"', b",", b"9999999999", b"-1", b"[]", b"\\u0000"], limit=4))


def safetensors_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(safetensors_files(), mutated_safetensors())


# =============================================================================== state_dicts


def _fff_state(depth: int, width_in: int, hidden: int, width_out: int, master: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(depth * 100 + width_in)
    leaves, nodes = 1 << depth, (1 << depth) - 1
    state = {
        "node_weights": rng.standard_normal((nodes, width_in)).astype(np.float32),
        "node_biases": rng.standard_normal((nodes,)).astype(np.float32),
        "w1s": rng.standard_normal((leaves, width_in, hidden)).astype(np.float32),
        "b1s": rng.standard_normal((leaves, hidden)).astype(np.float32),
        "w2s": rng.standard_normal((leaves, hidden, width_out)).astype(np.float32),
        "b2s": rng.standard_normal((leaves, width_out)).astype(np.float32),
        "depth": np.array(depth, np.int64),
    }
    if master:
        state |= {
            "magic_w1": rng.standard_normal((1, width_in, master)).astype(np.float32),
            "magic_b1": np.zeros((1, master), np.float32),
            "magic_w2": np.zeros((1, master, width_out), np.float32),
            "magic_b2": np.zeros((1, width_out), np.float32),
            "k": np.array(0.5, np.float32),
        }
    return state


def _numpy_max_dims() -> int:
    """The most dimensions an ndarray may have: 64 from numpy 2.0 on, 32 before."""
    try:
        np.empty((1,) * 64, np.float32)
    except ValueError:  # numpy 1.x: "maximum supported dimension for an ndarray is 32, found 64"
        return 32
    return 64


# A tensor with as many dimensions as numpy allows (the checkpoint reader's own limit,
# pyfff.checkpoint.MAX_TENSOR_DIMS, is 64): more than 32 on numpy 2, exactly 32 on numpy 1.
NUMPY_MAX_DIMS = _numpy_max_dims()
WEIRD_ARRAYS = [
    np.empty((2**40, 0), np.int64), np.empty((0, 2**40), np.float32), np.empty((2**20, 2**20, 0), np.uint8),
    np.empty((0,), np.float32), np.zeros((1,) * NUMPY_MAX_DIMS, np.float32), np.array(np.nan, np.float32),
    np.array([np.inf, 1], np.float64), np.array([1e300], np.float64), np.array([True]), np.array([1 + 2j]),
    np.array(["x"]), np.zeros((3, 0, 2), np.float16), np.array(7, np.int8), np.array(2**62, np.uint64),
    np.zeros(100_000, np.uint8), np.array([1e-45], np.float64),
]


@st.composite
def state_dicts(draw: Any) -> dict[str, np.ndarray]:
    """A valid FFF state_dict (both layouts) with a few tensors removed, added, reshaped or retyped."""
    state = _fff_state(draw(st.integers(0, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                       draw(st.integers(1, 3)), draw(st.sampled_from([0, 0, 2])))
    names = ["depth", "node_weights", "node_biases", "w1s", "b1s", "w2s", "b2s", "magic_w1", "magic_b1",
             "magic_w2", "magic_b2", "k", "leaf_usage", "node_usage", "f", "extra", "sub.node_weights"]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names))
        edit = draw(st.sampled_from(["weird", "drop", "reshape", "retype", "nan"]))
        if edit == "weird":
            state[name] = draw(st.sampled_from(WEIRD_ARRAYS))
        elif edit == "drop":
            state.pop(name, None)
        elif name in state and edit == "reshape":
            state[name] = np.zeros(tuple(draw(st.lists(st.integers(0, 4), max_size=4))), state[name].dtype)
        elif name in state and edit == "retype" and state[name].dtype.kind in "biufc":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state[name] = state[name].astype(draw(st.sampled_from(["float64", "float16", "int32", "bool", "complex64"])))
        elif name in state and state[name].size and state[name].dtype.kind == "f":
            state[name] = state[name].copy()
            state[name].reshape(-1)[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    if draw(st.booleans()):
        state = {f"layer.{k}": v for k, v in state.items()}
    return state


# =============================================================================== FFF model files


def _decoded_sections(data: bytes) -> tuple[list[fmt.RawSection], dict[str, int]]:
    """The sections of a valid file as RawSections with their decoded payloads, and its header."""
    sections = []
    described = fmt.describe(data)
    header = {k: described[k] for k in ("minor", "header_flags", "trailer_reserved")}
    for entry in described["sections"]:
        stored = data[entry["offset"] : entry["offset"] + entry["stored_length"]]
        section = fmt.RawSection(
            entry["type"].encode(), stored, critical=entry["critical"], codec=entry["codec"],
            filter=entry["filter"], unit=entry["filter_unit"], zstd_level=1,
        )
        try:
            payload = zstandard.ZstdDecompressor().decompressobj().decompress(stored) if entry["codec"] == 1 else stored
        except zstandard.ZstdError:  # an ancillary section nobody decodes: keep its bytes as they are
            section.stored_override, section.decoded_length_override = stored, entry["decoded_length"]
        else:
            if entry["filter"] == 1 and entry["filter_unit"] and len(payload) % entry["filter_unit"] == 0:
                n = len(payload) // entry["filter_unit"]
                payload = np.frombuffer(payload, np.uint8).reshape(entry["filter_unit"], n).T.tobytes()
            section.payload = payload
        sections.append(section)
    return sections, header


def _fixture_files() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.fff"))] if FIXTURES.is_dir() else []


FIXTURE_FILES = _fixture_files()
FIXTURE_SECTIONS = [_decoded_sections(d) for d in FIXTURE_FILES]



@st.composite
def random_models(draw: Any) -> tuple[list[fmt.RawSection], dict[str, int]]:
    """A small valid model (random sizes, options, labels, metadata) as sections to break."""
    i, o, d, h = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(0, 3)), draw(st.integers(1, 3))
    m = draw(st.sampled_from([0, 0, 1, 2]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    leaves, nodes = 1 << d, (1 << d) - 1

    def arr(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    master = fmt.MasterLeaf(arr(i, m), arr(m), arr(m, o), arr(o), 0.25) if m else None
    prep = draw(st.sampled_from([None, 1, i]))
    model = fmt.Model(
        input_width=i, output_width=o, depth=d, leaf_width=h,
        activation=draw(st.sampled_from(fmt.ACTIVATIONS)),
        node_weights=arr(nodes, i), node_biases=arr(nodes), w1=arr(leaves, i, h), b1=arr(leaves, h),
        w2=arr(leaves, h, o), b2=arr(leaves, o), master=master,
        prep_scale=None if prep is None else arr(prep), prep_offset=None if prep is None else arr(prep),
        labels=[f"l{j}" for j in range(o)] if draw(st.booleans()) else None,
        metadata=[("name", "x"), ("k", "é")] if draw(st.booleans()) else [],
    )
    codec = draw(st.sampled_from(["zstd", "none"]))
    return fmt.model_sections(model, codec=codec, shuffle=draw(st.booleans()), level=1), {}


INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 24, 25, 64, 255, 256, 1024, 1025, 2**16, 2**16 + 1, 2**24, 2**24 + 1, 2**31, 2**32 - 1]
INTERESTING_U64 = INTERESTING_U32 + [2**34, 2**34 + 1, 2**40, 2**63, 2**64 - 1]


@st.composite
def section_edits(draw: Any, file: tuple[list[fmt.RawSection], dict[str, int]]) -> bytes:
    """Re-assemble a file's sections after edits to payloads, entries and the header.

    The checksums stay valid, so the edits reach the checks behind them.
    """
    sections = [fmt.RawSection(**{k: getattr(s, k) for k in s.__dataclass_fields__}) for s in file[0]]
    header = dict(file[1])
    for _ in range(draw(st.integers(0, 3))):
        if not sections:
            break
        s = draw(st.sampled_from(sections))
        edit = draw(st.integers(0, 14))
        if edit == 0 and len(s.payload) >= 4:  # a u32 field of the payload (MODL fields, counts, lengths)
            pos = draw(st.integers(0, len(s.payload) // 4 - 1)) * 4
            s.payload = s.payload[:pos] + struct.pack("<I", draw(st.sampled_from(INTERESTING_U32))) + s.payload[pos + 4 :]
        elif edit == 1 and s.payload:  # a byte of the payload
            pos = draw(st.integers(0, len(s.payload) - 1))
            s.payload = s.payload[:pos] + bytes([draw(st.integers(0, 255))]) + s.payload[pos + 1 :]
        elif edit == 2 and len(s.payload) >= 4:  # a float of the payload
            pos = draw(st.integers(0, len(s.payload) // 4 - 1)) * 4
            value = draw(st.sampled_from([np.nan, np.inf, -np.inf, -0.0, 3.4e38, 1e-45]))
            s.payload = s.payload[:pos] + struct.pack("<f", value) + s.payload[pos + 4 :]
        elif edit == 3:
            s.payload = s.payload[: draw(st.integers(0, len(s.payload)))] + draw(st.binary(max_size=8))
        elif edit == 4:
            s.codec, s.filter = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            s.unit = draw(st.sampled_from([0, 1, 2, 3, 4, 8, 16, 255]))
        elif edit == 5:
            s.type = draw(st.sampled_from([b"MODL", b"NODW", b"LFW1", b"LABL", b"META", b"PREP", b"XTRA", b"xtra", b"MS W", b"\x00\x00\x00\x00"]))
        elif edit == 6:
            s.critical = not s.critical
        elif edit == 7:
            s.flags_override = draw(st.sampled_from([2, 0x80000000, 0xFFFFFFFF, 3]))
        elif edit == 8:
            sections.remove(s)
        elif edit == 9:
            sections.insert(draw(st.integers(0, len(sections))), fmt.RawSection(**{k: getattr(s, k) for k in s.__dataclass_fields__}))
        elif edit == 10:
            sections.insert(draw(st.integers(0, len(sections))), fmt.RawSection(
                draw(st.sampled_from([b"XTRA", b"Xtra", b"ZZZZ"])), draw(st.binary(max_size=16)), critical=draw(st.booleans()),
                codec=draw(st.integers(0, 1)), filter=0, unit=0))
        elif edit == 11:
            s.decoded_length_override = draw(st.sampled_from(INTERESTING_U64))
        elif edit == 12:
            s.stored_length_override = draw(st.sampled_from(INTERESTING_U64))
        elif edit == 13:
            s.stored_override = draw(st.sampled_from([
                b"", b"\x28\xb5\x2f\xfd", zstandard.ZstdCompressor(write_content_size=False).compress(s.payload),
                zstandard.ZstdCompressor().compress(s.payload) * 2, zstandard.ZstdCompressor().compress(bytes(1 << 16)),
                b"\x50\x2a\x4d\x18\x00\x00\x00\x00" + zstandard.ZstdCompressor().compress(s.payload),
            ]))
        elif edit == 14:
            s.reserved, s.padding_byte = draw(st.integers(0, 255)), draw(st.integers(0, 255))
            s.zstd_checksum = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(["major", "minor", "header_flags", "section_count", "file_length", "trailer_reserved"]))
        header[key] = draw(st.sampled_from(INTERESTING_U32 if key != "file_length" else INTERESTING_U64))
        if key in ("major", "minor"):
            header[key] &= 0xFFFF
        if key == "file_length":
            header[key] &= 2**64 - 1
    if not sections:
        sections = [fmt.RawSection(b"MODL", bytes(64))]
    try:
        return fmt.assemble(sections, **header)
    except (struct.error, OverflowError, ValueError, fmt.FormatError):
        return fmt.assemble(sections, **file[1])


@st.composite
def mutated_fff(draw: Any) -> bytes:
    data = draw(st.sampled_from(FIXTURE_FILES)) if FIXTURE_FILES else b""
    data = draw(mutations(data, [fmt.MAGIC, b"MODL", b"XTRA", b"\x00" * 8, b"\xff" * 8, b"\x28\xb5\x2f\xfd"], limit=4))
    return fmt.recompute_checksums(data) if draw(st.integers(0, 3)) else data


def format_inputs() -> st.SearchStrategy[bytes]:
    sections = st.sampled_from(FIXTURE_SECTIONS) if FIXTURE_SECTIONS else random_models()
    return st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=200).map(lambda b: fmt.recompute_checksums(fmt.MAGIC + b)),
        mutated_fff(),
        sections.flatmap(section_edits),
        random_models().flatmap(section_edits),
    )


# =============================================================================== targets


@dataclass
class Target:
    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Harness, Any], Any]
    reproducer: Callable[[Harness, Any], bytes] = field(default=lambda h, x: x)


def _check_pickle(harness: Harness, data: bytes) -> Any:
    return check_checkpoint_bytes(harness, pickle_archive(data))


TARGETS = {
    "pickle": Target("pickle", pickle_inputs, _check_pickle, lambda h, x: pickle_archive(x)),
    "zip": Target("zip", zip_inputs, check_checkpoint_bytes),
    "safetensors": Target("safetensors", safetensors_inputs, check_checkpoint_bytes),
    "convert": Target("convert", state_dicts, check_state_dict, lambda h, x: pickle.dumps(x)),
    "format": Target("format", format_inputs, check_format_bytes),
}


def hypothesis_settings(max_examples: int, **kwargs: Any) -> settings:
    return settings(
        max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
        **kwargs,
    )


def fuzz(target: Target, seconds: float, harness: Harness, out: Path, batch: int = 300) -> list[str]:
    """Run ``target`` in hypothesis batches (fresh seeds) until ``seconds`` have passed."""
    stop = time.monotonic() + seconds
    findings: dict[str, str] = {}
    last: list[Any] = [None]

    @hypothesis_settings(batch, phases=[Phase.generate, Phase.shrink], verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @given(target.strategy())
    def prop(example: Any) -> None:
        if time.monotonic() > stop:
            return
        try:
            target.check(harness, example)
        except Violation:
            last[0] = example  # hypothesis replays the shrunk example last
            raise

    while time.monotonic() < stop:
        try:
            prop()
        except Exception as err:  # noqa: BLE001 - Violation, or hypothesis' FlakyFailure around one
            inner = err.exceptions[0] if isinstance(err, BaseExceptionGroup) and err.exceptions else err
            if not isinstance(inner, Violation):
                inner = Violation(f"{type(err).__name__}: {str(inner)[:300]}")
            err = inner
            key = re.sub(r"\d+", "N", str(err))[:80]
            if key not in findings:
                path = out / f"finding-{target.name}-{len(findings) + 1}.bin"
                if last[0] is None:  # not from a check: the strategy itself failed
                    path.write_text(f"{err}\n")
                else:
                    path.write_bytes(target.reproducer(harness, last[0]))
                findings[key] = f"{err} (reproducer: {path})"
                print(f"  FINDING [{target.name}] {err}\n    reproducer: {path}", flush=True)
    return list(findings.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seconds", type=float, help="total time budget, split evenly between the targets")
    parser.add_argument("--target", default="pickle,zip", help=f"comma-separated, from {', '.join(TARGETS)} or 'all' (default: pickle,zip)")
    parser.add_argument("--out", help="directory for reproducers (default: a new fff-fuzz-* directory in $TMPDIR)")
    args = parser.parse_args(argv)
    names = list(TARGETS) if args.target == "all" else args.target.split(",")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="fff-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"reproducers and work files: {out}")
    total_findings = 0
    for name in names:
        harness = Harness(out / f"work-{name}")  # under --out: a crash leaves its input there
        started = time.monotonic()
        print(f"[{name}] fuzzing for {args.seconds / len(names):.0f} s", flush=True)
        findings = fuzz(TARGETS[name], args.seconds / len(names), harness, out)
        elapsed = time.monotonic() - started
        total_findings += len(findings)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(f"[{name}] {harness.runs} executions in {elapsed:.0f} s ({harness.runs / elapsed:.0f}/s), "
              f"{len(findings)} finding(s); process peak RSS so far {rss} MiB")
        for outcome, count in harness.outcomes.most_common(15):
            print(f"    {count:7d}  {outcome}")
        if len(harness.outcomes) > 15:
            print(f"    ... and {len(harness.outcomes) - 15} more outcome classes")
    print(f"total: {total_findings} finding(s)")
    return 1 if total_findings else 0


if __name__ == "__main__":
    sys.exit(main())
