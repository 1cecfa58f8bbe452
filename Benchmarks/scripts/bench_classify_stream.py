#!/usr/bin/env python3
"""CPU time of `fffrun classify` on a stream of records, for two builds side by side.

Writes 100,000 random records for the demo model (fixtures/demo/digits.fff, 64 inputs) as raw
u8 and as IDX, then runs `fffrun classify MODEL --threads 1 --input-format F` with the records
on standard input, read from the file directly and through a pipe (`cat FILE |`), alternating
the two builds, and prints each one's median CPU time (user + system of the fffrun process,
from wait4(2)) and the ratio. Alternating and taking medians keeps the figure honest on a noisy
machine; run it with the same binary twice (`--compare` equal to `--fffrun`) to see the noise.

`--allocations` instead counts heap allocations (valgrind's "total heap usage") of one build
for 1,000 and 10,000 records through a pipe, u8 and CSV: equal counts mean no allocation per
record. Needs valgrind and strip (binutils); the binary is copied without debug info, which
valgrind 3.19 cannot read from Swift 6.3 binaries.

Usage: python3 Benchmarks/scripts/bench_classify_stream.py --compare OLD_FFFRUN [--fffrun NEW] [--runs N]
                                                           [--records N]
       python3 Benchmarks/scripts/bench_classify_stream.py --allocations [--fffrun NEW]
       (default NEW: $FFFRUN or .build/release/fffrun)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "fixtures" / "demo" / "digits.fff"
WIDTH = 64


def cpu_ms(fffrun: str, fmt: str, data: str, pipe: bool) -> float:
    """CPU milliseconds of one fffrun run (its own, not cat's)."""
    args = [fffrun, "classify", str(MODEL), "--threads", "1", "--input-format", fmt]
    with open(data, "rb") as f:
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE) if pipe else None
        child = subprocess.Popen(args, stdin=cat.stdout if cat else f, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        if cat:
            cat.stdout.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        errors = child.stderr.read().decode(errors="replace")
        if cat:
            cat.wait()
    if child.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({child.returncode}): {errors}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def allocations(fffrun: str, tmp: str) -> None:
    for tool in ("valgrind", "strip"):
        if shutil.which(tool) is None:
            sys.exit(f"--allocations needs {tool}")
    binary = os.path.join(tmp, "fffrun")
    shutil.copy(fffrun, binary)
    subprocess.run(["strip", "--strip-debug", binary], check=True)
    rng = np.random.default_rng(0)
    print("heap allocations of a whole run (valgrind memcheck), records through a pipe")
    for fmt in ("u8", "csv"):
        counts = []
        for n in (1_000, 10_000):
            records = rng.integers(0, 17, size=(n, WIDTH), dtype=np.uint8)
            data = records.tobytes() if fmt == "u8" else "".join(",".join(map(str, r)) + "\n" for r in records).encode()
            run = subprocess.run(["valgrind", "--tool=memcheck", binary, "classify", str(MODEL), "--threads", "1",
                                  "--input-format", fmt], input=data, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, check=True)
            found = re.search(rb"total heap usage: ([\d,]+) allocs", run.stderr)
            if not found:
                sys.exit(f"no heap summary from valgrind: {run.stderr[-500:].decode(errors='replace')}")
            counts.append(int(found.group(1).replace(b",", b"")))
        print(f"{fmt:3s}: {counts[0]} allocations for 1,000 records, {counts[1]} for 10,000 "
              f"({(counts[1] - counts[0]) / 9000:.4f} per extra record)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fffrun", default=os.environ.get("FFFRUN", str(REPO / ".build/release/fffrun")))
    parser.add_argument("--compare", help="the other fffrun binary (required unless --allocations)")
    parser.add_argument("--allocations", action="store_true", help="count heap allocations instead (valgrind)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    if args.allocations:
        with tempfile.TemporaryDirectory() as tmp:
            allocations(args.fffrun, tmp)
        return
    if not args.compare:
        parser.error("--compare OLD_FFFRUN is required (or --allocations)")
    rng = np.random.default_rng(0)
    records = rng.integers(0, 17, size=(args.records, WIDTH), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        u8 = os.path.join(tmp, "records.u8")
        records.tofile(u8)
        idx = os.path.join(tmp, "records.idx")
        with open(idx, "wb") as f:  # IDX: magic 0x00000802 (u8, 2 dimensions), big-endian sizes
            f.write(bytes([0, 0, 8, 2]) + args.records.to_bytes(4, "big") + WIDTH.to_bytes(4, "big"))
            f.write(records.tobytes())
        print(f"{args.records} records, {args.runs} runs each, median CPU ms; ratio = this build / compared")
        for fmt, data in (("u8", u8), ("idx", idx)):
            for pipe in (False, True):
                times: dict[str, list[float]] = {"new": [], "old": []}
                for _ in range(args.runs):
                    times["new"].append(cpu_ms(args.fffrun, fmt, data, pipe))
                    times["old"].append(cpu_ms(args.compare, fmt, data, pipe))
                new, old = statistics.median(times["new"]), statistics.median(times["old"])
                print(f"{fmt:3s} {'pipe' if pipe else 'file'}: this build {new:7.2f}, compared {old:7.2f}, ratio {new / old:.3f}")


if __name__ == "__main__":
    main()
