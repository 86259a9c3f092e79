"""Cluster scores, ranks and summaries, and actor risk, from the explainable signals.

Acting together is not abuse by itself (colleagues behind one NAT, a newsletter team), and
abusive-looking accounts that do not act together are not a ring. So the score is a
weighted geometric mean of two weighted means, one per signal family::

    coordination = weighted mean of (synchrony, density)
    abuse        = weighted mean of (labels, freshness, signup_burst, fanout, concentration)
    score        = size_confidence * abuse ** a * coordination ** (1 - a)

with ``a = abuse_exponent`` (0.65: legit groups coordinate often, so how abusive the
behaviour looks counts for more than how tightly it is coordinated),
the weights of :class:`ringscope.config.ScoreConfig` (normalised within a family) and
``size_confidence = 1 - 0.5 ** ((size - 1) / size_half_life)``, which keeps pairs from
outranking rings on the strength of one coincidence. Each cluster keeps the family means
and every signal's weighted part (``contrib_<signal>``, summing to its family mean), so
the score is arithmetic a reader can check.

Without platform labels (no suspension, report or signup anywhere in the run) the abuse
family knows nothing, and scores would all sit near zero and rank by size ties. Then the
score is the label-free ``chance`` family alone, the ``significance`` signal (how far the
members' repeated co-sharing is from chance, ``strength / (strength + strength_half)``)::

    score = significance

The coordination family (cosine similarities) is still reported but does not rank: a
cosine over each account's whole activity understates busy accounts whose co-sharing is
far beyond chance, and the chance model already discounts activity. Neither does size
confidence: significance already tells one coincidence from many. Ties break by strength,
never by size. ``ranking`` on each cluster says which formula ranked it (``labels`` or
``label_free``); ``flagged`` marks clusters whose strength reaches ``flag_strength``
(coordinated beyond chance) in either mode.

Actor risk mixes the actor's cluster score with its own evidence:
``risk = 0.55 * cluster_score + 0.45 * own`` where ``own`` weighs reports (``1 - 0.5 **
reporters``), freshness, one-shot stranger fan-out and its strongest coordination edge.
When the run has a learned model (``ringscope.ranking.learned_risk``), the risk is the
larger of that mix and the model's calibrated risk: labels teach what labelled actors
look like, the evidence covers abuse nobody has labelled yet. Without a learned model,
the label-free content score of the actor's messages
(``ringscope.ranking.content_model``) is such a floor instead: on real mail a cluster
score alone ranks busy mailing-list regulars above one-off spam senders.

In a run without labels the cluster score is coordination significance, and repetition
is not abuse: mailing-list senders who share the same links again and again form
significant clusters, and they write to many recipients who never reply. So when such a
run has content evidence, coordination counts only as far as the content shows abuse::

    risk = max(content, 0.55 * cluster_score * content_abuse + 0.45 * own * content)

where ``content`` is the actor's label-free content score and ``content_abuse`` its
cluster's (the members' mean): a near-duplicate campaign of anomalous messages lifts its
members, a mailing list of ordinary ones does not (on TREC 2007 the ungated mix ranked
spam senders below ham at AUROC 0.67; gated, 0.88; bench/RESULTS.md). Without content
(no messages in the run) the mix stays as it is: there is no abuse evidence to ask for.
A suspended actor is known bad: its risk is at least 0.95.
"""

from __future__ import annotations

import hashlib

import polars as pl

from ringscope.config import ScoreConfig
from ringscope.ranking.signals import SIGNAL_FAMILIES

__all__ = ["actor_risk", "cluster_id_for", "score_clusters"]

_CLUSTER_WEIGHT, _OWN_WEIGHT = 0.55, 0.45
_OWN_MIX = {"reported": 0.3, "fresh": 0.2, "fanout": 0.2, "coordination": 0.3}
KNOWN_BAD_RISK = 0.95
_MIN_FANOUT_RECIPIENTS = 5


def cluster_id_for(actor_ids: list[str]) -> str:
    """Deterministic id of a member set, so the same ring gets the same id across runs."""
    digest = hashlib.sha256("\x1f".join(sorted(actor_ids)).encode()).hexdigest()
    return f"c{digest[:12]}"


def _fmt_count(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,}"


def summarise(row: dict) -> str:
    """One line an investigator can read: the facts behind the strongest signals."""
    size = row["size"]
    parts = [f"{size} accounts"]
    if row["n_fresh"]:
        parts.append(f"{row['n_fresh']} new")
    if (row["burst_signups"] or 0) >= 3:
        parts.append(f"{row['burst_signups']} signed up within a day")
    if row["n_suspended"] or row["n_reported"]:
        parts.append(f"{row['n_suspended']} suspended, {row['n_reported']} reported")
    if row["synchrony"] >= 0.3 and (row.get("max_shared_items") or 0) >= 2:
        gap = row.get("median_gap_ms")
        within = f", median gap {gap / 1000:.0f}s" if gap is not None else ""
        parts.append(
            f"act in lockstep (up to {row['max_shared_items']} items shared per pair{within}; "
            f"chance strength {row.get('strength') or 0.0:.1f})"
        )
    if row["n_recipients"] and row["fanout"] >= 0.3:
        parts.append(
            f"{row['fanout']:.0%} of {_fmt_count(row['n_recipients'])} recipients are "
            "one-shot strangers"
        )
    infra = []
    if row["n_devices"] and row["n_devices"] < size:
        infra.append(f"{row['n_devices']} devices")
    if row["n_ips"] and row["n_ips"] < size:
        infra.append(f"{row['n_ips']} IPs")
    if infra:
        parts.append("share " + " and ".join(infra))
    if row["layers"]:
        parts.append("evidence: " + ", ".join(row["layers"]))
    return "; ".join(parts)


