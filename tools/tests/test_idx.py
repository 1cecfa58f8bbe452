"""Tests for pyfff.idx: small IDX files written here, and the shared MNIST test set if present."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from pyfff.idx import MAX_IDX_ELEMENTS, IdxError, read_idx

TYPE_CODES = {
    np.dtype("u1"): 0x08,
    np.dtype("i1"): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(array: np.ndarray, big_endian_dtype: str) -> bytes:
    """Encode ``array`` as IDX: zero, zero, type code, ndim, big-endian u32 dims, big-endian data."""
    dtype = np.dtype(big_endian_dtype)
    header = struct.pack(">HBB", 0, TYPE_CODES[dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_round_trip(tmp_path: Path, dtype: str, compressed: bool) -> None:
    rng = np.random.default_rng(7)
    array = rng.integers(-100 if dtype != "u1" else 0, 100, size=(3, 4, 5)).astype(dtype)
    data = idx_bytes(array, dtype)
    # No ".gz" in the name: compression is recognised by content.
    path = write(tmp_path, "sample.idx", gzip.compress(data) if compressed else data)
    result = read_idx(path)
    assert result.shape == (3, 4, 5)
    assert result.dtype == np.dtype(dtype).newbyteorder("=")
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable and result.flags.c_contiguous


def test_labels_one_dimensional(tmp_path: Path) -> None:
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    path = write(tmp_path, "labels", struct.pack(">II", 0x00000801, 5) + labels.tobytes())
    np.testing.assert_array_equal(read_idx(path), labels)


def test_empty_dimension_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "empty", struct.pack(">III", 0x00000802, 0, 28))
    assert read_idx(path).shape == (0, 28)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack(">II", 0x01000801, 1) + b"\x00", "first two bytes must be zero"),
        (struct.pack(">II", 0x00000A01, 1) + b"\x00", "unknown IDX element type 0x0A"),
        (struct.pack(">I", 0x00000800), "declares no dimensions"),
        (struct.pack(">I", 0x00000803) + struct.pack(">II", 2, 2), "truncated dimensions"),
        (struct.pack(">II", 0x00000801, 5) + b"\x00" * 4, "truncated data"),
        (struct.pack(">II", 0x00000801, 5) + b"\x00" * 6, "trailing bytes"),
        (b"\x00\x00", "truncated magic"),
        (struct.pack(">IIII", 0x00000803, 65536, 65536, 2), "at most 2147483648"),
        (struct.pack(">III", 0x00000E02, 2**16, 2**15) + b"\x00" * 8, "truncated data"),
    ],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_malformed_files_are_refused(tmp_path: Path, data: bytes, message: str, compressed: bool) -> None:
    path = write(tmp_path, "bad.idx", gzip.compress(data) if compressed else data)
    with pytest.raises(IdxError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_element_limit_is_two_to_the_31(tmp_path: Path) -> None:
    """Exactly 2**31 elements is allowed by the bound (and then fails only for missing data)."""
    assert MAX_IDX_ELEMENTS == 2**31
    path = write(tmp_path, "edge", struct.pack(">III", 0x00000802, 2**16, 2**15))
    with pytest.raises(IdxError, match="truncated data"):
        read_idx(path)


def test_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    good = gzip.compress(struct.pack(">II", 0x00000801, 3) + b"\x01\x02\x03")
    path = write(tmp_path, "corrupt.gz", good[:12] + bytes(b ^ 0xFF for b in good[12:20]) + good[20:])
    with pytest.raises(IdxError, match="corrupt.gz"):
        read_idx(path)
    truncated = write(tmp_path, "truncated.gz", good[: len(good) // 2])
    with pytest.raises(IdxError, match="truncated.gz"):
        read_idx(truncated)


def test_shared_mnist(require_shared: Callable[[str], Path]) -> None:
    mnist = require_shared("data/mnist")
    images = read_idx(mnist / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels.max() == 9 and np.bincount(labels).min() > 800
    assert images.max() == 255 and images.min() == 0
