"""Is an account that repeats across partners, with no tie beyond chance, coordinated?

python bench/bench_participation.py                      # German election posts
python bench/bench_participation.py --second russian_coord_tweets.rda

ringscope flags the members of rings beyond chance and their associates (README,
*Flagged accounts*); CooRTweet also counts an account that co-shared objects with
several partners once each (its ``min_participation`` counts over all partners). This
asks, for every account with a co-share in a layer of exact objects, whether its
*participation* (distinct objects it co-shared within the window with anyone) is beyond
chance given its own activity and its objects' popularity, under these chance models:

* ``popularity``: each same-object pair of uses falls within the window with the
  layer's observed rate ``rho = C / P`` (``C`` its windowed co-shares, ``P`` its
  same-object pairs of uses, ``sum df (df - 1) / 2``; measured on the data itself, so
  viral bursts set the rate), so an account's use of an object shared by
  ``df`` accounts is co-shared with chance ``1 - (1 - rho)^(df - 1)``; the expected
  participation is the sum over the account's objects, and the tail is Poisson's (the
  Poisson tail bounds the Poisson-binomial one from above: Hoeffding 1956).
* ``activity``: the pair model of the coordination step summed over every partner,
  ``2 C d (M - d) / M^2`` co-shares for an account of ``d`` objects (``M`` uses).
* ``co_shares``: as ``popularity`` but counting co-shares (partner, object), expected
  ``rho * sum (df - 1)``.
* ``rings_left_out``: the chance that a use is co-shared, per popularity class (``df``
  in powers of two), measured on the uses of accounts ringscope does not flag.
* ``jitter_<J>min``: a time-aware null (the jitter test of synchrony): the account's
  first use of each object moved uniformly within ``J`` minutes either way, everyone
  else's uses where they are; the chance that it then falls within the window of another
  account's use of the object is the share of ``[t - J, t + J]`` those windows cover. The
  object's own burst and popularity stay, only the account's alignment at the scale of
  the window is tested. Observed and expected count first uses alike (``k_first``: the
  account's first uses of objects within the window of another account's first use).

For each model: how many accounts pass the flag bar (``ScoreConfig.flag_strength``), how
many of those ringscope does not flag yet and how many of them are in CooRTweet's 60 s
network, how many chance passes the unflagged accounts tested should give under the
null (their count times ``10^-bar``), and the Jaccard of the flagged set with
CooRTweet's network if the passes were flagged too.
"""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
from bench_coordination import _accounts, main_over_data_sets
from common import SECRET
from peers import coortweet_detect_groups, coortweet_network, sharing_rows

from ringscope.config import RunConfig
from ringscope.engines import resolve_engine
from ringscope.graph.coordination import layer_occurrences, windowed_co_shares
from ringscope.graph.coordination_formulas import chance_significance, item_weight
from ringscope.ingest.sharing import write_sharing_events
from ringscope.pipeline import STEPS
from ringscope.privacy import load_keyring
from ringscope.run_state import RunState

WINDOW_S = 60
JITTER_MINUTES = (10, 30, 60)


def _state(events: Path, out: Path) -> RunState:
    """A default run's state through the ranking step (graph and flagged accounts)."""
    os.environ.setdefault("RINGSCOPE_SECRET_KEY", SECRET)
    cfg = RunConfig()
    state = RunState(
        inputs=[events],
        config=cfg,
        keyring=load_keyring(),
        engine=resolve_engine(cfg),
        out_root=out,
    )
    for step in STEPS:
        step.run(state)
        if step.name == "ranking":
            break
    state.engine.close()
    return state


