"""Real mail: import the SpamAssassin corpus, label 30% of spam senders, score the rest.

python bench/bench_mail.py [--seeds 0 1 2] [--share 0.3] [--no-risk-model]

The corpus is imported with ``ringscope import-mail`` (folders ``easy-ham-1``,
``hard-ham-1``, ``spam-1`` give the truth). A seeded random ``share`` of the distinct
spam senders gets one ``suspension`` event each, one minute after their last message:
the only labels the run sees. After ``ringscope run`` (in process, demo key unless
``RINGSCOPE_SECRET_KEY`` is set), the actors' ``risk_score`` is scored by AUROC and
AUPRC with the *other* spam senders as positives and the ham senders as negatives.
Senders found in both ham and spam folders are left out of the evaluation (and are
never labelled), and counted. A sender is its ``actor_id``, which the importer writes as
the keyed pseudonym of the normalised address (``Keyring.hash("account", ...)``), so the
addresses never meet the snapshot and one sender's address variants are one actor.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from ringscope.config import RunConfig
from ringscope.graph.ingest.mail import import_mail
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.snapshot import read_manifest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "spamassassin_mail.tar.gz"


def _senders(events_path: Path) -> tuple[dict[str, set[str]], dict[str, datetime]]:
    """Per sender (pseudonymous actor id): its folders (ham/spam) and last message time."""
    folders: dict[str, set[str]] = defaultdict(set)
    last: dict[str, datetime] = {}
    with gzip.open(events_path, "rb") as handle:
        for line in handle:
            event = orjson.loads(line)
            actor = event["actor_id"]
            folders[actor].add("spam" if event["folder"].startswith("spam") else "ham")
            ts = datetime.fromisoformat(event["ts"])
            last[actor] = max(ts, last.get(actor, ts))
    return folders, last


def _write_suspensions(path: Path, chosen: list[str], last: dict[str, datetime]) -> None:
    with gzip.open(path, "wb") as out:
        for actor in chosen:
            event = {
                "ts": (last[actor] + timedelta(minutes=1)).astimezone(UTC).isoformat(),
                "actor_id": actor,
                "event_type": "suspension",
                "reason": "spam (benchmark label)",
            }
            out.write(orjson.dumps(event) + b"\n")


def _model_record(manifest: dict) -> object:
    """What the manifest says about the risk model: any ranking entry naming a model."""
    ranking = manifest.get("steps", {}).get("ranking", {})
    found = {k: v for k, v in ranking.items() if "model" in k.lower()}
    return found or "none recorded (heuristic risk)"


def _evaluate(snapshot: Path, positives: list[str], negatives: list[str]) -> dict[str, float]:
    actors = pl.read_parquet(
        snapshot / "actors.parquet", columns=["actor_id", "risk_score", "cluster_id"]
    )
    rows = {r[0]: r[1:] for r in actors.iter_rows()}
    keys = positives + negatives
    missing = [k for k in keys if k not in rows]
    if missing:
        raise SystemExit(f"{len(missing)} evaluated senders are not in {snapshot}/actors.parquet")
    scores = [rows[k][0] for k in keys]
    truth = [1] * len(positives) + [0] * len(negatives)

    def clustered(group: list[str]) -> float:
        return sum(rows[k][1] is not None for k in group) / len(group)

    return {
        "auroc": float(roc_auc_score(truth, scores)),
        "auprc": float(average_precision_score(truth, scores)),
        "base_rate": len(positives) / len(keys),
        "spam_clustered": clustered(positives),
        "ham_clustered": clustered(negatives),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--share", type=float, default=0.3, help="share of spam senders labelled")
    parser.add_argument(
        "--no-risk-model",
        action="store_true",
        help="switch the learned risk model off (risk_model.enabled = false): heuristic risk",
    )
    args = parser.parse_args()
    keyring = load_keyring(allow_demo=True)
    config = RunConfig().with_overrides({"risk_model.enabled": not args.no_risk_model})
    with tempfile.TemporaryDirectory(prefix="ringscope-bench-mail-") as tmp:
        work = Path(tmp)
        events = work / "mail" / "events.jsonl.gz"
        events.parent.mkdir()
        started = time.perf_counter()
        stats = import_mail(
            args.corpus,
            events,
            keyring=keyring,
            label_from_folder=True,
            workers=min(4, os.cpu_count() or 1),
        )
        seconds = time.perf_counter() - started
        print(
            f"import: {stats.messages:,} messages -> {stats.events:,} events, "
            f"{stats.rejected_total:,} rejected {dict(stats.rejected)} in {seconds:.1f} s "
            f"({stats.messages / seconds:,.0f} messages/s); relay IP {stats.with_ip:,}, "
            f"links {stats.with_urls:,}, ts from {dict(stats.time_sources)}"
        )
        folders, last = _senders(events)
        both = sorted(k for k, f in folders.items() if len(f) == 2)
        spam = sorted(k for k, f in folders.items() if f == {"spam"})
        ham = sorted(k for k, f in folders.items() if f == {"ham"})
        print(
            f"senders: {len(spam):,} spam-only, {len(ham):,} ham-only, "
            f"{len(both):,} in both (left out)"
        )
        results = []
        for seed in args.seeds:
            chosen = sorted(random.Random(seed).sample(spam, round(args.share * len(spam))))
            held_back = sorted(set(spam) - set(chosen))
            labels = work / f"labels-{seed}.jsonl.gz"
            _write_suspensions(labels, chosen, last)
            started = time.perf_counter()
            snapshot = run_pipeline(
                [events, labels],
                work / f"snapshots-{seed}",
                config=config,
                keyring=keyring,
            )
            run_seconds = time.perf_counter() - started
            metrics = _evaluate(snapshot, held_back, ham)
            manifest = read_manifest(snapshot)
            results.append(metrics)
            print(
                f"seed {seed}: {len(chosen)} spam senders suspended; held back "
                f"{len(held_back)} spam vs {len(ham)} ham: AUROC {metrics['auroc']:.3f}, "
                f"AUPRC {metrics['auprc']:.3f} (base rate {metrics['base_rate']:.3f}); "
                f"in a cluster: spam {metrics['spam_clustered']:.0%}, "
                f"ham {metrics['ham_clustered']:.0%}; "
                f"run {run_seconds:.0f} s; risk model: {json.dumps(_model_record(manifest))}"
            )
        if len(results) > 1:
            mean = {k: sum(r[k] for r in results) / len(results) for k in ("auroc", "auprc")}
            print(
                f"mean over {len(results)} seeds: "
                f"AUROC {mean['auroc']:.3f}, AUPRC {mean['auprc']:.3f}"
            )


if __name__ == "__main__":
    main()
