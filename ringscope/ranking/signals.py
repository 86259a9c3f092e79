"""Explainable cluster signals, each a number in [0, 1] with the facts behind it.

Signals (the keys of ``ScoreConfig.weights``):

* ``labels``: suspended members count 2, reported members ``1 - 0.5 ** reporters`` (one
  report is weak, several are not), shrunk towards zero for small clusters:
  ``min(1, (2 * suspended + reported) / (size + 2))``, so one noise report does not make a
  pair look like a ring.
* ``freshness``: share of members whose account was created in the log and acted within
  ``fresh_days`` of signing up.
* ``signup_burst``: the most member signups inside one ``burst_window`` (when at least
  two), over the size.
* ``synchrony``: mean, over evidence edges inside the cluster, of the strongest
  behavioural similarity (same content, same domain or same victims within minutes).
* ``concentration``: how few devices, IPs and link domains the members share
  (``1 - (distinct - 1) / (size - 1)`` for devices and IPs, top-3 domain share for links).
* ``fanout``: share of the members' recipients who are one-shot strangers (never answered,
  contacted once), so newsletters to the same subscribers and chats among friends score low.
* ``density``: mean weight of the evidence edges inside the cluster (capped at 1).
* ``member_risk``: upper quartile of the members' learned risk (see
  ``ringscope.ranking.learned_risk``), so a ring whose riskiest quarter the model knows
  counts even when most members look unremarkable; 0 when the run has no learned model
  (its weight is then 0 too).
* ``content_abuse``: mean over the members of what their messages say
  (``ringscope.ranking.content_model``: the supervised probability where the run has
  labels, else the label-free content score); 0 for members without messages.
* ``significance``: how far the members' coordination is from chance, label-free. Each
  evidence edge has a ``strength``: the ``-log10 p`` of its repeated co-sharing under
  the chance model of :func:`ringscope.graph.coordination.finish_evidence`, times its
  layer's weight. A member's evidence is Fisher's combination of its edges inside the
  cluster that are beyond chance on their own (``strength`` at or above
  ``beyond_chance``, the flag bar): an account that repeats beyond chance with three
  partners is less likely to be a coincidence than one that does with one (Fisher's
  method, Fisher 1925; it takes the tests as independent, while a member's ties share
  its activity, so the combined value orders evidence rather than being an exact p). A
  member without such an edge counts its strongest one. The cluster's ``strength`` is
  the mean over members (every member must have a strong partner, so one hub pair does
  not carry a crowd, and a big cluster gains nothing by its size: only by how many
  independent ties each member has); the signal is ``strength / (strength +
  strength_half)``, so ``strength_half`` (p = 0.001 by default) maps to 0.5. Being a
  probability, it reads the same on any data set.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.graph.coordination import CoordinationEvidence
from ringscope.graph.hetero import HeteroGraph

__all__ = [
    "BEHAVIOUR_LAYERS",
    "SIGNALS",
    "SIGNAL_FAMILIES",
    "cluster_signals",
    "fisher_significance",
]

SIGNALS = (
    "labels",
    "freshness",
    "signup_burst",
    "synchrony",
    "concentration",
    "fanout",
    "density",
    "member_risk",
    "content_abuse",
    "significance",
)
#: How tightly members act together vs how abusive their behaviour looks (see scoring).
SIGNAL_FAMILIES = {
    "coordination": ("synchrony", "density"),
    "abuse": (
        "labels",
        "freshness",
        "signup_burst",
        "fanout",
        "concentration",
        "member_risk",
        "content_abuse",
    ),
    "chance": ("significance",),
}
BEHAVIOUR_LAYERS = (
    "content",
    "domain",
    "short_link",
    "victims",
    "url",
    "post",
    "media",
    "object",
    "hashtag",
    "target",
)


def _clip(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0)


def _distinct_per_cluster(members: pl.DataFrame, edges: pl.DataFrame, name: str) -> pl.DataFrame:
    used = edges.select(pl.col("src").alias("actor"), pl.col("dst").alias("item")).unique()
    return (
        members.join(used, on="actor")
        .group_by("community")
        .agg(pl.col("item").n_unique().alias(name))
    )


def _domain_share(members: pl.DataFrame, hg: HeteroGraph) -> pl.DataFrame:
    sent = hg.edges[("actor", "sent", "message")].select(
        pl.col("src").alias("actor"), pl.col("dst").alias("msg")
    )
    links = hg.edges[("message", "links", "domain")].select(
        pl.col("src").alias("msg"), pl.col("dst").alias("domain")
    )
    counts = (
        members.join(sent.unique(), on="actor")
        .join(links.unique(), on="msg")
        .group_by("community", "domain")
        .agg(pl.len().alias("n"))
    )
    return counts.group_by("community").agg(
        (pl.col("n").top_k(3).sum() / pl.col("n").sum()).alias("domain_share"),
        pl.col("n").sum().alias("n_links"),
    )


def _signup_burst(members: pl.DataFrame, features: pl.DataFrame, window_ms: int) -> pl.DataFrame:
    """Largest number of member signups within one sliding window, per community.

    Signups are sorted by (community, time); for each signup a binary search finds how
    many of its community's signups fall within ``window_ms`` after it.
    """
    signups = (
        members.join(features.select("actor", "signup_ts"), on="actor")
        .drop_nulls("signup_ts")
        .sort("community", "signup_ts")
    )
    if signups.height == 0:
        return pl.DataFrame(schema={"community": pl.Int64, "burst_signups": pl.Int64})
    ts = signups["signup_ts"].to_numpy()
    rel = ts - ts.min()
    span = int(rel.max()) + window_ms + 1
    key = signups["community"].to_numpy().astype(np.int64) * span + rel
    end = np.searchsorted(key, key + window_ms, side="right")
    count = end - np.arange(len(key))
    return (
        signups.select("community")
        .with_columns(pl.Series("n", count))
        .group_by("community")
        .agg(pl.col("n").max().alias("burst_signups"))
    )


def fisher_significance(total: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """``-log10`` of Fisher's combined p of ``ties`` tests whose ``-log10 p`` sum to ``total``.

    Fisher's statistic ``-2 sum ln p`` is chi-squared with ``2 ties`` degrees of freedom
    under the null, so the combined p is the regularised upper incomplete gamma
    ``Q(ties, total ln 10)``; one tie gives back its own ``-log10 p``. Where the tail
    underflows, its leading term ``e^-x x^(k-1) / (k-1)!`` stands in (a lower bound).
    """
    from scipy.special import gammaincc, gammaln

    k = np.maximum(np.asarray(ties, dtype=np.float64), 1.0)
    x = np.asarray(total, dtype=np.float64) * np.log(10.0)
    with np.errstate(divide="ignore"):
        tail = gammaincc(k, x)
        log_tail = np.where(
            tail > 1e-300, np.log(tail), -x + (k - 1.0) * np.log(np.maximum(x, 1e-300)) - gammaln(k)
        )
    return np.maximum(-log_tail / np.log(10.0), 0.0) + 0.0  # no -0.0


def _internal_evidence(
    members: pl.DataFrame, ev: CoordinationEvidence, beyond_chance: float
) -> pl.DataFrame:
    m = members.select("actor", "community")
    edges = ev.edges.join(m.rename({"actor": "src"}), on="src").join(
        m.rename({"actor": "dst", "community": "c2"}), on="dst"
    )
    internal = edges.filter(pl.col("community") == pl.col("c2"))
    behaviour = (
        ev.evidence.filter(pl.col("layer").is_in(BEHAVIOUR_LAYERS))
        .group_by("src", "dst")
        .agg(pl.col("similarity").max().alias("behaviour"))
    )
    internal = internal.join(behaviour, on=["src", "dst"], how="left")
    per_member = (
        pl.concat(
            [
                internal.select("community", pl.col("src").alias("actor"), "strength"),
                internal.select("community", pl.col("dst").alias("actor"), "strength"),
            ]
        )
        .group_by("community", "actor")
        .agg(
            pl.col("strength").max().alias("strongest"),
            pl.col("strength")
            .filter(pl.col("strength") >= beyond_chance)
            .sort()
            .sum()
            .alias("total"),
            (pl.col("strength") >= beyond_chance).sum().alias("ties"),
        )
    )
    combined = fisher_significance(per_member["total"].to_numpy(), per_member["ties"].to_numpy())
    per_member = (
        per_member.with_columns(
            pl.when(pl.col("ties") > 0)
            .then(pl.Series(combined, dtype=pl.Float64))
            .otherwise("strongest")
            .alias("strength")
        )
        .group_by("community")
        .agg(pl.col("strength").sort().mean())
    )
    shared = (
        ev.evidence.filter(pl.col("layer").is_in(BEHAVIOUR_LAYERS))
        .join(internal.select("src", "dst", "community"), on=["src", "dst"])
        .group_by("community")
        .agg(
            pl.col("n_items").max().alias("max_shared_items"),
            pl.col("median_gap_ms").median().alias("median_gap_ms"),
        )
    )
    return (
        internal.group_by("community")
        .agg(
            pl.len().alias("n_edges"),
            pl.col("weight").sort().mean().alias("mean_weight"),
            pl.col("behaviour").fill_null(0.0).sort().mean().alias("mean_behaviour"),
        )
        .join(per_member, on="community", how="left")
        .join(shared, on="community", how="left")
    )


def cluster_signals(
    members: pl.DataFrame,
    features: pl.DataFrame,
    hg: HeteroGraph,
    evidence: CoordinationEvidence,
    *,
    burst_window_ms: int,
    strength_half: float = 3.0,
    beyond_chance: float = 3.0,
    learned_risk: pl.DataFrame | None = None,
    content_risk: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per community: the facts (counts) and the nine signals in [0, 1].

    ``learned_risk`` (``actor``, ``learned_risk``) feeds ``member_risk`` and
    ``content_risk`` (``actor``, ``content_risk``) feeds ``content_abuse``; without them
    those signals are 0.
    """
    facts = (
        members.join(features, on="actor")
        .group_by("community")
        .agg(
            pl.len().alias("size"),
            pl.col("known_bad").sum().alias("n_suspended"),
            (pl.col("n_reporters") > 0).sum().alias("n_reported"),
            (1.0 - 0.5 ** pl.col("n_reporters").cast(pl.Float64)).sort().sum().alias("report_mass"),
            pl.col("fresh").sum().alias("n_fresh"),
            pl.col("n_recipients").sum().alias("n_recipients"),
            pl.col("n_oneshot_strangers").sum().alias("n_oneshot_strangers"),
            pl.col("n_messages").sum().alias("n_messages"),
            pl.col("first_ts").min().alias("first_ts"),
            pl.col("last_ts").max().alias("last_ts"),
        )
    )
    parts = [
        _distinct_per_cluster(members, hg.edges[("actor", "used", "device")], "n_devices"),
        _distinct_per_cluster(members, hg.edges[("actor", "used", "ip")], "n_ips"),
        _domain_share(members, hg),
        _signup_burst(members, features, burst_window_ms),
        _internal_evidence(members, evidence, beyond_chance),
    ]
    if learned_risk is not None:
        parts.append(
            members.join(learned_risk.select("actor", "learned_risk"), on="actor", how="left")
            .group_by("community")
            .agg(
                pl.col("learned_risk")
                .fill_null(0.0)
                .quantile(0.75, interpolation="linear")
                .alias("member_learned_risk")
            )
        )
    if content_risk is not None:
        parts.append(
            members.join(content_risk.select("actor", "content_risk"), on="actor", how="left")
            .group_by("community")
            .agg(pl.col("content_risk").fill_null(0.0).mean().alias("member_content_risk"))
        )
    for part in parts:
        facts = facts.join(part, on="community", how="left")
    size = pl.col("size").cast(pl.Float64)

    def spread(col: str) -> pl.Expr:
        return (
            pl.when(pl.col(col).fill_null(0) == 0)
            .then(0.0)
            .otherwise(1.0 - (pl.col(col) - 1) / (size - 1))
        )

    return facts.with_columns(
        _clip((2 * pl.col("n_suspended") + pl.col("report_mass")) / (size + 2)).alias("labels"),
        _clip(pl.col("n_fresh") / size).alias("freshness"),
        _clip(
            pl.when(pl.col("burst_signups") >= 2).then(pl.col("burst_signups")).otherwise(0) / size
        ).alias("signup_burst"),
        _clip(pl.col("mean_behaviour")).alias("synchrony"),
        _clip(
            (_clip(spread("n_devices")) + _clip(spread("n_ips")) + _clip(pl.col("domain_share")))
            / 3
        ).alias("concentration"),
        _clip(pl.col("n_oneshot_strangers") / pl.col("n_recipients")).alias("fanout"),
        _clip(pl.col("mean_weight")).alias("density"),
        _clip(pl.col("member_learned_risk") if learned_risk is not None else pl.lit(0.0)).alias(
            "member_risk"
        ),
        _clip(pl.col("member_content_risk") if content_risk is not None else pl.lit(0.0)).alias(
            "content_abuse"
        ),
        _clip(pl.col("strength") / (pl.col("strength") + strength_half)).alias("significance"),
        pl.col("strength").fill_null(0.0),
    ).sort("community")
