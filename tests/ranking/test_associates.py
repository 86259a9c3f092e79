"""Flagged accounts: ring members plus associates who repeat across partners."""

from __future__ import annotations

import polars as pl

from ringscope.config import CoordinationConfig
from ringscope.ranking.associates import flagged_accounts


def _co_shares(rows: list[tuple[str, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"layer": pl.Utf8, "a": pl.UInt32, "b": pl.UInt32, "item": pl.UInt32},
        orient="row",
    )


RING = pl.DataFrame({"actor": [1, 2], "cluster_id": ["c-ring", "c-ring"]}).with_columns(
    pl.col("actor").cast(pl.UInt32)
)


def test_an_account_repeating_across_partners_with_a_ring_member_is_an_associate():
    co = _co_shares(
        [
            ("url", 1, 2, 10),  # the ring's own co-shares
            ("url", 1, 2, 11),
            ("url", 1, 5, 12),  # 5: one object with ring member 1 ...
            ("url", 5, 6, 13),  # ... another with outsider 6: participation 2
            ("url", 2, 7, 14),  # 7: one coincidence with the ring, nothing else
            ("url", 6, 8, 15),  # 6 and 8: repeat, but never with the ring
            ("url", 6, 8, 16),
        ]
    )
    flags = flagged_accounts(co, RING, CoordinationConfig())
    assert dict(flags.iter_rows()) == {1: "c-ring", 2: "c-ring", 5: "c-ring"}


def test_participation_counts_distinct_objects_within_one_layer():
    co = _co_shares(
        [
            ("url", 1, 5, 12),  # 5: one URL and one reposted post are not two URLs
            ("post", 5, 6, 30),
            ("post", 2, 9, 31),  # 9: two posts, one with the ring
            ("post", 9, 6, 32),
        ]
    )
    flags = flagged_accounts(co, RING, CoordinationConfig())
    assert dict(flags.iter_rows()) == {1: "c-ring", 2: "c-ring", 9: "c-ring"}
    assert flagged_accounts(co.clear(), RING, CoordinationConfig()).height == 2


def test_only_exact_objects_make_associates():
    # 9 repeats across partners on image hashes, 10 on hashtags: near-duplicate matches
    # and topics back a pair's repeated ties, not single co-shares
    co = _co_shares(
        [
            ("media", 2, 9, 40),
            ("media", 9, 6, 41),
            ("hashtag", 1, 10, 50),
            ("hashtag", 10, 6, 51),
            ("post", 1, 11, 60),
            ("post", 11, 6, 61),
        ]
    )
    flags = flagged_accounts(co, RING, CoordinationConfig())
    assert dict(flags.iter_rows()) == {1: "c-ring", 2: "c-ring", 11: "c-ring"}
    layers = CoordinationConfig().layers
    assert (layers["media"].match, layers["hashtag"].match) == ("near_duplicate", "topic")
    exact = {"media": {"match": "exact"}, "hashtag": {"match": "exact"}}
    flags = flagged_accounts(co, RING, CoordinationConfig(layers=exact))
    assert set(flags["actor"]) == {1, 2, 9, 10, 11}