def _jitter_chance(first: pl.DataFrame, window_ms: int, jitter_ms: int) -> np.ndarray:
    """Per row of ``first`` (``item``, ``ts``; sorted by item, then time): the chance that
    its use, moved uniformly within ``jitter_ms`` either way, is within ``window_ms`` of
    another use of its item (with ``jitter_ms`` 0: whether it is, 1 or 0)."""
    item, ts = first["item"].to_numpy(), first["ts"].to_numpy()
    chance = np.zeros(len(ts))
    cuts = np.r_[0, np.flatnonzero(np.diff(item)) + 1, len(ts)]
    for start, end in pairwise(cuts):
        times = ts[start:end]
        for i in range(end - start):
            gap = np.delete(times, i) - times[i]  # sorted
            if jitter_ms == 0:
                chance[start + i] = float(np.abs(gap).min() <= window_ms)
                continue
            lo = np.clip(gap - window_ms, -jitter_ms, jitter_ms)
            hi = np.maximum.accumulate(np.clip(gap + window_ms, -jitter_ms, jitter_ms))
            covered = (hi[-1] - lo[0]) - np.maximum(lo[1:] - hi[:-1], 0).sum()
            chance[start + i] = max(covered, 0) / (2 * jitter_ms)
    return chance


def _layer_table(state: RunState, name: str, co: pl.DataFrame) -> pl.DataFrame:
    """Per account of one layer: objects ``d``, participation ``k``, co-shares and the
    expected participation under each chance model."""
    cfg = state.config.coordination
    layer = cfg.layers[name]
    n_actors = state.graph.nodes["actor"]["actor_id"].is_not_null().sum()
    uses = layer_occurrences(state.graph)[name].select("actor", "item").unique()
    df = uses.group_by("item").agg(pl.len().alias("df"))
    pairable = df.filter(  # the objects the coordination step pairs
        (pl.col("df") >= 2)
        & (pl.col("df") <= cfg.max_item_actors)
        & (item_weight(pl.col("df"), layer.hub_actors, n_actors) >= cfg.min_item_weight)
    )
    big_c, big_m = co.height, uses.height
    rho = big_c / float((pairable["df"].cast(pl.Float64) * (pairable["df"] - 1) / 2).sum())
    ends = pl.concat([co.select(pl.col(s).alias("actor"), "item") for s in ("a", "b")])
    shared = ends.unique().with_columns(pl.lit(1).alias("hit"))
    first = (
        layer_occurrences(state.graph)[name]
        .join(pairable.select("item"), on="item")
        .group_by("actor", "item")
        .agg(pl.col("ts").min())
        .sort("item", "ts")
    )
    first = first.with_columns(
        pl.Series(f"jitter_{j}min", _jitter_chance(first, layer.window_ms, j * 60_000))
        for j in (0, *JITTER_MINUTES)
    )
    mine = (
        uses.join(pairable, on="item")
        .join(first.drop("ts"), on=["actor", "item"])
        .join(shared.select("actor", "item", "hit"), on=["actor", "item"], how="left")
        .with_columns(
            pl.col("hit").fill_null(0), pl.col("df").log(2).floor().alias("popularity_class")
        )
    )
    flagged = state.tables["actors"].filter(pl.col("flagged"))["actor_id"]
    ids = state.graph.nodes["actor"].select(pl.col("idx").alias("actor"), "actor_id")
    outside = mine.join(ids, on="actor").filter(~pl.col("actor_id").is_in(flagged.implode()))
    class_rate = outside.group_by("popularity_class").agg(pl.col("hit").mean().alias("rate"))
    per = (
        mine.join(class_rate, on="popularity_class", how="left")
        .group_by("actor")
        .agg(
            pl.col("hit").sum().alias("k"),
            (1 - (1 - rho) ** (pl.col("df") - 1)).sum().alias("popularity"),
            (rho * (pl.col("df") - 1)).sum().alias("co_shares"),
            pl.col("rate").fill_null(0.0).sum().alias("rings_left_out"),
            pl.col("jitter_0min").sum().alias("k_first"),
            *(pl.col(f"jitter_{j}min").sum() for j in JITTER_MINUTES),
        )
        .filter(pl.col("k") >= 1)
        .join(uses.group_by("actor").len("d"), on="actor")
        .join(ends.group_by("actor").len("n_co_shares"), on="actor")
        .with_columns(
            (2.0 * big_c * pl.col("d") * (big_m - pl.col("d")) / big_m**2).alias("activity")
        )
    )
    partners = pl.concat(
        [
            co.select(pl.col(s).alias("actor"), pl.col(t).alias("p"))
            for s, t in (("a", "b"), ("b", "a"))
        ]
    )
    per = per.join(
        partners.group_by("actor").agg(pl.col("p").n_unique().alias("partners")), on="actor"
    )
    return per.join(ids, on="actor").with_columns(
        pl.lit(name).alias("layer"), pl.lit(rho).alias("rho")
    )


