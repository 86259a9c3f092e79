"""A naive reference of the coordination evidence, for property tests of both engines.

Written from the documented semantics (the docstrings of
:mod:`ringscope.graph.coordination`, :class:`ringscope.config.LayerConfig` and
:class:`ringscope.config.CoordinationConfig`), with plain loops over events, uses and
pairs and no polars: slow, quadratic, and easy to check by eye. It reads the canonical
event table directly (not the typed graph), for events whose ``message_key`` is unique
(one record per message) and whose ``subnet_key`` is a function of ``ip_key``.

Results are keyed by account id and item key, not node index, so they compare with
either engine after mapping its actor indices to ids.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from scipy.stats import poisson

from ringscope.config import CoordinationConfig, LayerConfig

MAX_SIGNIFICANCE = 300.0
OBJECT_KINDS = ("post", "media", "object", "hashtag")
IDENTITY_FIELDS = {
    "email_key": "email",
    "email_pattern_key": "email_pattern",
    "phone_key": "phone",
    "name_key": "name",
}


@dataclass(frozen=True)
class RefRow:
    """One ledger row: a pair of account ids (sorted), a layer and its numbers."""

    src: str
    dst: str
    layer: str
    similarity: float
    contribution: float
    n_items: int
    first_ts: int
    last_ts: int
    items: tuple[str, ...]
    co_shares: int
    median_gap_ms: float
    max_gap_ms: int
    expected: float
    significance: float


@dataclass(frozen=True)
class RefEdge:
    src: str
    dst: str
    weight: float
    layers: tuple[str, ...]
    strength: float


def occurrences(events: list[dict]) -> tuple[dict[str, set[tuple[str, str, int]]], dict]:
    """Per layer the set of ``(actor key, item key, ts)`` uses, and per actor key its
    number of unshared content bands summed over its messages."""
    occ: dict[str, set[tuple[str, str, int]]] = defaultdict(set)
    messages = [e for e in events if e.get("message_key") is not None]
    # bands: a band in two or more messages is an item, one in a single message is not
    band_messages: dict[int, set[str]] = defaultdict(set)
    for e in messages:
        for band in e.get("content_bands") or []:
            band_messages[band].add(e["message_key"])
    unshared: dict[str, int] = defaultdict(int)
    for e in messages:
        for band in set(e.get("content_bands") or []):
            if len(band_messages[band]) >= 2:
                occ["content"].add((e["actor_key"], str(band), e["ts"]))
            else:
                unshared[e["actor_key"]] += 1
    # victims: recipients who never wrote to the sender
    wrote_to = {(e["actor_key"], r) for e in messages for r in e.get("recipients") or []}
    for e in messages:
        a = e["actor_key"]
        for r in e.get("recipients") or []:
            if r != a and (r, a) not in wrote_to:
                occ["victims"].add((a, r, e["ts"]))
        for d in e.get("domains") or []:
            occ["short_link" if "/" in d else "domain"].add((a, d, e["ts"]))
    for e in events:
        a, ts = e["actor_key"], e["ts"]
        if e.get("device_key") is not None:
            occ["device"].add((a, e["device_key"], ts))
        if e.get("ip_key") is not None:
            occ["ip"].add((a, e["ip_key"], ts))
            if e.get("subnet_key") is not None:
                occ["subnet"].add((a, e["subnet_key"], ts))
        if e.get("event_type") == "signup" and e.get("subnet_key") is not None:
            occ["signup_burst"].add((a, e["subnet_key"], ts))
        for field, kind in IDENTITY_FIELDS.items():
            if e.get(field) is not None:
                layer = "name" if kind == "name" else "identity"
                occ[layer].add((a, f"{kind}:{e[field]}", ts))
        for u in e.get("urls") or []:
            occ["url"].add((a, u, ts))
        for o in e.get("object_ids") or []:
            kind = o.split(":", 1)[0]
            if kind in OBJECT_KINDS:
                occ[kind].add((a, o, ts))
        if e.get("target_id") is not None:
            occ["target"].add((a, e["target_id"], ts))
    return occ, unshared


def item_weight(df: int, n_actors: int, hub_actors: int) -> float:
    """``idf(df) * min(1, hub_actors / df)``, idf = log((N+1)/(df+1)) / log(N+1) in [0, 1]."""
    n = max(n_actors, 2)
    idf = min(max(math.log((n + 1) / (df + 1)) / math.log(n + 1), 0.0), 1.0)
    return idf * min(1.0, hub_actors / df)


def significance(k: int, expected: float) -> float:
    """``-log10 P(X >= k)``, X ~ Poisson(expected), capped at MAX_SIGNIFICANCE."""
    if k <= 0:
        return 0.0
    p = float(poisson.sf(k - 1, expected))
    if p <= 0.0:
        return MAX_SIGNIFICANCE
    return min(max(-math.log10(p), 0.0), MAX_SIGNIFICANCE) + 0.0


def _slot(ts: int, window_ms: int) -> int:
    return ts // max(window_ms // 2, 1) if window_ms > 0 else 0


def _collapse(uses: set[tuple[str, str, int]], window_ms: int) -> list[tuple[str, str, int]]:
    """Repeats by one actor of one item within the same half window: the earliest stays."""
    first: dict[tuple[str, str, int], int] = {}
    for a, i, ts in uses:
        key = (a, i, _slot(ts, window_ms))
        first[key] = min(ts, first.get(key, ts))
    return [(a, i, ts) for (a, i, _), ts in first.items()]


def reference_evidence(
    events: list[dict], cfg: CoordinationConfig
) -> tuple[dict[tuple[str, str], RefEdge], dict[tuple[str, str, str], RefRow]]:
    """Edges and ledger rows keyed by (src key, dst key[, layer])."""
    occ, unshared = occurrences(events)
    # Uses at the same time are taken in the order of the actors' first events (their
    # node index in the typed graph), as both engines do; the docs leave that order open.
    first_seen = sorted(events, key=lambda e: (e["ts"], e["actor_id"]))
    rank = {k: n for n, k in enumerate(dict.fromkeys(e["actor_key"] for e in first_seen))}
    n_actors = len(rank)
    pending: list[dict] = []
    totals: dict[str, tuple[int, int]] = {}
    for name, layer in cfg.layers.items():
        if layer.weight == 0:
            continue
        uses = occ.get(name, set())
        pending += _layer_rows(name, layer, uses, unshared, n_actors, rank, cfg, totals)
    return _finish(pending, totals, cfg)


def _layer_rows(
    name: str,
    layer: LayerConfig,
    uses_ts: set[tuple[str, str, int]],
    unshared: dict[str, int],
    n_actors: int,
    rank: dict[str, int],
    cfg: CoordinationConfig,
    totals: dict[str, tuple[int, int]],
) -> list[dict]:
    uses = {(a, i) for a, i, _ in uses_ts}
    actors_of: dict[str, set[str]] = defaultdict(set)
    for a, i in uses:
        actors_of[i].add(a)
    weight = {i: item_weight(len(s), n_actors, layer.hub_actors) for i, s in actors_of.items()}
    mass: dict[str, float] = defaultdict(float)
    distinct: dict[str, int] = defaultdict(int)
    for a, i in sorted(uses, key=lambda u: weight[u[1]]):
        mass[a] += weight[i]
        distinct[a] += 1
    if name == "content":
        for a, n in unshared.items():
            mass[a] += n * item_weight(1, n_actors, 1)
    pairable = {
        i
        for i, s in actors_of.items()
        if 2 <= len(s) <= cfg.max_item_actors and weight[i] >= cfg.min_item_weight
    }
    collapsed = _collapse(uses_ts, layer.window_ms)
    by_item: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for a, i, ts in collapsed:
        if i in pairable:
            by_item[i].append((ts, rank[a], a))
    # every use with the next max_partners uses of its item inside the window
    co: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    for i, seq in by_item.items():
        seq.sort()
        for x, (t1, _, u) in enumerate(seq):
            for t2, _, v in seq[x + 1 : x + 1 + cfg.max_partners]:
                if layer.window_ms > 0 and t2 - t1 > layer.window_ms:
                    break
                if u != v:
                    co[tuple(sorted((u, v)))].append((i, t1, t2))
    occasions = layer.repeat_by == "occasions"
    if occasions:
        activity: dict[str, int] = defaultdict(int)
        for a, _, _ in collapsed:
            activity[a] += 1
        totals[name] = (sum(len(v) for v in co.values()), len(collapsed))
    else:
        activity = distinct
        totals[name] = (sum(len({i for i, _, _ in v}) for v in co.values()), len(uses))
    rows = []
    for (a, b), shares in co.items():
        items = sorted({i for i, _, _ in shares}, key=lambda i: (-weight[i], i))
        shared = sum(sorted(weight[i] for i in items))
        scale = math.sqrt(mass[a] * mass[b]) + cfg.similarity_prior
        sim = shared / scale if scale > 0 else 0.0  # no mass shared of none: 0, not 0/0
        gaps = [t2 - t1 for _, t1, t2 in shares]
        repeats = len(shares) if occasions else len(items)
        if repeats < layer.min_participation:
            continue
        rows.append(
            {
                "src": a,
                "dst": b,
                "layer": name,
                "similarity": min(max(sim, 0.0), 1.0),
                "n_items": len(items),
                "first_ts": min(t1 for _, t1, _ in shares),
                "last_ts": max(t2 for _, _, t2 in shares),
                "items": tuple(items[: cfg.evidence_items]),
                "co_shares": len(shares),
                "median_gap_ms": float(statistics.median(gaps)),
                "max_gap_ms": max(gaps),
                "repeats": repeats,
                "d_src": activity[a],
                "d_dst": activity[b],
            }
        )
    return rows


def _finish(
    pending: list[dict], totals: dict[str, tuple[int, int]], cfg: CoordinationConfig
) -> tuple[dict[tuple[str, str], RefEdge], dict[tuple[str, str, str], RefRow]]:
    kept: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in pending:
        layer = cfg.layers[r["layer"]]
        c, m = totals[r["layer"]]
        expected = 2.0 * c / max(m, 1) ** 2 * r["d_src"] * r["d_dst"]
        sig = significance(r["repeats"], expected)
        if r["repeats"] < layer.min_participation or sig < layer.min_significance:
            continue
        r = dict(
            r, expected=expected, significance=sig, contribution=r["similarity"] * layer.weight
        )
        kept[(r["src"], r["dst"])].append(r)
    edges, ledger = {}, {}
    for pair, rows in kept.items():
        weight = sum(sorted(r["contribution"] for r in rows))
        has_non_topic = any(cfg.layers[r["layer"]].match != "topic" for r in rows)
        strength = 0.0
        for r in rows:
            layer = cfg.layers[r["layer"]]
            sweight = layer.weight if layer.strength_weight is None else layer.strength_weight
            if r["repeats"] >= 2 and (layer.match != "topic" or has_non_topic):
                strength = max(strength, r["significance"] * sweight)
        if weight < cfg.min_edge_weight and strength < cfg.min_edge_strength:
            continue
        edges[pair] = RefEdge(*pair, weight, tuple(sorted(r["layer"] for r in rows)), strength)
        for r in rows:
            fields = {k: r[k] for k in RefRow.__dataclass_fields__}
            ledger[(*pair, r["layer"])] = RefRow(**fields)
    return edges, ledger
