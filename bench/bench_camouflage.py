"""Learned risk before/after: ring recall at the takedown threshold, camouflaged rings first.

Each seeded world is run twice, with the learned risk model disabled (the heuristic) and
enabled, and both snapshots are scored by ``ringscope evaluate`` at the default takedown
threshold. The embeddings step is off in both runs so the comparison isolates the model.

python bench/bench_camouflage.py --legit 3000 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import common
from common import OUT, ringscope

VARIANTS = {
    "heuristic": "[embeddings]\nenabled = false\n[risk_model]\nenabled = false\n",
    "learned": "[embeddings]\nenabled = false\n[risk_model]\nenabled = true\n",
}
KINDS = ("camouflaged", "harassment", "reregistration", "spam_blast")


def _evaluate(world: Path, seed: int, legit: int, variant: str) -> dict:
    config = OUT / f"camouflage-{variant}.toml"
    config.write_text(VARIANTS[variant])
    snaps = OUT / f"camouflage-snapshots-{legit}-{seed}-{variant}"
    ringscope(
        "run",
        *map(str, sorted(world.glob("events*"))),
        "--out",
        str(snaps),
        "--config",
        str(config),
    )
    report_path = OUT / f"camouflage-eval-{legit}-{seed}-{variant}.json"
    report = common.evaluate(snaps, world, report_path)
    manifest = json.loads(
        (sorted(p for p in snaps.iterdir() if p.is_dir())[-1] / "manifest.json").read_text()
    )
    report["risk_model"] = manifest["steps"]["ranking"].get("risk_model", {})
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        "| seed | risk | camouflaged recall | recall (all rings) | "
        + " | ".join(k for k in KINDS if k != "camouflaged")
        + " | false positives | AUROC | AUPRC | precision@k | out-of-fold AUROC |"
    )
    print("|---" * 11 + "|")
    totals: dict[str, list[float]] = {}
    for seed in args.seeds:
        world = common.cached_world(args.legit, seed)
        for variant in VARIANTS:
            r = _evaluate(world, seed, args.legit, variant)
            by_kind = r["recall_by_kind"]
            totals.setdefault(variant, []).append(by_kind.get("camouflaged", 0.0))
            model = r["risk_model"]
            check = model.get("validation", {}).get("vs_never_flagged", {})
            val = f"{check['auroc']:.3f}" if check.get("auroc") is not None else "-"
            cells = [
                f"{by_kind.get('camouflaged', 0.0):.3f}",
                f"{r['recall']:.3f}",
                *(f"{by_kind.get(k, 0.0):.3f}" for k in KINDS if k != "camouflaged"),
                str(r["false_positives"]),
                f"{r['auroc']:.3f}",
                f"{r['auprc']:.3f}",
                f"{r['precision_at_k']:.3f}",
                val,
            ]
            print(f"| {seed} | {variant} | " + " | ".join(cells) + " |", flush=True)
    for variant, values in totals.items():
        print(f"mean camouflaged recall, {variant}: {sum(values) / len(values):.3f}")


if __name__ == "__main__":
    main()
