"""The message content model kept between a stream's micro-batches.

Fitted again every batch, the content model (:mod:`ringscope.ranking.content_model`)
gave every message a slightly different score each time (new fold models, new sampled
training messages, term weights over a grown history), so every sender's content
features, hence every actor's risk row, changed with every batch, including the actors
no new event touched. A stream keeps the fold models of its last fit with the fold each
sender was held out in and the term weights (IDF) they were fitted under, and fits again
only when the kept risk model does (:class:`~ringscope.ranking.kept_models.ModelCache`,
one refit policy for both). Between fits a message's scores depend on that message alone
(its terms, traits, relay, campaign size and its sender's fold), so a sender with no new
message and no new near-duplicate keeps its content features, and the kept risk model
scores it from the same row (:func:`~ringscope.ranking.learned_risk.score_learned_risk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ringscope.config import ContentModelConfig
from ringscope.ranking.content_model import (
    ContentScores,
    FoldModel,
    Slice,
    anomaly_counts,
    fold_of,
    label_free_from,
    supervised_from,
)
from ringscope.ranking.learned_risk import hashed_fold
from ringscope.ranking.messages import Messages

__all__ = ["KeptContent", "keep_content", "kept_content_scores"]


@dataclass(frozen=True)
class KeptContent:
    """The content model's fold models of one fit, and what scoring with them needs.

    ``folds`` / ``text_folds``: the supervised / label-free fold that held each sender
    out (by actor key); ``idf``: the term weights of the fit (None: no text then).
    """

    slices: list[Slice]
    text: list[FoldModel | None] | None
    idf: np.ndarray | None
    folds: dict[str, int]
    text_folds: dict[str, int]
    report: dict[str, Any]


def keep_content(
    msgs: Messages, scores: ContentScores, actor_keys: pl.Series, cfg: ContentModelConfig
) -> KeptContent:
    """What a fit's ``scores`` of ``msgs`` leave for later batches (``actor_keys``: each
    actor index's key, the graph's actor nodes in index order)."""
    senders = np.unique(msgs.frame["actor"].to_numpy().astype(np.int64))
    keys = actor_keys.gather(senders).to_list()

    def by_key(seed: int) -> dict[str, int]:
        return dict(zip(keys, fold_of(senders, cfg.folds, seed).tolist(), strict=True))

    return KeptContent(
        slices=scores.slices,
        text=scores.text,
        idf=None if msgs.content is None else msgs.content.idf(),
        folds=by_key(cfg.seed),
        text_folds=by_key(cfg.seed + 1),
        report=scores.report,
    )


def kept_content_scores(
    msgs: Messages, kept: KeptContent, actor_keys: pl.Series, cfg: ContentModelConfig
) -> ContentScores:
    """Every message scored by the kept fold models of its sender's fold (a sender the
    fit did not see: the fold its key hashes to, so no model saw it either)."""
    senders, inverse = np.unique(
        msgs.frame["actor"].to_numpy().astype(np.int64), return_inverse=True
    )
    keys = actor_keys.gather(senders).to_list()

    def per_message(folds: dict[str, int]) -> np.ndarray:
        fold = [folds[k] if k in folds else hashed_fold(k, cfg.folds) for k in keys]
        return np.asarray(fold, dtype=np.int64)[inverse]

    anomalies = anomaly_counts(msgs)
    supervised = supervised_from(msgs, per_message(kept.folds), kept.slices, kept.idf)
    if cfg.label_free:
        free = label_free_from(msgs, anomalies, per_message(kept.text_folds), kept.text, kept.idf)
    else:
        free = np.zeros(msgs.n)
    report = kept.report | {"messages": msgs.n, "kept": True}
    return ContentScores(supervised, free, anomalies, report, kept.slices, kept.text)
