"""Actor–actor coordination evidence: who used the same things at the same time.

Each evidence layer looks at one kind of item an actor touches (near-duplicate content,
a registered domain, a recipient who never wrote back, a device, an IP, a /24, a signup
subnet, an account identifier: email, email pattern or phone, and, weakly, a display
name; identifiers tie a banned account to its re-registrations whenever they happen; and
shared objects: an exact URL, a reposted post, a media hash, a hashtag, another shared id,
the target acted on). Two actors get evidence in a layer when they used the same item
within the layer's time window (SynchroTrap's "same action, same target, same time" idea,
Cao et al., CCS 2014), and, in the shared-object layers, on at least ``min_participation``
distinct items (CooRTweet's repetition, Giglietto et al. 2020) more often than chance
allows (:func:`finish_evidence`). The formulas both engines share (item weights, the
similarity, the chance model, the schemas) live in
:mod:`ringscope.graph.coordination_formulas`; the steps that see one item, actor or pair
at a time (pairing in the window, masses, per-pair summaries) in
:mod:`ringscope.graph.coordination_kernels`, which the Spark engine runs on each
partition of the same keys.

How evidence is weighed, so benign hubs do not glue the graph together:
  * Item weight ``w(i) = idf(i) * min(1, hub_actors / df(i))`` where ``df`` is the number
    of distinct actors that ever used the item: a domain, NAT address or newsletter text
    used by thousands counts for little, however synchronised.
  * Per-pair similarity is a weighted cosine: shared co-occurring item mass divided by
    ``sqrt(mass(u) * mass(v)) + prior``, where an actor's mass counts every distinct item
    it used. Busy legit accounts that touch a viral link once share a sliver of their
    activity; ring accounts share most of theirs.
  * The edge weight is the layer-weighted sum of similarities; weak edges are pruned.

Why cost stays near-linear: uses of each item are sorted by time and every use is paired
only with the next ``max_partners`` uses of the same item inside the window (a sliding
window, exact for groups up to ``max_partners + 1`` actors; a bigger burst becomes a band
in time order, O(k) pairs and still connected). Repeats by one actor within half a window
are collapsed first. Items used by a single actor are dropped; items lighter than
``min_item_weight`` are not paired at all (with hub damping that caps a paired item at
``hub_actors / min_item_weight`` actors), nor are items above ``max_item_actors``. So the
work is O(occurrences x max_partners), whatever an item's popularity.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.coordination_formulas import (
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    LAYER_ITEM_TYPES,
    OBJECT_LAYERS,
    PAIR_SCHEMA,
    chance_significance,
    finish_evidence,
    unshared_content_mass,
)
from ringscope.graph.coordination_kernels import (
    OCC_SCHEMA,
    actor_mass,
    item_co_shares,
    item_table,
    pair_summary,
)
from ringscope.graph.hetero import HeteroGraph

__all__ = [
    "CO_SHARE_SCHEMA",
    "EDGE_SCHEMA",
    "EVIDENCE_SCHEMA",
    "LAYER_ITEM_TYPES",
    "PAIR_SCHEMA",
    "CoordinationEvidence",
    "build_evidence",
    "chance_significance",
    "chance_weighted",
    "finish_evidence",
    "layer_occurrences",
    "layer_totals",
    "ledger_rows",
    "repeats_by_items",
    "windowed_co_shares",
]


@dataclass(frozen=True)
class CoordinationEvidence:
    """The weighted actor graph and the ledger behind every edge.

    Attributes:
        edges: ``src``, ``dst`` (actor indices, src < dst), ``weight``, ``layers`` (list),
            ``strength`` (label-free, see :func:`finish_evidence`).
        evidence: one row per (src, dst, layer): ``similarity``, ``n_items`` (distinct
            items co-shared), ``first_ts``, ``last_ts``, ``items`` (keys of the strongest
            shared items), ``co_shares``, ``median_gap_ms``, ``max_gap_ms``, ``expected``
            and ``significance``.
        stats: counts for the manifest (occurrences, hub items skipped, pairs).
        co_shares: ``layer``, ``a``, ``b``, ``item``: every windowed co-share of the
            layers that repeat by distinct items, below the repetition bar too (see
            :func:`windowed_co_shares`); None from an engine that does not keep them.
    """

    edges: pl.DataFrame
    evidence: pl.DataFrame
    stats: dict[str, dict[str, int]]
    co_shares: pl.DataFrame | None = None


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
    contacts = via_message(("message", "to", "actor")).filter(pl.col("actor") != pl.col("item"))
    # A victim never wrote back: friends who answer are conversations, not targets.
    answered = contacts.select(
        pl.col("item").alias("actor"), pl.col("actor").alias("item")
    ).unique()
    victims = contacts.join(answered, on=["actor", "item"], how="anti")
    occ = {
        "content": via_message(("message", "has", "content")),
        **_link_layers(hg, via_message(("message", "links", "domain"))),
        "victims": victims,
        "device": direct(("actor", "used", "device")),
        "ip": direct(("actor", "used", "ip")),
        "subnet": subnet,
        "signup_burst": direct(("actor", "signup_from", "subnet")),
        **_identity_layers(hg, direct(("actor", "has", "identity"))),
        "url": direct(("actor", "shared", "url")),
        **_object_layers(hg, direct(("actor", "shared", "object"))),
        "target": direct(("actor", "targeted", "target")),
    }
    return {
        name: df.select(pl.col(c).cast(t) for c, t in OCC_SCHEMA.items())
        for name, df in occ.items()
    }


def _link_layers(hg: HeteroGraph, uses: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split link uses: registered domains vs shortener links (``bit.ly/3xYz``).

    Each short link is its own item; kept apart so a sender's many one-off short links do
    not dilute its domain similarity, while a campaign's shared short link still counts.
    """
    is_short = hg.nodes["domain"].select(
        pl.col("idx").alias("item"), pl.col("key").str.contains("/", literal=True).alias("short")
    )
    tagged = uses.join(is_short, on="item")
    return {
        "domain": tagged.filter(~pl.col("short")).drop("short"),
        "short_link": tagged.filter(pl.col("short")).drop("short"),
    }


