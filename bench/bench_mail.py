"""Real mail: import a spam corpus, label some spam senders, score the rest, beside a peer.

python bench/bench_mail.py [--corpus PATH] [--seeds 0 1 2] [--share 0.3]
                           [--modes labelled label_free time_order] [--no-risk-model]
                           [--set section.key=value ...]

The corpus (default the SpamAssassin one; ``../shared/data/trec07p_first10k.tar.gz`` works
the same) is imported with ``ringscope import-mail``; folder names (``spam*`` vs the rest)
give the truth. A sender is its ``actor_id`` (the keyed pseudonym the importer writes);
senders found in both spam and ham folders are left out of every evaluation and never
labelled. Modes:

* ``labelled``: a seeded random ``share`` of the spam senders gets one ``suspension``
  event each, one minute after their last message: the only labels the run sees. AUROC
  and AUPRC of ``risk_score``: the *other* spam senders vs the ham senders not used by
  the peer. Peer: TF-IDF (word 1-2-grams, sublinear) + logistic regression on each
  sender's subject and text, trained on the suspended senders plus the same share of
  ham senders (it gets ham labels; ringscope does not), scored on the same senders.
* ``label_free``: no labels at all; AUROC of ``risk_score``, spam vs ham senders.
* ``time_order``: messages sorted by time, cut at the median; every spam sender seen
  before the cut is suspended at the cut (or one minute after its last message, if
  earlier); evaluated on the senders that first appear after the cut. Peer: the same
  TF-IDF model trained on the messages before the cut (both classes).

Runs are in process (demo key unless ``RINGSCOPE_SECRET_KEY`` is set).
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

import numpy as np
import orjson
import polars as pl
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from ringscope.config import RunConfig
from ringscope.ingest.mail import import_mail
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.snapshot import read_manifest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPUS = DATA / "spamassassin_mail.tar.gz"


class Corpus:
    """Per sender: folders, message times and text, read from the imported events."""

    def __init__(self, events_path: Path) -> None:
        self.folders: dict[str, set[str]] = defaultdict(set)
        self.messages: list[tuple[datetime, str, str]] = []  # (ts, sender, text)
        with gzip.open(events_path, "rb") as handle:
            for line in handle:
                event = orjson.loads(line)
                actor = event["actor_id"]
                self.folders[actor].add("spam" if event["folder"].startswith("spam") else "ham")
                text = f"{event.get('subject') or ''} {event.get('text') or ''}"
                self.messages.append((datetime.fromisoformat(event["ts"]), actor, text))
        self.messages.sort(key=lambda m: m[0])
        self.spam = sorted(k for k, f in self.folders.items() if f == {"spam"})
        self.ham = sorted(k for k, f in self.folders.items() if f == {"ham"})
        self.both = sorted(k for k, f in self.folders.items() if len(f) == 2)

    def last(self, before: datetime | None = None) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for ts, actor, _ in self.messages:
            if before is None or ts < before:
                out[actor] = ts
        return out

    def documents(self, before: datetime | None = None) -> dict[str, str]:
        docs: dict[str, list[str]] = defaultdict(list)
        for ts, actor, text in self.messages:
            if before is None or ts < before:
                docs[actor].append(text)
        return {k: " ".join(v) for k, v in docs.items()}


def _write_suspensions(path: Path, when: dict[str, datetime]) -> None:
    with gzip.open(path, "wb") as out:
        for actor, ts in sorted(when.items()):
            event = {
                "ts": ts.astimezone(UTC).isoformat(),
                "actor_id": actor,
                "event_type": "suspension",
                "reason": "spam (benchmark label)",
            }
            out.write(orjson.dumps(event) + b"\n")


def _peer(docs: dict[str, str], train: dict[str, int], test: list[str]) -> np.ndarray:
    """TF-IDF + logistic regression: fit on ``train`` senders' text, score ``test``."""
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=200_000
    )
    names = list(train)
    x = vectorizer.fit_transform([docs.get(k, "") for k in names])
    model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    model.fit(x, [train[k] for k in names])
    return model.predict_proba(vectorizer.transform([docs.get(k, "") for k in test]))[:, 1]


def _metrics(truth: list[int], scores) -> str:
    auroc, auprc = roc_auc_score(truth, scores), average_precision_score(truth, scores)
    return f"AUROC {auroc:.3f}, AUPRC {auprc:.3f}"


def _risk(snapshot: Path, keys: list[str]) -> list[float]:
    actors = pl.read_parquet(snapshot / "actors.parquet", columns=["actor_id", "risk_score"])
    rows = dict(actors.iter_rows())
    missing = [k for k in keys if k not in rows]
    if missing:
        raise SystemExit(f"{len(missing)} evaluated senders are not in {snapshot}/actors.parquet")
    return [rows[k] for k in keys]


def _validation(snapshot: Path) -> str:
    model = read_manifest(snapshot)["steps"]["ranking"]["risk_model"]
    if model.get("used") != "learned":
        return f"risk model: {model.get('used')} ({model.get('reason', '')})"
    v = model["validation"]["vs_never_flagged"]
    return (
        f"manifest validation (out-of-fold, {v['positives']} labelled vs {v['negatives']} "
        f"never-flagged): AUROC {v['auroc']}, AUPRC {v['auprc']}"
    )


