"""The content model on real text (the SMS Spam Collection) and the labels it learns from."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from ringscope.config import ContentModelConfig
from ringscope.graph.hetero import build_hetero_graph
from ringscope.ingest import ingest
from ringscope.privacy import Keyring
from ringscope.ranking.content_model import actor_content_features, content_scores
from ringscope.ranking.labels import actor_labels, with_extra_labels
from ringscope.ranking.messages import message_table
from tests.conftest import SHARED_DATA

SMS = SHARED_DATA / "sms_spam_collection.tsv"
START = datetime(2012, 1, 1, tzinfo=UTC)
N = 2000


@pytest.fixture(scope="module")
def sms(tmp_path_factory):
    """The first N SMS as one-message senders; 30% of spam senders suspended (seeded)."""
    if not SMS.exists():
        pytest.skip(f"{SMS} not found")
    rows = []
    for line in SMS.read_text(encoding="utf-8", errors="replace").splitlines()[:N]:
        label, _, text = line.partition("\t")
        rows.append((label, text))
    spam = [i for i, (label, _) in enumerate(rows) if label == "spam"]
    labelled = set(random.Random(0).sample(spam, round(0.3 * len(spam))))
    path = tmp_path_factory.mktemp("sms") / "sms.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for i, (_, text) in enumerate(rows):
            ts = START + timedelta(minutes=i)
            event = {"ts": ts.isoformat(), "actor_id": f"s{i}", "event_type": "message"}
            out.write(orjson.dumps(event | {"message_id": f"m{i}", "text": text}) + b"\n")
            if i in labelled:
                end = {"ts": (ts + timedelta(minutes=1)).isoformat(), "actor_id": f"s{i}"}
                out.write(orjson.dumps(end | {"event_type": "suspension"}) + b"\n")
    result = ingest([path], keyring=Keyring(b"content-model-test-secret-0123"))
    graph = build_hetero_graph(result.events)
    messages = message_table(result.events, graph, result.content)
    ids = graph.nodes["actor"].select(pl.col("idx").alias("actor"), "actor_id")
    index = messages.frame.join(ids, on="actor", how="left")["actor_id"].str.slice(1)
    index = index.cast(pl.Int64).to_numpy()
    truth = np.array([rows[i][0] == "spam" for i in index])
    held = ~np.isin(index, list(labelled))
    return result, graph, messages, truth, held


def test_supervised_scores_rank_unlabelled_spam_above_ham(sms):
    result, graph, messages, truth, held = sms
    labels = actor_labels(result.events, graph, min_reporters=2)
    assert labels["source"].unique().to_list() == ["suspension"]
    scores = content_scores(messages, labels, ContentModelConfig())
    assert scores.report["supervised"]["used"]
    assert not np.isnan(scores.supervised).any()
    assert roc_auc_score(truth[held], scores.supervised[held]) > 0.95
    features = actor_content_features(messages, scores)
    assert features.height == messages.n  # one message per sender here
    assert features["content_max"].is_between(0, 1).all()


def test_time_slices_score_a_message_only_with_labels_known_before_it(sms):
    result, graph, messages, truth, held = sms
    labels = actor_labels(result.events, graph, min_reporters=2)
    cfg = ContentModelConfig(time_slices=4)
    scores = content_scores(messages, labels, cfg)
    slices = scores.report["supervised"]["slices"]
    first_cut = slices[0]["labels_up_to_ts"]
    ts = messages.frame["ts"].to_numpy()
    assert np.isnan(scores.supervised[ts <= first_cut]).all()
    assert not np.isnan(scores.supervised[ts > first_cut]).any()
    assert all(s["labelled_actors"] >= cfg.min_positives for s in slices)
    later = held & (ts > first_cut)
    assert roc_auc_score(truth[later], scores.supervised[later]) > 0.9


def test_without_labels_only_the_label_free_score_exists(sms):
    result, graph, messages, _, _ = sms
    none = actor_labels(
        result.events.filter(pl.col("event_type") != "suspension"), graph, min_reporters=2
    )
    scores = content_scores(messages, none, ContentModelConfig())
    assert scores.report["supervised"]["used"] is False
    assert np.isnan(scores.supervised).all()
    assert ((scores.label_free >= 0) & (scores.label_free <= 1)).all()


def test_extra_labels_win_and_are_the_only_negatives(sms):
    result, graph, _, _, _ = sms
    labels = actor_labels(result.events, graph, min_reporters=2)
    suspended = graph.nodes["actor"].join(labels, left_on="idx", right_on="actor")["actor_id"]
    extra = pl.DataFrame(
        {
            "actor_id": [suspended[0], "s1", "nobody"],
            "label": [False, True, True],
            "ts": [None, 5, 5],
        }
    )
    merged = with_extra_labels(labels, extra, graph, now=123)
    by_id = merged.join(
        graph.nodes["actor"].select(pl.col("idx").alias("actor"), "actor_id"), on="actor"
    )
    row = by_id.filter(pl.col("actor_id") == suspended[0]).row(0, named=True)
    assert (row["label"], row["ts"], row["source"]) == (False, 123, "extra")
    assert by_id.filter(pl.col("actor_id") == "s1")["label"].to_list() == [True]
    assert merged.height == labels.height + (0 if "s1" in suspended.to_list() else 1)
    assert merged.filter(~pl.col("label")).height == 1
    with pytest.raises(ValueError, match="missing"):
        with_extra_labels(labels, extra.drop("ts"), graph, now=0)


def test_calibration_weighs_actors_not_messages_and_never_inverts():
    """One prolific labelled sender the model ranks low must not turn a fold upside down."""
    from ringscope.ranking.content_model import FoldModel, _calibration

    def _calibrated(raw, raw_held, y_held, actors):
        plain = FoldModel(np.zeros(1), 0.0)
        return _calibration(plain, raw_held, y_held, actors).probability(raw)

    rng = np.random.default_rng(0)
    # 40 labelled one-message senders the model ranks high, 60 unlabelled ranked low ...
    raw_held = np.concatenate([rng.normal(1.0, 0.5, 40), rng.normal(-1.0, 0.5, 60)])
    y_held = np.array([1] * 40 + [0] * 60)
    actors = np.arange(100)
    # ... and one labelled sender with 2,000 messages the model ranks lowest of all
    raw_held = np.concatenate([raw_held, np.full(2000, -3.0)])
    y_held = np.concatenate([y_held, np.ones(2000, dtype=int)])
    actors = np.concatenate([actors, np.full(2000, 100)])
    raw = np.linspace(-4.0, 4.0, 50)
    prob = _calibrated(raw, raw_held, y_held, actors)
    assert np.all(np.diff(prob) > 0)  # the model's order is kept
    # where the held-out actors themselves rank the wrong way, the plain logistic stays
    inverted = _calibrated(raw, -raw_held, y_held, np.arange(len(y_held)))
    assert np.all(np.diff(inverted) >= 0)


def test_a_message_id_two_senders_used_is_a_message_of_each(tmp_path):
    # spam campaigns reuse one Message-ID across senders: each sender keeps its message
    path = tmp_path / "mail.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for i, actor in enumerate(["a", "b", "a"]):
            ts = (START + timedelta(minutes=i)).isoformat()
            event = {"ts": ts, "actor_id": actor, "event_type": "message", "message_id": "m0"}
            out.write(orjson.dumps(event | {"text": f"win a prize now {actor}"}) + b"\n")
    result = ingest([path], keyring=Keyring(b"content-model-test-secret-0123"))
    graph = build_hetero_graph(result.events)
    messages = message_table(result.events, graph, result.content)
    ids = graph.nodes["actor"].select(pl.col("idx").alias("actor"), "actor_id")
    senders = messages.frame.join(ids, on="actor")["actor_id"].sort().to_list()
    assert senders == ["a", "b"]  # one row per sender: the repeat by "a" is not a message