def _identity_layers(hg: HeteroGraph, uses: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split identifier uses: exact account identifiers vs display names.

    A shared email, email pattern or phone is strong evidence; a shared display name is
    weak (common names recur among strangers), so it gets a layer and weight of its own.
    """
    is_name = hg.nodes["identity"].select(
        pl.col("idx").alias("item"), pl.col("key").str.starts_with("name:").alias("is_name")
    )
    tagged = uses.join(is_name, on="item")
    return {
        "identity": tagged.filter(~pl.col("is_name")).drop("is_name"),
        "name": tagged.filter(pl.col("is_name")).drop("is_name"),
    }


def _object_layers(hg: HeteroGraph, uses: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split object uses by kind (the ``<kind>:`` prefix of the key), one layer each."""
    kind = hg.nodes["object"].select(
        pl.col("idx").alias("item"), pl.col("key").str.extract(r"^([a-z]+):", 1).alias("kind")
    )
    tagged = uses.join(kind, on="item")
    return {name: tagged.filter(pl.col("kind") == name).drop("kind") for name in OBJECT_LAYERS}


def chance_weighted(edges: pl.DataFrame, strength_half: float) -> pl.DataFrame:
    """Edges weighted ``strength / (strength + strength_half)`` instead of by similarity.

    The same saturating map as the clusters' ``significance`` signal: an edge at
    ``strength_half`` weighs 0.5, one far beyond chance nearly 1, one without repeated
    co-sharing 0 (so with the constant Potts model it binds nobody). Used for the
    communities of runs without labels, where only coordination beyond chance should
    bind a ring: the cosine similarity would understate busy accounts.
    """
    factor = pl.col("strength") / (pl.col("strength") + strength_half)
    return edges.with_columns(factor.fill_nan(0.0).alias("weight"))


def windowed_co_shares(hg: HeteroGraph, cfg: CoordinationConfig) -> pl.DataFrame:
    """Every distinct (layer, a, b, item) co-share within the window of a repeated layer.

    Only layers that ask for repetition by distinct items (``min_participation`` of 2 or
    more: the shared-object layers) and only the items those layers pair (hub and weight
    limits as in :func:`build_evidence`); pairs below the repetition bar are kept, as they
    count towards an account's participation across partners (see
    :mod:`ringscope.ranking.associates`). The local engine keeps them from
    :func:`build_evidence` (``CoordinationEvidence.co_shares``); this makes them again
    for an engine that does not.
    """
    n_actors = hg.nodes["actor"]["actor_id"].is_not_null().sum()
    occurrences = layer_occurrences(hg)
    parts = [_EMPTY_CO_SHARES]
    for name, layer in cfg.layers.items():
        if layer.weight == 0 or not repeats_by_items(layer):
            continue
        occ = occurrences.pop(name)  # each layer's rows are freed once it is done
        _, items = item_table(occ, layer, n_actors)
        parts.append(_co_shares(name, item_co_shares(occ, items, layer, cfg)))
    return pl.concat(parts)


#: ``CoordinationEvidence.co_shares``: one row per windowed co-share of a repeated layer.
CO_SHARE_SCHEMA: dict[str, pl.DataType] = {
    "layer": pl.Utf8,
    "a": pl.UInt32,
    "b": pl.UInt32,
    "item": pl.UInt32,
}
_EMPTY_CO_SHARES = pl.DataFrame(schema=CO_SHARE_SCHEMA)


def repeats_by_items(layer: LayerConfig) -> bool:
    """Whether a layer asks for repetition by distinct items (the shared-object layers)."""
    return layer.min_participation >= 2 and layer.repeat_by == "items"


def _co_shares(name: str, triples: pl.DataFrame) -> pl.DataFrame:
    return triples.select(pl.lit(name).alias("layer"), "a", "b", "item")


def layer_totals(pairs: pl.DataFrame, mass: pl.DataFrame, layer: LayerConfig) -> tuple[int, int]:
    """The chance model's ``(C, M)`` of a layer from all its pairs (:func:`pair_summary`)
    and actors (:func:`actor_mass`): windowed co-shared items (or co-share occasions) and
    distinct uses (or occasions)."""
    co = "co_shares" if layer.repeat_by == "occasions" else "n_items"
    return int(pairs[co].sum() or 0), int(mass["n_items"].sum() or 0)


def ledger_rows(pairs: pl.DataFrame, mass: pl.DataFrame, name: str) -> pl.DataFrame:
    """The kept pairs of a layer (:func:`pair_summary`) beside each side's mass and
    activity (:func:`actor_mass`), in :data:`PAIR_SCHEMA`."""
    side = mass.select("actor", "mass", "n_items")
    return (
        pairs.filter("kept")
        .join(side.rename({"actor": "a", "mass": "mass_src", "n_items": "d_src"}), on="a")
        .join(side.rename({"actor": "b", "mass": "mass_dst", "n_items": "d_dst"}), on="b")
        .select(
            pl.col("a").alias("src"),
            pl.col("b").alias("dst"),
            pl.lit(name).alias("layer"),
            *(c for c in PAIR_SCHEMA if c not in ("src", "dst", "layer")),
        )
        .select(pl.col(c).cast(t) for c, t in PAIR_SCHEMA.items())
    )


def build_evidence(hg: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
    """Weighted actor–actor edges with a per-layer evidence ledger."""
    n_actors = hg.nodes["actor"]["actor_id"].is_not_null().sum()
    occurrences = layer_occurrences(hg)
    ledger, stats, totals, co_shares = [], {}, {}, [_EMPTY_CO_SHARES]
    for name, layer in cfg.layers.items():
        if layer.weight == 0:
            continue
        occ = occurrences.pop(name)  # each layer's rows are freed once it is done
        uses, items = item_table(occ, layer, n_actors)
        extra = unshared_content_mass(hg, n_actors) if name == "content" else None
        mass = actor_mass(uses, layer, extra)
        triples = item_co_shares(occ, items, layer, cfg)
        if repeats_by_items(layer):
            co_shares.append(_co_shares(name, triples))
        keys = hg.nodes[LAYER_ITEM_TYPES[name]].select(pl.col("idx").alias("item"), "key")
        pairs = pair_summary(triples.join(keys, on="item"), layer, top=cfg.evidence_items)
        totals[name] = layer_totals(pairs, mass, layer)
        rows = ledger_rows(pairs, mass, name)
        ledger.append(rows)
        stats[name] = {
            "occurrences": occ.height,
            "items": items.height,
            "hub_items_skipped": items.filter(pl.col("df") > cfg.max_item_actors).height,
            "pairs": rows.height,
        }
    pairs = pl.concat(ledger) if ledger else pl.DataFrame(schema=PAIR_SCHEMA)
    edges, evidence = finish_evidence(pairs, totals, cfg)
    return CoordinationEvidence(
        edges=edges, evidence=evidence, stats=stats, co_shares=pl.concat(co_shares)
    )
