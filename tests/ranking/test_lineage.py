"""Stable cluster identity: matching new clusters to the previous snapshot's."""

from __future__ import annotations

import random

import polars as pl
import pytest

from ringscope.ranking.lineage import (
    LINEAGE_STATUSES,
    LineageConfig,
    apply_lineage,
    match_clusters,
)
from ringscope.ranking.scoring import cluster_id_for


def members(clusters: dict[str, list[str]]) -> pl.DataFrame:
    rows = [(cid, a) for cid, actors in clusters.items() for a in actors]
    return pl.DataFrame(rows, schema={"cluster_id": pl.Utf8, "actor_id": pl.Utf8}, orient="row")


def hashed(*groups: list[str]) -> dict[str, list[str]]:
    """Clusters named by content hash, as the ranking step names them."""
    return {cluster_id_for(g): g for g in groups}


def by_members(result: pl.DataFrame, new: dict[str, list[str]]) -> dict[str, dict]:
    rows = {r["hash_id"]: r for r in result.iter_rows(named=True)}
    return {",".join(sorted(actors)): rows[h] for h, actors in new.items()}


def actors(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_first_snapshot_is_all_new_with_content_ids():
    new = hashed(actors("a", 3), actors("b", 4))
    result = match_clusters(members(new), None)
    assert result["status"].to_list() == ["new", "new"]
    assert result["cluster_id"].to_list() == result["hash_id"].to_list()
    assert result["previous_ids"].to_list() == [[], []]


def test_same_grew_shrank_keep_the_old_id():
    old = {"ring-a": actors("a", 5), "ring-b": actors("b", 6), "ring-c": actors("c", 4)}
    same, grew, shrank = actors("a", 5), [*actors("b", 6), "b-new"], actors("c", 3)
    new = hashed(same, grew, shrank)
    out = by_members(match_clusters(members(new), members(old)), new)
    assert (out[",".join(sorted(same))]["cluster_id"], out[",".join(sorted(same))]["status"]) == (
        "ring-a",
        "same",
    )
    assert out[",".join(sorted(grew))]["cluster_id"] == "ring-b"
    assert out[",".join(sorted(grew))]["status"] == "grew"
    assert out[",".join(sorted(shrank))]["cluster_id"] == "ring-c"
    assert out[",".join(sorted(shrank))]["status"] == "shrank"
    assert out[",".join(sorted(grew))]["previous_ids"] == ["ring-b"]


def test_a_ring_that_doubled_still_matches():
    old = {"ring": actors("a", 4)}
    doubled = actors("a", 4) + actors("x", 4)
    out = match_clusters(members(hashed(doubled)), members(old))
    assert out.row(0, named=True)["cluster_id"] == "ring"
    assert out.row(0, named=True)["status"] == "grew"


def test_merge_inherits_the_biggest_contributor():
    old = {"big": actors("a", 6), "small": actors("b", 3)}
    merged = actors("a", 6) + actors("b", 3)
    out = match_clusters(members(hashed(merged)), members(old)).row(0, named=True)
    assert (out["cluster_id"], out["status"]) == ("big", "merged")
    assert out["previous_ids"] == ["big", "small"]


def test_split_gives_the_id_to_the_larger_part_only():
    old = {"ring": actors("a", 10)}
    left, right = actors("a", 10)[:6], actors("a", 10)[6:]
    new = hashed(left, right)
    out = by_members(match_clusters(members(new), members(old)), new)
    big, small = out[",".join(sorted(left))], out[",".join(sorted(right))]
    assert (big["cluster_id"], big["status"]) == ("ring", "split")
    assert small["status"] == "split" and small["cluster_id"] == cluster_id_for(right)
    assert small["previous_ids"] == ["ring"]


def test_weak_overlap_is_a_new_ring():
    old = {"ring": actors("a", 10)}
    mostly_new = [*actors("a", 10)[:2], *actors("z", 8)]
    out = match_clusters(members(hashed(mostly_new)), members(old)).row(0, named=True)
    assert out["status"] == "new" and out["cluster_id"] != "ring"
    one_shared = [*actors("a", 1), "y"]
    pair = match_clusters(members(hashed(one_shared)), members({"p": ["a0", "q"]}))
    assert pair.row(0, named=True)["status"] == "new"


def test_thresholds_are_configurable():
    old = {"ring": actors("a", 10)}
    part = [*actors("a", 10)[:4], *actors("z", 6)]
    loose = match_clusters(members(hashed(part)), members(old), LineageConfig(min_overlap=0.4))
    assert loose.row(0, named=True)["cluster_id"] == "ring"


@pytest.mark.parametrize("seed", range(5))
def test_ids_are_unique_and_matching_is_deterministic(seed):
    rng = random.Random(seed)
    pool = [f"u{i}" for i in range(120)]

    def partition() -> dict[str, list[str]]:
        shuffled = rng.sample(pool, k=len(pool))
        groups, i = [], 0
        while i < len(shuffled) - 2:
            size = rng.randint(2, 12)
            groups.append(shuffled[i : i + size])
            i += size
        return hashed(*groups)

    old = {f"old{i}": g for i, g in enumerate(partition().values())}
    new = partition()
    result = match_clusters(members(new), members(old))
    assert result["cluster_id"].n_unique() == result.height == len(new)
    assert set(result["status"]) <= set(LINEAGE_STATUSES)
    again = match_clusters(members(new).reverse(), members(old).sample(fraction=1.0, seed=seed))
    assert result.equals(again)
    for row in result.iter_rows(named=True):
        assert (row["status"] == "new") == (row["previous_ids"] == [])
        if row["cluster_id"].startswith("old"):
            assert row["cluster_id"] in row["previous_ids"]


def test_apply_lineage_renames_every_table_and_writes_lineage(tmp_path):
    prev = tmp_path / "prev"
    prev.mkdir()
    members({"ring": actors("a", 5)}).write_parquet(prev / "members.parquet")
    grown = [*actors("a", 5), "a-new"]
    fresh = ["x0", "x1"]
    new_id, fresh_id = cluster_id_for(grown), cluster_id_for(fresh)
    tables = {
        "members": members({new_id: grown, fresh_id: fresh}),
        "clusters": pl.DataFrame({"cluster_id": [new_id, fresh_id], "rank": [1, 2]}),
        "actors": pl.DataFrame({"actor_id": [*grown, *fresh, "loner"]}).with_columns(
            pl.Series("cluster_id", [new_id] * 6 + [fresh_id] * 2 + [None])
        ),
        "cluster_evidence": pl.DataFrame({"cluster_id": [fresh_id, new_id], "item": ["i", "j"]}),
        "edges": pl.DataFrame({"src": ["a0"], "dst": ["a1"]}),
    }
    out = apply_lineage(tables, prev)
    assert out["clusters"]["cluster_id"].to_list() == ["ring", fresh_id]
    assert out["members"].filter(pl.col("cluster_id") == "ring").height == 6
    assert out["actors"]["cluster_id"].to_list() == ["ring"] * 6 + [fresh_id] * 2 + [None]
    assert out["cluster_evidence"]["cluster_id"].to_list() == [fresh_id, "ring"]
    assert out["edges"].equals(tables["edges"])
    assert out["lineage"].to_dicts() == [
        {"cluster_id": "ring", "status": "grew", "previous_ids": ["ring"]},
        {"cluster_id": fresh_id, "status": "new", "previous_ids": []},
    ]
