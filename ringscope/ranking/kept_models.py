"""Ranking models kept between a stream's micro-batches, and when to fit them again.

Fitting the learned actor risk model (cross-fitted, several candidates per fold) is
the costliest part of a micro-batch and grows with history. A stream keeps the fold
models of its last fit (:class:`~ringscope.ranking.learned_risk.KeptRisk`, in the
memory of the resident batch process and, for the next one, in the stream's root:
:mod:`ringscope.stream.kept_file`) and scores each batch with them
(:func:`~ringscope.ranking.learned_risk.score_learned_risk`), fitting again only when
``stream.refit_every`` batches have passed, when the events grew by
``stream.refit_growth`` of those the fit saw, when labels changed by
``stream.refit_label_change`` of the labelled actors, or when the model settings
changed. A stream with no kept model yet (or none since a compaction) fits. Refitting
when history grows by a fixed share keeps the total fitting cost of a stream within a
constant factor of one fit on the whole history, so its share per event stays flat.

The message content model is kept and fitted again with the risk model, on the same
schedule (:mod:`ringscope.ranking.kept_content`): the risk model learns from the
content features, so a content model fitted since would give it inputs it never saw.
Between fits the kept risk model scores only the actors whose model inputs changed
since the last batch (``scored``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ringscope.config import RunConfig, StreamConfig
from ringscope.ranking.kept_content import KeptContent
from ringscope.ranking.learned_risk import KeptRisk

__all__ = ["ModelCache", "labelled_set"]


def labelled_set(labels: pl.DataFrame, features: pl.DataFrame) -> frozenset[tuple[str, bool]]:
    """The run's labels as ``(actor_id, label)`` pairs (what a refit would learn from)."""
    named = labels.join(features.select("actor", "actor_id"), on="actor")
    return frozenset(zip(named["actor_id"].to_list(), named["label"].to_list(), strict=True))


@dataclass
class ModelCache:
    """The risk and content models a stream fitted last, and the state they were fitted on."""

    risk: KeptRisk | None = None
    content: KeptContent | None = None
    settings: str = ""
    fitted_events: int = 0
    fitted_labels: frozenset[tuple[str, bool]] = frozenset()
    with_content: bool = False
    batches_since_fit: int = 0
    nothing_kept: str = "no kept model yet"
    # the kept model's last scores with the rows they came from (LearnedRisk.scored)
    scored: pl.DataFrame | None = None

    def refit_reason(
        self,
        config: RunConfig,
        n_events: int,
        labels: frozenset[tuple[str, bool]],
        with_content: bool,
    ) -> str | None:
        """Why the models must be fitted again for this batch (None: score with them).

        ``with_content``: the batch has per-actor content features (the model's columns
        differ with and without them).
        """
        policy: StreamConfig = config.stream
        if self.risk is None:
            return self.nothing_kept
        if self.settings != _settings(config):
            return "model settings changed"
        if with_content != self.with_content:
            return "content features appeared or went"
        if self.batches_since_fit + 1 >= policy.refit_every:
            return f"{policy.refit_every} batches since the fit (stream.refit_every)"
        if n_events > self.fitted_events * (1 + policy.refit_growth):
            return (
                f"events grew from {self.fitted_events} to {n_events} "
                f"(more than stream.refit_growth = {policy.refit_growth})"
            )
        changed = len(labels ^ self.fitted_labels)
        if changed > policy.refit_label_change * max(len(self.fitted_labels), 1):
            return (
                f"{changed} labels changed since the fit "
                f"(more than stream.refit_label_change = {policy.refit_label_change})"
            )
        return None

    def fitted(
        self,
        risk: KeptRisk | None,
        content: KeptContent | None,
        config: RunConfig,
        n_events: int,
        labels: frozenset[tuple[str, bool]],
        with_content: bool,
    ) -> None:
        """Keep a new fit (``risk`` None: nothing to keep; the next batch tries again)."""
        self.risk = risk
        self.content = content
        if risk is None:
            self.nothing_kept = "no kept model: the last fit kept none (few labels or embeddings)"
        self.with_content = with_content
        self.settings = _settings(config)
        self.fitted_events = n_events
        self.fitted_labels = labels
        self.batches_since_fit = 0
        self.scored = None

    def reused(self, scored: pl.DataFrame | None) -> None:
        """Count a batch scored with the kept model, and keep its scores for the next."""
        self.batches_since_fit += 1
        self.scored = scored


def _settings(config: RunConfig) -> str:
    """What the kept model depends on besides the data."""
    return config.risk_model.model_dump_json() + config.content_model.model_dump_json()
