#!/usr/bin/env python3
"""How `fffrun` scales with cores and where its time goes, on 1,000,000 records (issue 13).

One command prints, for the CPU it runs on:
  - the ratio of `--threads 1` to `--threads 2` wall time (and the CPU time of each) for
    `classify` and `eval`, on IDX and on CSV input;
  - CSV parsing speed per core: the CSV bytes over the CPU time that reading CSV costs beyond
    reading the same records as IDX (`classify --threads 1`, medians);
  - the share of `classify --threads 1` time (IDX) spent outside the inference kernels, from
    `perf record` (callgrind when perf cannot sample).

Data (made once into --data, default /tmp/fffrun-scaling-data; never committed): a random
784 -> 10 model, depth 4, leaf width 8, master width 8, with MNIST's pixel preprocessing and
labels 0-9 (the shape of BENCHMARKS.md); 1,000,000 records made of the MNIST test images repeated
(../shared/data/mnist or $FFF_SHARED_DIR/data/mnist), or random pixels when MNIST is absent; the
same records as IDX (u8), IDX gzip, and CSV (integers 0..255); their labels as IDX.

Timings on a shared machine are noisy: each figure is a median of --runs runs, threads 1 and 2
alternating. Run on a quiet machine for figures to quote.

Usage: python3 Benchmarks/scripts/bench_fffrun_scaling.py [--fffrun PATH] [--runs N] [--records N]
       [--data DIR] [--skip-perf] [--gzip]
       (default PATH: $FFFRUN or .build/release/fffrun)
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

WIDTH = 784


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def make_model(path: Path) -> None:
    from pyfff.format import MasterLeaf, Model, write_model

    rng = np.random.default_rng(zlib.crc32(b"bench_fffrun_scaling"))
    f32 = np.float32
    i, o, d, h, m = WIDTH, 10, 4, 8, 8

    def t(scale: float, *shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * scale).astype(f32)

    leaves, nodes = 1 << d, (1 << d) - 1
    master = MasterLeaf(t(i**-0.5, i, m), t(0.1, m), t(m**-0.5, m, o), t(0.1, o), float(f32(rng.normal())))
    model = Model(i, o, d, h, "relu", t(i**-0.5, nodes, i), t(0.1, nodes), t(i**-0.5, leaves, i, h),
                  t(0.5, leaves, h), t(h**-0.5 * 2, leaves, h, o), t(0.1, leaves, o), master,
                  np.array([2 / 255], f32), np.array([-1.0], f32), [str(c) for c in range(10)],
                  [("name", "bench_fffrun_scaling 784-10 d4 l8 m8")])
    model.check()
    write_model(model, path)


def mnist() -> tuple[np.ndarray, np.ndarray] | None:
    shared = Path(os.environ.get("FFF_SHARED_DIR", REPO.parent / "shared")) / "data" / "mnist"
    images, labels = shared / "t10k-images-idx3-ubyte.gz", shared / "t10k-labels-idx1-ubyte.gz"
    if not images.exists() or not labels.exists():
        return None
    x = np.frombuffer(gzip.decompress(images.read_bytes())[16:], np.uint8).reshape(-1, WIDTH)
    y = np.frombuffer(gzip.decompress(labels.read_bytes())[8:], np.uint8)
    return x, y


def make_data(data: Path, records: int) -> dict[str, Path]:
    data.mkdir(parents=True, exist_ok=True)
    files = {name: data / f"{name}-{records}" for name in ("records.idx", "records.idx.gz", "records.csv", "labels.idx")}
    files["model"] = data / "model.fff"
    if not files["model"].exists():
        make_model(files["model"])
    if all(p.exists() for p in files.values()):
        return files
    found = mnist()
    if found is None:
        print("MNIST not found: random pixels", file=sys.stderr)
        rng = np.random.default_rng(1)
        x = rng.integers(0, 256, size=(records, WIDTH), dtype=np.uint8)
        y = rng.integers(0, 10, size=records, dtype=np.uint8)
    else:
        x0, y0 = found
        reps = -(-records // len(x0))
        x, y = np.tile(x0, (reps, 1))[:records], np.tile(y0, reps)[:records]
    head = bytes([0, 0, 8, 3]) + records.to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big")
    files["records.idx"].write_bytes(head + x.tobytes())
    with gzip.open(files["records.idx.gz"], "wb", compresslevel=6) as f:
        f.write(head + x.tobytes())
    files["labels.idx"].write_bytes(bytes([0, 0, 8, 1]) + records.to_bytes(4, "big") + y.tobytes())
    # CSV: integers, as a CSV export of pixels would be; one block of lines at a time.
    table = [str(v).encode() for v in range(256)]
    with open(files["records.csv"], "wb") as f:
        for start in range(0, records, 10_000):
            f.write(b"".join(b",".join(table[v] for v in row) + b"\n" for row in x[start:start + 10_000].tolist()))
    return files


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, fffrun's own) of one run; output discarded."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    errors = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(args)} failed ({code}): {errors}")
    return wall, usage.ru_utime + usage.ru_stime


def command(fffrun: str, files: dict[str, Path], verb: str, data: str, threads: int) -> list[str]:
    model = str(files["model"])
    if verb == "classify":
        return [fffrun, "classify", model, str(files[data]), "--threads", str(threads), "-q"]
    return [fffrun, "eval", model, "--inputs", str(files[data]), "--labels", str(files["labels.idx"]),
            "--threads", str(threads), "-q"]


def scaling(fffrun: str, files: dict[str, Path], verb: str, data: str, runs: int) -> dict[int, tuple[float, float]]:
    """Median (wall, cpu) for 1 and 2 threads, runs alternating."""
    times: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(runs):
        for threads in (1, 2):
            times[threads].append(run_once(command(fffrun, files, verb, data, threads)))
    return {t: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for t, v in times.items()}


#: Symbols of the inference kernels (Sources/CFFFKernels): the exported entry points (fff_...)
#: and the per-path helpers (..._avx512, ..._avx2, ..._portable).
KERNEL_SYMBOL = re.compile(r"^(fff_\w+|\w+_(avx512|avx2|portable))$")


def outside_kernels(fffrun: str, files: dict[str, Path], tmp: Path) -> tuple[float, list[tuple[float, str]]] | None:
    """Share of `classify --threads 1` (IDX) samples outside the kernels, and the top symbols
    outside them; perf record with the cpu-clock event, else callgrind (instructions)."""
    args = command(fffrun, files, "classify", "records.idx", 1)
    samples: list[tuple[float, str]] = []
    if shutil.which("perf"):
        data = tmp / "perf.data"
        record = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "4000", "-o", str(data), "--"] + args,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if record.returncode == 0:
            report = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--sort", "sym"],
                                    capture_output=True, text=True)
            for line in report.stdout.splitlines():
                found = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
                if found:
                    samples.append((float(found.group(1)), found.group(2)))
    if not samples and shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        out = tmp / "callgrind.out"
        small = [a if a != str(files["records.idx"]) else str(files["records.idx"]) for a in args]
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + small,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        report = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, text=True).stdout
        total = 0.0
        for line in report.splitlines():
            found = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+\S*:(\S+)", line)
            if found:
                samples.append((float(found.group(1).replace(",", "")), found.group(2)))
                total += samples[-1][0]
        samples = [(100 * v / total, s) for v, s in samples] if total else []
    if not samples:
        return None
    inside = sum(p for p, s in samples if KERNEL_SYMBOL.match(s))
    total = sum(p for p, _ in samples)
    outside = sorted(((p, s) for p, s in samples if not KERNEL_SYMBOL.match(s)), reverse=True)
    return 100 * (total - inside) / total, outside[:8]


def thread_shares(args: list[str], tmp: Path) -> list[float] | None:
    """Each thread's share of the process's CPU samples (perf record, cpu-clock), largest first."""
    if not shutil.which("perf"):
        return None
    data = tmp / "threads.data"
    if subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-o", str(data), "--"] + args,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        return None
    report = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-s", "pid"], capture_output=True, text=True)
    shares = [float(m.group(1)) for m in re.finditer(r"^\s*([\d.]+)%\s+\d+:", report.stdout, re.M)]
    return sorted(shares, reverse=True) or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fffrun", default=os.environ.get("FFFRUN", str(REPO / ".build/release/fffrun")))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--data", default="/tmp/fffrun-scaling-data")
    parser.add_argument("--skip-perf", action="store_true", help="no profile (share outside the kernels)")
    parser.add_argument("--gzip", action="store_true", help="also classify the IDX records gzip-compressed")
    args = parser.parse_args()
    files = make_data(Path(args.data), args.records)
    load = os.getloadavg()[0]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; load average {load:.2f} at the start"
          + (" (busy: figures are rough)" if load > 0.5 else ""))
    version = subprocess.run([args.fffrun, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}; {args.records} records, 784 -> 10 d4 l8 m8; median of {args.runs} runs, threads 1 and 2 alternating")
    print()
    print(f"{'input':8s} {'command':8s} {'wall t1 s':>9s} {'wall t2 s':>9s} {'t1/t2':>6s} {'cpu t1 s':>8s} {'cpu t2 s':>8s}")
    medians: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    inputs = [("records.idx", "idx"), ("records.csv", "csv")] + ([("records.idx.gz", "idx.gz")] if args.gzip else [])
    for data, name in inputs:
        for verb in ("classify", "eval"):
            m = scaling(args.fffrun, files, verb, data, args.runs)
            medians[(name, verb)] = m
            print(f"{name:8s} {verb:8s} {m[1][0]:9.3f} {m[2][0]:9.3f} {m[1][0] / m[2][0]:6.2f} {m[1][1]:8.3f} {m[2][1]:8.3f}")
    if not args.skip_perf:
        # What the two threads would give on two free cores: the --threads 1 CPU time over the
        # busiest thread's CPU time with --threads 2 (perf's per-thread samples). Other load on
        # the machine does not change it, unlike the wall-time ratio above.
        import tempfile

        print()
        print("t1/t2 from per-thread CPU, immune to other load: the balance (1 / the busiest thread's share of")
        print("the --threads 2 CPU) and the bound with the CPU times above (t1 CPU / the busiest thread's CPU):")
        with tempfile.TemporaryDirectory() as tmp:
            for (name, verb), m in medians.items():
                shares = thread_shares(command(args.fffrun, files, verb, dict((n, d) for d, n in inputs)[name], 2), Path(tmp))
                if shares:
                    busiest = m[2][1] * shares[0] / 100
                    print(f"  {name:8s} {verb:8s} busiest thread {shares[0]:.1f}% of {m[2][1]:.3f} CPU s: "
                          f"balance {100 / shares[0]:.2f}x, bound {m[1][1] / busiest:.2f}x")
    csv_bytes = files["records.csv"].stat().st_size
    extra = medians[("csv", "classify")][1][1] - medians[("idx", "classify")][1][1]
    print()
    if extra > 0:
        print(f"CSV parsing: {csv_bytes / 1e6:.0f} MB in {extra:.3f} CPU s beyond reading the same records as IDX "
              f"(classify --threads 1): {csv_bytes / 1e6 / extra:.0f} MB/s per core")
    if not args.skip_perf:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            found = outside_kernels(args.fffrun, files, Path(tmp))
        if found is None:
            print("time outside the kernels: no profiler (perf or valgrind) could sample")
        else:
            share, top = found
            print(f"classify --threads 1, IDX: {share:.1f}% of the samples outside the kernels; the largest outside:")
            for percent, symbol in top:
                print(f"  {percent:5.1f}%  {symbol[:100]}")


if __name__ == "__main__":
    main()
