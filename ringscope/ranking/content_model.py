"""What messages say: a message-level content model, with and without labels.

**Supervised** (:func:`supervised_scores`). A logistic regression (scikit-learn
``SGDClassifier``, log loss, balanced classes) on each message's keyed hashed terms and
side facts (:mod:`ringscope.ranking.messages`), trained on the messages of labelled
actors (:mod:`ringscope.ranking.labels`) against everyone else's (unlabelled, not legit:
the positive-unlabelled setting of Elkan & Noto 2008, so the calibrated probability is
divided by the share of held-out labelled messages it recovers, see
:mod:`ringscope.ranking.pu`). Scores stay honest by actor and, on request, by time:

* *actors*: actors are split in folds, and an actor's messages are scored by a model
  that never saw that actor's messages or label. The Platt scaling of each fit is
  learnt on the held-out fold's messages;
* *time* (``time_slices = k > 0``; the default 0 scores as of the run): the timeline is
  cut at quantiles of the label times; a message after a cut is scored by a model
  trained only on the labels known at that cut and the messages sent by then, and
  messages before the first usable cut get no supervised score (NaN).

**Label-free** (:func:`label_free_scores`). Without labels the run still has two views of
every message that a spam campaign cannot both fake: its envelope (header and structure
anomalies that decades of spam filtering found: HTML without a plain part, a ``Date`` in
the future, no ``Message-ID``, executable or archive attachments, many links, being one
of many near-duplicates from different senders; a reply to a thread counts the other
way) and its words. Co-training (Blum & Mitchell 1998): the anomaly count picks the
clearest anomalous and clearest ordinary messages, a text-only model learns from them
(cross-fitted by actor), and its probability says how much a message's *text* looks like
the anomalous ones. The label-free score is the mean of that text probability and the
anomaly count scaled to [0, 1]. It ranks bulk senders of HTML campaigns above people who
write to each other; it cannot tell a legitimate newsletter with the same envelope from
spam, and a spammer who writes plain-text replies from a clean server passes it.

Actor features (:func:`actor_content_features`): mean log-odds and max of the supervised
probability (the mean of log-odds weighs each message's evidence without saturating),
share of messages at or above 0.5, the label-free mean and max, the mean anomaly count,
and the largest campaign the actor took part in; plus ``content_risk`` (the mean
supervised probability, else the label-free mean) for the cluster signal
``content_abuse``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, SGDClassifier

from ringscope.config import ContentModelConfig
from ringscope.ranking.messages import Messages
from ringscope.ranking.parallel import in_threads
from ringscope.ranking.pu import pu_adjusted

__all__ = [
    "ACTOR_CONTENT_FEATURES",
    "ANOMALY_TRAITS",
    "ContentScores",
    "FoldModel",
    "actor_content_features",
    "anomaly_counts",
    "content_scores",
    "fold_of",
    "label_free_from",
    "label_free_scores",
    "supervised_from",
    "supervised_scores",
]

log = logging.getLogger(__name__)

#: Traits that count as an envelope anomaly (label-free), and those that count against.
ANOMALY_TRAITS = (
    "html_only",
    "date:future",
    "date:none",
    "msgid:none",
    "msgid:odd",
    "from:digits",
    "attach:executable",
    "attach:archive",
    "links:3-5",
    "links:6+",
)
ORDINARY_TRAITS = ("reply",)
_CAMPAIGN_SENDERS = 2  # near-duplicates from this many other senders is an anomaly
_ANOMALY_SCALE = 3.0  # anomalies at which the scaled count reaches 1
_MIN_PSEUDO = 30  # pseudo-labelled messages of each kind co-training needs
ACTOR_CONTENT_FEATURES = (
    "content_mean",
    "content_max",
    "content_share",
    "content_free_mean",
    "content_free_max",
    "anomaly_mean",
    "campaign_max",
)


@dataclass(frozen=True)
class FoldModel:
    """One fold's logistic model of a message's terms (and side facts), and its scaling
    to a probability (``platt`` None: the plain logistic)."""

    weights: np.ndarray
    intercept: float
    platt: LogisticRegression | None = None
    recovered: float = 1.0  # the PU divisor of the scaled probability

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """P(positive) from ``design @ weights`` (without the intercept)."""
        raw = raw + self.intercept
        if self.platt is None:
            return 1.0 / (1.0 + np.exp(-raw))
        return pu_adjusted(self.platt.predict_proba(raw.reshape(-1, 1))[:, 1], self.recovered)


#: one time slice of the supervised model: (labels known up to, score messages after,
#: score messages up to) and its fold models (None: the fold could not be fitted)
Slice = tuple[tuple[int, int, int], list[FoldModel | None]]


@dataclass(frozen=True)
class ContentScores:
    """Per message: supervised probability (NaN = not scored) and label-free score; the
    fold models that gave them (``slices``: the supervised model's; ``text``: the
    label-free text model's, None when not trained)."""

    supervised: np.ndarray
    label_free: np.ndarray
    anomalies: np.ndarray
    report: dict[str, Any]
    slices: list[Slice]
    text: list[FoldModel | None] | None


def _learner(seed: int) -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss",
        alpha=1e-3,
        class_weight="balanced",
        max_iter=12,
        tol=None,
        random_state=seed,
    )


