#!/usr/bin/env python3
"""PyTorch's own FFF inference cost, for comparison with fffrun: µs per record, one thread.

The paper's MNIST shape (784 -> 10, depth 4, leaf width 8, master leaf 8), evaluated by hard
descent the way the authors' ``eval_forward`` does it (per-record gather of node rows with
``index_select`` + ``bmm``, then leaf weights gathered by leaf index and ``einsum``), under
``torch.inference_mode()``. Reports the median over repeats, batched (one call on 1000 records)
and at batch 1 (1000 calls on one record each). Weights are random: the cost does not depend
on them. Needs torch.

    python3 Benchmarks/scripts/bench_torch.py [--threads 1] [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))  # pyfff


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=15, help="timed repeats; the median is reported")
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--leaf-width", type=int, default=8)
    p.add_argument("--master", type=int, default=8)
    args = p.parse_args(argv)

    import torch

    from pyfff.trainer import FFFModule

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = FFFModule(784, args.leaf_width, 10, args.depth, master_width=args.master).eval()
    x = torch.rand(args.records, 784) * 2 - 1
    singles = [x[i : i + 1].clone() for i in range(args.records)]

    def batched() -> None:
        model.eval_forward(x)

    def one_by_one() -> None:
        for r in singles:
            model.eval_forward(r)

    results = {}
    with torch.inference_mode():
        for name, fn in (("batch 1000", batched), ("batch 1", one_by_one)):
            fn()  # warm-up
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            results[name] = 1e6 * statistics.median(times) / args.records
    print(f"torch {torch.__version__}, {args.threads} thread(s), {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"shape 784 -> 10, depth {args.depth}, leaf width {args.leaf_width}, master {args.master}; "
          f"median of {args.repeats} repeats over {args.records} records")
    for name, us in results.items():
        print(f"  {name:10s}: {us:8.2f} µs per record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
