"""Every file of the conformance corpus (fixtures/conformance/manifest.json): the invalid ones
raise FFFError with the manifest's code (the spec's, §17), from a path and from bytes; the valid
ones load. Plus the error object itself: code, status, section, offset, message."""

from __future__ import annotations

import json
import pickle

import pytest

import fastfeedforward as fff
from fff_testing import FIXTURES

CORPUS = FIXTURES / "conformance"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
INVALID = [(entry["file"], entry["code"]) for entry in MANIFEST["invalid"]]
VALID = [entry["file"] for entry in MANIFEST["valid"]]


@pytest.mark.parametrize("file,code", INVALID, ids=[file for file, _ in INVALID])
def test_invalid_file_raises_its_code(file: str, code: str) -> None:
    path = CORPUS / file
    with pytest.raises(fff.FFFError) as from_path:
        fff.Model(path)
    assert from_path.value.code == code, from_path.value.message
    assert isinstance(from_path.value, ValueError)
    assert str(from_path.value).startswith(code + ":"), str(from_path.value)
    assert 1 <= from_path.value.status <= 19
    with pytest.raises(fff.FFFError) as from_bytes:
        fff.Model.from_bytes(path.read_bytes())
    assert from_bytes.value.code == code
    # Where the problem is: the same from the file and from its bytes.
    assert (from_bytes.value.section, from_bytes.value.offset) == (from_path.value.section, from_path.value.offset)


@pytest.mark.parametrize("file", VALID)
def test_valid_file_loads(file: str) -> None:
    model = fff.Model(CORPUS / file)
    assert model.input_width >= 1 and model.output_width >= 1
    assert fff.Model.from_bytes(bytearray((CORPUS / file).read_bytes())).input_width == model.input_width


def test_error_attributes() -> None:
    data = bytearray((FIXTURES / "demo" / "digits.fff").read_bytes())
    data[-20] ^= 0x55  # inside the last section's payload: its CRC-32 no longer matches
    with pytest.raises(fff.FFFError) as caught:
        fff.Model.from_bytes(bytes(data))
    error = caught.value
    assert error.code in ("checksum-mismatch", "decompression-failed"), error.message
    assert error.section is not None and len(error.section) == 4
    assert error.offset is not None and 0 <= error.offset < len(data)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.status, copy.section, copy.offset, str(copy)) == (
        error.code, error.status, error.section, error.offset, str(error))


def test_missing_file_is_an_io_error(tmp_path) -> None:
    with pytest.raises(fff.FFFError) as caught:
        fff.Model(tmp_path / "missing.fff")
    assert caught.value.code == "io-error" and caught.value.status == 20
    assert "missing.fff" in str(caught.value)


def test_empty_and_odd_inputs_to_the_loaders(tmp_path) -> None:
    with pytest.raises(fff.FFFError) as caught:
        fff.Model.from_bytes(b"")
    assert caught.value.code == "truncated"
    with pytest.raises(TypeError):
        fff.Model.from_bytes("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fff.Model(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="from_bytes"):
        fff.Model(b"\x89FFF\r\n\x1a\n\0\0")
    # bytes paths and memoryviews work too
    demo = FIXTURES / "demo" / "digits.fff"
    assert fff.Model(bytes(demo)).input_width == 64
    assert fff.Model.from_bytes(memoryview(demo.read_bytes())).input_width == 64