def _sample(rows: np.ndarray, positive: np.ndarray, cap: int, rng: np.random.Generator):
    """All positive rows plus a seeded sample of the others, at most ``cap`` in all."""
    if len(rows) <= cap:
        return rows
    pos, neg = rows[positive[rows]], rows[~positive[rows]]
    keep = max(cap - len(pos), 1)
    return np.sort(np.concatenate([pos, rng.choice(neg, size=min(keep, len(neg)), replace=False)]))


def fold_of(actors: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """A seeded fold per actor (the same actor is in the same fold in every slice)."""
    n = int(actors.max()) + 1 if len(actors) else 0
    return np.random.default_rng(seed).integers(0, folds, size=n)[actors]


_END = np.iinfo(np.int64).max


def _slices(times: np.ndarray, cfg: ContentModelConfig) -> list[tuple[int, int, int]]:
    """(labels known up to, score messages after, score messages up to) per slice.

    ``time_slices = 0``: one slice, every label of the run scores every message. Else
    the cuts are quantiles of the positive label times with at least ``min_positives``
    labels known by each, and the messages between two cuts use the labels up to the
    first of them; messages before the first cut get no slice.
    """
    if cfg.time_slices == 0:
        return [(_END, -_END, _END)]
    cuts = _slice_cuts(times, cfg)
    return [(c, c, cuts[j + 1] if j + 1 < len(cuts) else _END) for j, c in enumerate(cuts)]


def _slice_cuts(times: np.ndarray, cfg: ContentModelConfig) -> list[int]:
    """Cut times: quantiles of the positive label times with enough labels known by each."""
    quantiles = np.quantile(times, np.arange(1, cfg.time_slices + 1) / cfg.time_slices)
    cuts = sorted({int(c) for c in quantiles if (times <= c).sum() >= cfg.min_positives})
    return cuts or [int(times[cfg.min_positives - 1])]


def _fold_fits(
    x: sp.csr_matrix, y: np.ndarray, pool_fold: np.ndarray, folds: int, seed: int
) -> list[SGDClassifier | None]:
    """Per fold ``f``: the model fitted on the rows of the other folds (seed ``seed + f``),
    None where they hold one class only.

    The fits run side by side (their SGD epochs release the GIL; each model is the same
    as fitted alone); the scoring after them stays one fold at a time, since each fold's
    scoring holds large float copies of the content rows.
    """

    def fit(f: int) -> SGDClassifier | None:
        train = np.flatnonzero(pool_fold != f)
        if np.unique(y[train]).size < 2:
            return None
        return _learner(seed + f).fit(x[train], y[train])

    return in_threads(fit, folds)


def supervised_from(
    msgs: Messages, fold: np.ndarray, slices: list[Slice], idf: np.ndarray | None = None
) -> np.ndarray:
    """Each message's probability from the fold model of its slice and its sender's
    ``fold`` (per message; NaN where no model scores it). ``idf``: the term weights the
    models were fitted under (default: those of ``msgs``)."""
    out = np.full(msgs.n, np.nan)
    ts = msgs.frame["ts"].to_numpy()
    for (_, lower, upper), models in slices:
        target = (ts > lower) & (ts <= upper)
        for f, model in enumerate(models):
            if model is not None:
                rows = np.flatnonzero(target & (fold == f))
                out[rows] = model.probability(msgs.scores(model.weights, rows=rows, idf=idf))
    return out


def supervised_scores(
    msgs: Messages, labels: pl.DataFrame, cfg: ContentModelConfig
) -> tuple[np.ndarray, dict[str, Any], list[Slice]]:
    """Cross-fitted (and with ``time_slices`` time-respecting) P(abusive) per message
    (NaN where not scored), the report, and the fold models of each slice."""
    pos_labels = labels.filter(pl.col("label"))
    if pos_labels.height < cfg.min_positives:
        out = np.full(msgs.n, np.nan)
        return out, {"used": False, "reason": f"{pos_labels.height} labelled actors"}, []
    actors = msgs.frame["actor"].to_numpy().astype(np.int64)
    ts = msgs.frame["ts"].to_numpy()
    per_msg = msgs.frame.select("actor").join(labels, on="actor", how="left")
    is_pos = per_msg["label"].fill_null(False).to_numpy()
    known = per_msg["ts"].fill_null(np.iinfo(np.int64).max).to_numpy()
    fold = fold_of(actors, cfg.folds, cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    slices: list[Slice] = []
    for j, (cut, lower, upper) in enumerate(_slices(np.sort(pos_labels["ts"].to_numpy()), cfg)):
        if not ((ts > lower) & (ts <= upper)).any():
            continue
        positive = (ts <= cut) & is_pos & (known <= cut)
        pool = _sample(np.flatnonzero(ts <= cut), positive, cfg.max_train_messages, rng)
        x, y, pool_fold = msgs.design(pool), positive[pool].astype(np.int64), fold[pool]
        models: list[FoldModel | None] = []
        for f, model in enumerate(_fold_fits(x, y, pool_fold, cfg.folds, cfg.seed + 97 * j)):
            held = np.flatnonzero(pool_fold == f)
            if model is None:
                models.append(None)
                continue
            plain = FoldModel(model.coef_.ravel(), float(model.intercept_[0]))
            raw_held = model.decision_function(x[held])
            models.append(_calibration(plain, raw_held, y[held], actors[pool[held]]))
        slices.append(((cut, lower, upper), models))
    out = supervised_from(msgs, fold, slices)
    reports = []
    for (cut, lower, upper), models in slices:
        target = (ts > lower) & (ts <= upper)
        reports.append(
            {
                "labels_up_to_ts": None if cut == _END else cut,
                "labelled_actors": int((pos_labels["ts"] <= cut).sum()),
                "messages_scored": int((target & ~np.isnan(out)).sum()),
                "fits": sum(m is not None for m in models),
            }
        )
    report = {
        "used": True,
        "slices": reports,
        "messages_scored": int((~np.isnan(out)).sum()),
        "positive_actors": pos_labels.height,
    }
    return out, report, slices


def _calibration(
    plain: FoldModel, raw_held: np.ndarray, y_held: np.ndarray, held_actors: np.ndarray
) -> FoldModel:
    """The fold's model (``plain``: its weights and intercept) with its Platt scaling,
    divided by the mean over held-out positives (PU), fitted on the held-out fold's
    scores ``raw_held``.

    Every held-out actor weighs the same in the scaling, whatever its message count: one
    prolific labelled sender (thousands of messages on TREC) otherwise decides the fit,
    and a fold where the model ranks that one sender low got a negative slope that turned
    the whole fold's ranking upside down. The slope is never negative (a scaling keeps the
    model's order); where the held-out fold cannot fit one, the plain logistic stays.
    """
    _, inverse, counts = np.unique(held_actors, return_inverse=True, return_counts=True)
    weight = 1.0 / counts[inverse]
    if np.unique(y_held).size < 2:
        return plain
    platt = LogisticRegression(C=1e4).fit(raw_held.reshape(-1, 1), y_held, sample_weight=weight)
    if platt.coef_[0, 0] <= 0:
        return plain
    positive = y_held == 1
    recovered = np.average(
        platt.predict_proba(raw_held[positive].reshape(-1, 1))[:, 1], weights=weight[positive]
    )
    return FoldModel(plain.weights, plain.intercept, platt, float(recovered))


def anomaly_counts(msgs: Messages) -> np.ndarray:
    """Envelope anomalies per message minus ordinary traits (see the module docstring)."""
    frame = msgs.frame.select(
        pl.col("traits")
        .list.eval(pl.element().is_in(ANOMALY_TRAITS).cast(pl.Int64))
        .list.sum()
        .alias("bad"),
        pl.col("traits")
        .list.eval(pl.element().is_in(ORDINARY_TRAITS).cast(pl.Int64))
        .list.sum()
        .alias("ordinary"),
        (pl.col("campaign") >= _CAMPAIGN_SENDERS).cast(pl.Int64).alias("campaign"),
    )
    bad, ordinary, campaign = (frame[c].fill_null(0).to_numpy() for c in frame.columns)
    return (bad + campaign - ordinary).astype(np.float64)


def label_free_scores(
    msgs: Messages, anomalies: np.ndarray, cfg: ContentModelConfig
) -> tuple[np.ndarray, dict[str, Any], list[FoldModel | None] | None]:
    """Label-free score per message in [0, 1]: envelope anomalies and co-trained text;
    the report, and the text model's fold models (None: not trained)."""
    has_text = msgs.frame["content_row"].to_numpy() >= 0
    pseudo_pos = has_text & (anomalies >= 2)
    pseudo_neg = has_text & (anomalies <= 0)
    report: dict[str, Any] = {
        "pseudo_anomalous": int(pseudo_pos.sum()),
        "pseudo_ordinary": int(pseudo_neg.sum()),
    }
    if msgs.content is None or min(pseudo_pos.sum(), pseudo_neg.sum()) < _MIN_PSEUDO:
        report["text_model"] = "not trained: too few clearly anomalous or ordinary messages"
        return label_free_from(msgs, anomalies, np.zeros(0), None), report, None
    actors = msgs.frame["actor"].to_numpy().astype(np.int64)
    fold = fold_of(actors, cfg.folds, cfg.seed + 1)
    rng = np.random.default_rng(cfg.seed + 1)
    pool = _sample(np.flatnonzero(pseudo_pos | pseudo_neg), pseudo_pos, cfg.max_train_messages, rng)
    x, y = msgs.design(pool, text_only=True), pseudo_pos[pool].astype(np.int64)
    text: list[FoldModel | None] = [
        None if model is None else FoldModel(model.coef_.ravel(), float(model.intercept_[0]))
        for model in _fold_fits(x, y, fold[pool], cfg.folds, cfg.seed + 7)
    ]
    report["text_model"] = "co-trained on the anomaly pseudo-labels, cross-fitted by actor"
    return label_free_from(msgs, anomalies, fold, text), report, text


def label_free_from(
    msgs: Messages,
    anomalies: np.ndarray,
    fold: np.ndarray,
    text: list[FoldModel | None] | None,
    idf: np.ndarray | None = None,
) -> np.ndarray:
    """Each message's label-free score: the scaled anomaly count, averaged with the text
    model of its sender's ``fold`` (per message) where it has text and a model exists.
    ``idf``: the term weights the text models were fitted under (default: ``msgs``')."""
    scaled = np.clip(anomalies / _ANOMALY_SCALE, 0.0, 1.0)
    if text is None:
        return scaled
    has_text = msgs.frame["content_row"].to_numpy() >= 0
    prob = np.zeros(msgs.n)
    for f, model in enumerate(text):
        if model is not None:
            held = np.flatnonzero(fold == f)
            raw = msgs.scores(model.weights, rows=held, text_only=True, idf=idf)
            prob[held] = model.probability(raw)
    return np.where(has_text, 0.5 * (scaled + prob), scaled)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1.0 - q))


