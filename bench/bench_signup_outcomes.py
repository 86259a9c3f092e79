"""Signup outcomes recalibrate the repeat-offender check: before and after 50 outcomes.

python bench/bench_signup_outcomes.py --legit 3000 --seeds 3 5 11 --outcomes 50

For each seed: the world's held-back signups are split at random into ``--outcomes``
attempts that reviewers judge (their truth recorded with the real
``ringscope signup-outcome`` into the root's SQLite store) and the rest, held out. The
held-out attempts are scored with ``ringscope evaluate-signups`` before and after (the
CLI recalibrates from the store). Two starting points: the shipped configuration, and
a mis-weighted one (``--start underweighted``: subnet and email-pattern matches worth
little, as on a platform where the defaults undersell them) that the outcomes must fix.
Which attempts get reviewed: any whose check found a match (a reviewer only sees those),
drawn at random.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

import common
from bench_signup import _prepare
from common import ringscope

from ringscope.worlds.signups import SIGNUPS_FILE, SIGNUPS_TRUTH_FILE

OUT = common.OUT / "signup-outcomes"
UNDERWEIGHTED = """[embeddings]
enabled = false
[signup.matches.subnet]
reuse = 0.02
base_rate = 0.001
[signup.matches.email_pattern]
reuse = 0.02
base_rate = 0.001
[signup.matches.device]
reuse = 0.05
base_rate = 0.000001
"""


def _evaluate(root: Path, signups: Path, truth: Path, config: Path, report: Path) -> dict:
    ringscope(
        "evaluate-signups", "--snapshot", str(root), "--in", str(signups), "--truth",
        str(truth), "--config", str(config), "--json", str(report),
    )  # fmt: skip
    return json.loads(report.read_text())


def _split(world: Path, root: Path, config: Path, n: int, seed: int, out: Path) -> Path:
    """Write outcomes.jsonl (n reviewed attempts with a match) and the held-out files."""
    lines = (world / SIGNUPS_FILE).read_text().splitlines()
    truth = json.loads((world / SIGNUPS_TRUTH_FILE).read_text())
    by_id = {a["actor_id"]: a for a in truth["attempts"]}
    checked = out / "checked.jsonl"
    ringscope(
        "check-signups", "--snapshot", str(root), "--in", str(world / SIGNUPS_FILE),
        "--out", str(checked), "--config", str(config),
    )  # fmt: skip
    matched = {
        r["actor_id"] for r in map(json.loads, checked.read_text().splitlines()) if r["matches"]
    }
    candidates = [line for line in lines if json.loads(line)["actor_id"] in matched]
    reviewed = set(random.Random(seed).sample(candidates, min(n, len(candidates))))
    with (out / "outcomes.jsonl").open("w") as fh:
        for line in reviewed:
            attempt = json.loads(line)
            outcome = "offender" if by_id[attempt["actor_id"]]["offender"] else "legit"
            fh.write(json.dumps({"attempt": attempt, "outcome": outcome, "investigator": "bench"}))
            fh.write("\n")
    held = [line for line in lines if line not in reviewed]
    held_ids = {json.loads(line)["actor_id"] for line in held}
    (out / "heldout.jsonl").write_text("\n".join(held) + "\n")
    (out / "heldout_truth.json").write_text(
        json.dumps(
            truth | {"attempts": [a for a in truth["attempts"] if a["actor_id"] in held_ids]}
        )
    )
    return out / "outcomes.jsonl"


def _cells(r: dict) -> str:
    kinds = r["kinds"]
    return (
        f"{r['recall_at_1_strong']:.3f} | {kinds['same_device']['recall_at_1']:.3f} | "
        f"{kinds['subnet_email']['recall_at_1']:.3f} | {r['legit_fpr_review']:.3f} | "
        f"{r['legit_fpr_block']:.3f} | {r['calibration']['brier']:.4f} | "
        f"{r['calibration']['ece']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 11])
    parser.add_argument("--outcomes", type=int, default=50)
    parser.add_argument("--start", choices=("shipped", "underweighted"), nargs="+",
                        default=["shipped", "underweighted"])  # fmt: skip
    args = parser.parse_args()
    print(
        "| seed | start | when | recall@1 strong | same_device | subnet_email "
        "| legit FPR review+ | legit FPR block | Brier | ECE |"
    )
    print("|---" * 10 + "|", flush=True)
    for seed in args.seeds:
        world, root = _prepare(args.legit, seed)
        for start in args.start:
            out = OUT / f"{seed}-{start}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            run_root = out / "root"
            shutil.copytree(root, run_root, symlinks=True)
            config = out / "config.toml"
            config.write_text(UNDERWEIGHTED if start == "underweighted" else "")
            outcomes = _split(world, run_root, config, args.outcomes, seed, out)
            held, truth = out / "heldout.jsonl", out / "heldout_truth.json"
            before = _evaluate(run_root, held, truth, config, out / "before.json")
            ringscope(
                "signup-outcome", str(outcomes), "--snapshot", str(run_root), "--config",
                str(config),
            )  # fmt: skip
            after = _evaluate(run_root, held, truth, config, out / "after.json")
            for when, r in (("before", before), (f"after {args.outcomes}", after)):
                print(f"| {seed} | {start} | {when} | {_cells(r)} |", flush=True)


if __name__ == "__main__":
    main()
