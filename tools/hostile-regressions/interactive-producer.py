#!/usr/bin/env python3
"""Observation (not a crash): `fffrun classify` does not answer a record while its standard
input stays open, so a producer that writes one record and waits for the answer (a coprocess)
waits forever. RecordReader.detectGzip's comment promises such a producer "is served", but
BatchEngine.fill blocks until 4096 records or end of input, and OutputWriter holds 64 KiB.

Usage: python3 tools/hostile-regressions/interactive-producer.py [FFFRUN]
Exit 0 when every format answers within 3 s, 1 otherwise (prints which).
"""

import os
import select
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
fffrun = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".build" / "release" / "fffrun")
model = str(REPO / "fixtures" / "demo" / "digits.fff")
line = (REPO / "fixtures" / "demo" / "digits-test.csv").read_bytes().split(b"\n")[0] + b"\n"
stuck = []
for fmt, record in (("csv", line), ("auto", line), ("u8", bytes(range(64)))):
    p = subprocess.Popen([fffrun, "classify", model, "--input-format", fmt, "--threads", "1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(record)
    p.stdin.flush()
    ready, _, _ = select.select([p.stdout], [], [], 3)
    answer = os.read(p.stdout.fileno(), 100) if ready else None
    print(f"{fmt}: {'answered ' + repr(answer) if ready else 'no answer within 3 s while stdin is open'}")
    if not ready:
        stuck.append(fmt)
    p.stdin.close()
    p.wait()
sys.exit(1 if stuck else 0)
