#!/usr/bin/env python3
"""Turn the text output of `swift package benchmark` (this package) into the tables of
../BENCHMARKS.md: latency per record (median and best), kernel-path ratios, FFF vs dense
speedups next to the multiply-add ratio, and the allocation counts.

Usage: swift package benchmark --no-progress > out.txt; python3 summarize.py out.txt [out2.txt ...]
With several runs, each benchmark's figure is the median of the runs' medians (best: the best
of the runs' best).
"""

import re
import sys


def parse(text):
    """{name: (p50 ns per iteration, p0 ns per iteration, max mallocs per iteration)}"""
    results = {}
    name = None
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"^\d+-\d+ ", stripped) and "│" not in stripped:
            name = stripped
        elif name and stripped.startswith("│ Time (wall clock)"):
            cells = [c.strip() for c in stripped.split("│")[1:-1]]
            results.setdefault(name, {})["p50"] = float(cells[3])
            results[name]["p0"] = float(cells[1])
            # "*" marks metrics the tool already scaled to one record (scalingFactor).
            results[name]["scaled"] = "*" in cells[0]
        elif name and stripped.startswith("│ Malloc (total)"):
            cells = [c.strip() for c in stripped.split("│")[1:-1]]
            results.setdefault(name, {})["malloc"] = int(cells[7])
    return results


def shape_of(name):
    m = re.match(r"(\d+)-(\d+) (?:dense(\d+)|d(\d+) l(\d+)(?: m(\d+))?)", name)
    i, o = int(m.group(1)), int(m.group(2))
    if m.group(3):
        return i, o, 0, int(m.group(3)), 0
    return i, o, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)


def macs(i, o, d, h, m):
    return d * i + h * (i + o) + m * (i + o)


def per_record_us(name, r, key="p50"):
    # Benchmarks of more than 200k multiply-adds per record run one record per iteration,
    # the others 1000 (see FFFBenchmarks.swift).
    scale = 1 if r.get("scaled") or macs(*shape_of(name)) > 200_000 else 1000
    return r[key] / scale / 1000.0


TYPES = ["float16/float16", "bfloat16/bfloat16", "int8-row/float32", "int8-row/int8-row"]
PAPER = ["784-10 d1 l8", "784-10 d3 l2 m8", "784-10 d2 l4 m8", "784-10 d4 l8 m8"]
WIDE = [f"768-768 d{d} l{l}" for d in (8, 12) for l in (1, 4, 8)]


