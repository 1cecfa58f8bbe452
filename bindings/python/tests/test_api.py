"""The Python API around the C calls: versions and the ABI check, argument checking (shapes,
dtypes), empty batches, and that C-contiguous float32 records reach the C function without a
copy (the C function is watched receiving the array's own data pointer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fastfeedforward as fff
from fastfeedforward import _capi
from fff_testing import FIXTURES

DEMO = FIXTURES / "demo" / "digits.fff"


@pytest.fixture(scope="module")
def model() -> fff.Model:
    return fff.Model(DEMO)


@pytest.fixture(scope="module")
def records() -> np.ndarray:
    return np.loadtxt(FIXTURES / "demo" / "digits-test.csv", delimiter=",", dtype=np.float32, ndmin=2)


def test_versions() -> None:
    import pyfff

    assert fff.version == pyfff.__version__  # one release for fffrun, the C API and the tools
    assert fff.__version__ == fff.version
    assert fff.abi_version == _capi.ABI_VERSION == 1
    # The library is the one inside the installed package (not found through LD_LIBRARY_PATH).
    assert _capi.path == Path(fff.__file__).resolve().parent / "libfastfeedforward_c.so"


def test_abi_mismatch_is_an_import_error() -> None:
    _capi.check_abi(_capi.ABI_VERSION, "lib.so")
    with pytest.raises(ImportError, match="ABI version 2"):
        _capi.check_abi(2, "lib.so")


def test_shapes_and_scalars(model: fff.Model, records: np.ndarray) -> None:
    assert model.predict(records).shape == (len(records), 10)
    assert model.predict(records[0]).shape == (10,)
    assert isinstance(model.classify(records[0]), np.int64)
    assert isinstance(model.leaf(records[0]), np.int64)
    assert model.classify(records[:3]).shape == (3,)
    # Lists and tuples are records too.
    assert model.classify(records[0].tolist()) == model.classify(records[0])
    assert np.array_equal(model.classify([list(r) for r in records[:4]]), model.classify(records[:4]))
    # No records: empty answers.
    empty = np.zeros((0, model.input_width), np.float32)
    assert model.predict(empty).shape == (0, 10)
    assert model.classify(empty).shape == (0,) and model.leaf(empty).shape == (0,)


def test_wrong_shapes_are_value_errors(model: fff.Model, records: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"shape \(N, 64\).*got shape \(3, 63\)"):
        model.predict(records[:3, :63])
    with pytest.raises(ValueError, match="64 features"):
        model.classify(records[0, :10])
    with pytest.raises(ValueError, match=r"got shape \(2, 3, 64\)"):
        model.leaf(records[:6].reshape(2, 3, 64))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        model.predict(np.float32(1))


def test_wrong_dtypes_are_type_errors(model: fff.Model, records: np.ndarray) -> None:
    with pytest.raises(TypeError, match="dtype complex64"):
        model.predict(records.astype(np.complex64))
    with pytest.raises(TypeError, match="dtype bool"):
        model.predict(records > 3)
    with pytest.raises(TypeError, match="dtype <U"):
        model.predict(np.array(["a"] * 64))
    with pytest.raises(TypeError, match="dtype object"):
        model.predict(np.array([object()] * 64))


def test_conversions_and_layouts_give_the_same_answers(model: fff.Model, records: np.ndarray) -> None:
    expected = model.predict(records)
    assert np.array_equal(model.predict(records.astype(np.float64)), expected)
    assert np.array_equal(model.predict(records.astype(np.uint8)), expected)  # digits pixels are 0..16
    assert np.array_equal(model.predict(records.astype(">f4")), expected)  # byte-swapped
    fortran = np.asfortranarray(records)
    assert np.array_equal(model.predict(fortran), expected)
    wide = np.zeros((len(records), 2 * model.input_width), np.float32)
    wide[:, ::2] = records
    assert np.array_equal(model.predict(wide[:, ::2]), expected)  # strided view
    raw = np.zeros(records.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float32, count=records.size, offset=1).reshape(records.shape)
    raw[1:] = records.view(np.uint8).reshape(-1)
    assert not unaligned.flags.aligned
    assert np.array_equal(model.predict(unaligned), expected)
    readonly = records.copy()
    readonly.flags.writeable = False
    assert np.array_equal(model.predict(readonly), expected)


class Spy:
    """Wraps a C function of _capi.api, recording the records pointer of each call."""

    def __init__(self, function) -> None:
        self.function = function
        self.pointers: list[int] = []

    def __call__(self, *args):
        self.pointers.append(args[2])  # model, workspace, records, ...
        return self.function(*args)


@pytest.mark.parametrize("call,entry", [("predict", "batch_predict"), ("classify", "batch_classify"),
                                        ("leaf", "batch_leaf")])
def test_contiguous_float32_records_are_not_copied(model: fff.Model, records: np.ndarray, monkeypatch,
                                                   call: str, entry: str) -> None:
    spy = Spy(getattr(_capi.api, entry))
    monkeypatch.setattr(_capi.api, entry, spy)
    run = getattr(model, call)

    run(records)  # C-contiguous float32: the array's own memory
    assert spy.pointers[-1] == records.ctypes.data
    run(records[10:20])  # a contiguous slice: a view, still no copy
    assert spy.pointers[-1] == records[10:20].ctypes.data
    run(records[5])  # one record
    assert spy.pointers[-1] == records[5].ctypes.data

    # Anything else is converted first: a copy, not the caller's memory.
    for other in (records.astype(np.float64), np.asfortranarray(records), records[::2]):
        run(other)
        assert spy.pointers[-1] != other.ctypes.data
    assert len(spy.pointers) == 6


def test_raw_false_skips_the_preprocessing(model: fff.Model, records: np.ndarray) -> None:
    scale, offset = model.preprocessing
    x = (records * scale + offset).astype(np.float32)
    assert np.allclose(model.predict(x, raw=False), model.predict(records), rtol=1e-5, atol=1e-4)
    assert not np.allclose(model.predict(records, raw=False), model.predict(records))


def test_model_properties_are_read_only_snapshots(model: fff.Model) -> None:
    labels = model.labels
    labels.append("x")
    assert len(model.labels) == 10
    model.metadata["dataset"] = "changed"
    assert model.metadata["dataset"] != "changed"
    with pytest.raises(AttributeError):
        model.input_width = 3  # type: ignore[misc]
    scale, _ = model.preprocessing
    with pytest.raises(ValueError):
        scale[0] = 2


def test_converted_records_go_through_in_blocks(model: fff.Model, records: np.ndarray, monkeypatch) -> None:
    """Records that need converting are converted block by block into a per-thread buffer; the
    answers are those of the float32 records, whatever the block size (here 7 records, so the
    360 records take 52 calls, the last one partial)."""
    from fastfeedforward import _model

    expected = (model.predict(records), model.classify(records), model.leaf(records))
    monkeypatch.setattr(_model, "CONVERSION_BLOCK_VALUES", 7 * model.input_width)
    spy = Spy(_capi.api.batch_predict)
    monkeypatch.setattr(_capi.api, "batch_predict", spy)
    for converted in (records.astype(np.float64), records.astype(np.uint8), np.asfortranarray(records),
                      records.astype(">f4")):
        assert np.array_equal(model.predict(converted), expected[0])
        assert np.array_equal(model.classify(converted), expected[1])
        assert np.array_equal(model.leaf(converted), expected[2])
    assert len(spy.pointers) == 4 * 52 and len(set(spy.pointers)) == 1  # one buffer, reused
    assert np.array_equal(model.predict(records), expected[0])  # float32: one call, the array itself
    assert spy.pointers[-1] == records.ctypes.data
    assert model.predict(np.zeros((0, 64), np.float64)).shape == (0, 10)
