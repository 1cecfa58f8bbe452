"""Read IDX files (the MNIST distribution format), plain or gzip-compressed.

The header is trusted for nothing: the element count is bounded before any data is read, and
the data must fill the dimensions exactly, with no byte missing or left over, so a truncated
download or a wrong file fails loudly instead of yielding a silently misshapen array.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

__all__ = ["IdxError", "read_idx"]

MAX_IDX_ELEMENTS = 2**31

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(Exception):
    """The file is not a well-formed IDX file; the message names the file and why."""


_CHUNK_BYTES = 1 << 24


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    """Read in chunks, so a header that lies about its size costs memory only for real bytes."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = stream.read(min(remaining, _CHUNK_BYTES))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) != size:
        raise IdxError(f"truncated {what}: expected {size} bytes, got {len(data)}")
    return data


def _read_stream(stream: BinaryIO) -> np.ndarray:
    zero, type_code, ndim = struct.unpack(">HBB", _read_exact(stream, 4, "magic number"))
    if zero != 0:
        raise IdxError("bad magic number: the first two bytes must be zero")
    dtype = _IDX_TYPES.get(type_code)
    if dtype is None:
        raise IdxError(f"unknown IDX element type 0x{type_code:02X}")
    if ndim == 0:
        raise IdxError("IDX file declares no dimensions")
    dims = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, "dimensions"))
    count = math.prod(dims)
    if count > MAX_IDX_ELEMENTS:
        raise IdxError(f"dimensions {dims} hold {count} elements; at most {MAX_IDX_ELEMENTS} are allowed")
    data = _read_exact(stream, count * dtype.itemsize, f"data for dimensions {dims}")
    if stream.read(1):
        raise IdxError(f"trailing bytes after the data for dimensions {dims}")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Return the IDX file's contents as a native-endian numpy array shaped by its dimensions.

    Gzip compression is detected by the gzip magic bytes, not by the file name.
    """
    with open(path, "rb") as raw:
        try:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return _read_stream(raw)
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream)  # type: ignore[arg-type]
        except IdxError as err:
            raise IdxError(f"{os.fspath(path)}: {err}") from None
        except (EOFError, OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
            raise IdxError(f"{os.fspath(path)}: corrupt gzip stream: {err}") from err
