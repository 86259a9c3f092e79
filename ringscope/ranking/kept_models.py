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
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ringscope.config import RunConfig, StreamConfig
from ringscope.ranking.learned_risk import KeptRisk

__all__ = ["ModelCache", "labelled_set"]


def labelled_set(labels: pl.DataFrame, features: pl.DataFrame) -> frozenset[tuple[str, bool]]:
    """The run's labels as ``(actor_id, label)`` pairs (what a refit would learn from)."""
    named = labels.join(features.select("actor", "actor_id"), on="actor")
    return frozenset(zip(named["actor_id"].to_list(), named["label"].to_list(), strict=True))


@dataclass
class ModelCache:
    """The risk model a stream fitted last, and the state it was fitted on."""

    risk: KeptRisk | None = None
    settings: str = ""
    fitted_events: int = 0
    fitted_labels: frozenset[tuple[str, bool]] = frozenset()
    with_content: bool = False
    batches_since_fit: int = 0
    nothing_kept: str = "no kept model yet"

    def refit_reason(
        self,
        config: RunConfig,
        n_events: int,
        labels: frozenset[tuple[str, bool]],
        with_content: bool,
    ) -> str | None:
        """Why the risk model must be fitted again for this batch (None: score with it).

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
        config: RunConfig,
        n_events: int,
        labels: frozenset[tuple[str, bool]],
        with_content: bool,
    ) -> None:
        """Keep a new fit (None: nothing to keep; the next batch tries again)."""
        self.risk = risk
        if risk is None:
            self.nothing_kept = "no kept model: the last fit kept none (few labels or embeddings)"
        self.with_content = with_content
        self.settings = _settings(config)
        self.fitted_events = n_events
        self.fitted_labels = labels
        self.batches_since_fit = 0

    def reused(self) -> None:
        """Count a batch scored with the kept model."""
        self.batches_since_fit += 1


def _settings(config: RunConfig) -> str:
    """What the kept model depends on besides the data."""
    return config.risk_model.model_dump_json() + config.content_model.model_dump_json()
