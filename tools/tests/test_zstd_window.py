"""A zstd frame may declare any window libzstd supports (FORMAT.md §4.1 sets no limit): both
readers accept a section whose frame declares a 256 MiB window, however the bytes reach them.

The Swift reader decodes a file's sections in pieces (streaming), where libzstd refuses windows
above 2^27 unless told otherwise, while bytes in memory and the Python reader decode in one shot;
a frame like this once failed only when read from disk. Real compressors shrink the window to a
known content size, so the frame is made by hand: a streamed frame (window 2^28, no content
size) gets the content size field that §4.1 requires.

Needs the built `fffrun` ($FFFRUN, as test_swift_agreement.py); skips, saying so, without it.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import subprocess
from pathlib import Path

import numpy as np
import zstandard

from pyfff import format as fmt
from pyfff.reference import evaluate
from test_swift_agreement import fffrun_binary

ROOT = Path(__file__).resolve().parents[2]


def _frame_with_large_window(payload: bytes, window_log: int = 28) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False) as writer:
        writer.write(payload)
    frame = out.getvalue()
    descriptor, window = frame[4], frame[5]
    assert descriptor & 0xE3 == 0, "expected a streamed frame: no content size, no single segment, no dictionary"
    # Frame_Content_Size_flag 2: a 4-byte content size after the window descriptor (RFC 8878 §3.1.1.1).
    return frame[:4] + bytes([descriptor | 0x80, window]) + struct.pack("<I", len(payload)) + frame[6:]


def test_a_section_declaring_a_256_mib_window_reads_everywhere(tmp_path: Path) -> None:
    demo = fmt.read_model(ROOT / "fixtures" / "demo" / "digits.fff")
    rng = np.random.default_rng(1)
    leaves, width = demo.w1.shape[0], 1024  # LFW1 is 2 MiB: more than one 1 MiB piece from disk
    model = dataclasses.replace(
        demo, leaf_width=width,
        w1=(rng.standard_normal((leaves, demo.input_width, width)) * 0.1).astype(np.float32),
        b1=np.zeros((leaves, width), np.float32),
        w2=(rng.standard_normal((leaves, width, demo.output_width)) * 0.1).astype(np.float32))
    sections = fmt.model_sections(model, codec="zstd", shuffle=False)
    large = [s for s in sections if len(s.payload) > (1 << 20)]
    assert large, "the model should have a section larger than 1 MiB"
    for section in large:
        section.stored_override = _frame_with_large_window(section.payload)
        assert zstandard.get_frame_parameters(section.stored_override).window_size == 1 << 28
    path = tmp_path / "window28.fff"
    path.write_bytes(fmt.assemble(sections))

    assert fmt.read_model(path).leaf_width == width
    binary = str(fffrun_binary())
    verdict = subprocess.run([binary, "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert verdict.returncode == 0 and verdict.stdout.strip().endswith(": OK"), verdict.stdout + verdict.stderr
    records = np.loadtxt(ROOT / "fixtures" / "demo" / "digits-test.csv", delimiter=",", max_rows=40)
    reference = evaluate(model, records)
    run = subprocess.run([binary, "classify", str(path), "--output", "index", "-", "-q"],
                         input="\n".join(",".join(str(int(v)) for v in r) for r in records) + "\n",
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    answers = [int(line) for line in run.stdout.split()]
    # Compared where §14.3 determines the class: no near-tie on the path, and the top two outputs
    # further apart than twice the output tolerance (atol 1e-4 + rtol 1e-4 * |top|).
    top2 = np.sort(reference.outputs, axis=1)[:, -2:]
    determined = ~reference.near_tie & (top2[:, 1] - top2[:, 0] > 2 * (1e-4 + 1e-4 * np.abs(top2[:, 1])))
    assert len(answers) == len(records) and determined.sum() >= 30
    assert [a for a, d in zip(answers, determined) if d] == reference.argmax[determined].tolist()
