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
:mod:`ringscope.graph.coordination_formulas`.

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

import numpy as np
import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.coordination_formulas import (
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    LAYER_ITEM_TYPES,
    OBJECT_LAYERS,
    PAIR_SCHEMA,
    chance_significance,
    collapse_step,
    finish_evidence,
    item_weight,
    unshared_content_mass,
)
from ringscope.graph.hetero import HeteroGraph

__all__ = [
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
    "windowed_co_shares",
]

_OCC = {"actor": pl.UInt32, "item": pl.UInt32, "ts": pl.Int64}
_SHIFT = 1 << 32  # packs two u32 values into one u64 key


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
    return {name: df.select(pl.col(c).cast(t) for c, t in _OCC.items()) for name, df in occ.items()}


def _distinct_uses(occ: pl.DataFrame) -> pl.DataFrame:
    """Distinct (actor, item) pairs, de-duplicated on one packed u64 key."""
    key = (pl.col("item").cast(pl.UInt64) * _SHIFT + pl.col("actor")).alias("ia")
    uses = occ.select(key).unique()
    return uses.select(
        (pl.col("ia") % _SHIFT).cast(pl.UInt32).alias("actor"),
        (pl.col("ia") // _SHIFT).cast(pl.UInt32).alias("item"),
    )


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


def _item_weights(uses: pl.DataFrame, layer: LayerConfig, n_actors: int) -> pl.DataFrame:
    """Per item: distinct-actor count ``df`` and weight ``w`` (idf times hub damping)."""
    df = uses.group_by("item").agg(pl.len().alias("df"))
    return df.with_columns(item_weight(pl.col("df"), layer.hub_actors, n_actors).alias("w"))


def _dedupe_occurrences(occ: pl.DataFrame, window_ms: int) -> pl.DataFrame:
    """Keep one occurrence per (actor, item, half window), sorted by item then time.

    A burst of repeats by one actor must not use up the partner slots of the window; with
    ``window_ms == 0`` (any time) one occurrence per (actor, item) remains.
    """
    step = collapse_step(window_ms)
    slot = pl.col("ts") // step if step else pl.lit(0, dtype=pl.Int64)
    key = pl.col("item").cast(pl.UInt64) * _SHIFT + pl.col("actor")
    return (
        occ.with_columns(key.alias("ia"), slot.alias("slot"))
        .sort("ia", "slot", "ts")
        .filter(
            (pl.col("ia") != pl.col("ia").shift(1)).fill_null(True)
            | (pl.col("slot") != pl.col("slot").shift(1)).fill_null(True)
        )
        .select("actor", "item", "ts")
        .sort("item", "ts", "actor")
    )


def _window_pairs(occ: pl.DataFrame, window_ms: int, max_partners: int) -> pl.DataFrame:
    """Each occurrence paired with the next ``max_partners`` uses of its item within the window.

    ``occ`` is sorted by (item, ts). A group of k co-occurring actors with
    k <= max_partners + 1 becomes a clique; a bigger burst becomes a band in time order
    (every actor linked to its ``max_partners`` successors), O(k) pairs and connected.
    """
    item = occ["item"].to_numpy().astype(np.int64)
    ts = occ["ts"].to_numpy()
    actor = occ["actor"].to_numpy()
    n = len(item)
    if n < 2:
        return _empty_pairs()
    count = _partner_counts(item, ts, window_ms, max_partners)
    total = int(count.sum())
    if total == 0:
        return _empty_pairs()
    idx = np.arange(n)
    left = np.repeat(idx, count)
    starts = np.repeat(np.cumsum(count) - count, count)
    right = left + (np.arange(total) - starts) + 1
    a, b = actor[left], actor[right]
    keep = a != b
    a, b, left, right = a[keep], b[keep], left[keep], right[keep]
    return pl.DataFrame(
        {
            "a": np.minimum(a, b),
            "b": np.maximum(a, b),
            "item": item[left].astype(np.uint32),
            "t1": ts[left],
            "t2": ts[right],
        }
    )


#: Bound of the packed (item, time) key of :func:`_partner_counts`; beyond it, the
#: overflow-free scan (a module constant so tests can lower it).
_KEY_LIMIT = (1 << 63) - 1


def _partner_counts(
    item: np.ndarray, ts: np.ndarray, window_ms: int, max_partners: int
) -> np.ndarray:
    """Per occurrence (sorted by item, ts): how many of the next ``max_partners`` rows are
    uses of the same item within the window.

    Items are numbered densely and packed with the time into one int64 key, so one binary
    search finds each window's end. When the key would not fit (millions of items and
    times spanning decades: a stray record dated 1970 beside current ones), a scan over
    the next ``max_partners`` rows gives the same counts without packing.
    """
    n = len(item)
    rel = ts - ts.min()
    span = int(rel.max()) + max(window_ms, 0) + 1
    rank = np.concatenate([[0], np.cumsum(item[1:] != item[:-1])])
    if (int(rank[-1]) + 2) * span <= _KEY_LIMIT:  # every key and limit below fits
        key = rank * span + rel
        horizon = window_ms if window_ms > 0 else span - 1
        limit = np.minimum(key - rel + span - 1, key + horizon)  # stay inside the item
        end = np.searchsorted(key, limit, side="right")
        return np.minimum(end - np.arange(n) - 1, max_partners)
    count = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    for k in range(1, min(max_partners, n - 1) + 1):
        ok = item[k:] == item[:-k]
        if window_ms > 0:
            ok &= ts[k:] - ts[:-k] <= window_ms
        alive[:-k] &= ok
        alive[n - k :] = False
        count += alive
        if not alive.any():
            break
    return count


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"a": pl.UInt32, "b": pl.UInt32, "item": pl.UInt32, "t1": pl.Int64, "t2": pl.Int64}
    )


