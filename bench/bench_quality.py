"""Detection quality on several seeded worlds: ring Jaccard, precision@10, AUROC.

python bench/bench_quality.py --legit 3000 --seeds 1 2 3 5 7
"""

from __future__ import annotations

import argparse

import common
from common import OUT, ringscope

COLUMNS = ("weighted_jaccard", "precision_at_k", "lookalikes_in_top_k", "auroc", "auprc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 5, 7])
    parser.add_argument("--method", default="leiden")
    args = parser.parse_args()
    print("| seed | " + " | ".join(COLUMNS) + " | Jaccard by kind |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for seed in args.seeds:
        world = common.cached_world(args.legit, seed)
        snaps = OUT / f"snapshots-{args.legit}-{seed}"
        ringscope(
            "run",
            *map(str, sorted(world.glob("events*"))),
            "--out",
            str(snaps),
            "--method",
            args.method,
        )
        report_path = OUT / f"eval-{args.legit}-{seed}.json"
        report = common.evaluate(snaps, world, report_path)
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(report["jaccard_by_kind"].items()))
        cells = [
            f"{report[c]:.3f}" if isinstance(report[c], float) else str(report[c]) for c in COLUMNS
        ]
        print(f"| {seed} | " + " | ".join(cells) + f" | {kinds} |", flush=True)


if __name__ == "__main__":
    main()