def score_clusters(
    signals: pl.DataFrame, cfg: ScoreConfig, *, labelled: bool = True
) -> pl.DataFrame:
    """Score, rank and summarise clusters; adds family means and per-signal contributions.

    ``labelled``: whether the run has any platform label (suspension, report, signup);
    without one the chance family replaces the abuse family (see the module docstring).
    """
    size_conf = 1.0 - 0.5 ** ((pl.col("size") - 1) / cfg.size_half_life)
    contribs, family_means = [], []
    for family, members in SIGNAL_FAMILIES.items():
        total = sum(cfg.weights[s] for s in members) or 1.0
        contribs += [(pl.col(s) * (cfg.weights[s] / total)).alias(f"contrib_{s}") for s in members]
        family_means.append(pl.sum_horizontal([f"contrib_{s}" for s in members]).alias(family))
    scored = (
        signals.with_columns(contribs)
        .with_columns(family_means)
        .with_columns(
            (
                pl.col("abuse").pow(cfg.abuse_exponent)
                * pl.col("coordination").pow(1.0 - cfg.abuse_exponent)
                * size_conf
                if labelled
                else pl.col("chance")
            )
            .clip(0.0, 1.0)
            .alias("score"),
            size_conf.alias("size_confidence"),
            pl.lit("labels" if labelled else "label_free").alias("ranking"),
            (pl.col("strength") >= cfg.flag_strength).alias("flagged"),
        )
    )
    scored = scored.with_columns(
        pl.struct(pl.all()).map_elements(summarise, return_dtype=pl.Utf8).alias("summary")
    )
    order = ["score", "size", "cluster_id"] if labelled else ["score", "strength", "cluster_id"]
    return scored.sort(order, descending=[True, True, False]).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank")
    )


def actor_risk(
    features: pl.DataFrame,
    memberships: pl.DataFrame,
    strongest_edge: pl.DataFrame,
    *,
    learned_risk: pl.DataFrame | None = None,
    content_risk: pl.DataFrame | None = None,
    content_gate: bool = False,
) -> pl.DataFrame:
    """Risk in [0, 1] per actor from its cluster's score and its own evidence.

    ``content_risk`` (``actor``, ``content_risk``: the label-free content score of its
    messages) and ``learned_risk`` (``actor``, ``learned_risk``), when given, are floors
    on the risk. ``content_gate`` (a run without labels, with ``content_risk``): the
    cluster part is weighted by the cluster's ``content_abuse`` (a column of
    ``memberships``) and the own part by the actor's content score (module docstring).
    """
    if content_gate and content_risk is None:
        raise ValueError("content_gate needs content_risk (the abuse evidence it weighs by)")
    cluster_cols = ["cluster_id", "score"] + (["content_abuse"] if content_gate else [])
    df = (
        features.join(memberships.select("actor", *cluster_cols), on="actor", how="left")
        .join(strongest_edge, on="actor", how="left")
        .with_columns(pl.col("score", "max_weight").fill_null(0.0))
    )
    fanout = pl.when(pl.col("n_recipients") >= _MIN_FANOUT_RECIPIENTS).then(
        pl.col("n_oneshot_strangers") / pl.col("n_recipients")
    )
    own = (
        _OWN_MIX["reported"] * (1.0 - 0.5 ** pl.col("n_reporters").cast(pl.Float64))
        + _OWN_MIX["fresh"] * pl.col("fresh").cast(pl.Float64)
        + _OWN_MIX["fanout"] * fanout.fill_null(0.0)
        + _OWN_MIX["coordination"] * pl.col("max_weight").clip(0.0, 1.0)
    )
    cluster = pl.col("score")
    for floor, name in ((content_risk, "content_risk"), (learned_risk, "learned_risk")):
        if floor is not None:
            df = df.join(floor.select("actor", name), on="actor", how="left")
    if content_gate:
        cluster = cluster * pl.col("content_abuse").fill_null(0.0)
        own = own * pl.col("content_risk").fill_null(0.0)
    risk = (_CLUSTER_WEIGHT * cluster + _OWN_WEIGHT * own).clip(0.0, 1.0)
    for floor, name in ((content_risk, "content_risk"), (learned_risk, "learned_risk")):
        if floor is not None:
            risk = pl.max_horizontal(risk, pl.col(name).fill_null(0.0))
    risk = (
        pl.when(pl.col("known_bad")).then(pl.max_horizontal(risk, KNOWN_BAD_RISK)).otherwise(risk)
    )
    return df.with_columns(risk.alias("risk_score"))