def compact_tables(results, us, best, kernel):
    """Each compact type next to float32 (same run, same records): µs per record and the
    speedup of the compact model (float32 time / compact time)."""
    if not any(t in n for n in results for t in TYPES):
        return
    for t in TYPES:
        print(f"\n### {t} against float32 ({kernel}, µs per record, median; speedup = float32 / {t.split('/')[0]})\n")
        print(f"| shape | float32 single | {t} single | speedup | float32 batch | {t} batch | speedup |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for shape in PAPER + WIDE:
            row = [shape]
            for mode in ("single", "batch"):
                f = us.get(f"{shape} {kernel} {mode}")
                c = us.get(f"{shape} {kernel} {t} {mode}")
                row += [f"{f:.3f}" if f else "", f"{c:.3f}" if c else "", f"**{f / c:.2f}x**" if f and c else ""]
            print("| " + " | ".join(row) + " |")

    print("\n### 784-10 d4 l8 m8 per kernel path and type (µs per record, median (best); speedup over float32 on that path)\n")
    print("| path | types | single | batch | single speedup | batch speedup |")
    print("|---|---|---:|---:|---:|---:|")
    for k in ["portable", "avx2", "avx512"]:
        fs, fb = us.get(f"784-10 d4 l8 m8 {k} single"), us.get(f"784-10 d4 l8 m8 {k} batch")
        if fs is None:
            continue
        for t in ["float32"] + TYPES:
            infix = "" if t == "float32" else f" {t}"
            n = f"784-10 d4 l8 m8 {k}{infix}"
            s, b = us.get(n + " single"), us.get(n + " batch")
            if s is None or b is None:
                continue
            print(f"| {k} | {t} | {s:.3f} ({best[n + ' single']:.3f}) | {b:.3f} ({best[n + ' batch']:.3f}) | "
                  f"{fs / s:.2f}x | {fb / b:.2f}x |")


def combine(runs):
    """Several runs' results into one: median of the p50s, best of the p0s, max of mallocs."""
    combined = {}
    for name in runs[0]:
        rs = [r[name] for r in runs if name in r and "p50" in r[name]]
        if not rs:
            continue
        p50s = sorted(r["p50"] for r in rs)
        combined[name] = {
            "p50": p50s[len(p50s) // 2] if len(p50s) % 2 else (p50s[len(p50s) // 2 - 1] + p50s[len(p50s) // 2]) / 2,
            "p0": min(r["p0"] for r in rs),
            "scaled": rs[0].get("scaled"),
            "malloc": max(r.get("malloc", 0) for r in rs),
        }
    return combined


def main():
    runs = [parse(open(path).read()) for path in sys.argv[1:]]
    results = combine(runs) if len(runs) > 1 else runs[0]
    us = {n: per_record_us(n, r) for n, r in results.items()}
    best = {n: per_record_us(n, r, "p0") for n, r in results.items()}
    kernel = "avx512" if any(" avx512 " in n for n in results) else "avx2"

    print("### 784 -> 10, master leaf 8: µs per record, median (single / batch)\n")
    print("| depth \\ leaf width | 1 | 2 | 4 | 8 |")
    print("|---|---:|---:|---:|---:|")
    for d in [1, 2, 3, 4, 7]:
        cells = []
        for l in [1, 2, 4, 8]:
            base = f"784-10 d{d} l{l} m8 {kernel}"
            s, b = us.get(base + " single"), us.get(base + " batch")
            cells.append(f"{s:.3f} / {b:.3f}" if s and b else "")
        print(f"| {d} | " + " | ".join(cells) + " |")

    print("\n### Kernel paths, 784 -> 10, depth 4, leaf 8, master 8: µs per record (median, best)\n")
    print("| path | single | batch | single vs portable | batch vs portable | batch speedup over single |")
    print("|---|---:|---:|---:|---:|---:|")
    ps, pb = us.get("784-10 d4 l8 m8 portable single"), us.get("784-10 d4 l8 m8 portable batch")
    ps, pb = ps or float("nan"), pb or float("nan")
    for k in ["portable", "avx2", "avx512"]:
        s, b = us.get(f"784-10 d4 l8 m8 {k} single"), us.get(f"784-10 d4 l8 m8 {k} batch")
        if s is None:
            continue
        sb, bb = best[f"784-10 d4 l8 m8 {k} single"], best[f"784-10 d4 l8 m8 {k} batch"]
        print(f"| {k} | {s:.3f} ({sb:.3f}) | {b:.3f} ({bb:.3f}) | {ps / s:.2f}x | {pb / b:.2f}x | {s / b:.2f}x |")
    for extra in ["classify", "array-inout"]:
        n = f"784-10 d4 l8 m8 {kernel} {extra}"
        if n in us:
            print(f"\n`{extra}` ({kernel}): {us[n]:.3f} µs per record, {results[n]['malloc']} allocations")

    print("\n### FFF against a dense layer of the same width (relu, same kernels, single record)\n")
    print("| FFF | µs | dense | µs | measured speedup | multiply-add ratio |")
    print("|---|---:|---|---:|---:|---:|")
    for n in sorted(results):
        if " dense" not in n:
            continue
        i, o, _, width, _ = shape_of(n)
        for f in sorted(results):
            if not f.startswith(f"{i}-{o} d") or "dense" in f or "/" in f or " m" in f.split(kernel)[0] or not f.endswith(" single"):
                continue
            _, _, d, h, m = shape_of(f)
            if (1 << d) * h != width or m:
                continue
            ratio = macs(i, o, 0, width, 0) / macs(i, o, d, h, 0)
            print(f"| {f.replace(' single', '')} | {us[f]:.3f} | {n.replace(' single', '')} | {us[n]:.3f} | "
                  f"{us[n] / us[f]:.0f}x | {ratio:.0f}x |")

    print("\n### 768 -> 768 (UltraFastBERT-like), no master: µs per record, median (single / batch)\n")
    print("| depth \\ leaf width | 1 | 4 | 8 |")
    print("|---|---:|---:|---:|")
    for d in [8, 12]:
        cells = []
        for l in [1, 4, 8]:
            base = f"768-768 d{d} l{l} {kernel}"
            s, b = us.get(base + " single"), us.get(base + " batch")
            cells.append(f"{s:.3f} / {b:.3f}" if s and b else "")
        print(f"| {d} | " + " | ".join(cells) + " |")

    compact_tables(results, us, best, kernel)

    allocations = {n: r.get("malloc") for n, r in results.items()}
    nonzero = {n: a for n, a in allocations.items() if a}
    print(f"\n### Allocations\n\n{len(allocations)} benchmarks; largest mallocCountTotal: "
          f"{max(a for a in allocations.values() if a is not None)}" + (f"; nonzero: {nonzero}" if nonzero else ""))


if __name__ == "__main__":
    main()