def _layer_pairs(
    occ: pl.DataFrame, items: pl.DataFrame, layer: LayerConfig, cfg: CoordinationConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Distinct (a, b, item) co-occurrences within the layer window, with their time span,
    and per pair its co-shares (every windowed co-use) with their median and max time gap.

    Only items with weight ≥ ``min_item_weight`` are paired (lighter ones could not lift
    a pair over the pruning threshold): with hub damping this bounds a paired item's
    actor count by ``hub_actors / min_item_weight``.
    """
    pairable = items.filter(
        (pl.col("df") >= 2)
        & (pl.col("df") <= cfg.max_item_actors)
        & (pl.col("w") >= cfg.min_item_weight)
    )
    occ = _dedupe_occurrences(occ.join(pairable.select("item"), on="item"), layer.window_ms)
    pairs = _window_pairs(occ, layer.window_ms, cfg.max_partners)
    packed = pl.col("a").cast(pl.UInt64) * _SHIFT + pl.col("b")
    out = pairs.group_by(packed.alias("ab"), "item").agg(
        pl.col("t1").min().alias("first_ts"), pl.col("t2").max().alias("last_ts")
    )
    gaps = pairs.group_by("a", "b").agg(
        pl.len().cast(pl.UInt32).alias("co_shares"),
        (pl.col("t2") - pl.col("t1")).median().cast(pl.Float64).alias("median_gap_ms"),
        (pl.col("t2") - pl.col("t1")).max().alias("max_gap_ms"),
    )
    triples = out.select(
        (pl.col("ab") // _SHIFT).cast(pl.UInt32).alias("a"),
        (pl.col("ab") % _SHIFT).cast(pl.UInt32).alias("b"),
        "item",
        "first_ts",
        "last_ts",
    )
    return triples, gaps


def _pair_evidence(
    pairs: pl.DataFrame,
    items: pl.DataFrame,
    mass: pl.DataFrame,
    keys: pl.DataFrame,
    *,
    top: int,
) -> pl.DataFrame:
    """Per actor pair: shared item mass, span, strongest items, and each side's layer
    mass (``ma``, ``mb``) and number of distinct items in the layer (``da``, ``db``)."""
    per_pair = (
        pairs.join(items.select("item", "w"), on="item")
        .join(keys, on="item")
        .sort("w", "key", descending=[True, False])
        .group_by("a", "b")
        .agg(
            pl.col("w").sort().sum().alias("shared"),
            pl.len().alias("n_items"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.col("key").head(top).alias("items"),
        )
    )
    m = mass.select("actor", "mass", "n_items")
    return per_pair.join(m.rename({"actor": "a", "mass": "ma", "n_items": "da"}), on="a").join(
        m.rename({"actor": "b", "mass": "mb", "n_items": "db"}), on="b"
    )


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
        if layer.weight == 0 or not _repeats_by_items(layer):
            continue
        occ = occurrences.pop(name)  # each layer's rows are freed once it is done
        items = _item_weights(_distinct_uses(occ), layer, n_actors)
        triples, _ = _layer_pairs(occ, items, layer, cfg)
        parts.append(_co_shares(name, triples))
    return pl.concat(parts)


_EMPTY_CO_SHARES = pl.DataFrame(
    schema={"layer": pl.Utf8, "a": pl.UInt32, "b": pl.UInt32, "item": pl.UInt32}
)


def _repeats_by_items(layer: LayerConfig) -> bool:
    """Whether a layer asks for repetition by distinct items (the shared-object layers)."""
    return layer.min_participation >= 2 and layer.repeat_by == "items"


def _co_shares(name: str, triples: pl.DataFrame) -> pl.DataFrame:
    return triples.select(pl.lit(name).alias("layer"), "a", "b", "item")


def build_evidence(hg: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
    """Weighted actor–actor edges with a per-layer evidence ledger."""
    n_actors = hg.nodes["actor"]["actor_id"].is_not_null().sum()
    occurrences = layer_occurrences(hg)
    ledger, stats, totals, co_shares = [], {}, {}, [_EMPTY_CO_SHARES]
    for name, layer in cfg.layers.items():
        if layer.weight == 0:
            continue
        occ = occurrences.pop(name)  # each layer's rows are freed once it is done
        uses = _distinct_uses(occ)
        items = _item_weights(uses, layer, n_actors)
        mass = (
            uses.join(items.select("item", "w"), on="item")
            .group_by("actor")
            .agg(pl.col("w").sort().sum().alias("mass"), pl.len().alias("n_items"))
        )
        if name == "content":
            extra = unshared_content_mass(hg, n_actors)
            mass = mass.join(extra, on="actor", how="full", coalesce=True).select(
                "actor",
                (pl.col("mass").fill_null(0.0) + pl.col("extra").fill_null(0.0)).alias("mass"),
                pl.col("n_items").fill_null(0),
            )
        keys = hg.nodes[LAYER_ITEM_TYPES[name]].select(pl.col("idx").alias("item"), "key")
        triples, gaps = _layer_pairs(occ, items, layer, cfg)
        if _repeats_by_items(layer):
            co_shares.append(_co_shares(name, triples))
        if layer.repeat_by == "occasions":  # activity and co-shares counted in occasions
            occasions = _dedupe_occurrences(occ, layer.window_ms).group_by("actor").len()
            mass = mass.drop("n_items").join(
                occasions.rename({"len": "n_items"}), on="actor", how="left"
            )
            totals[name] = (int(gaps["co_shares"].sum() or 0), int(occasions["len"].sum() or 0))
        else:
            totals[name] = (triples.height, uses.height)
        sim = _pair_evidence(triples, items, mass, keys, top=cfg.evidence_items).join(
            gaps, on=["a", "b"]
        )
        repeats = "co_shares" if layer.repeat_by == "occasions" else "n_items"
        sim = sim.filter(pl.col(repeats) >= layer.min_participation)
        ledger.append(
            sim.select(
                pl.col("a").alias("src"),
                pl.col("b").alias("dst"),
                pl.lit(name).alias("layer"),
                "shared",
                pl.col("ma").alias("mass_src"),
                pl.col("mb").alias("mass_dst"),
                "n_items",
                "first_ts",
                "last_ts",
                "items",
                "co_shares",
                "median_gap_ms",
                "max_gap_ms",
                pl.col("da").alias("d_src"),
                pl.col("db").alias("d_dst"),
            ).select(pl.col(c).cast(t) for c, t in PAIR_SCHEMA.items())
        )
        stats[name] = {
            "occurrences": occ.height,
            "items": items.height,
            "hub_items_skipped": items.filter(pl.col("df") > cfg.max_item_actors).height,
            "pairs": sim.height,
        }
    pairs = pl.concat(ledger) if ledger else pl.DataFrame(schema=PAIR_SCHEMA)
    edges, evidence = finish_evidence(pairs, totals, cfg)
    return CoordinationEvidence(
        edges=edges, evidence=evidence, stats=stats, co_shares=pl.concat(co_shares)
    )
