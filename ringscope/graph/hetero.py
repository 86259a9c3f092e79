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

import numpy as np
import polars as pl

__all__ = ["NODE_TYPES", "RELATIONS", "HeteroGraph", "build_hetero_graph"]

NODE_TYPES = (
    "actor",
    "message",
    "domain",
    "ip",
    "subnet",
    "device",
    "content",
    "identity",
    "url",  # normalised full URL, keyed "url:<hash>"
    "object",  # shared object id, keyed "<kind>:<hash>"
    "target",  # what an event acts on (target_id as given)
)

#: Account identifiers that become ``identity`` nodes, keyed ``<kind>:<hash>``.
IDENTITY_COLUMNS = {
    "email_key": "email",
    "email_pattern_key": "email_pattern",
    "phone_key": "phone",
    "name_key": "name",
}

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
    ("actor", "has", "identity"),
    ("actor", "shared", "url"),
    ("actor", "shared", "object"),
    ("actor", "targeted", "target"),
)

_SHIFT = 1 << 32  # packs two u32 node indices into one u64


@dataclass(frozen=True)
class HeteroGraph:
    """Typed node tables (``key``, ``idx`` = row number), temporal typed edge tables, and
    ``event_nodes``: per row of the event table the graph was built from, in its order,
    the ``actor``, ``msg``, ``ip`` and ``device`` node indices (null where the event names
    none), so later steps count and join events by integer, not again by key string."""

    nodes: dict[str, pl.DataFrame]
    edges: dict[EdgeType, pl.DataFrame]
    event_nodes: pl.DataFrame

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
        """igraph form; vertex attrs ``type``, ``key``, edge attrs ``relation``, ``ts``."""
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
    """Node table from the distinct non-null keys in first-seen order (hash-based, no sort).

    Events arrive sorted deterministically, so first-seen order is deterministic too.
    """
    keys = values.drop_nulls().unique(maintain_order=True)
    return pl.DataFrame({"key": keys}).with_row_index("idx").select("key", "idx")


def _with_index(frame: pl.LazyFrame, column: str, nodes: pl.DataFrame, name: str) -> pl.LazyFrame:
    """Add the node index ``name`` of the key in ``column`` (null when the key is null)."""
    lookup = nodes.lazy().select(pl.col("key").alias(column), pl.col("idx").alias(name))
    return frame.join(lookup, on=column, how="left")


