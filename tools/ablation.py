#!/usr/bin/env python3
"""Ablation of load balancing and the master leaf on digits (the table in tools/ABLATION.md).

Four variants (original FFF, + load balancing, + master leaf, + both) over (leaf width, depth)
pairs of equal total width 16, several seeds each, all with tools/train's defaults otherwise.
Every figure is a hard-descent figure (FORMAT.md §14), the way the exported model is used; leaf
usage is measured on the training split. A dense MLP of width 16 (depth 0) is run as a
reference points. Needs torch and scikit-learn. Deterministic: the same command gives the same
table on the same torch build.

    python3 tools/ablation.py --seeds 5 --json /tmp/ablation.json > /tmp/ablation.md
    python3 tools/ablation.py --report-from /tmp/ablation.json   # the tables again, no training
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

SHAPES = [(8, 1), (4, 2), (2, 3), (1, 4)]  # (leaf width, depth): 2**depth * leaf width = 16
# Dense MLPs (depth 0, one leaf): width 16 has the FFFs' total width; width 8 is the master leaf
# alone, which tells how much the tree adds once a master leaf is present.
REFERENCE_SHAPES = [(16, 0), (8, 0)]
MASTER_WIDTH = 8
ALPHA = 1.0
VARIANTS = {  # name -> (load-balancing alpha, master width)
    "original": (0.0, 0),
    "load balancing": (ALPHA, 0),
    "master leaf": (0.0, MASTER_WIDTH),
    "both": (ALPHA, MASTER_WIDTH),
}


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (variant, shape, seed) and return its hard-descent figures."""
    from pyfff.digits import load_digits_split
    from pyfff.trainer import TrainConfig, train, usage_metrics

    alpha, master = VARIANTS[job["variant"]]
    cfg = TrainConfig(depth=job["depth"], leaf_width=job["leaf_width"], master_width=master,
                      load_balance=alpha, seed=job["seed"], threads=1,
                      epochs_balance=job["epochs_balance"], epochs_harden=job["epochs_harden"])
    r = train(load_digits_split(), cfg)
    usage = usage_metrics(np.array(r.leaf_counts["train"]))
    return {**job, "config": asdict(cfg), "accuracy": r.accuracy, "correct": r.correct,
            "leaf_counts": r.leaf_counts, "best_epoch": r.best_epoch, "best_phase": r.best_phase,
            "seconds": r.seconds, **usage}


