"""Per-actor activity facts that cluster signals and actor risk are computed from.

Everything here is a plain count or time over the typed graph and the event table, so
each number in an investigator's summary can be traced back to events.
"""

from __future__ import annotations

import polars as pl

from ringscope.graph.hetero import HeteroGraph

__all__ = ["actor_features", "with_freshness"]

DAY_MS = 86_400_000


def _recipient_facts(hg: HeteroGraph) -> pl.LazyFrame:
    """Distinct recipients per sender, and how many are strangers contacted only once.

    A stranger never sent anything back to the sender; a one-shot stranger also received
    a single message from it. Newsletters reach the same subscribers again and again;
    spam and harassment reach people once, who do not answer.
    """
    sent = (
        hg.edges[("actor", "sent", "message")]
        .lazy()
        .select(pl.col("src").alias("sender"), pl.col("dst").alias("msg"))
    )
    to = (
        hg.edges[("message", "to", "actor")]
        .lazy()
        .select(pl.col("src").alias("msg"), pl.col("dst").alias("rcpt"))
    )
    contacts = (
        sent.unique()
        .join(to.unique(), on="msg")
        .filter(pl.col("sender") != pl.col("rcpt"))
        .group_by("sender", "rcpt")
        .agg(pl.col("msg").n_unique().alias("times"))
    )
    back = contacts.select(pl.col("rcpt").alias("sender"), pl.col("sender").alias("rcpt"))
    back = back.with_columns(pl.lit(True).alias("replied"))
    contacts = contacts.join(back, on=["sender", "rcpt"], how="left").with_columns(
        pl.col("replied").fill_null(False)
    )
    return contacts.group_by("sender").agg(
        pl.len().alias("n_recipients"),
        (~pl.col("replied")).sum().alias("n_strangers"),
        ((~pl.col("replied")) & (pl.col("times") == 1)).sum().alias("n_oneshot_strangers"),
    )


def _event_facts(events: pl.DataFrame, hg: HeteroGraph) -> pl.LazyFrame:
    """Per actor: times and counts over all its events, and (``acting_*``) over its events
    other than suspensions, the ones the risk model reads (a suspension is the label, so
    it must not show in the features the label is learned from).

    One pass serves both, over the events beside their node indices (the graph's
    ``event_nodes``, row for row: no join on key strings, and the distinct counts are of
    integers). The distinct counts are made once, over the acting events; an actor with a
    suspension event gets its all-event counts again from its own events, which differ
    only where the suspension carried a message, device or IP.
    """
    acting = pl.col("acting")
    kind = pl.col("event_type")
    ev = pl.concat(
        [
            events.select(
                "ts",
                (kind != "suspension").alias("acting"),
                (kind == "signup").alias("signup"),
                (kind == "login").alias("login"),
            ),
            hg.event_nodes,
        ],
        how="horizontal",
    )
    keys = {"msg": "messages", "device": "devices", "ip": "ips"}
    base = (
        ev.lazy()
        .group_by("actor")
        .agg(
            pl.col("ts").min().alias("first_ts"),
            pl.col("ts").max().alias("last_ts"),
            pl.col("ts").filter("signup").min().alias("signup_ts"),
            pl.len().alias("n_events"),
            pl.col("ts").filter(~acting).min().alias("suspended_ts"),
            acting.sum().alias("acting_events"),
            pl.col("login").sum().alias("acting_logins"),
            (pl.col("ts").filter(acting) // DAY_MS).n_unique().alias("acting_days"),
            pl.col("ts").filter(acting).min().alias("acting_first_ts"),
            pl.col("ts").filter(acting).max().alias("acting_last_ts"),
            *(
                pl.col(key).filter(acting).drop_nulls().n_unique().alias(f"acting_{name}")
                for key, name in keys.items()
            ),
        )
    )
    suspended = ev.lazy().filter(~acting).select("actor").unique()
    redone = (
        ev.lazy()
        .join(suspended, on="actor", how="semi")
        .group_by("actor")
        .agg(pl.col(key).drop_nulls().n_unique().alias(f"all_{name}") for key, name in keys.items())
    )
    return base.join(redone, on="actor", how="left").with_columns(
        pl.coalesce(f"all_{name}", f"acting_{name}").alias(f"n_{name}") for name in keys.values()
    )


def actor_features(events: pl.DataFrame, hg: HeteroGraph) -> pl.DataFrame:
    """One row per actor that acted: times, volumes, labels, contacts and infrastructure;
    the ``acting_*`` columns count the same without suspension events (see
    :func:`_event_facts`)."""
    actors = hg.nodes["actor"].filter(pl.col("actor_id").is_not_null())
    base = _event_facts(events, hg).select(
        "actor",
        "first_ts",
        "last_ts",
        "signup_ts",
        "n_events",
        "n_messages",
        "suspended_ts",
        "n_devices",
        "n_ips",
        pl.col("^acting_.*$"),
    )
    reporters = (
        hg.edges[("actor", "reported", "actor")]
        .lazy()
        .filter(pl.col("src") != pl.col("dst"))
        .group_by(pl.col("dst").alias("actor"))
        .agg(pl.col("src").n_unique().alias("n_reporters"))
    )
    contacts = _recipient_facts(hg).rename({"sender": "actor"})
    out = (
        actors.lazy()
        .select(pl.col("idx").alias("actor"), "actor_id")
        .join(base, on="actor", how="left")
        .join(reporters, on="actor", how="left")
        .join(contacts, on="actor", how="left")
        .with_columns(
            pl.col("suspended_ts").is_not_null().alias("known_bad"),
            pl.col("n_reporters", "n_recipients", "n_strangers", "n_oneshot_strangers")
            .fill_null(0)
            .cast(pl.Int64),
        )
    )
    return out.select(pl.exclude("^acting_.*$"), pl.col("^acting_.*$")).sort("actor").collect()


def with_freshness(features: pl.DataFrame, *, fresh_days: float) -> pl.DataFrame:
    """Add ``fresh``: the account signed up within the log and acted within ``fresh_days``."""
    limit = int(fresh_days * DAY_MS)
    fresh = pl.col("signup_ts").is_not_null() & ((pl.col("last_ts") - pl.col("signup_ts")) < limit)
    return features.with_columns(fresh.fill_null(False).alias("fresh"))
