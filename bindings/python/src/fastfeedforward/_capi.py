"""ctypes declarations of the C API (Sources/CFastFeedforward/include/fastfeedforward.h).

The library is the ``libfastfeedforward_c.so`` installed inside this package (setup.py copies it
there), loaded by absolute path; ``$FASTFEEDFORWARD_LIBRARY`` names another one (development).
Loaded with ``ctypes.CDLL``, whose foreign calls release the GIL: inference in several Python
threads runs in parallel. The ABI is checked at import (``fff_abi_version() == ABI_VERSION``).

Private: the public API is :mod:`fastfeedforward`. Tests replace the inference entries of
:data:`api` (a plain namespace) to watch what the C functions receive.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

# FFF_ABI_VERSION of the header these declarations follow.
ABI_VERSION = 1
LIBRARY_NAME = "libfastfeedforward_c.so"

FFF_OK = 0
FFF_INPUT_RAW = 0
FFF_INPUT_PREPROCESSED = 1
ERROR_MESSAGE_CAPACITY = 512


class Error(ctypes.Structure):
    """``fff_error``: code, section (4 characters or ""), offset (-1: unknown), message."""

    _fields_ = [
        ("code", ctypes.c_int),
        ("section", ctypes.c_char * 8),
        ("offset", ctypes.c_int64),
        ("message", ctypes.c_char * ERROR_MESSAGE_CAPACITY),
    ]


# ``fff_classification`` as a numpy record: the batch call writes an array of them.
CLASSIFICATION = np.dtype([("index", np.int32), ("score", np.float32), ("leaf", np.int32)])


class _Classification(ctypes.Structure):
    _fields_ = [("index", ctypes.c_int32), ("score", ctypes.c_float), ("leaf", ctypes.c_int32)]


assert CLASSIFICATION.itemsize == ctypes.sizeof(_Classification) == 12

_c_size = ctypes.c_size_t
_p = ctypes.c_void_p  # every pointer is passed as an address (int) or NULL (None)
_status = ctypes.c_int

# name: (restype, argtypes)
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "fff_version": (ctypes.c_char_p, []),
    "fff_abi_version": (ctypes.c_uint32, []),
    "fff_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "fff_model_load_path": (_status, [ctypes.c_char_p, _p, _p]),
    "fff_model_load_bytes": (_status, [_p, _c_size, _p, _p]),
    "fff_model_free": (None, [_p]),
    "fff_model_input_width": (_c_size, [_p]),
    "fff_model_output_width": (_c_size, [_p]),
    "fff_model_depth": (_c_size, [_p]),
    "fff_model_leaf_count": (_c_size, [_p]),
    "fff_model_leaf_width": (_c_size, [_p]),
    "fff_model_master_width": (_c_size, [_p]),
    "fff_model_activation": (ctypes.c_char_p, [_p]),
    "fff_model_weight_type": (ctypes.c_char_p, [_p]),
    "fff_model_node_type": (ctypes.c_char_p, [_p]),
    "fff_model_kernel": (ctypes.c_char_p, [_p]),
    "fff_model_packed_bytes": (_c_size, [_p]),
    "fff_model_has_preprocessing": (ctypes.c_int, [_p]),
    "fff_model_preprocessing": (_status, [_p, _c_size, _p, _p, _p]),
    "fff_model_label_count": (_c_size, [_p]),
    # Strings that may hold the byte 0 come back as addresses, read with their lengths.
    "fff_model_label": (_p, [_p, _c_size, _p]),
    "fff_model_metadata_count": (_c_size, [_p]),
    "fff_model_metadata_key": (_p, [_p, _c_size, _p]),
    "fff_model_metadata_value": (_p, [_p, _c_size, _p]),
    "fff_workspace_create": (_status, [_p, _c_size, _p, _p]),
    "fff_workspace_free": (None, [_p]),
    "fff_workspace_batch_capacity": (_c_size, [_p]),
    "fff_workspace_fits": (ctypes.c_int, [_p, _p]),
    # model, workspace, records, count, input_width, flags, outputs, output_width, leaves, error
    "fff_batch_predict": (_status, [_p, _p, _p, _c_size, _c_size, ctypes.c_uint32, _p, _c_size, _p, _p]),
    # model, workspace, records, count, input_width, flags, results, error
    "fff_batch_classify": (_status, [_p, _p, _p, _c_size, _c_size, ctypes.c_uint32, _p, _p]),
    # model, workspace, records, count, input_width, flags, leaves, error
    "fff_batch_leaf": (_status, [_p, _p, _p, _c_size, _c_size, ctypes.c_uint32, _p, _p]),
}


def library_path() -> Path:
    """Where the native library is: $FASTFEEDFORWARD_LIBRARY, else the one inside this package."""
    given = os.environ.get("FASTFEEDFORWARD_LIBRARY")
    if given:
        return Path(given)
    return Path(__file__).resolve().parent / LIBRARY_NAME


def check_abi(found: int, path: Path | str) -> None:
    """ImportError unless the library's ABI is the one these declarations follow."""
    if found != ABI_VERSION:
        raise ImportError(
            f"fastfeedforward: {path} has C API ABI version {found}, but this package was written for "
            f"ABI version {ABI_VERSION}: reinstall the package from the same checkout as the library "
            "(python3 -m pip install ./bindings/python)"
        )


def _load() -> tuple[ctypes.CDLL, SimpleNamespace]:
    path = library_path()
    if not path.is_file():
        raise ImportError(
            f"fastfeedforward: the native library {path} is missing. The package ships it when installed "
            "with `python3 -m pip install ./bindings/python` from a FastFeedforward clone (which builds it "
            "with swift); importing the sources directly does not work unless $FASTFEEDFORWARD_LIBRARY names "
            "a built libfastfeedforward_c.so"
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as error:
        raise ImportError(
            f"fastfeedforward: cannot load {path}: {error}. The library needs libzstd (libzstd1) and the Swift "
            "runtime libraries of the toolchain it was built with (found through its RUNPATH)"
        ) from error
    functions = {}
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            function = getattr(lib, name)
        except AttributeError as error:
            raise ImportError(f"fastfeedforward: {path} does not export {name}: not the library of this package") from error
        function.restype = restype
        function.argtypes = argtypes
        functions[name[4:]] = function  # "fff_batch_predict" -> api.batch_predict
    check_abi(int(functions["abi_version"]()), path)
    return lib, SimpleNamespace(**functions)


library, api = _load()
path = library_path()
version: str = api.version().decode("utf-8")
abi_version: int = int(api.abi_version())


def status_name(status: int) -> str:
    """The spec's name of a status ("bad-magic", ...), "invalid-argument" and the like."""
    return api.status_name(status).decode("ascii")
