"""Model and FFFError: the Python face of the C API (see the package docstring)."""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any, Iterator, Union

import numpy as np

from . import _capi

__all__ = ["FFFError", "Model"]

# Records that need converting (another dtype, a strided or unaligned layout) go through the C
# call in blocks of about this many float32 values (4 MiB), converted into a per-thread buffer
# that stays in cache, rather than as one converted copy of the whole input: faster than
# numpy's astype followed by one call (uint8 MNIST: 0.37 instead of 0.47 µs per record).
CONVERSION_BLOCK_VALUES = 1 << 20

PathLike = Union[str, "os.PathLike[str]", bytes, "os.PathLike[bytes]"]


class FFFError(ValueError):
    """A model file the spec rejects, or a call the C API refused.

    Attributes:
        code: the spec's error code name (spec/FORMAT.md §17): ``"bad-magic"``,
            ``"checksum-mismatch"``, ``"io-error"``, ...; or the C API's own
            ``"invalid-argument"``, ``"workspace-mismatch"``, ``"kernel-unavailable"``.
        status: the same as the C API's number (1 ... 20 are the spec's, 100 and above the API's).
        section: the four-character section concerned (``"LFW1"``), or None.
        offset: the byte offset in the file of the offending field, or None when not known.
        message: the C API's message, ``"<code>: <what is wrong> (section S, offset N)"``.
    """

    def __init__(self, message: str, code: str, status: int, section: str | None = None,
                 offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.section = section
        self.offset = offset

    def __reduce__(self) -> Any:  # picklable (multiprocessing, Spark)
        return (FFFError, (self.message, self.code, self.status, self.section, self.offset))


def _raise(status: int, error: _capi.Error, context: str = "") -> None:
    code = _capi.status_name(status)
    message = error.message.decode("utf-8", "replace") or code
    section = error.section.decode("ascii", "replace") or None
    offset = int(error.offset) if error.offset >= 0 else None
    raise FFFError(f"{context}{message}", code, int(status), section, offset)


def _read_string(address: int | None, length: ctypes.c_size_t) -> bytes:
    return b"" if not address else ctypes.string_at(address, length.value)


class _Workspace:
    """One thread's fff_workspace and fff_error (created lazily by Model, one per thread)."""

    __slots__ = ("handle", "error", "error_address", "_free", "_buffer", "__weakref__")

    def __init__(self, model_handle: int) -> None:
        self.error = _capi.Error()
        self.error_address = ctypes.addressof(self.error)
        handle = ctypes.c_void_p()
        status = _capi.api.workspace_create(model_handle, 0, ctypes.addressof(handle), self.error_address)
        if status != _capi.FFF_OK:
            _raise(status, self.error, "cannot create a workspace: ")
        self.handle: int = handle.value
        self._free = _capi.api.workspace_free  # kept: module globals may be gone at interpreter exit
        self._buffer: np.ndarray | None = None

    def buffer(self, rows: int, width: int) -> np.ndarray:
        """This thread's float32 [rows, width] scratch for converting records (grown on demand)."""
        if self._buffer is None or self._buffer.shape[0] < rows or self._buffer.shape[1] != width:
            self._buffer = np.empty((rows, width), np.float32)
        return self._buffer[:rows]

    def __del__(self) -> None:
        handle, self.handle = getattr(self, "handle", None), None
        if handle:
            self._free(handle)


class Model:
    """A loaded ``.fff`` model: immutable, validated by every check of the spec, shared by threads.

    ``Model(path)`` reads a file; :meth:`from_bytes` reads a whole file's bytes. A file the spec
    rejects raises :class:`FFFError` with the spec's code (``err.code == "checksum-mismatch"``).

    Inference (:meth:`predict`, :meth:`classify`, :meth:`leaf`) takes records of shape ``[N, I]``
    (or one record of shape ``[I]``) and runs in native code without holding the GIL: one model
    may serve any number of threads at once, each with its own scratch memory (a workspace,
    created on the thread's first call and freed when the thread or the model goes away).

    NaN and infinite inputs are not rejected, as in the C API: they run through the spec's
    arithmetic (a NaN node score descends to child ``2n + 1``, spec §14.1; NaN outputs propagate;
    :meth:`classify` counts a NaN output as the greatest, as ``numpy.argmax`` does). Check
    ``numpy.isfinite(x).all()`` first when your data may hold them (``fffrun`` refuses them).
    """

    _handle: int | None = None

    def __init__(self, path: PathLike) -> None:
        """Load the model in the file at ``path`` (str, bytes or os.PathLike).

        Raises:
            FFFError: the file is not a valid model (the spec's code), or cannot be read
                (``code == "io-error"``).
            TypeError: ``path`` is not a path.
        """
        encoded = os.fsencode(path)  # TypeError for non-paths
        if b"\0" in encoded:
            raise ValueError("the model path contains a NUL byte (to load a file's contents, use Model.from_bytes)")
        error = _capi.Error()
        handle = ctypes.c_void_p()
        status = _capi.api.model_load_path(encoded, ctypes.addressof(handle), ctypes.addressof(error))
        if status != _capi.FFF_OK:
            _raise(status, error)
        self._adopt(handle.value)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview | np.ndarray) -> "Model":
        """Load a model from the bytes of a whole ``.fff`` file (any object with the buffer protocol).

        The bytes are read during the call only (the model keeps what it needs).

        Raises:
            FFFError: the bytes are not a valid model (the spec's code, e.g. ``"truncated"``).
            TypeError: ``data`` is not a bytes-like object.
        """
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(f"Model.from_bytes takes a bytes-like object, not {type(data).__name__}") from None
        if not view.c_contiguous:
            view = memoryview(view.tobytes())
        buffer = np.frombuffer(view.cast("B"), dtype=np.uint8)
        error = _capi.Error()
        handle = ctypes.c_void_p()
        status = _capi.api.model_load_bytes(buffer.ctypes.data if buffer.size else None, buffer.size,
                                            ctypes.addressof(handle), ctypes.addressof(error))
        if status != _capi.FFF_OK:
            _raise(status, error)
        model = cls.__new__(cls)
        model._adopt(handle.value)
        return model

    def _adopt(self, handle: int) -> None:
        api = _capi.api
        self._handle = handle
        self._free = api.model_free
        self._local = threading.local()
        self._input_width = int(api.model_input_width(handle))
        self._output_width = int(api.model_output_width(handle))
        self._depth = int(api.model_depth(handle))
        self._leaf_width = int(api.model_leaf_width(handle))
        self._master_width = int(api.model_master_width(handle))
        self._activation = api.model_activation(handle).decode("ascii")
        self._weight_type = api.model_weight_type(handle).decode("ascii")
        self._node_type = api.model_node_type(handle).decode("ascii")
        self._kernel = api.model_kernel(handle).decode("ascii")
        self._packed_bytes = int(api.model_packed_bytes(handle))
        length = ctypes.c_size_t()
        count = int(api.model_label_count(handle))
        self._labels = [
            _read_string(api.model_label(handle, i, ctypes.addressof(length)), length).decode("utf-8")
            for i in range(count)
        ] if count else None
        items = []
        for i in range(int(api.model_metadata_count(handle))):
            key = _read_string(api.model_metadata_key(handle, i, ctypes.addressof(length)), length).decode("ascii")
            value = _read_string(api.model_metadata_value(handle, i, ctypes.addressof(length)), length).decode("utf-8")
            items.append((key, value))
        self._metadata_items = items
        if api.model_has_preprocessing(handle):
            scale = np.empty(self._input_width, np.float32)
            offset = np.empty(self._input_width, np.float32)
            s, o, error = ctypes.c_float(), ctypes.c_float(), _capi.Error()
            for i in range(self._input_width):
                status = api.model_preprocessing(handle, i, ctypes.addressof(s), ctypes.addressof(o),
                                                 ctypes.addressof(error))
                if status != _capi.FFF_OK:
                    _raise(status, error)
                scale[i], offset[i] = s.value, o.value
            scale.flags.writeable = offset.flags.writeable = False
            self._preprocessing: tuple[np.ndarray, np.ndarray] | None = (scale, offset)
        else:
            self._preprocessing = None

    def __del__(self) -> None:
        # A call in progress holds a reference to the model, so none can be running here.
        handle, self._handle = self._handle, None
        if handle:
            self._local = None  # this thread's workspace first (they do not reference the model)
            self._free(handle)

    # -- description -------------------------------------------------------------------------

    @property
    def input_width(self) -> int:
        """I: features per record."""
        return self._input_width

    @property
    def output_width(self) -> int:
        """O: outputs (classes) per record."""
        return self._output_width

    @property
    def depth(self) -> int:
        """d: the tree has 2**d leaves and 2**d - 1 nodes (0: a single leaf)."""
        return self._depth

    @property
    def leaf_count(self) -> int:
        """2**depth."""
        return 1 << self._depth

    @property
    def leaf_width(self) -> int:
        """H: hidden units of every leaf."""
        return self._leaf_width

    @property
    def master_width(self) -> int:
        """M: hidden units of the master leaf; 0 without one."""
        return self._master_width

    @property
    def activation(self) -> str:
        """The hidden activation by its spec name: "relu", "gelu", "gelu-tanh", "silu", ..."""
        return self._activation

    @property
    def weight_type(self) -> str:
        """Element type of the leaf and master weights: "float32", "float16", "bfloat16" or "int8-row"."""
        return self._weight_type

    @property
    def node_type(self) -> str:
        """Element type of the node weights ("float32" at depth 0)."""
        return self._node_type

    @property
    def kernel(self) -> str:
        """The compute kernel this model runs: "avx512", "avx2" or "portable" (FFF_KERNEL forces one)."""
        return self._kernel

    @property
    def packed_bytes(self) -> int:
        """Bytes of packed parameters the model holds in memory."""
        return self._packed_bytes

    @property
    def labels(self) -> list[str] | None:
        """The class labels (one per output), or None when the model names no classes."""
        return None if self._labels is None else list(self._labels)

    @property
    def metadata(self) -> dict[str, str]:
        """The metadata (spec §13) as a dict; for a key that repeats, its first value."""
        result: dict[str, str] = {}
        for key, value in self._metadata_items:
            result.setdefault(key, value)
        return result

    @property
    def metadata_items(self) -> list[tuple[str, str]]:
        """Every metadata pair in file order (keys may repeat)."""
        return list(self._metadata_items)

    @property
    def preprocessing(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(scale, offset), float32 arrays of length I (x = raw * scale + offset, spec §8), or None."""
        return self._preprocessing

    def __repr__(self) -> str:
        master = f", master {self._master_width}" if self._master_width else ""
        return (f"<fastfeedforward.Model {self._input_width} -> {self._output_width}, depth {self._depth}, "
                f"leaf {self._leaf_width}{master}, {self._activation}, {self._weight_type}>")

    # -- inference -----------------------------------------------------------------------------

    def _workspace(self) -> _Workspace:
        workspace = getattr(self._local, "workspace", None)
        if workspace is None:
            workspace = self._local.workspace = _Workspace(self._handle)
        return workspace

    def _prepare(self, x: Any, what: str) -> tuple[np.ndarray, bool]:
        """x checked and seen as [N, I] (without copying or converting anything yet), and
        whether x was one record."""
        array = x if isinstance(x, np.ndarray) else np.asarray(x)
        if array.dtype != np.float32 and array.dtype.kind not in "fiu":
            raise TypeError(
                f"{what}: records must be numbers (float32, or float64, uint8 or another real type, "
                f"converted to float32), not dtype {array.dtype}"
            )
        width = self._input_width
        if array.ndim == 1:
            if array.shape[0] != width:
                raise ValueError(f"{what}: one record must have the model's {width} features, got shape {array.shape}")
            return array.reshape(1, width), True
        if array.ndim == 2:
            if array.shape[1] != width:
                raise ValueError(
                    f"{what}: records must have shape (N, {width}) for this model ({width} features), "
                    f"got shape {array.shape}"
                )
            return array, False
        raise ValueError(f"{what}: records must have shape (N, {width}) or ({width},), got shape {array.shape}")

    def _blocks(self, records: np.ndarray, workspace: _Workspace) -> Iterator[tuple[int, int, int]]:
        """(address of float32 records, first row, row count) covering every row of records:
        records' own memory when it is C-contiguous, aligned float32 (no copy), else blocks
        converted into the workspace's buffer."""
        count = records.shape[0]
        if records.dtype == np.float32 and records.flags.c_contiguous and records.flags.aligned:
            yield records.ctypes.data, 0, count
            return
        block = max(1, min(count, CONVERSION_BLOCK_VALUES // self._input_width))
        buffer = workspace.buffer(block, self._input_width)
        for start in range(0, count, block):
            rows = min(block, count - start)
            np.copyto(buffer[:rows], records[start:start + rows], casting="unsafe")  # astype's conversion
            yield buffer.ctypes.data, start, rows

    @staticmethod
    def _flags(raw: bool) -> int:
        return _capi.FFF_INPUT_RAW if raw else _capi.FFF_INPUT_PREPROCESSED

    def predict(self, x: Any, raw: bool = True) -> np.ndarray:
        """The model's outputs (spec §14) for records ``x``.

        Args:
            x: ``[N, I]`` records (or one ``[I]`` record): float32 is used as it is, without a copy
                when C-contiguous; float64, uint8 and other real types (and strided arrays) are
                converted to float32 as ``astype`` does, block by block.
            raw: True (default): x holds raw features and the model's preprocessing
                (x * scale + offset) applies; False: x is already preprocessed.

        Returns:
            float32 array ``[N, O]`` (``[O]`` for one record).

        Raises:
            ValueError: x does not have the model's input width, or has more than 2 dimensions.
            TypeError: x does not hold real numbers.
        """
        records, single = self._prepare(x, "predict")
        outputs = np.empty((records.shape[0], self._output_width), np.float32)
        workspace = self._workspace()
        base, row_bytes = outputs.ctypes.data, outputs.strides[0]
        for address, start, count in self._blocks(records, workspace):
            status = _capi.api.batch_predict(self._handle, workspace.handle, address, count, self._input_width,
                                             self._flags(raw), base + start * row_bytes, self._output_width,
                                             None, workspace.error_address)
            if status != _capi.FFF_OK:
                _raise(status, workspace.error)
        return outputs[0] if single else outputs

    def classify(self, x: Any, raw: bool = True) -> np.ndarray | np.int64:
        """The predicted class of records ``x``: the smallest index of the greatest output (spec §14.2).

        A NaN output counts as the greatest (as numpy's argmax). ``x`` and ``raw`` as in
        :meth:`predict`. Map indices to names with :attr:`labels`.

        Returns:
            int64 array ``[N]`` of class indices, or one ``numpy.int64`` for one ``[I]`` record.
        """
        records, single = self._prepare(x, "classify")
        results = np.empty(records.shape[0], _capi.CLASSIFICATION)
        workspace = self._workspace()
        base = results.ctypes.data
        for address, start, count in self._blocks(records, workspace):
            status = _capi.api.batch_classify(self._handle, workspace.handle, address, count, self._input_width,
                                              self._flags(raw), base + start * _capi.CLASSIFICATION.itemsize,
                                              workspace.error_address)
            if status != _capi.FFF_OK:
                _raise(status, workspace.error)
        indices = results["index"].astype(np.int64)
        return indices[0] if single else indices

    def leaf(self, x: Any, raw: bool = True) -> np.ndarray | np.int64:
        """The leaf (0 ... 2**depth - 1) each record descends to (spec §14.1), no leaf evaluated.

        ``x`` and ``raw`` as in :meth:`predict`.

        Returns:
            int64 array ``[N]`` of leaf indices, or one ``numpy.int64`` for one ``[I]`` record.
        """
        records, single = self._prepare(x, "leaf")
        leaves = np.empty(records.shape[0], np.int32)
        workspace = self._workspace()
        base = leaves.ctypes.data
        for address, start, count in self._blocks(records, workspace):
            status = _capi.api.batch_leaf(self._handle, workspace.handle, address, count, self._input_width,
                                          self._flags(raw), base + start * 4, workspace.error_address)
            if status != _capi.FFF_OK:
                _raise(status, workspace.error)
        result = leaves.astype(np.int64)
        return result[0] if single else result
