"""Property tests of pyfff.format.read_model on hostile files.

Every example must meet the contract of fuzz/checkpoint/fuzz_checkpoint.py: ``read_model`` returns a
model or raises ``FormatError`` (never another exception), in under a second of CPU and 64 MiB
of traced memory, with no side effects; a model it accepts must pass ``Model.check`` and come
back unchanged through ``write_model``. Inputs: random bytes, random bytes behind the magic with
valid checksums, byte-mutated conformance files (checksums usually recomputed, so mutations
reach the checks behind the CRCs), and files re-assembled from the conformance corpus and from
random valid models after edits to payloads, table entries and header fields.

Few, derandomized examples so CI is stable; ``fuzz/checkpoint/fuzz_checkpoint.py SECONDS --target format``
is the long run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fuzz_checkpoint as fz
from pyfff import format as fmt


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> fz.Harness:
    return fz.Harness(tmp_path_factory.mktemp("fuzz-format"))


def ci(examples: int) -> Any:
    return fz.hypothesis_settings(examples, derandomize=True)


def test_the_corpus_is_there() -> None:
    """The mutation seeds: every valid conformance file, decoded into sections that re-assemble."""
    assert len(fz.FIXTURE_FILES) >= 10
    for sections, header in fz.FIXTURE_SECTIONS:
        assert fmt.validate_bytes(fmt.assemble(sections, **header)) is None


@ci(150)
@given(data=st.binary(max_size=200))
def test_random_bytes(harness: fz.Harness, data: bytes) -> None:
    fz.check_format_bytes(harness, data)
    fz.check_format_bytes(harness, fmt.MAGIC + data)


@ci(150)
@given(data=st.binary(max_size=300))
def test_random_bytes_with_valid_checksums(harness: fz.Harness, data: bytes) -> None:
    fz.check_format_bytes(harness, fmt.recompute_checksums(fmt.MAGIC + b"\x01\x00\x00\x00" + data))


@ci(300)
@given(data=fz.mutated_fff())
def test_mutated_conformance_files(harness: fz.Harness, data: bytes) -> None:
    fz.check_format_bytes(harness, data)


@ci(300)
@given(data=st.sampled_from(fz.FIXTURE_SECTIONS).flatmap(fz.section_edits))
def test_edited_conformance_files(harness: fz.Harness, data: bytes) -> None:
    fz.check_format_bytes(harness, data)


@ci(200)
@given(data=fz.random_models().flatmap(fz.section_edits))
def test_edited_random_models(harness: fz.Harness, data: bytes) -> None:
    fz.check_format_bytes(harness, data)


@ci(60)
@given(sections=fz.random_models())
def test_random_models_are_valid(harness: fz.Harness, sections: Any) -> None:
    """Control: unedited, the generated models are valid, so edits start from good files."""
    assert isinstance(fz.check_format_bytes(harness, fmt.assemble(sections[0], **sections[1])), fmt.Model)


def _zeros_model(input_width: int) -> bytes:
    """A valid file whose LFW1 decodes to 4 * input_width bytes of zeros: a few hundred bytes of zstd."""
    i = input_width
    model = fmt.Model(
        input_width=i, output_width=1, depth=0, leaf_width=1, activation="relu",
        node_weights=np.zeros((0, i), np.float32), node_biases=np.zeros(0, np.float32),
        w1=np.zeros((1, i, 1), np.float32), b1=np.zeros((1, 1), np.float32),
        w2=np.zeros((1, 1, 1), np.float32), b2=np.zeros((1, 1), np.float32),
    )
    return fmt.write_model(model, level=3)


def test_decoded_size_is_bounded_by_the_budget_before_decoding(harness: fz.Harness) -> None:
    """A few hundred bytes can declare gigabytes; the budget refuses them before allocating.

    The budget (max_decoded_bytes, 4 GiB by default) is the reader's memory bound on hostile
    input: peak memory is about 2.25 times the decoded size it lets through (measured below).
    """
    data = _zeros_model(1 << 22)  # 16 MiB decoded
    assert len(data) < 2048
    result = harness.run(lambda: fmt.read_model(data, max_decoded_bytes=1 << 20), (fmt.FormatError,))
    assert isinstance(result, fmt.FormatError) and result.code == "limit-exceeded"
    fz.tracemalloc.start()
    try:
        fmt.read_model(data)
        peak = fz.tracemalloc.get_traced_memory()[1]
    finally:
        fz.tracemalloc.stop()
    assert 16 << 20 <= peak <= 3 * (16 << 20), peak
