"""The heterogeneous event graph: typed nodes and typed, timestamped edge tables.

This is ringscope's one canonical in-memory graph. Nodes of each type live in a table
with their index ``idx`` (equal to the row number) and ``key``; each relation
``(src_type, relation, dst_type)`` is a temporal edge table of ``src``/``dst`` node indices
and ``ts`` (epoch ms): one row per distinct (src, dst, ts), so repeated use of an IP or a
device over time stays visible to time-windowed evidence. Everything downstream
(coordination evidence, features, exporters to igraph / networkx, and later PyG and
Spark) reads these tables, never the raw events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["NODE_TYPES", "RELATIONS", "HeteroGraph", "build_hetero_graph"]

NODE_TYPES = ("actor", "message", "domain", "ip", "subnet", "device", "content")

EdgeType = tuple[str, str, str]

RELATIONS: tuple[EdgeType, ...] = (
    ("actor", "sent", "message"),
    ("message", "to", "actor"),
    ("message", "links", "domain"),
    ("message", "has", "content"),
    ("actor", "used", "ip"),
    ("ip", "in", "subnet"),
    ("actor", "used", "device"),
    ("actor", "signup_from", "subnet"),
    ("actor", "reported", "actor"),
)

_EDGE_SCHEMA = {"src": pl.UInt32, "dst": pl.UInt32, "ts": pl.Int64}


@dataclass(frozen=True)
class HeteroGraph:
    """Typed node tables (``key``, ``idx`` = row number) and temporal typed edge tables."""

    nodes: dict[str, pl.DataFrame]
    edges: dict[EdgeType, pl.DataFrame]

    def num_nodes(self, node_type: str) -> int:
        """Number of nodes of one type."""
        return self.nodes[node_type].height

    def summary(self) -> dict[str, dict[str, int]]:
        """Node and edge counts per type, for the manifest."""
        return {
            "nodes": {t: df.height for t, df in self.nodes.items()},
            "edges": {"/".join(et): df.height for et, df in self.edges.items()},
        }

    def to_igraph(self):
        """Directed igraph graph; vertex attrs ``type``, ``key``; edge attrs ``relation``, ``ts``."""
        import igraph as ig

        offsets, start = {}, 0
        for t in NODE_TYPES:
            offsets[t] = start
            start += self.nodes[t].height
        g = ig.Graph(n=start, directed=True)
        g.vs["type"] = [t for t in NODE_TYPES for _ in range(self.nodes[t].height)]
        g.vs["key"] = [k for t in NODE_TYPES for k in self.nodes[t]["key"].to_list()]
        pairs, relation, ts = [], [], []
        for (s, rel, d), df in self.edges.items():
            src = (df["src"].cast(pl.Int64) + offsets[s]).to_list()
            dst = (df["dst"].cast(pl.Int64) + offsets[d]).to_list()
            pairs.extend(zip(src, dst, strict=True))
            relation.extend([rel] * df.height)
            ts.extend(df["ts"].to_list())
        g.add_edges(pairs, attributes={"relation": relation, "ts": ts})
        return g

    def to_networkx(self, *, actor_keys: set[str] | None = None):
        """A networkx MultiDiGraph of the whole graph, or of the given actors' neighbourhood.

        Nodes are ``(type, key)`` tuples. With ``actor_keys`` only edges touching those
        actors (directly, or through their messages) are kept: networkx is for small
        subgraphs such as one cluster.
        """
        import networkx as nx

        keep_msgs: set[int] | None = None
        keep_actors: set[int] | None = None
        if actor_keys is not None:
            actors = self.nodes["actor"].with_row_index("i")
            keep_actors = set(actors.filter(pl.col("key").is_in(list(actor_keys)))["i"].to_list())
            sent = self.edges[("actor", "sent", "message")]
            keep_msgs = set(sent.filter(pl.col("src").is_in(list(keep_actors)))["dst"].to_list())
        g = nx.MultiDiGraph()
        keys = {t: self.nodes[t]["key"].to_list() for t in NODE_TYPES}
        for (s, rel, d), df in self.edges.items():
            for src, dst, ts in df.iter_rows():
                if keep_actors is not None and not _touches(s, src, d, dst, keep_actors, keep_msgs):
                    continue
                g.add_edge((s, keys[s][src]), (d, keys[d][dst]), relation=rel, ts=ts)
        return g


def _touches(s: str, src: int, d: str, dst: int, actors: set[int], msgs: set[int] | None) -> bool:
    for t, i in ((s, src), (d, dst)):
        if (t == "actor" and i in actors) or (t == "message" and msgs and i in msgs):
            return True
    return False


def _index(values: pl.Series) -> pl.DataFrame:
    """Node table from the distinct non-null keys, in sorted order for determinism."""
    keys = values.drop_nulls().unique().sort()
    return pl.DataFrame({"key": keys}).with_row_index("idx").select("key", "idx")


def _edges(pairs: pl.DataFrame, src_nodes: pl.DataFrame, dst_nodes: pl.DataFrame) -> pl.DataFrame:
    """Map (src_key, dst_key, ts) rows to node indices, one edge per distinct (src, dst, ts)."""
    out = (
        pairs.drop_nulls(["src_key", "dst_key"])
        .join(src_nodes.rename({"key": "src_key", "idx": "src"}), on="src_key")
        .join(dst_nodes.rename({"key": "dst_key", "idx": "dst"}), on="dst_key")
        .select("src", "dst", "ts")
        .unique()
        .sort("src", "dst", "ts")
    )
    return out.select(pl.col("src").cast(pl.UInt32), pl.col("dst").cast(pl.UInt32), "ts")


def build_hetero_graph(events: pl.DataFrame) -> HeteroGraph:
    """Build the typed graph from the canonical event table (see ``graph.schema``)."""
    ev = events.lazy()
    msgs = ev.filter(pl.col("message_key").is_not_null())
    recipients = (
        msgs.select("message_key", "ts", "recipients").explode("recipients").collect()
    ).rename({"recipients": "rcpt"})
    ip_subnet = ev.select("ip_key", "subnet_key").drop_nulls().unique().collect()
    nodes = {
        "actor": _index(pl.concat([events["actor_key"], recipients["rcpt"]])),
        "message": _index(events["message_key"]),
        "domain": _index(events["domains"].explode()),
        "ip": _index(events["ip_key"]),
        "subnet": _index(events["subnet_key"]),
        "device": _index(events["device_key"]),
        "content": _index(events["content_bands"].explode().cast(pl.Utf8)),
    }
    actor_ids = (
        events.select("actor_key", "actor_id").unique("actor_key", keep="first").sort("actor_key")
    )
    nodes["actor"] = (
        nodes["actor"].join(actor_ids, left_on="key", right_on="actor_key", how="left").sort("idx")
    )

    def frame(src: pl.LazyFrame, src_col: str, dst_col: str) -> pl.DataFrame:
        cols = [pl.col(src_col).alias("src_key"), pl.col(dst_col).alias("dst_key"), "ts"]
        return src.select(cols).collect()

    msg_items = msgs.select("message_key", "ts", "domains", "content_bands")
    reports = ev.filter(pl.col("event_type") == "report").select("actor_key", "target_id", "ts")
    reports = reports.join(
        ev.select("actor_id", pl.col("actor_key").alias("target_key")).unique(),
        left_on="target_id",
        right_on="actor_id",
    )
    raw_edges: dict[EdgeType, pl.DataFrame] = {
        ("actor", "sent", "message"): frame(msgs, "actor_key", "message_key"),
        ("message", "to", "actor"): recipients.select(
            pl.col("message_key").alias("src_key"), pl.col("rcpt").alias("dst_key"), "ts"
        ),
        ("message", "links", "domain"): frame(
            msg_items.explode("domains"), "message_key", "domains"
        ),
        ("message", "has", "content"): frame(
            msg_items.explode("content_bands").with_columns(pl.col("content_bands").cast(pl.Utf8)),
            "message_key",
            "content_bands",
        ),
        ("actor", "used", "ip"): frame(ev, "actor_key", "ip_key"),
        ("ip", "in", "subnet"): ip_subnet.select(
            pl.col("ip_key").alias("src_key"),
            pl.col("subnet_key").alias("dst_key"),
            pl.lit(0, dtype=pl.Int64).alias("ts"),
        ),
        ("actor", "used", "device"): frame(ev, "actor_key", "device_key"),
        ("actor", "signup_from", "subnet"): frame(
            ev.filter(pl.col("event_type") == "signup"), "actor_key", "subnet_key"
        ),
        ("actor", "reported", "actor"): frame(reports, "actor_key", "target_key"),
    }
    edges = {
        et: _edges(df, nodes[et[0]].select("key", "idx"), nodes[et[2]].select("key", "idx"))
        for et, df in raw_edges.items()
    }
    return HeteroGraph(nodes=nodes, edges=edges)
