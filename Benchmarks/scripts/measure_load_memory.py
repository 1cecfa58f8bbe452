#!/usr/bin/env python3
"""Peak memory of loading a model: `fffrun validate` (read and check every byte, build the model)
on generated models of 13 MB and 52 MB decoded, stored four ways (codec none or zstd, with or
without the shuffle filter), against the peak of loading a 3 KB model (the process's baseline).

Peak resident memory comes from wait4(2)'s ru_maxrss for each child. Prints, per file:
decoded payload, peak RSS, CPU time (user + system, the least of --repeat runs), and the
overhead = peak - baseline - decoded, which SECURITY.md
promises is a small constant (about 1 MiB: the header and table, one read piece, libzstd's
state). With --compare OLD_FFFRUN the same runs of another build go side by side, with the ratio
of the two peaks.

With --command classify, the runs are `fffrun classify MODEL < /dev/null` instead: loading plus
building the runtime's InferenceModel (its packed copy of the weights).

Usage: python3 Benchmarks/scripts/measure_load_memory.py [--fffrun PATH] [--compare OLD_FFFRUN] [--repeat N]
                                                            [--command validate|classify]
       (default PATH: $FFFRUN or .build/release/fffrun; build it with
        `swift build -c release --product fffrun`)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))  # pyfff

from pyfff.format import Model, write_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VARIANTS = [("none", False), ("none", True), ("zstd", False), ("zstd", True)]


def make_model(depth: int, width: int, leaf: int, seed: int = 1) -> Model:
    rng = np.random.default_rng(seed)
    nodes, leaves = 2 ** depth - 1, 2 ** depth

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    return Model(input_width=width, output_width=width, depth=depth, leaf_width=leaf, activation="relu",
                 node_weights=r(nodes, width), node_biases=r(nodes), w1=r(leaves, width, leaf),
                 b1=r(leaves, leaf), w2=r(leaves, leaf, width), b2=r(leaves, width))


def decoded_bytes(m: Model) -> int:
    return 4 * sum(a.size for a in (m.node_weights, m.node_biases, m.w1, m.b1, m.w2, m.b2)) + 64


# ru_maxrss counts the memory a process had before exec, that of the process it was forked
# from: measured from this Python (numpy, models in memory) it would read ~40 MiB and up. So a
# small launcher, started with `python3 -S`, forks and execs fffrun and reports the child's peak.
LAUNCHER = """
import os, sys
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, rss, round((usage.ru_utime + usage.ru_stime) * 1000))
"""


def peak_kib(fffrun: str, path: str, repeat: int, command: str = "validate") -> tuple[int, int]:
    """The smallest of `repeat` peaks in KiB and of their CPU times in ms (the least disturbed runs)."""
    global launcher_floor
    peaks, times = [], []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, fffrun, command, path],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True)
        status, peak, floor, cpu_ms = (int(x) for x in out.stdout.split())
        launcher_floor = max(launcher_floor, floor)
        if status != 0:
            sys.exit(f"{fffrun} {command} {path} failed: {out.stderr}")
        peaks.append(peak)
        times.append(cpu_ms)
    return min(peaks), min(times)


launcher_floor = 0  # KiB resident in the launcher when it forks: a floor under every reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fffrun", default=os.environ.get("FFFRUN", str(REPO / ".build/release/fffrun")))
    parser.add_argument("--compare", help="another fffrun binary to measure side by side")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--command", choices=["validate", "classify"], default="validate",
                        help="validate (load only, the default) or classify with empty input (load and build the runtime)")
    args = parser.parse_args()
    builds = [("this build", args.fffrun)] + ([("compared", args.compare)] if args.compare else [])
    for _, binary in builds:
        if not os.access(binary, os.X_OK):
            sys.exit(f"no fffrun at {binary}: build it with `swift build -c release --product fffrun`")

    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny.fff")
        write_model(make_model(2, 16, 4), tiny)
        baseline = {name: peak_kib(binary, tiny, args.repeat, args.command)[0] for name, binary in builds}
        print("baseline (3 KB model): " + ", ".join(f"{name} {kib / 1024:.1f} MiB" for name, kib in baseline.items())
              + f" (the launcher forks with {launcher_floor / 1024:.1f} MiB resident, below it: the readings are fffrun's)")
        if min(baseline.values()) <= launcher_floor:
            sys.exit("the launcher's memory hides fffrun's baseline; the readings would be floors")
        header = "| model | codec | shuffle | file MiB | decoded MiB | peak MiB | overhead MiB | CPU ms |"
        if args.compare:
            header += " compared peak MiB | compared overhead MiB | compared CPU ms | peak ratio |"
        print()
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for depth, width, leaf in ((6, 768, 32), (8, 768, 32)):
            model = make_model(depth, width, leaf)
            decoded = decoded_bytes(model)
            for codec, shuffle in VARIANTS:
                path = os.path.join(tmp, f"d{depth}-{codec}-{int(shuffle)}.fff")
                write_model(model, path, codec=codec, shuffle=shuffle, level=3)
                size = os.path.getsize(path)
                cells = [f"768->768 d{depth} l{leaf}", codec, "yes" if shuffle else "no",
                         f"{size / 2**20:.1f}", f"{decoded / 2**20:.1f}"]
                peaks = {}
                for name, binary in builds:
                    peak, cpu_ms = peak_kib(binary, path, args.repeat, args.command)
                    peaks[name] = peak
                    cells += [f"{peak / 1024:.1f}", f"{(peak - baseline[name] - decoded / 1024) / 1024:+.1f}", str(cpu_ms)]
                if args.compare:
                    cells.append(f"{peaks['this build'] / peaks['compared']:.2f}")
                os.remove(path)
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