def actor_content_features(msgs: Messages, scores: ContentScores) -> pl.DataFrame:
    """Per sending actor: the :data:`ACTOR_CONTENT_FEATURES` (nulls where unscored)."""
    frame = pl.DataFrame(
        {
            "actor": msgs.frame["actor"],
            "p": pl.Series(scores.supervised).fill_nan(None),
            "logit": pl.Series(_logit(scores.supervised)).fill_nan(None),
            "free": scores.label_free,
            "anomalies": scores.anomalies,
            "campaign": msgs.frame["campaign"],
        }
    )
    return frame.group_by("actor").agg(
        pl.col("logit").mean().alias("content_mean"),
        pl.col("p").max().alias("content_max"),
        (pl.col("p") >= 0.5).mean().alias("content_share"),
        pl.col("free").mean().alias("content_free_mean"),
        pl.col("free").max().alias("content_free_max"),
        pl.col("anomalies").mean().alias("anomaly_mean"),
        pl.col("campaign").max().cast(pl.Float64).alias("campaign_max"),
        pl.coalesce(pl.col("p").mean(), pl.col("free").mean()).alias("content_risk"),
    )


def content_scores(msgs: Messages, labels: pl.DataFrame, cfg: ContentModelConfig) -> ContentScores:
    """Supervised and label-free scores of every message (see the module docstring)."""
    supervised, sup_report, slices = supervised_scores(msgs, labels, cfg)
    anomalies = anomaly_counts(msgs)
    text = None
    if cfg.label_free:
        free, free_report, text = label_free_scores(msgs, anomalies, cfg)
    else:
        free, free_report = np.zeros(msgs.n), {"used": False}
    report = {"messages": msgs.n, "supervised": sup_report, "label_free": free_report}
    return ContentScores(supervised, free, anomalies, report, slices, text)
