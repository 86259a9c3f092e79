"""Actor labels a run can learn from, each with the time it became known.

Positives: suspended actors (time of the first suspension) and actors reported by at
least ``min_reporters`` independent reporters (time of the report that made the count).
A single report is too easy to make to count, and so are many reports from one
brigade: reporters in the same coordination cluster count as one reporter (a
harassment ring reporting its target is one voice, not ten).
Extra labels (:func:`with_extra_labels`) come from outside the event log, e.g. an
investigator's confirmed or dismissed verdicts; they win over what the log says, and an
explicit negative (``label = False``) is the only kind of negative there is: every other
actor is unlabelled, not legit.
"""

from __future__ import annotations

import polars as pl

from ringscope.graph.hetero import HeteroGraph

__all__ = ["EXTRA_LABEL_SCHEMA", "LABEL_SCHEMA", "actor_labels", "with_extra_labels"]

#: One row per labelled actor: ``label`` True = abusive, False = legit; ``ts`` = known since.
LABEL_SCHEMA = {"actor": pl.UInt32(), "label": pl.Boolean(), "ts": pl.Int64(), "source": pl.Utf8()}
#: Extra labels by platform account id; a null ``ts`` means "known at run time".
EXTRA_LABEL_SCHEMA = {"actor_id": pl.Utf8(), "label": pl.Boolean(), "ts": pl.Int64()}


def actor_labels(
    events: pl.DataFrame,
    hg: HeteroGraph,
    *,
    min_reporters: int,
    communities: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Suspensions and independently repeated reports, in :data:`LABEL_SCHEMA`.

    ``communities`` (``actor``, ``community``): reporters in one community count once.
    """
    keys = hg.nodes["actor"].select(pl.col("key").alias("actor_key"), pl.col("idx").alias("actor"))
    suspended = (
        events.filter(pl.col("event_type") == "suspension")
        .join(keys, on="actor_key")
        .group_by("actor")
        .agg(pl.col("ts").min())
        .with_columns(pl.lit("suspension").alias("source"))
    )
    reports = hg.edges[("actor", "reported", "actor")].filter(pl.col("src") != pl.col("dst"))
    voice = -(pl.col("src").cast(pl.Int64) + 1)  # an unclustered reporter is its own voice
    if communities is not None:
        clustered = communities.select(
            pl.col("actor").cast(reports.schema["src"]).alias("src"),
            pl.col("community").cast(pl.Int64),
        )
        reports = reports.join(clustered, on="src", how="left")
        voice = pl.coalesce(pl.col("community"), voice)
    reported = (
        reports.with_columns(voice.alias("voice"))
        .sort("ts")
        .unique(["dst", "voice"], keep="first", maintain_order=True)
        .group_by(pl.col("dst").alias("actor"))
        .agg(pl.col("ts").sort().get(min_reporters - 1, null_on_oob=True).alias("ts"))
        .drop_nulls("ts")
        .with_columns(pl.lit("reports").alias("source"))
    )
    both = pl.concat([suspended, reported.select(suspended.columns)])
    out = both.sort("ts").unique("actor", keep="first").with_columns(pl.lit(True).alias("label"))
    return out.select(pl.col(c).cast(t) for c, t in LABEL_SCHEMA.items()).sort("actor")


def with_extra_labels(
    labels: pl.DataFrame,
    extra: pl.DataFrame | None,
    hg: HeteroGraph,
    *,
    now: int,
    source: str = "extra",
) -> pl.DataFrame:
    """``labels`` with extra actor labels (:data:`EXTRA_LABEL_SCHEMA`) merged in.

    An extra label replaces the log's label of the same actor; one without a time is
    taken as known at ``now`` (the run's last event time). Ids not in the graph are
    ignored (nothing to score). ``source`` names where they came from (e.g. ``verdict``).
    """
    if extra is None or extra.height == 0:
        return labels
    missing = set(EXTRA_LABEL_SCHEMA) - set(extra.columns)
    if missing:
        raise ValueError(
            f"extra labels need columns {sorted(EXTRA_LABEL_SCHEMA)}; missing {sorted(missing)}"
        )
    ids = hg.nodes["actor"].select("actor_id", pl.col("idx").alias("actor")).drop_nulls()
    given = (
        extra.select(pl.col(c).cast(t) for c, t in EXTRA_LABEL_SCHEMA.items())
        .drop_nulls(["actor_id", "label"])
        .join(ids, on="actor_id")
        .with_columns(pl.col("ts").fill_null(now), pl.lit(source).alias("source"))
        .sort("ts")
        .unique("actor", keep="last")
        .select(pl.col(c).cast(t) for c, t in LABEL_SCHEMA.items())
    )
    kept = labels.join(given.select("actor"), on="actor", how="anti")
    return pl.concat([kept, given]).sort("actor")