def _edge_table(frame: pl.LazyFrame, src: str, dst: str) -> pl.DataFrame:
    """Distinct (src, dst, ts) rows of two index columns, sorted.

    (src, dst) is packed into one u64 and rows are sorted, then repeats are dropped by
    comparing neighbours: several times faster than a hash ``unique`` on three columns.
    The sort is by ``ts``, then stably by ``pair``: the same order as one sort by both,
    but two single-key sorts skip the row encoding a multi-key sort builds (~25% less
    CPU on the 2M-record world's large relations).
    """
    pair, ts = pl.col("pair"), pl.col("ts")
    packed = (
        frame.drop_nulls([src, dst])
        .select((pl.col(src).cast(pl.UInt64) * _SHIFT + pl.col(dst)).alias("pair"), "ts")
        .sort("ts")
        .sort("pair", maintain_order=True)
        .filter((pair != pair.shift(1)).fill_null(True) | (ts != ts.shift(1)).fill_null(True))
    )
    return packed.select(
        (pl.col("pair") // _SHIFT).cast(pl.UInt32).alias("src"),
        (pl.col("pair") % _SHIFT).cast(pl.UInt32).alias("dst"),
        "ts",
    ).collect()


def _key_edges(
    frame: pl.LazyFrame, src: tuple[str, pl.DataFrame], dst: tuple[str, pl.DataFrame]
) -> pl.DataFrame:
    """Edges between the nodes two key columns name, each given as ``(column, nodes)``."""
    indexed = _with_index(_with_index(frame, src[0], src[1], "src_idx"), dst[0], dst[1], "dst_idx")
    return _edge_table(indexed, "src_idx", "dst_idx")


def _shared_bands(
    bands: pl.Series, first: np.ndarray, ts: np.ndarray
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Content-fingerprint bands used by 2+ messages, and per message its unshared count.

    ``bands`` is the event table's band column, ``first`` marks each message's first
    record (the rows that become message nodes, ``msg`` numbering them in order) and
    ``ts`` holds the events' times. A band only one message has can link nothing, so it
    becomes no node; how many such bands a message has is kept (``unique_bands`` on the
    message) because an actor's unshared content still dilutes its similarity to others.
    Works on the column's flat value array (one sorted copy finds the repeated keys)
    instead of a hash group-by or filtered copies of the lists.
    """
    lengths = bands.list.len().fill_null(0).to_numpy().astype(np.int64)
    # the list's child values, zero-copy for one chunk (null and empty lists own none)
    flat = np.asarray(bands.to_arrow().flatten())
    valid = np.repeat(first, lengths)  # the bands of each message's first record
    ordered = flat[valid]
    ordered.sort()  # in place: a polars sort would hold a second copy
    dups = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    dups = dups[np.concatenate([[True], dups[1:] != dups[:-1]])] if len(dups) else dups
    repeated = pl.Series(flat).is_in(pl.Series(dups).implode()).to_numpy() & valid
    # per message: its bands minus the repeated ones (reduceat over segment starts; a
    # trailing 0 keeps every start index valid)
    rows = np.flatnonzero(first)
    ends = np.cumsum(lengths)
    unshared = np.append(valid & ~repeated, False)
    counts = (
        np.add.reduceat(unshared, (ends - lengths)[rows], dtype=np.int64)
        if len(rows)
        else np.zeros(0, dtype=np.int64)
    )
    msg = np.arange(len(rows), dtype=np.uint32)
    unique_counts = pl.DataFrame(
        {"msg": msg, "unique_bands": np.where(lengths[rows] > 0, counts, 0)}
    )
    # the event row of every repeated band (binary search over segment ends) -> message
    hits = np.flatnonzero(repeated)
    row = np.searchsorted(ends, hits, side="right")
    shared = pl.DataFrame(
        {
            "msg": (np.cumsum(first, dtype=np.int64)[row] - 1).astype(np.uint32),
            "ts": ts[row],
            "content_bands": flat[hits],
        }
    )
    return shared, unique_counts


def _identity_uses(events: pl.DataFrame) -> pl.DataFrame:
    """(actor_key, identity, ts) for every hashed account identifier an event carries."""
    parts = [
        events.select(
            "actor_key", (pl.lit(f"{kind}:") + pl.col(column)).alias("identity"), "ts"
        ).drop_nulls("identity")
        for column, kind in IDENTITY_COLUMNS.items()
        if column in events.columns
    ]
    return pl.concat(parts)


_IS_MESSAGE = pl.col("message_key").is_not_null()


def _recipient_edges(events: pl.DataFrame, nodes: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Actor and message nodes (into ``nodes``) and the (message, to, actor) edges."""
    recipients = (
        events.lazy()
        .filter(_IS_MESSAGE)
        .select("message_key", "ts", "recipients")
        .explode("recipients")
        .collect()
    )
    nodes["actor"] = _index(pl.concat([events["actor_key"], recipients["recipients"]]))
    nodes["message"] = _index(events["message_key"])  # nulls dropped: the message rows' keys
    return _key_edges(
        recipients.lazy(), ("message_key", nodes["message"]), ("recipients", nodes["actor"])
    )


def _link_edges(
    events: pl.DataFrame, first: pl.Series, nodes: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Domain nodes (into ``nodes``) and the (message, links, domain) edges of each
    message's first record (``first``)."""
    domains = events.lazy().filter(_IS_MESSAGE).select(pl.col("domains").explode())
    nodes["domain"] = _index(domains.collect().to_series())
    links = (
        events.lazy()
        .filter(first)
        .select("ts", "domains")
        .with_row_index("msg")
        .select(pl.col("msg").cast(pl.UInt32), "ts", "domains")
        .explode("domains")
    )
    return _edge_table(_with_index(links, "domains", nodes["domain"], "dom"), "msg", "dom")


def _content_edges(
    events: pl.DataFrame, first: pl.Series, nodes: dict[str, pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Content nodes (into ``nodes``), the (message, has, content) edges, and per message
    its count of unshared bands (see :func:`_shared_bands`)."""
    bands, unique_bands = _shared_bands(
        events["content_bands"], first.to_numpy(), events["ts"].to_numpy()
    )
    nodes["content"] = _index(bands["content_bands"])
    has = _with_index(bands.lazy(), "content_bands", nodes["content"], "band")
    return _edge_table(has, "msg", "band"), unique_bands


def _event_edges(
    events: pl.DataFrame, nodes: dict[str, pl.DataFrame]
) -> tuple[dict[EdgeType, pl.DataFrame], pl.DataFrame]:
    """IP, subnet, device and target nodes (into ``nodes``), the relations read from one
    event row each (sent, used, signup_from, reported, targeted), and each event's node
    indices (``HeteroGraph.event_nodes``)."""
    for column, node_type in (
        ("ip_key", "ip"),
        ("subnet_key", "subnet"),
        ("device_key", "device"),
        ("target_id", "target"),
    ):
        nodes[node_type] = _index(events[column])
    ev = events.lazy().select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
        "ts",
        "actor_id",
        "actor_key",
        "event_type",
        "message_key",
        "ip_key",
        "subnet_key",
        "device_key",
        "target_id",
    )
    for column, node_type, name in (
        ("actor_key", "actor", "actor"),
        ("message_key", "message", "msg"),
        ("ip_key", "ip", "ip"),
        ("subnet_key", "subnet", "subnet"),
        ("device_key", "device", "device"),
    ):
        ev = _with_index(ev, column, nodes[node_type], name)
    # keep the indices, drop the key strings the joins have replaced
    ev = ev.select(
        "row", "ts", "actor_id", "event_type", "target_id", "actor", "msg", "ip", "subnet", "device"
    ).collect()
    # the joins leave rows in any order: sorting one integer column back is cheaper than
    # asking each of them to keep the order (+0.9 s CPU at 2M records)
    event_nodes = ev.select("row", "actor", "msg", "ip", "device").sort("row").drop("row")
    ev = ev.drop("row").lazy()
    senders = ev.filter(pl.col("msg").is_not_null()).select("actor", "msg", "ts")
    reports = ev.filter(pl.col("event_type") == "report").join(
        ev.select(pl.col("actor_id").alias("target_id"), pl.col("actor").alias("target")).unique(),
        on="target_id",
    )
    edges = {
        ("actor", "sent", "message"): _edge_table(senders, "actor", "msg"),
        ("actor", "used", "ip"): _edge_table(ev, "actor", "ip"),
        # one row per distinct pair before the sort: every event repeats its ip's subnet
        ("ip", "in", "subnet"): _edge_table(
            ev.select("ip", "subnet").unique().with_columns(pl.lit(0, dtype=pl.Int64).alias("ts")),
            "ip",
            "subnet",
        ),
        ("actor", "used", "device"): _edge_table(ev, "actor", "device"),
        ("actor", "signup_from", "subnet"): _edge_table(
            ev.filter(pl.col("event_type") == "signup"), "actor", "subnet"
        ),
        ("actor", "reported", "actor"): _edge_table(reports, "actor", "target"),
        ("actor", "targeted", "target"): _edge_table(
            _with_index(ev.drop_nulls("target_id"), "target_id", nodes["target"], "tgt"),
            "actor",
            "tgt",
        ),
    }
    return edges, event_nodes


def _identity_edges(events: pl.DataFrame, nodes: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Identity nodes (into ``nodes``) and the (actor, has, identity) edges."""
    identities = _identity_uses(events)
    nodes["identity"] = _index(identities["identity"])
    return _key_edges(
        identities.lazy(), ("actor_key", nodes["actor"]), ("identity", nodes["identity"])
    )


def _object_edges(
    events: pl.DataFrame, column: str, kind: str, nodes: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """``kind`` nodes (into ``nodes``) and the (actor, shared, kind) edges of a list column."""
    uses = (
        events.lazy()
        .select("actor_key", "ts", pl.col(column).alias("key"))
        .explode("key")
        .drop_nulls("key")
        .collect()
    )
    nodes[kind] = _index(uses["key"])
    return _key_edges(uses.lazy(), ("actor_key", nodes["actor"]), ("key", nodes[kind]))


def build_hetero_graph(events: pl.DataFrame) -> HeteroGraph:
    """Build the typed graph from the canonical event table (see ``graph.schema``).

    Joins run on a slim copy of the key columns; list columns (recipients, domains,
    fingerprint bands) are exploded once, per message, never carried through joins.
    Each relation's working tables (exploded recipients, the indexed event columns,
    exploded links and objects) live only in the function that makes its edges, so they
    are freed before the next ones are made rather than all held at once.
    """
    nodes: dict[str, pl.DataFrame] = {}
    edges = {("message", "to", "actor"): _recipient_edges(events, nodes)}
    # One row per message (its first record) for message-level relations. The message
    # node table lists keys in first-seen order, so row number = index.
    first = events.select(_IS_MESSAGE & pl.col("message_key").is_first_distinct()).to_series()
    edges[("message", "links", "domain")] = _link_edges(events, first, nodes)
    edges[("message", "has", "content")], unique_bands = _content_edges(events, first, nodes)
    event_edges, event_nodes = _event_edges(events, nodes)
    edges |= event_edges
    edges[("actor", "has", "identity")] = _identity_edges(events, nodes)
    edges[("actor", "shared", "url")] = _object_edges(events, "urls", "url", nodes)
    edges[("actor", "shared", "object")] = _object_edges(events, "object_ids", "object", nodes)
    actor_ids = events.select("actor_key", "actor_id").unique("actor_key", keep="first")
    nodes["actor"] = (
        nodes["actor"].join(actor_ids, left_on="key", right_on="actor_key", how="left").sort("idx")
    )
    msg_facts = unique_bands.rename({"msg": "idx"})
    nodes["message"] = (
        nodes["message"]
        .join(msg_facts, on="idx", how="left")
        .with_columns(pl.col("unique_bands").fill_null(0).cast(pl.UInt32))
        .sort("idx")
    )
    nodes["content"] = nodes["content"].with_columns(pl.col("key").cast(pl.Utf8))
    return HeteroGraph(
        nodes={t: nodes[t] for t in NODE_TYPES},
        edges={et: edges[et] for et in RELATIONS},
        event_nodes=event_nodes,
    )
