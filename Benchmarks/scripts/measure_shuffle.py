#!/usr/bin/env python3
"""Measure what the byte-shuffle filter buys on real weights (the table of FORMAT.md §4.3).

Converts every checkpoint in shared/data/paper-checkpoints with pyfff.convert, writes it three
ways with the reference writer (codec none; zstd level 19; shuffle unit 4 + zstd level 19), and
sums the stored bytes of the tensor sections (NODW ... MSB2) from each file's section table, so
the figures are those of real files, not of a separate compression experiment. Prints a
Markdown table. Skips, saying so, when the shared data are absent.

Usage: python3 Benchmarks/scripts/measure_shuffle.py [SHARED_DIR]   (default $FFF_SHARED_DIR or ../shared)
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))  # pyfff

from pyfff.convert import convert_checkpoint  # noqa: E402
from pyfff.format import Model, describe, write_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LEVEL = 19
TENSOR_SECTIONS = {"NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2"}


def tensor_bytes(model: Model, codec: str, shuffle: bool) -> int:
    """Total stored length of the tensor sections in the file the writer produces."""
    table = describe(write_model(model, codec=codec, shuffle=shuffle, level=LEVEL))
    return sum(s["stored_length"] for s in table["sections"] if s["type"] in TENSOR_SECTIONS)


def measure(paths: list[Path]) -> list[tuple[str, int, int, int]]:
    rows = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conversion warnings do not affect the sizes
            model = convert_checkpoint(path)
        rows.append((
            path.name,
            tensor_bytes(model, "none", False),
            tensor_bytes(model, "zstd", False),
            tensor_bytes(model, "zstd", True),
        ))
    return rows


def markdown(rows: list[tuple[str, int, int, int]]) -> str:
    def gain(plain: int, shuffled: int) -> str:
        return f"{(plain - shuffled) / plain * 100:.1f} %"

    lines = ["| model | raw | zstd | shuffle + zstd | gain of shuffling |", "|---|---:|---:|---:|---:|"]
    for name, raw, zstd, shuffled in rows:
        lines.append(f"| `{name}` | {raw:,} | {zstd:,} | {shuffled:,} | {gain(zstd, shuffled)} |")
    if len(rows) > 1:
        raw, zstd, shuffled = (sum(r[i] for r in rows) for i in (1, 2, 3))
        lines.append(f"| total | {raw:,} | {zstd:,} | {shuffled:,} | {gain(zstd, shuffled)} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        shared = Path(argv[1])
    else:
        shared = Path(os.environ.get("FFF_SHARED_DIR") or REPO.parent / "shared")
    folder = shared / "data" / "paper-checkpoints"
    paths = sorted(folder.glob("*.pt")) if folder.is_dir() else []
    if not paths:
        print(f"measure_shuffle: skipped: no checkpoints in {folder} (set FFF_SHARED_DIR or pass SHARED_DIR)",
              file=sys.stderr)
        return 0
    print(markdown(measure(paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
