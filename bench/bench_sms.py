"""Text only: the SMS Spam Collection as events, 30% of spam labelled, the rest scored.

python bench/bench_sms.py [--data PATH] [--seeds 0 1 2] [--share 0.3]

Each SMS (``label<TAB>text``) becomes one ``message`` event of its own sender (the
collection has no senders), one minute after the one before it, in file order. A seeded
random ``share`` of the spam senders gets a ``suspension`` one minute after its message;
nothing else is labelled. Message-level AUROC / AUPRC of ``risk_score`` (one sender per
message, so the sender's risk is the message's): the other spam messages vs the ham
messages not given to the peer. Peer: TF-IDF (word 1-2-grams and char 2-5-grams,
sublinear) + logistic regression trained on the labelled spam plus the same share of
ham (it gets ham labels; ringscope does not).
"""

from __future__ import annotations

import argparse
import gzip
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sms_spam_collection.tsv"
START = datetime(2012, 1, 1, tzinfo=UTC)


def read_sms(path: Path) -> list[tuple[str, str]]:
    """(label, text) pairs of the collection."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label in ("ham", "spam") and text.strip():
            rows.append((label, text))
    return rows


def write_events(path: Path, rows: list[tuple[str, str]], labelled: set[int]) -> None:
    with gzip.open(path, "wb") as out:
        for i, (_, text) in enumerate(rows):
            ts = START + timedelta(minutes=i)
            event = {
                "ts": ts.isoformat(),
                "actor_id": f"sms-{i}",
                "event_type": "message",
                "message_id": f"m{i}",
                "text": text,
            }
            out.write(orjson.dumps(event) + b"\n")
            if i in labelled:
                suspension = {
                    "ts": (ts + timedelta(minutes=1)).isoformat(),
                    "actor_id": f"sms-{i}",
                    "event_type": "suspension",
                }
                out.write(orjson.dumps(suspension) + b"\n")


def peer(rows, train: dict[int, int], test: list[int]):
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    ids = list(train)
    texts = [rows[i][1] for i in ids]
    x = sp.hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
    model = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    model.fit(x, [train[i] for i in ids])
    other = [rows[i][1] for i in test]
    return model.predict_proba(sp.hstack([words.transform(other), chars.transform(other)]))[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--share", type=float, default=0.3)
    args = parser.parse_args()
    rows = read_sms(args.data)
    spam = [i for i, (label, _) in enumerate(rows) if label == "spam"]
    ham = [i for i, (label, _) in enumerate(rows) if label == "ham"]
    print(f"{args.data.name}: {len(rows):,} messages, {len(spam):,} spam, {len(ham):,} ham")
    keyring = load_keyring(allow_demo=True)
    for seed in args.seeds:
        rng = random.Random(seed)
        chosen = set(rng.sample(spam, round(args.share * len(spam))))
        ham_train = set(rng.sample(ham, round(args.share * len(ham))))
        test = sorted(set(spam) - chosen) + sorted(set(ham) - ham_train)
        truth = [int(rows[i][0] == "spam") for i in test]
        with tempfile.TemporaryDirectory(prefix="ringscope-bench-sms-") as tmp:
            events = Path(tmp) / "sms.jsonl.gz"
            write_events(events, rows, chosen)
            started = time.perf_counter()
            snapshot = run_pipeline(
                [events], Path(tmp) / "snaps", config=RunConfig(), keyring=keyring
            )
            seconds = time.perf_counter() - started
            risk = dict(
                pl.read_parquet(
                    snapshot / "actors.parquet", columns=["actor_id", "risk_score"]
                ).iter_rows()
            )
        ours = [risk[f"sms-{i}"] for i in test]
        theirs = peer(rows, {i: 1 for i in chosen} | {i: 0 for i in ham_train}, test)
        print(
            f"seed {seed}: {len(chosen)} spam labelled; scored {sum(truth)} spam vs "
            f"{len(truth) - sum(truth)} ham messages: ringscope AUROC "
            f"{roc_auc_score(truth, ours):.3f}, AUPRC {average_precision_score(truth, ours):.3f}; "
            f"peer TF-IDF+LR AUROC {roc_auc_score(truth, theirs):.3f}, AUPRC "
            f"{average_precision_score(truth, theirs):.3f}; run {seconds:.0f} s"
        )


if __name__ == "__main__":
    main()
