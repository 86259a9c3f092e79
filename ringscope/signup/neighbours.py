"""Embedding neighbours: the offenders nearest a signup in the GNN's embedding space.

A snapshot made with ``--embeddings`` carries ``embeddings.parquet`` (a unit vector per
actor) and ``gnn_encoder.pt``. The checker then embeds each attempt inductively from its
keyed items (:func:`~ringscope.embeddings.inductive.embed_new_actor`: device, IP, subnet
and the identity keys, keyed as the training graph keyed them) and compares it by cosine
with the offenders' vectors. That reaches the ring around the items, not only the one
offender that used an item: a new account on a device a ring passed around lands next to
the ring's accounts.

Every fresh signup looks alike to the encoder (one event, nothing sent), so some
offenders (sleeper accounts that did little) lie close to *every* newcomer. Raw cosine
would name them for anyone; so the check measures each offender against **reference
newcomers**: a sample of accounts outside the offender set, embedded as fresh signups
from their own first keys. An offender is a neighbour when the attempt is closer to it
than its usual closest newcomers by ``SignupConfig.embedding_min_margin`` (cosine minus
the mean of its ten closest reference newcomers: hubness reduction, as in CSLS), and the
reference newcomers at least as close are its ``others``, scaled to the snapshot, just
as the accounts sharing a key are: how often an unrelated newcomer gets this close.

The vector is made from the same keys the exact matches use, so it corroborates them
rather than adding independent evidence: keys an offender shares with other accounts are
left out of it (see :meth:`EmbeddingNeighbours.nearest`), and the default weights of
kind ``embedding`` keep it weak.

Without the encoder or the vectors there is no ``embedding`` reason and the check is
unchanged; without torch the same, with one log line. torch loads only when a snapshot
has an encoder, so ``import ringscope.signup`` stays light.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ringscope.config import SignupConfig
from ringscope.embeddings.step import EMBEDDINGS_TABLE, ENCODER_FILE
from ringscope.errors import SnapshotError
from ringscope.graph.hetero import IDENTITY_COLUMNS
from ringscope.signup.lookup import KeyMatch, OffenderIndex

if TYPE_CHECKING:
    from ringscope.embeddings.inductive import GnnEncoder

__all__ = ["EmbeddingNeighbours", "item_keys", "open_neighbours"]

log = logging.getLogger(__name__)

#: Key kinds that are identity items (node key ``<kind>:<hash>``).
_IDENTITY_KINDS = tuple(IDENTITY_COLUMNS.values())
#: Key kinds whose keyed hash is itself the item's node key.
_ITEM_KINDS = ("device", "ip", "subnet")
#: Reference newcomers (accounts outside the offender set, embedded as fresh signups).
_REFERENCE = 1000
#: Per offender, its closest reference newcomers kept; their mean cosine is its baseline.
#: A neighbour is closer than the baseline, so fewer than this many are closer still:
#: these are all ``others`` needs.
_BASELINE = 10


def item_keys(keys: dict[str, str]) -> dict[str, list[str]]:
    """Keys by kind (one each, as at signup) as the encoder's items (``item_keys`` of
    :func:`~ringscope.embeddings.inductive.embed_new_actor`)."""
    items: dict[str, list[str]] = {}
    for kind, key in keys.items():
        if kind in _ITEM_KINDS:
            items[kind] = [key]
        elif kind in _IDENTITY_KINDS:
            items.setdefault("identity", []).append(f"{kind}:{key}")
    return items


def _unit_rows(frame: pl.DataFrame, dim: int) -> np.ndarray:
    """``[rows, dim]`` float32 matrix of a frame's ``embedding`` column, rows unit length."""
    if frame.height == 0:
        return np.zeros((0, dim), dtype=np.float32)
    m = frame["embedding"].list.to_array(dim).to_numpy().astype(np.float32, copy=False)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class _Rows:
    """The offenders' rows, replaced as one object so a reader never sees a mix."""

    vectors: np.ndarray  # [n, dim] unit
    owners: np.ndarray  # offender position per row
    closest: np.ndarray  # [n, <= _BASELINE] closest reference similarities, descending
    baseline: np.ndarray  # mean of ``closest``


