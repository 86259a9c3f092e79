"""A stream's windowed co-uses kept between micro-batches, so a batch pairs only the
items its new events changed.

The windowed co-uses of an item (:func:`~ringscope.graph.coordination.co_use_pairs`:
repeats collapsed, then the sliding window) are a function of that item's occurrences
alone. A stream keeps every paired item's co-uses and a fingerprint of its occurrences
(count and two sums of a 64-bit hash of each occurrence's actor key and time); each
batch fingerprints the occurrences again and pairs only the items whose fingerprint
changed or that were not paired before: new events used them, an answer took a victim's
occurrences away, a content band became shared, or the item became light enough to pair
(an item's weight grows with the number of actors). An item whose occurrences all lie
before the newest event time minus its window is final in a time-ordered stream, but a
late event or a reply still changes it, so the test is the fingerprint, not the clock.

What reads counts over all history is computed again every batch by the batch code
itself (:func:`~ringscope.graph.coordination.build_evidence`), from the kept and the new
co-uses: item weights (the idf follows the number of actors, so every weight moves),
each actor's mass and activity, the chance model's ``C`` and ``M`` (which move every
pair's expected count), significance, strength and pruning. So the evidence equals the
batch computation's (``tests/graph/test_kept_coordination.py``).

Node indices are first-seen positions and move between batches, so kept rows are
carried over by node key. Which of several actors using an item in the same millisecond
comes first follows their index, and decides the partners of a burst larger than
``max_partners + 1``; where the old actors' index order changed (a recipient that
started to act moves ahead of older recipients), the items where that order could
matter (more occurrences than ``max_partners + 1``, two at the same time) are paired
again too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.coordination import co_use_pairs
from ringscope.graph.coordination_formulas import LAYER_ITEM_TYPES, collapse_step
from ringscope.graph.hetero import HeteroGraph

__all__ = ["KeptCoShares"]

_LOW = np.uint64(0xFFFFFFFF)
#: cut times: pair every occurrence again / keep every co-use
_NEVER = np.iinfo(np.int64).min
_KEEP = np.iinfo(np.int64).max


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads the bits, so sums of hashes rarely collide."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fingerprints(occ: pl.DataFrame, actor_hash: np.ndarray, span: int) -> pl.DataFrame:
    """Per item and time bucket of ``span`` ms (one bucket when 0): ``n`` occurrences,
    sums ``lo``/``hi`` of the halves of each occurrence's hash (no overflow below 2^32
    rows), and ``ties`` (two occurrences at one time)."""
    ts = occ["ts"].to_numpy()
    h = _mix(actor_hash[occ["actor"].to_numpy()] ^ _mix(ts.astype(np.uint64)))
    bucket = ts // span if span else np.zeros(len(ts), dtype=np.int64)
    rows = pl.DataFrame(
        {"item": occ["item"], "bucket": bucket, "ts": ts, "lo": h & _LOW, "hi": h >> 32}
    )
    return rows.group_by("item", "bucket").agg(
        pl.len().alias("n"),
        pl.col("lo").sum(),
        pl.col("hi").sum(),
        (pl.col("ts").n_unique() < pl.len()).alias("ties"),
    )


def _index_map(old_keys: pl.Series, nodes: pl.DataFrame) -> np.ndarray:
    """The index in ``nodes`` of each old node (by key), -1 where it is gone."""
    old = pl.DataFrame({"key": old_keys}).with_row_index("old")
    hit = old.join(nodes.select("key", "idx"), on="key")
    out = np.full(len(old_keys), -1, dtype=np.int64)
    out[hit["old"].to_numpy()] = hit["idx"].to_numpy()
    return out


@dataclass
class _Layer:
    pairs: pl.DataFrame  # a, b, item, t1, t2: every co-use of the paired items
    prints: pl.DataFrame  # item, n, lo, hi, ties: the paired items' fingerprints


@dataclass
class KeptCoShares:
    """The co-uses of the previous batch, in its node keys; empty in a new process."""

    settings: str = ""
    keys: dict[str, pl.Series] = field(default_factory=dict)
    layers: dict[str, _Layer] = field(default_factory=dict)
    #: what the last batch paired and kept (for the manifest)
    report: dict = field(default_factory=dict)

    def pairer(self, hg: HeteroGraph, cfg: CoordinationConfig) -> CoSharePairer:
        """The pairing of one batch over ``hg``; :meth:`CoSharePairer.commit` keeps it."""
        return CoSharePairer(self, hg, cfg)


class CoSharePairer:
    """One batch's co-uses: kept ones carried to this graph's indices, changed ones paired."""

    def __init__(self, kept: KeptCoShares, hg: HeteroGraph, cfg: CoordinationConfig) -> None:
        self.kept, self.hg, self.cfg = kept, hg, cfg
        self.settings = cfg.model_dump_json()
        self.usable = bool(kept.keys) and kept.settings == self.settings
        self.why = None if self.usable else "nothing kept" if not kept.keys else "settings changed"
        self.actor_hash = hg.nodes["actor"]["key"].hash().to_numpy()
        self.maps: dict[str, np.ndarray] = {}
        self.reordered = False
        if self.usable:
            actors = self._map("actor")
            present = actors[actors >= 0]
            self.reordered = bool(np.any(present[1:] <= present[:-1]))
        self.layers: dict[str, _Layer] = {}
        self.report: dict[str, dict[str, int]] = {}

    def _map(self, node_type: str) -> np.ndarray:
        if node_type not in self.maps:
            self.maps[node_type] = _index_map(self.kept.keys[node_type], self.hg.nodes[node_type])
        return self.maps[node_type]

    def co_use_pairs(self, name: str, occ: pl.DataFrame, layer: LayerConfig) -> pl.DataFrame:
        """The co-uses of the layer's pairable occurrences ``occ``, as
        :func:`~ringscope.graph.coordination.co_use_pairs` gives them, pairing again only
        where the occurrences changed since the kept batch."""
        window = layer.window_ms
        prints = _fingerprints(occ, self.actor_hash, window)
        old = self.kept.layers.get(name) if self.usable else None
        if old is None:
            pairs, paired = co_use_pairs(occ, layer, self.cfg), occ.height
        else:
            cuts = self._cuts(prints, old, layer, self._map(LAYER_ITEM_TYPES[name]))
            carried = self._carried(old.pairs, LAYER_ITEM_TYPES[name]).join(cuts, on="item")
            since = occ.join(cuts, on="item").filter(pl.col("ts") >= pl.col("cut"))
            pairs = pl.concat(
                [
                    carried.filter(pl.col("t1") < pl.col("cut")).drop("cut"),
                    co_use_pairs(since.drop("cut"), layer, self.cfg),
                ]
            )
            paired = since.height
        self.layers[name] = _Layer(pairs=pairs, prints=prints)
        self.report[name] = {
            "occurrences": occ.height,
            "occurrences_paired": paired,
        }
        return pairs

    def _cuts(
        self, prints: pl.DataFrame, old: _Layer, layer: LayerConfig, items: np.ndarray
    ) -> pl.DataFrame:
        """Per item of this batch, the time from which its co-uses are paired again
        (``_KEEP``: none): a slot boundary at least a window before its first changed
        bucket, so the rows before it, and their partners, are as they were."""
        window, step = layer.window_ms, collapse_step(layer.window_ms)
        moved = old.prints.with_columns(pl.Series("item", items[old.prints["item"].to_numpy()]))
        moved = moved.filter(pl.col("item") >= 0).with_columns(pl.col("item").cast(pl.UInt32))
        same = ["item", "bucket", "n", "lo", "hi"]
        changed = pl.concat(
            [
                prints.join(moved, on=same, how="anti").select("item", "bucket"),
                moved.join(prints, on=same, how="anti").select("item", "bucket"),
            ]
        )
        first = changed.group_by("item").agg(pl.col("bucket").min())
        if window:
            start = pl.col("bucket") * window - window
            first = first.select("item", ((start // step) * step).alias("cut"))
        else:  # any time: every co-use of a changed item may change
            first = first.select("item", pl.lit(_NEVER).alias("cut"))
        per_item = prints.group_by("item").agg(pl.col("n").sum(), pl.col("ties").any())
        if self.reordered:  # partners within a burst with ties follow the index order
            busy = per_item.filter((pl.col("n") > self.cfg.max_partners + 1) & pl.col("ties"))
            first = pl.concat([first, busy.select("item", pl.lit(_NEVER).alias("cut"))])
        first = first.group_by("item").agg(pl.col("cut").min())
        return (
            per_item.select("item")
            .join(first, on="item", how="left")
            .with_columns(pl.col("cut").fill_null(_KEEP))
        )

    def _carried(self, pairs: pl.DataFrame, item_type: str) -> pl.DataFrame:
        """The kept co-uses in this batch's node indices."""
        actors, items = self._map("actor"), self._map(item_type)
        a, b = actors[pairs["a"].to_numpy()], actors[pairs["b"].to_numpy()]
        return pl.DataFrame(
            {
                "a": np.minimum(a, b).astype(np.uint32),
                "b": np.maximum(a, b).astype(np.uint32),
                "item": items[pairs["item"].to_numpy()].astype(np.uint32),
                "t1": pairs["t1"],
                "t2": pairs["t2"],
            }
        )

    def commit(self) -> None:
        """Keep this batch's co-uses and node keys for the next batch."""
        types = {"actor", *(LAYER_ITEM_TYPES[name] for name in self.layers)}
        self.kept.settings = self.settings
        self.kept.keys = {t: self.hg.nodes[t]["key"] for t in types}
        self.kept.layers = self.layers
        self.kept.report = {
            "occurrences": sum(r["occurrences"] for r in self.report.values()),
            "occurrences_paired": sum(r["occurrences_paired"] for r in self.report.values()),
            "why_all": self.why,
            "actor_order_changed": self.reordered,
            "layers": self.report,
        }
