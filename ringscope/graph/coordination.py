"""Actor–actor coordination evidence: who used the same things at the same time.

Each evidence layer looks at one kind of item an actor touches (near-duplicate content,
a registered domain, a recipient, a device, an IP, a /24, a signup subnet). Two actors
get evidence in a layer when they used the same item within the layer's time window
(SynchroTrap's "same action, same target, same time" idea, Cao et al., CCS 2014).

How evidence is weighed, so benign hubs do not glue the graph together:
  * Item weight ``w(i) = idf(i) * min(1, hub_actors / df(i))`` where ``df`` is the number
    of distinct actors that ever used the item: a domain, NAT address or newsletter text
    used by thousands counts for little, however synchronised.
  * Per-pair similarity is a weighted cosine: shared co-occurring item mass divided by
    ``sqrt(mass(u) * mass(v)) + prior``, where an actor's mass counts every distinct item
    it used. Busy legit accounts that touch a viral link once share a sliver of their
    activity; ring accounts share most of theirs.
  * The edge weight is the layer-weighted sum of similarities; weak edges are pruned.

Why cost stays near-linear: pairs are only formed inside an ``(item, time bucket)`` group
(two bucketings offset by half a window, so no co-occurrence within half a window is
missed). Items used by a single actor are dropped first; items used by more than
``max_item_actors`` are not paired at all (their weight is ~0 anyway). A group with more
than ``max_group_pairs_actors`` actors is not expanded into a clique: its actors are put in a
seeded pseudo-random order and each is linked to its next ``sparse_neighbours`` actors on that
circle, so a group of k actors yields O(k) pairs instead of O(k^2) while staying connected.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.hetero import HeteroGraph

__all__ = ["LAYER_ITEM_TYPES", "CoordinationEvidence", "build_evidence", "layer_occurrences"]

#: The node type each layer's items come from (for display of evidence items).
LAYER_ITEM_TYPES = {
    "content": "content",
    "domain": "domain",
    "victims": "actor",
    "device": "device",
    "ip": "ip",
    "subnet": "subnet",
    "signup_burst": "subnet",
}

_OCC = {"actor": pl.UInt32, "item": pl.UInt32, "ts": pl.Int64}


@dataclass(frozen=True)
class CoordinationEvidence:
    """The weighted actor graph and the ledger behind every edge.

    Attributes:
        edges: ``src``, ``dst`` (actor indices, src < dst), ``weight``, ``layers`` (list).
        evidence: one row per (src, dst, layer): ``similarity``, ``n_items``,
            ``first_ts``, ``last_ts``, ``items`` (keys of the strongest shared items).
        actor_layers: per (actor, layer) the item ``mass`` and number of distinct items.
        stats: counts for the manifest (occurrences, hub items skipped, pairs).
    """

    edges: pl.DataFrame
    evidence: pl.DataFrame
    actor_layers: pl.DataFrame
    stats: dict[str, dict[str, int]]


def layer_occurrences(hg: HeteroGraph) -> dict[str, pl.DataFrame]:
    """``(actor, item, ts)`` rows for every evidence layer, derived from the typed edges."""
    e = hg.edges
    sent = e[("actor", "sent", "message")].rename({"src": "actor", "dst": "msg"})

    def via_message(rel: tuple[str, str, str]) -> pl.DataFrame:
        items = e[rel].select(pl.col("src").alias("msg"), pl.col("dst").alias("item"))
        return sent.join(items, on="msg").select("actor", "item", "ts")

    def direct(rel: tuple[str, str, str]) -> pl.DataFrame:
        return e[rel].select(pl.col("src").alias("actor"), pl.col("dst").alias("item"), "ts")

    ip_subnet = e[("ip", "in", "subnet")].select(
        pl.col("src").alias("ip"), pl.col("dst").alias("item")
    )
    subnet = (
        direct(("actor", "used", "ip"))
        .rename({"item": "ip"})
        .join(ip_subnet, on="ip")
        .select("actor", "item", "ts")
    )
    victims = via_message(("message", "to", "actor")).filter(pl.col("actor") != pl.col("item"))
    occ = {
        "content": via_message(("message", "has", "content")),
        "domain": via_message(("message", "links", "domain")),
        "victims": victims,
        "device": direct(("actor", "used", "device")),
        "ip": direct(("actor", "used", "ip")),
        "subnet": subnet,
        "signup_burst": direct(("actor", "signup_from", "subnet")),
    }
    return {name: df.select(pl.col(c).cast(t) for c, t in _OCC.items()) for name, df in occ.items()}


def _item_weights(occ: pl.DataFrame, layer: LayerConfig, n_actors: int) -> pl.DataFrame:
    """Per item: distinct-actor count ``df`` and weight ``w`` (idf times hub damping)."""
    log_n = float(max(n_actors, 2))
    df = occ.group_by("item").agg(pl.col("actor").n_unique().alias("df"))
    idf = ((log_n + 1) / (pl.col("df") + 1)).log() / pl.lit(log_n + 1).log()
    damp = pl.min_horizontal(pl.lit(1.0), layer.hub_actors / pl.col("df"))
    return df.with_columns((idf.clip(0.0, 1.0) * damp).alias("w"))


def _group_pairs(members: pl.DataFrame, cfg: CoordinationConfig, salt: int) -> pl.DataFrame:
    """Pairs inside each (item, bucket) group: a clique when small, a sparse circle when big."""
    sizes = members.group_by("item", "bucket").agg(pl.len().alias("k"))
    members = members.join(sizes.filter(pl.col("k") >= 2), on=["item", "bucket"])
    small = members.filter(pl.col("k") <= cfg.max_group_pairs_actors).drop("k")
    left = small.rename({"actor": "a", "first": "fa", "last": "la"})
    right = small.rename({"actor": "b", "first": "fb", "last": "lb"})
    clique = left.join(right, on=["item", "bucket"]).filter(pl.col("a") < pl.col("b"))

    big = members.filter(pl.col("k") > cfg.max_group_pairs_actors)
    order = pl.struct("actor", "item", "bucket").hash(seed=salt)
    big = big.with_columns(order.rank("ordinal").over("item", "bucket").cast(pl.Int64).alias("r"))
    offsets = pl.DataFrame(
        {"off": list(range(1, cfg.sparse_neighbours + 1))}, schema={"off": pl.Int64}
    )
    ring = (
        big.join(offsets, how="cross")
        .filter(pl.col("off") < pl.col("k"))
        .with_columns(((pl.col("r") - 1 + pl.col("off")) % pl.col("k") + 1).alias("r2"))
        .rename({"actor": "a", "first": "fa", "last": "la"})
        .join(
            big.select(
                "item",
                "bucket",
                pl.col("r").alias("r2"),
                pl.col("actor").alias("b"),
                pl.col("first").alias("fb"),
                pl.col("last").alias("lb"),
            ),
            on=["item", "bucket", "r2"],
        )
        .with_columns(
            pl.min_horizontal("a", "b").alias("a2"), pl.max_horizontal("a", "b").alias("b")
        )
        .drop("a")
        .rename({"a2": "a"})
    )
    cols = ["a", "b", "item", "fa", "la", "fb", "lb"]
    return pl.concat([clique.select(cols), ring.select(cols)])


def _layer_pairs(
    occ: pl.DataFrame, items: pl.DataFrame, layer: LayerConfig, cfg: CoordinationConfig
) -> pl.DataFrame:
    """Distinct (a, b, item) co-occurrences within the layer window, with their time span."""
    pairable = items.filter((pl.col("df") >= 2) & (pl.col("df") <= cfg.max_item_actors))
    occ = occ.join(pairable.select("item"), on="item")
    window = layer.window_ms
    offsets = [0, window // 2] if window > 0 else [0]
    parts = []
    for salt, offset in enumerate(offsets):
        bucket = (pl.col("ts") + offset) // window if window > 0 else pl.lit(0, dtype=pl.Int64)
        members = (
            occ.with_columns(bucket.alias("bucket"))
            .group_by("item", "bucket", "actor")
            .agg(pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"))
        )
        parts.append(_group_pairs(members, cfg, salt))
    pairs = pl.concat(parts)
    return pairs.group_by("a", "b", "item").agg(
        pl.min_horizontal("fa", "fb").min().alias("first_ts"),
        pl.max_horizontal("la", "lb").max().alias("last_ts"),
    )


def build_evidence(hg: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
    """Weighted actor–actor edges with a per-layer evidence ledger."""
    n_actors = hg.num_nodes("actor")
    occurrences = layer_occurrences(hg)
    ledger, masses, stats = [], [], {}
    for name, layer in cfg.layers.items():
        if layer.weight == 0:
            continue
        occ = occurrences[name]
        items = _item_weights(occ, layer, n_actors)
        mass = (
            occ.select("actor", "item")
            .unique()
            .join(items.select("item", "w"), on="item")
            .group_by("actor")
            .agg(pl.col("w").sum().alias("mass"), pl.len().alias("n_items"))
        )
        pairs = _layer_pairs(occ, items, layer, cfg).join(items.select("item", "w"), on="item")
        key_of = hg.nodes[LAYER_ITEM_TYPES[name]].select(pl.col("idx").alias("item"), "key")
        top = cfg.evidence_items
        per_pair = (
            pairs.join(key_of, on="item")
            .sort("w", "key", descending=[True, False])
            .group_by("a", "b")
            .agg(
                pl.col("w").sum().alias("shared"),
                pl.len().alias("n_items"),
                pl.col("first_ts").min(),
                pl.col("last_ts").max(),
                pl.col("key").head(top).alias("items"),
            )
        )
        m = mass.select("actor", "mass")
        sim = (
            per_pair.join(m.rename({"actor": "a", "mass": "ma"}), on="a")
            .join(m.rename({"actor": "b", "mass": "mb"}), on="b")
            .with_columns(
                (pl.col("shared") / ((pl.col("ma") * pl.col("mb")).sqrt() + cfg.similarity_prior))
                .clip(0.0, 1.0)
                .alias("similarity")
            )
        )
        ledger.append(
            sim.select(
                pl.col("a").alias("src"),
                pl.col("b").alias("dst"),
                pl.lit(name).alias("layer"),
                "similarity",
                (pl.col("similarity") * layer.weight).alias("contribution"),
                pl.col("n_items").cast(pl.UInt32),
                "first_ts",
                "last_ts",
                "items",
            )
        )
        masses.append(mass.with_columns(pl.lit(name).alias("layer")))
        stats[name] = {
            "occurrences": occ.height,
            "items": items.height,
            "hub_items_skipped": items.filter(pl.col("df") > cfg.max_item_actors).height,
            "pairs": sim.height,
        }
    evidence = pl.concat(ledger) if ledger else _empty_evidence()
    edges = (
        evidence.group_by("src", "dst")
        .agg(pl.col("contribution").sum().alias("weight"), pl.col("layer").sort().alias("layers"))
        .filter(pl.col("weight") >= cfg.min_edge_weight)
        .sort("src", "dst")
    )
    evidence = evidence.join(edges.select("src", "dst"), on=["src", "dst"]).sort(
        "src", "dst", "layer"
    )
    actor_layers = pl.concat(masses) if masses else pl.DataFrame()
    return CoordinationEvidence(
        edges=edges, evidence=evidence, actor_layers=actor_layers, stats=stats
    )


def _empty_evidence() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "src": pl.UInt32,
            "dst": pl.UInt32,
            "layer": pl.Utf8,
            "similarity": pl.Float64,
            "contribution": pl.Float64,
            "n_items": pl.UInt32,
            "first_ts": pl.Int64,
            "last_ts": pl.Int64,
            "items": pl.List(pl.Utf8),
        }
    )
