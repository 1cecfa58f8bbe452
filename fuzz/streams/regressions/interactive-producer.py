#!/usr/bin/env python3
"""Regression check: `fffrun classify` serves an interactive producer.

A producer that writes one record and waits for its answer (a coprocess) must get it while
standard input stays open. This once hung: BatchEngine.fill waited for 4096 records or the end
of input and OutputWriter held 64 KiB, although RecordReader.detectGzip's comment promised such
a producer "is served". Now, when the next read of standard input would block with records
pending, fffrun answers them and flushes (`--line-buffered` flushes after every record).

Each case starts fffrun with a pipe as standard input, writes record 1 and waits (at most
TIMEOUT seconds) for exactly one answer line, then record 2 and its answer, then closes standard
input; fffrun must exit 0 and its whole output must equal that of the batch path (the same bytes
read from a regular file). Cases: every input format (csv, tsv, text, f32, f64, u8, idx, npy,
auto detection of text, IDX and NPY), gzip (the producer flushes its compressor after each
record), `--threads 2`, `--line-buffered`, a comment line between records, and `--files`.

Usage: python3 fuzz/streams/regressions/interactive-producer.py [FFFRUN]
(default $FFFRUN, else .build/release/fffrun). Exit 0 when every case passes, 1 otherwise
(prints which). tools/tests/test_hostile_streams.py runs the same cases under pytest.
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[3]
MODEL = str(REPO / "fixtures" / "demo" / "digits.fff")
TIMEOUT = 10.0  # seconds per answer: generous, so that a loaded CI machine does not flake
WIDTH = 64


def _records() -> list[list[int]]:
    lines = (REPO / "fixtures" / "demo" / "digits-test.csv").read_text().split("\n")
    return [[int(v) for v in line.split(",")] for line in lines[:2]]


@dataclass
class Case:
    name: str
    args: list[str]
    chunks: list[bytes]  # written one at a time; each completes exactly one record
    closing: bytes = b""  # written after the last answer, before standard input is closed
    files: list[tuple[str, bytes]] = field(default_factory=list)  # for --files: name, content


def _text(record: list[int], sep: str) -> bytes:
    return (sep.join(str(v) for v in record) + "\n").encode()


def _gzip_chunks(chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    """Each chunk compressed and sync-flushed (so it decodes whole), and the closing trailer."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = [z.compress(c) + z.flush(zlib.Z_SYNC_FLUSH) for c in chunks]
    return out, z.flush(zlib.Z_FINISH)


def _idx(records: list[list[int]]) -> list[bytes]:
    header = bytes([0, 0, 0x08, 2]) + struct.pack(">II", len(records), WIDTH)
    return [header + bytes(records[0])] + [bytes(r) for r in records[1:]]


def _npy(records: list[list[int]]) -> list[bytes]:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(records), WIDTH)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    body = [struct.pack("<%df" % WIDTH, *r) for r in records]
    return [head + body[0]] + body[1:]


def cases() -> list[Case]:
    recs = _records()
    csv = [_text(r, ",") for r in recs]
    u8 = [bytes(r) for r in recs]
    out: list[Case] = [
        Case("csv", ["--input-format", "csv"], csv),
        Case("tsv", ["--input-format", "tsv"], [_text(r, "\t") for r in recs]),
        Case("text", ["--input-format", "text"], [_text(r, " ") for r in recs]),
        Case("auto-csv", [], csv),
        Case("auto-csv-comment", [], [csv[0], b"# a comment line\n" + csv[1]]),
        Case("f32", ["--input-format", "f32"], [struct.pack("<%df" % WIDTH, *r) for r in recs]),
        Case("f64", ["--input-format", "f64"], [struct.pack("<%dd" % WIDTH, *r) for r in recs]),
        Case("u8", ["--input-format", "u8"], u8),
        Case("idx", ["--input-format", "idx"], _idx(recs)),
        Case("auto-idx", [], _idx(recs)),
        Case("npy", ["--input-format", "npy"], _npy(recs)),
        Case("auto-npy", [], _npy(recs)),
        Case("csv-threads-2", ["--input-format", "csv", "--threads", "2"], csv),
        Case("u8-threads-2", ["--input-format", "u8", "--threads", "2"], u8),
        Case("auto-threads-2", ["--threads", "2"], csv),
        Case("csv-line-buffered", ["--input-format", "csv", "--line-buffered"], csv),
    ]
    gz, tail = _gzip_chunks(csv)
    out.append(Case("auto-csv-gzip", [], gz, tail))
    gz, tail = _gzip_chunks(u8)
    out.append(Case("u8-gzip", ["--input-format", "u8"], gz, tail))
    gz, tail = _gzip_chunks(_idx(recs))
    out.append(Case("auto-idx-gzip", ["--threads", "2"], gz, tail))
    files = [(f"record{i}.csv", c) for i, c in enumerate(csv)]
    out.append(Case("files", ["--files"], [], files=files))
    return out


def _default_binary() -> str:
    return os.environ.get("FFFRUN") or str(REPO / ".build" / "release" / "fffrun")


def _read_lines(fd: int, have: bytes, lines: int, deadline: float) -> bytes | None:
    """Reads from `fd` until `have` holds `lines` newlines; None when the deadline passes first."""
    while have.count(b"\n") < lines:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                return have  # fffrun ended early; the caller reports the status
            have += data
    return have


def run_case(case: Case, fffrun: str) -> str | None:
    """None when `case` passes, else what went wrong."""
    with tempfile.TemporaryDirectory() as tmp:
        chunks = case.chunks
        if case.files:
            chunks = []
            for name, content in case.files:
                path = Path(tmp) / name
                path.write_bytes(content)
                chunks.append(str(path).encode() + b"\n")
        argv = [fffrun, "classify", MODEL, "--output", "scores", "--leaf"] + case.args
        if "--threads" not in argv:
            argv += ["--threads", "1"]
        stream = Path(tmp) / "stream"
        stream.write_bytes(b"".join(chunks) + case.closing)
        with open(stream, "rb") as f:
            batch = subprocess.run(argv, stdin=f, capture_output=True, timeout=60)
        if batch.returncode != 0:
            return f"the batch run failed ({batch.returncode}): {batch.stderr.decode(errors='replace').strip()}"
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = b""
        try:
            for i, chunk in enumerate(chunks):
                p.stdin.write(chunk)
                p.stdin.flush()
                got = _read_lines(p.stdout.fileno(), got, i + 1, time.monotonic() + TIMEOUT)
                if got is None:
                    return f"no answer to record {i + 1} within {TIMEOUT:g} s while standard input is open"
                lines = got.count(b"\n")
                if lines != i + 1:
                    return f"after record {i + 1}: {lines} answer lines (status {p.poll()}): {got!r}"
            rest, err = p.communicate(input=case.closing, timeout=60)  # then closes standard input
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        got += rest
        if p.returncode != 0:
            return f"exit status {p.returncode}: {err.decode(errors='replace').strip()}"
        if got != batch.stdout:
            return f"output {got!r} differs from the batch path's {batch.stdout!r}"
        return None


def main() -> int:
    fffrun = sys.argv[1] if len(sys.argv) > 1 else _default_binary()
    failed = []
    for case in cases():
        problem = run_case(case, fffrun)
        print(f"{case.name}: {'ok' if problem is None else problem}")
        if problem is not None:
            failed.append(case.name)
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
