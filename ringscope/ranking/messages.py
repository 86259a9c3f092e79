"""The run's messages as the content model sees them: hashed terms plus side facts.

One row per distinct message and sender (its first record): the sender, the time, the row of its
content in the keyed hashed-term vectors (:class:`ContentVectors`), and a sparse "side"
row of facts that are not words: its traits (``html_only``, ``received:4``... see
:mod:`ringscope.ingest.mail.traits`), the pseudonyms of its relay IP and subnet (a
linear model learns each relay's reputation within the data from the labels), and how
many other senders sent near-duplicates of it (``campaign``, from the content bands).
Side tokens are already pseudonyms or fixed trait names; they are bucketed with an
unkeyed hash into :data:`SIDE_BUCKETS` columns after the :data:`BUCKETS` term columns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from ringscope.graph.hetero import HeteroGraph
from ringscope.ingest.content_terms import BUCKETS, ContentVectors

__all__ = ["SIDE_BUCKETS", "Messages", "message_table"]

SIDE_BITS = 16
SIDE_BUCKETS = 1 << SIDE_BITS
_SIDE_WEIGHT = 0.5  # a side fact counts like a quarter of a unit-length text vector


@dataclass
class Messages:
    """Messages (``frame``: ``actor``, ``ts``, ``content_row`` (-1: no text), ``campaign``,
    ``traits``), their side facts and the content vectors their rows point into."""

    frame: pl.DataFrame
    side: sp.csr_matrix
    content: ContentVectors | None

    @property
    def n(self) -> int:
        """Messages held."""
        return self.frame.height

    def design(self, rows: np.ndarray, *, text_only: bool = False) -> sp.csr_matrix:
        """Feature rows (terms, then side facts unless ``text_only``) of chosen messages."""
        content_rows = self.frame["content_row"].to_numpy()[rows]
        has_text = np.flatnonzero(content_rows >= 0)
        text = sp.csr_matrix((len(rows), BUCKETS), dtype=np.float32)
        if self.content is not None and len(has_text):
            vectors = self.content.rows(content_rows[has_text])
            place = sp.csr_matrix(
                (np.ones(len(has_text), dtype=np.float32), (has_text, np.arange(len(has_text)))),
                shape=(len(rows), len(has_text)),
            )
            text = (place @ vectors).tocsr()
        if text_only:
            return text
        return sp.hstack([text, self.side[rows]], format="csr")

    def scores(
        self,
        weights: np.ndarray,
        *,
        rows: np.ndarray | None = None,
        text_only: bool = False,
        idf: np.ndarray | None = None,
    ) -> np.ndarray:
        """``design(rows) @ weights`` (all messages by default), without building the rows;
        ``idf``: term weights other than the contents' own (a kept model's)."""
        rows = np.arange(self.n) if rows is None else rows
        out = np.zeros(len(rows), dtype=np.float64)
        content_rows = self.frame["content_row"].to_numpy()[rows]
        has_text = content_rows >= 0
        if self.content is not None and has_text.any():
            text = self.content.dot(weights[:BUCKETS], rows=content_rows[has_text], idf=idf)
            out[has_text] = text
        if not text_only:
            out += self.side[rows] @ weights[BUCKETS:]
        return out


def _campaigns(hg: HeteroGraph) -> pl.DataFrame:
    """Per message node: how many *other* senders sent a near-duplicate (shared band)."""
    sent = (
        hg.edges[("actor", "sent", "message")]
        .lazy()
        .select(pl.col("src").alias("actor"), pl.col("dst").alias("msg"))
    )
    has = (
        hg.edges[("message", "has", "content")]
        .lazy()
        .select(pl.col("src").alias("msg"), pl.col("dst").alias("band"))
    )
    per_band = (
        has.join(sent, on="msg").group_by("band").agg(pl.col("actor").n_unique().alias("senders"))
    )
    return (
        has.join(per_band, on="band")
        .group_by("msg")
        .agg((pl.col("senders").max() - 1).alias("campaign"))
        .collect()
    )


def _bucket(tokens: list[str]) -> np.ndarray:
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            >> (64 - SIDE_BITS)
            for t in tokens
        ],
        dtype=np.int64,
    )


def _side(frame: pl.DataFrame) -> sp.csr_matrix:
    """Side facts of each message as a sparse row (traits, relay, subnet, campaign size).

    Each kind of fact is bucketed by its distinct values (a token is the kind's prefix
    and the value), so no prefixed string is made per message: at 2M records those
    strings were the peak of the run's memory (+0.3 GB).
    """
    campaign = (
        pl.when(pl.col("campaign") >= 5)
        .then(pl.lit("campaign:5+"))
        .when(pl.col("campaign") >= 2)
        .then(pl.lit("campaign:2-4"))
        .otherwise(pl.format("campaign:{}", pl.col("campaign")))
    )
    parts = (
        ("t:", frame.select("row", pl.col("traits").alias("value")).explode("value")),
        ("ip:", frame.select("row", pl.col("ip_key").alias("value"))),
        ("net:", frame.select("row", pl.col("subnet_key").alias("value"))),
        ("", frame.select("row", campaign.alias("value"))),
    )
    rows, cols = [], []
    for prefix, part in parts:
        part = part.drop_nulls()
        distinct = part["value"].unique()
        buckets = pl.Series(_bucket([prefix + v for v in distinct.to_list()]), dtype=pl.Int64)
        rows.append(part["row"].to_numpy())
        cols.append(part["value"].replace_strict(distinct, buckets).to_numpy())
    col = np.concatenate(cols)
    data = np.full(len(col), _SIDE_WEIGHT, dtype=np.float32)
    matrix = sp.csr_matrix((data, (np.concatenate(rows), col)), shape=(frame.height, SIDE_BUCKETS))
    matrix.sum_duplicates()
    return matrix


def message_table(
    events: pl.DataFrame, hg: HeteroGraph, content: ContentVectors | None
) -> Messages:
    """The run's messages (first record per ``message_key`` and sender) with their side facts.

    Per sender, not per ``message_key`` alone: spam campaigns reuse one ``Message-ID``
    across senders, and a sender whose every message repeated an ID another sender had
    used first was left with no message row, so no content score, and the risk model read
    that as the most benign content there is (25 held-out spam senders of TREC 2007, the
    bottom of its ranking).

    Events are matched to their actor and message nodes by the graph's ``event_nodes``
    (row for row), not by joins on the key strings.
    """
    frame = (
        pl.concat([events, hg.event_nodes.select("actor", "msg")], how="horizontal")
        .lazy()
        .filter(
            (pl.col("event_type") == "message")
            & pl.col("msg").is_not_null()
            & pl.col("actor").is_not_null()  # an account id that normalises to nothing
        )
        .select("actor", "ts", "msg", "content_key", "traits", "ip_key", "subnet_key")
        .unique(["msg", "actor"], keep="first", maintain_order=True)
        .collect()
        .join(_campaigns(hg), on="msg", how="left")
    )
    if content is not None:
        rows = content.keys.to_frame("content_key").with_row_index("content_row")
        frame = frame.join(rows, on="content_key", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias("content_row"))
    frame = (
        frame.select("actor", "ts", "content_row", "campaign", "traits", "ip_key", "subnet_key")
        .with_columns(
            pl.col("content_row").cast(pl.Int64).fill_null(-1),
            pl.col("campaign").fill_null(0).cast(pl.Int64),
        )
        .sort("ts", "actor")
        .with_row_index("row")
    )
    side = _side(frame)
    kept = frame.select("actor", "ts", "content_row", "campaign", "traits")
    return Messages(frame=kept, side=side, content=content)
