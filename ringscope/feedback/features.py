"""The cluster feature vector: every number the ranker may learn from, one per column.

The signals of :data:`ringscope.ranking.signals.SIGNALS` (each "higher looks more like
abuse or coordination", so the ranker is constrained to be non-decreasing in them) and
the prior score, plus size-normalised facts without a direction (how many accounts,
messages and recipients per member, devices and IPs per member, which evidence layers
bind the cluster ...). Every snapshot stores this table (``cluster_features.parquet``)
and every verdict keeps the row of the cluster it judged, so a verdict teaches the
ranker long after its snapshot is gone.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ringscope.ranking.signals import SIGNALS

__all__ = [
    "FEATURES_TABLE",
    "KIND_FEATURES",
    "LEARNED_FEATURES",
    "MONOTONE",
    "PRIOR_ONLY",
    "RANKER_FEATURES",
    "cluster_features",
    "feature_vector",
]

FEATURES_TABLE = "cluster_features"
_LAYERS = (
    "content",
    "domain",
    "short_link",
    "victims",
    "device",
    "ip",
    "subnet",
    "signup_burst",
    "identity",
    "name",
)
_DAY_MS = 86_400_000


def _safe(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(0.0)


def _col(name: str, columns: list[str]) -> pl.Expr:
    return pl.col(name).cast(pl.Float64) if name in columns else pl.lit(0.0)


def _derived(columns: list[str]) -> dict[str, pl.Expr]:
    size = _col("size", columns)
    pairs = size * (size - 1) / 2
    derived = {
        "log_size": size.log1p(),
        "suspended_share": _safe(_col("n_suspended", columns), size),
        "reported_share": _safe(_col("n_reported", columns), size),
        "messages_per_member": _safe(_col("n_messages", columns), size).log1p(),
        "recipients_per_member": _safe(_col("n_recipients", columns), size).log1p(),
        "oneshot_share": _safe(_col("n_oneshot_strangers", columns), _col("n_recipients", columns)),
        "devices_per_member": _safe(_col("n_devices", columns), size),
        "ips_per_member": _safe(_col("n_ips", columns), size),
        "domain_share": _col("domain_share", columns),
        "links_per_message": _safe(_col("n_links", columns), _col("n_messages", columns)),
        "edge_density": _safe(_col("n_edges", columns), pairs),
        "mean_weight": _col("mean_weight", columns),
        "mean_behaviour": _col("mean_behaviour", columns),
        "active_days": (_col("last_ts", columns) - _col("first_ts", columns)) / _DAY_MS,
    }
    for layer in _LAYERS:
        derived[f"layer_{layer}"] = (
            pl.col("layers").list.contains(layer).cast(pl.Float64)
            if "layers" in columns
            else pl.lit(0.0)
        )
    return derived


#: Features the ranker is constrained to be non-decreasing in (abuse, coordination).
MONOTONE = (*SIGNALS, "prior_score")
#: Every feature, in the order the ranker sees them.
RANKER_FEATURES: tuple[str, ...] = (*MONOTONE, *_derived([]).keys())
#: Suspensions and reports: the prior score already weighs them, and a few dozen verdicts
#: teach trees "reported means ring", which demotes the next world's unreported
#: (camouflaged) rings below look-alikes. The ranker reaches them only through the prior.
PRIOR_ONLY = ("labels", "suspended_share", "reported_share")
#: The features the ranker's trees split on (a subset of :data:`RANKER_FEATURES`).
LEARNED_FEATURES: tuple[str, ...] = tuple(f for f in RANKER_FEATURES if f not in PRIOR_ONLY)
#: What a cluster is like rather than how abusive it looks (no direction): the space in
#: which :mod:`ringscope.feedback.nearest` finds the judged clusters a cluster resembles.
KIND_FEATURES: tuple[str, ...] = tuple(f for f in LEARNED_FEATURES if f not in MONOTONE)


def cluster_features(clusters: pl.DataFrame, prior_score: str = "score") -> pl.DataFrame:
    """``cluster_id`` and :data:`RANKER_FEATURES` (Float64, no nulls) for every cluster.

    ``prior_score`` names the column holding the cluster's label-free score.
    """
    columns = clusters.columns
    exprs = [_col(s, columns).alias(s) for s in SIGNALS]
    exprs.append(_col(prior_score, columns).alias("prior_score"))
    exprs += [e.alias(name) for name, e in _derived(columns).items()]
    return clusters.select("cluster_id", *(e.fill_null(0.0).fill_nan(0.0) for e in exprs)).select(
        "cluster_id", *RANKER_FEATURES
    )


def feature_vector(row: dict[str, Any]) -> dict[str, float]:
    """One cluster's features as a JSON-ready dict (what a verdict stores)."""
    return {name: float(row.get(name) or 0.0) for name in RANKER_FEATURES}