@dataclass
class EmbeddingNeighbours:
    """The encoder, the offenders' unit vectors and the reference newcomers.

    Build it with :func:`open_neighbours`. Offenders the index gains later (the
    suspension journal, confirmed rings) get their vectors at the next lookup.
    """

    encoder: GnnEncoder
    table: Path
    min_margin: float
    k: int
    reference: np.ndarray  # [m, dim] unit vectors of reference newcomers
    scale: float  # accounts outside the offender set per reference newcomer
    _rows: _Rows = field(init=False, repr=False)
    _synced: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rows = self._profile(np.zeros((0, self.encoder.dim), dtype=np.float32), [])

    def _profile(self, vectors: np.ndarray, owners: list[int]) -> _Rows:
        closest = -np.sort(-(vectors @ self.reference.T), axis=1)[:, :_BASELINE]
        baseline = (
            closest.mean(axis=1) if closest.shape[1] else np.zeros(len(vectors), dtype=np.float32)
        )
        return _Rows(vectors, np.asarray(owners, dtype=np.int64), closest, baseline)

    def sync(self, index: OffenderIndex) -> None:
        """Add the vectors of offenders the index gained since the last call."""
        offenders = index.offenders_
        if len(offenders) == self._synced:
            return
        position = {offenders[p].actor_id: p for p in range(self._synced, len(offenders))}
        self._synced = len(offenders)
        new = pl.scan_parquet(self.table).filter(pl.col("actor_id").is_in(list(position))).collect()
        if new.height:
            rows = self._rows
            self._rows = self._profile(
                np.vstack([rows.vectors, _unit_rows(new, self.encoder.dim)]),
                [*rows.owners.tolist(), *(position[a] for a in new["actor_id"])],
            )

    def nearest(self, keys: dict[str, str], index: OffenderIndex) -> dict[int, KeyMatch]:
        """Up to ``k`` offenders the attempt is closer to than their usual newcomers by
        ``min_margin``, by offender position (``similarity``: the cosine).

        The attempt is embedded from its distinctive keys only: a key an offender shares
        with other accounts (a NAT address, a neighbourhood /24, a common name or email
        pattern) has been weighed as near-chance by the exact check, and through the
        embedding it would count again. Empty when the encoder knows none of the keys
        left: the vector would then say only "a fresh signup", alike for every newcomer.
        """
        from ringscope.embeddings.inductive import embed_new_actor  # torch is loaded

        self.sync(index)
        items = item_keys({k: v for k, v in keys.items() if index.others(k, v) == 0})
        rows = self._rows
        context = self.encoder.context
        if len(rows.owners) == 0 or not any(context[t].rows(ks) for t, ks in items.items()):
            return {}
        sims = rows.vectors @ embed_new_actor(self.encoder, items)
        margin = sims - rows.baseline
        k = min(self.k, len(sims))
        found = {}
        for i in np.argpartition(-margin, k - 1)[:k].tolist():
            if margin[i] < self.min_margin:
                continue
            closer = np.searchsorted(-rows.closest[i], -sims[i], side="right")
            others = round(float(closer) * self.scale)
            found[int(rows.owners[i])] = KeyMatch("embedding", round(float(sims[i]), 4), others)
        return found


def _warm(encoder: GnnEncoder) -> None:
    """Embed one dummy attempt per item-count pattern a signup can have, so the features
    of each pattern are built here rather than at some attempt's check (1.3 ms each)."""
    from ringscope.embeddings.inductive import embed_new_actor

    types = (*_ITEM_KINDS, "identity")
    counts = [range(2)] * len(_ITEM_KINDS) + [range(len(_IDENTITY_KINDS) + 1)]
    for pattern in itertools.product(*counts):
        items = {t: [f"?{i}" for i in range(n)] for t, n in zip(types, pattern, strict=True)}
        embed_new_actor(encoder, items)


def _reference(index: OffenderIndex, encoder: GnnEncoder) -> tuple[np.ndarray, float]:
    """Reference newcomers: a seeded sample of accounts outside the offender set, each
    embedded as a fresh signup from its first key of each kind; and how many accounts
    outside the set each stands for."""
    from ringscope.embeddings.inductive import embed_new_actor

    keys = index.actor_keys
    actors = keys["actor_id"].unique().sort()
    outside = actors.filter(~actors.is_in(list(index.insiders)))
    chosen = outside.sample(n=min(_REFERENCE, len(outside)), seed=0)
    first = (
        keys.filter(pl.col("actor_id").is_in(chosen.implode()))
        .sort("actor_id", "kind", "first_ts", "key")
        .group_by("actor_id", "kind", maintain_order=True)
        .first()
    )
    vectors = [
        embed_new_actor(encoder, item_keys(dict(zip(g["kind"], g["key"], strict=True))))
        for _, g in first.group_by("actor_id", maintain_order=True)
    ]
    matrix = np.stack(vectors) if vectors else np.zeros((0, encoder.dim), dtype=np.float32)
    return matrix, len(outside) / max(len(vectors), 1)


def open_neighbours(
    snapshot: Path, index: OffenderIndex, config: SignupConfig
) -> EmbeddingNeighbours | None:
    """The embedding neighbours of a snapshot's offenders; None when the snapshot has no
    encoder or vectors, when torch is missing or the encoder cannot be read (logged)."""
    snapshot = Path(snapshot)
    table = snapshot / f"{EMBEDDINGS_TABLE}.parquet"
    if not ((snapshot / ENCODER_FILE).is_file() and table.is_file()):
        return None
    try:
        from ringscope.embeddings.inductive import load_encoder
    except ImportError as exc:
        log.warning("signup check without embedding reasons: %s is not installed", exc.name)
        return None
    try:
        encoder = load_encoder(snapshot / ENCODER_FILE)
    except SnapshotError as exc:
        log.warning("signup check without embedding reasons: %s", exc)
        return None
    _warm(encoder)
    reference, scale = _reference(index, encoder)
    neighbours = EmbeddingNeighbours(
        encoder=encoder,
        table=table,
        min_margin=config.embedding_min_margin,
        k=config.embedding_neighbours,
        reference=reference,
        scale=scale,
    )
    neighbours.sync(index)
    return neighbours