def _ms(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    a = np.asarray(values, dtype=np.float64) * scale
    std = a.std(ddof=1) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {std:.{digits}f}"


def report(results: list[dict[str, Any]], seeds: int, wall: float = float("nan")) -> str:
    """Markdown tables: per shape and variant, mean ± sample std over seeds."""
    lines = [
        f"{seeds} seeds per cell; mean ± sample standard deviation; accuracies in % by hard descent; "
        f"usage entropy = entropy of the training split's leaf histogram / log(L) (1 = uniform); "
        f"unused = leaves no training record reaches. Training time summed over runs "
        f"{sum(r['seconds'] for r in results) / 60:.1f} min" + (f" (wall {wall / 60:.1f} min)." if wall == wall else "."),
        "",
        "| leaf width, depth | variant | train acc | val acc | test acc | usage entropy | unused leaves |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    shapes = [s for s in [*SHAPES, *REFERENCE_SHAPES] if any((r["leaf_width"], r["depth"]) == s for r in results)]
    for lw, depth in shapes:
        for variant in VARIANTS:
            rows = [r for r in results if (r["leaf_width"], r["depth"], r["variant"]) == (lw, depth, variant)]
            if not rows:
                continue
            acc = {s: [r["accuracy"][s] for r in rows] for s in ("train", "val", "test")}
            lines.append(
                f"| ({lw}, {depth}) | {variant} | {_ms(acc['train'], 100)} | {_ms(acc['val'], 100)} | "
                f"{_ms(acc['test'], 100)} | {_ms([r['usage_entropy'] for r in rows], digits=3)} | "
                f"{_ms([r['unused_leaves'] for r in rows])} |"
            )
    lines += ["", "Gain over the original FFF (difference of means, points; spread = std of the variant / std of the original):", "",
              "| leaf width, depth | variant | Δ train | Δ test | train std ratio | test std ratio |", "|---|---|---:|---:|---:|---:|"]
    for lw, depth in SHAPES:
        base = [r for r in results if (r["leaf_width"], r["depth"], r["variant"]) == (lw, depth, "original")]
        if not base:
            continue
        for variant in list(VARIANTS)[1:]:
            rows = [r for r in results if (r["leaf_width"], r["depth"], r["variant"]) == (lw, depth, variant)]
            if not rows:
                continue
            cells = []
            for s in ("train", "test"):
                cells.append(100 * (np.mean([r["accuracy"][s] for r in rows]) - np.mean([r["accuracy"][s] for r in base])))
            ratios = []
            for s in ("train", "test"):
                sb = np.std([r["accuracy"][s] for r in base], ddof=1) if len(base) > 1 else float("nan")
                sv = np.std([r["accuracy"][s] for r in rows], ddof=1) if len(rows) > 1 else float("nan")
                ratios.append(sv / sb if sb > 0 else float("nan"))
            lines.append(f"| ({lw}, {depth}) | {variant} | {cells[0]:+.1f} | {cells[1]:+.1f} | {ratios[0]:.2f} | {ratios[1]:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 per cell (default 5)")
    p.add_argument("--epochs-balance", type=int, default=None, help="default: tools/train's")
    p.add_argument("--epochs-harden", type=int, default=None, help="default: tools/train's")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes, 1 thread each (default 1)")
    p.add_argument("--no-reference", action="store_true", help=f"skip the dense reference rows {REFERENCE_SHAPES}")
    p.add_argument("--shape", action="append", metavar="LW,DEPTH",
                   help="run only these (leaf width, depth) pairs (repeatable); default: the whole grid")
    p.add_argument("--json", metavar="PATH", help="also write every run's figures as JSON")
    p.add_argument("--report-from", nargs="+", metavar="JSON", help="print the tables from saved --json files; no training")
    args = p.parse_args(argv)
    if args.report_from:
        results = [r for path in args.report_from for r in json.load(open(path))]
        seeds = len({r["seed"] for r in results})
        print(report(results, seeds))
        return 0

    from pyfff.trainer import TrainConfig

    d = TrainConfig()
    eb = d.epochs_balance if args.epochs_balance is None else args.epochs_balance
    eh = d.epochs_harden if args.epochs_harden is None else args.epochs_harden
    jobs = [{"variant": v, "leaf_width": lw, "depth": dp, "seed": s, "epochs_balance": eb, "epochs_harden": eh}
            for lw, dp in SHAPES for v in VARIANTS for s in range(args.seeds)]
    if not args.no_reference:
        jobs += [{"variant": "original", "leaf_width": lw, "depth": dp, "seed": s,
                  "epochs_balance": eb, "epochs_harden": eh} for lw, dp in REFERENCE_SHAPES for s in range(args.seeds)]
    if args.shape:
        wanted = {tuple(int(v) for v in text.split(",")) for text in args.shape}
        jobs = [j for j in jobs if (j["leaf_width"], j["depth"]) in wanted]
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for i, r in enumerate(pool.map(run_one, jobs), 1):
            results.append(r)
            print(f"[{i}/{len(jobs)}] ({r['leaf_width']},{r['depth']}) {r['variant']:15s} seed {r['seed']}: "
                  f"train {100 * r['accuracy']['train']:.1f} test {100 * r['accuracy']['test']:.1f} "
                  f"unused {r['unused_leaves']} ({r['seconds']:.1f} s)", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results, args.seeds, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