def _run(inputs: list[Path], out: Path, config: RunConfig, keyring) -> tuple[Path, float]:
    started = time.perf_counter()
    snapshot = run_pipeline(inputs, out, config=config, keyring=keyring)
    return snapshot, time.perf_counter() - started


def labelled(corpus: Corpus, events: Path, work: Path, seed: int, share: float, config, keyring):
    rng = random.Random(seed)
    chosen = sorted(rng.sample(corpus.spam, round(share * len(corpus.spam))))
    ham_train = sorted(rng.sample(corpus.ham, round(share * len(corpus.ham))))
    held_spam = sorted(set(corpus.spam) - set(chosen))
    held_ham = sorted(set(corpus.ham) - set(ham_train))
    last = corpus.last()
    labels = work / f"labels-{seed}.jsonl.gz"
    _write_suspensions(labels, {k: last[k] + timedelta(minutes=1) for k in chosen})
    snapshot, seconds = _run([events, labels], work / f"snap-l{seed}", config, keyring)
    keys = held_spam + held_ham
    truth = [1] * len(held_spam) + [0] * len(held_ham)
    docs = corpus.documents()
    peer = _peer(docs, {k: 1 for k in chosen} | {k: 0 for k in ham_train}, keys)
    print(
        f"labelled seed {seed}: {len(chosen)} spam senders suspended; scored {len(held_spam)} "
        f"spam vs {len(held_ham)} ham: ringscope {_metrics(truth, _risk(snapshot, keys))}; "
        f"peer TF-IDF+LR {_metrics(truth, peer)}; run {seconds:.0f} s; {_validation(snapshot)}"
    )


def label_free(corpus: Corpus, events: Path, work: Path, config, keyring) -> None:
    snapshot, seconds = _run([events], work / "snap-free", config, keyring)
    keys = corpus.spam + corpus.ham
    truth = [1] * len(corpus.spam) + [0] * len(corpus.ham)
    print(
        f"label-free: {len(corpus.spam)} spam vs {len(corpus.ham)} ham senders: "
        f"ringscope {_metrics(truth, _risk(snapshot, keys))}; run {seconds:.0f} s"
    )


def time_order(corpus: Corpus, events: Path, work: Path, config, keyring) -> None:
    cut = corpus.messages[len(corpus.messages) // 2][0]
    before = corpus.last(before=cut)
    spam, ham = set(corpus.spam), set(corpus.ham)
    labelled_spam = {
        k: min(ts + timedelta(minutes=1), cut) for k, ts in before.items() if k in spam
    }
    labels = work / "labels-time.jsonl.gz"
    _write_suspensions(labels, labelled_spam)
    snapshot, seconds = _run([events, labels], work / "snap-time", config, keyring)
    later = sorted(k for k in corpus.last() if k not in before and (k in spam or k in ham))
    truth = [int(k in spam) for k in later]
    docs_before, docs_all = corpus.documents(before=cut), corpus.documents()
    train = {k: int(k in spam) for k in before if k in spam or k in ham}
    # the peer learns from the text before the cut and scores the later senders' text
    peer = _peer({**docs_before, **{k: docs_all[k] for k in later}}, train, later)
    print(
        f"time order (cut {cut:%Y-%m-%d %H:%M}): {len(labelled_spam)} earlier spam senders "
        f"suspended, {sum(1 for k in train if not train[k])} earlier ham senders; scored "
        f"{sum(truth)} spam vs {len(truth) - sum(truth)} ham senders first seen later: "
        f"ringscope {_metrics(truth, _risk(snapshot, later))}; peer TF-IDF+LR "
        f"{_metrics(truth, peer)}; run {seconds:.0f} s; {_validation(snapshot)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--share", type=float, default=0.3, help="share of spam senders labelled")
    parser.add_argument(
        "--modes", nargs="+", default=["labelled"], choices=["labelled", "label_free", "time_order"]
    )
    parser.add_argument(
        "--no-risk-model",
        action="store_true",
        help="switch the learned risk model off (risk_model.enabled = false): heuristic risk",
    )
    parser.add_argument("--set", nargs="*", default=[], help="config overrides key=value")
    args = parser.parse_args()
    keyring = load_keyring(allow_demo=True)
    overrides = {"risk_model.enabled": not args.no_risk_model}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = json.loads(value)
    config = RunConfig().with_overrides(overrides)
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
            f"{args.corpus.name}: {stats.messages:,} messages -> {stats.events:,} events, "
            f"{stats.rejected_total:,} rejected in {seconds:.1f} s"
        )
        corpus = Corpus(events)
        print(
            f"senders: {len(corpus.spam):,} spam-only, {len(corpus.ham):,} ham-only, "
            f"{len(corpus.both):,} in both (left out)"
        )
        if "labelled" in args.modes:
            for seed in args.seeds:
                labelled(corpus, events, work, seed, args.share, config, keyring)
        if "label_free" in args.modes:
            label_free(corpus, events, work, config, keyring)
        if "time_order" in args.modes:
            time_order(corpus, events, work, config, keyring)


if __name__ == "__main__":
    main()
