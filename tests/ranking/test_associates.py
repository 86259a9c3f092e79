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
            ("url", 1, 5, 12),  # 5: one URL and one hashtag are not two URLs
            ("hashtag", 5, 6, 30),
            ("hashtag", 2, 9, 31),  # 9: two hashtags, one with the ring
            ("hashtag", 9, 6, 32),
        ]
    )
    flags = flagged_accounts(co, RING, CoordinationConfig())
    assert dict(flags.iter_rows()) == {1: "c-ring", 2: "c-ring", 9: "c-ring"}
    assert flagged_accounts(co.clear(), RING, CoordinationConfig()).height == 2