MODELS = {  # model: (observed count, expected count)
    "popularity": ("k", "popularity"),
    "activity": ("k", "activity"),
    "co_shares": ("n_co_shares", "co_shares"),
    "rings_left_out": ("k", "rings_left_out"),
} | {f"jitter_{j}min": ("k_first", f"jitter_{j}min") for j in JITTER_MINUTES}


def run(name: str, table: pl.DataFrame, objects: tuple[str, ...], out: Path) -> dict:
    """Every model's verdict on one data set."""
    events = out / f"{name}-events.parquet"
    write_sharing_events(table, events)
    state = _state(events, out / f"{name}-snapshots")
    rows = sharing_rows(table, objects)
    peer = _accounts(
        coortweet_network(coortweet_detect_groups(rows, WINDOW_S, 2)), "account_id", "account_id_y"
    )
    flagged = set(state.tables["actors"].filter(pl.col("flagged"))["actor_id"].to_list())
    cfg = state.config.coordination
    co = windowed_co_shares(state.graph, cfg)
    exact = [
        n for n, layer in cfg.layers.items() if layer.match == "exact" and n in set(co["layer"])
    ]
    per = pl.concat([_layer_table(state, n, co.filter(pl.col("layer") == n)) for n in exact])
    bar = state.config.scoring.flag_strength
    per = per.with_columns(
        pl.col("actor_id").is_in(list(flagged)).alias("flagged"),
        pl.col("actor_id").is_in(list(peer)).alias("in_coortweet_60s"),
    )
    result: dict = {
        "data": name,
        "flagged": len(flagged),
        "coortweet_60s": len(peer),
        "jaccard": len(flagged & peer) / len(flagged | peer),
        "rho": dict(per.select("layer", "rho").unique().iter_rows()),
        "unflagged_repeaters_in_coortweet": per.filter(
            pl.col("in_coortweet_60s") & ~pl.col("flagged") & (pl.col("k") >= 2)
        ).height,
        "models": {},
    }
    repeaters = pl.col("in_coortweet_60s") & ~pl.col("flagged") & (pl.col("k") >= 2)
    for model, (seen, expected) in MODELS.items():
        sig = chance_significance(per[seen].to_numpy(), per[expected].to_numpy())
        scored = per.with_columns(pl.Series("significance", sig))
        passed = scored.filter(pl.col("significance") >= bar)
        new = set(passed.filter(~pl.col("flagged"))["actor_id"].to_list())
        tested_unflagged = scored.filter(~pl.col("flagged"))["actor_id"].n_unique()
        result["models"][model] = {
            "pass": passed["actor_id"].n_unique(),
            "pass_flagged_today": passed.filter(pl.col("flagged"))["actor_id"].n_unique(),
            "new": len(new),
            "new_in_coortweet_60s": len(new & peer),
            "unflagged_repeaters_in_coortweet_passing": scored.filter(
                repeaters & (pl.col("significance") >= bar)
            ).height,
            "tested_unflagged": tested_unflagged,
            "chance_passes_expected": tested_unflagged * 10**-bar,
            "jaccard_with_new": len((flagged | new) & peer) / len(flagged | new | peer),
            "repeaters": scored.filter(repeaters)
            .sort("significance", descending=True)
            .select(
                "actor_id",
                pl.col(seen).alias("observed"),
                "partners",
                "d",
                pl.col(expected).alias("expected"),
                "significance",
            )
            .head(10)
            .to_dicts(),
        }
    return result


def main() -> None:
    main_over_data_sets(run, __doc__, "participation")


if __name__ == "__main__":
    main()
