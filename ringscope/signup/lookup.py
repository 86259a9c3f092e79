"""The in-memory offender index: keyed identifier -> offenders, built when a snapshot loads.

A check is a handful of dictionary lookups (one per exact key of the attempt) plus one
vectorised trigram-overlap count for the display name, so it takes microseconds. For
every key the index also knows how many *other* accounts (not offenders) used it, which
is what keeps shared infrastructure (a corporate NAT, a common name) from counting as
evidence on its own (see :class:`~ringscope.config.SignupMatchConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ringscope.errors import SnapshotError
from ringscope.signup.fuzzy import AttemptKeys
from ringscope.signup.journal import Suspension
from ringscope.snapshot import read_parquet_file

__all__ = ["KeyMatch", "Offender", "OffenderIndex", "load_index"]

_SEP = "\x1f"
#: How sure the offender set is about an actor, by source (an upgrade replaces it).
_STRENGTH = {"associate": 0, "ring": 1, "confirmed": 2, "suspended": 3}


@dataclass(frozen=True)
class Offender:
    """A known bad actor: ``source`` is ``suspended``, ``confirmed`` (member of a ring
    an investigator confirmed) or ``ring`` (member of a high-scoring cluster)."""

    actor_id: str
    source: str
    cluster_id: str | None
    cluster_score: float | None


@dataclass(frozen=True)
class KeyMatch:
    """One key an attempt shares with an offender: kind, similarity, other users."""

    kind: str
    similarity: float
    others: int


class OffenderIndex:
    """Offenders and their keyed identifiers, for lookups by an attempt's keys.

    Build it with :func:`load_index` (or :meth:`build`); :meth:`add_suspension` adds an
    actor suspended after the snapshot, :meth:`add_confirmed` a member of a confirmed ring.
    """

    def __init__(self, *, snapshot_id: str, key_fingerprint: str) -> None:
        self.snapshot_id = snapshot_id
        self.key_fingerprint = key_fingerprint
        self.offenders_: list[Offender] = []
        self._position: dict[str, int] = {}
        self._postings: dict[str, list[int]] = {}
        self._users: dict[str, int] = {}  # snapshot actors that used the key
        self._offender_users: dict[str, int] = {}  # ... of which offenders or associates
        self._insiders: set[str] = set()
        self._gram_postings: dict[int, list[int]] = {}
        self._name_owner: list[int] = []
        self._name_size: list[int] = []
        self._name_key: list[str | None] = []
        self._gram_arrays: dict[int, np.ndarray] = {}
        self._name_size_arr = np.empty(0, dtype=np.int64)
        self._actor_keys = pl.DataFrame()
        self.n_actors_ = 1
        self._name_grams: dict[str, np.ndarray] = {}

    # --- building -------------------------------------------------------------------

    def build(
        self, offenders: pl.DataFrame, actor_keys: pl.DataFrame, name_grams: pl.DataFrame
    ) -> OffenderIndex:
        """Index the snapshot's offenders (see :mod:`ringscope.signup.index`)."""
        self._actor_keys = actor_keys
        self.n_actors_ = max(1, actor_keys["actor_id"].n_unique())
        self._name_grams = {
            key: np.asarray(grams, dtype=np.uint64)
            for key, grams in name_grams.iter_rows()
            if grams is not None
        }
        targets = offenders.filter(pl.col("source") != "associate")
        columns = ("actor_id", "source", "cluster_id", "cluster_score")
        for actor_id, source, cluster_id, score in targets.select(columns).iter_rows():
            self._add_offender(Offender(actor_id, source, cluster_id, score))
        self._insiders = set(offenders["actor_id"].to_list())
        insiders = actor_keys.join(offenders.select("actor_id"), on="actor_id")
        self._count_users(insiders.select("kind", "key").unique())
        for kind, key, n in insiders.group_by("kind", "key").len().iter_rows():
            self._offender_users[kind + _SEP + key] = n
        own = insiders.join(targets.select("actor_id"), on="actor_id")
        for actor_id, kind, key in own.select("actor_id", "kind", "key").iter_rows():
            self._post(self._position[actor_id], kind, key, counted=False)
        self._seal_grams()
        return self

    def _add_offender(self, offender: Offender) -> int:
        """Position of the offender, added, or upgraded to a stronger ``source``."""
        pos = self._position.get(offender.actor_id)
        if pos is None:
            pos = len(self.offenders_)
            self._position[offender.actor_id] = pos
            self.offenders_.append(offender)
        elif _STRENGTH[offender.source] > _STRENGTH[self.offenders_[pos].source]:
            self.offenders_[pos] = offender
        return pos

    def _count_users(self, keys: pl.DataFrame) -> None:
        """Distinct snapshot actors per key, for keys not counted yet."""
        if keys.height == 0:
            return
        counts = (
            self._actor_keys.join(keys, on=["kind", "key"])
            .group_by("kind", "key")
            .agg(pl.col("actor_id").n_unique().alias("n"))
        )
        for kind, key, n in counts.iter_rows():
            self._users[kind + _SEP + key] = n

    def _post(self, pos: int, kind: str, key: str, *, counted: bool) -> None:
        """Index one key of offender ``pos``; ``counted``: count the offender as a user
        of the key from the offender set (it is in ``actor_keys``, not counted yet)."""
        k = kind + _SEP + key
        owners = self._postings.setdefault(k, [])
        if pos in owners:
            return
        owners.append(pos)
        if counted:
            self._offender_users[k] = self._offender_users.get(k, 0) + 1
        if kind == "name":
            self._add_name(pos, key, self._name_grams.get(key))

    def _add_name(self, pos: int, name_key: str | None, grams: np.ndarray | None) -> None:
        if grams is None or len(grams) == 0:
            return
        entry = len(self._name_owner)
        self._name_owner.append(pos)
        self._name_size.append(len(grams))
        self._name_key.append(name_key)
        for g in grams.tolist():
            self._gram_postings.setdefault(g, []).append(entry)

    def _seal_grams(self) -> None:
        self._gram_arrays = {
            g: np.asarray(e, dtype=np.int64) for g, e in self._gram_postings.items()
        }
        self._name_size_arr = np.asarray(self._name_size, dtype=np.int64)

    def add_suspension(self, entry: Suspension) -> None:
        """Add an actor suspended after the snapshot, with its snapshot keys (if it is
        in the snapshot) and the hashed identifiers given when it was appended."""
        self._add_known(entry.actor_id, "suspended", entry.keys, entry.name_grams)

    def add_confirmed(self, actor_id: str, cluster_id: str) -> None:
        """Add a member of a cluster an investigator confirmed as a ring."""
        self._add_known(actor_id, "confirmed", {}, (), cluster_id=cluster_id)

    def _add_known(
        self,
        actor_id: str,
        source: str,
        keys: dict[str, str],
        name_grams: tuple[int, ...],
        *,
        cluster_id: str | None = None,
    ) -> None:
        known = self._position.get(actor_id)
        if known is not None:
            cluster_id = self.offenders_[known].cluster_id
        score = self.offenders_[known].cluster_score if known is not None else None
        pos = self._add_offender(Offender(actor_id, source, cluster_id, score))
        own = self._actor_keys.filter(pl.col("actor_id") == actor_id)
        own_keys = list(own.select("kind", "key").iter_rows())
        given = [(kind, key) for kind, key in keys.items() if (kind, key) not in own_keys]
        pending = [(k, v) for k, v in own_keys + given if k + _SEP + v not in self._users]
        for kind, key in pending:
            self._users[kind + _SEP + key] = 0
        self._count_users(pl.DataFrame(pending, schema=["kind", "key"], orient="row"))
        counted = actor_id not in self._insiders
        self._insiders.add(actor_id)
        for kind, key in own_keys:
            self._post(pos, kind, key, counted=counted)
        for kind, key in given:
            self._post(pos, kind, key, counted=False)
        name_key = keys.get("name")
        if name_grams and name_key not in self._name_grams:
            self._add_name(pos, name_key, np.asarray(name_grams, dtype=np.uint64))
        self._seal_grams()

    # --- lookups --------------------------------------------------------------------

    @property
    def insiders(self) -> frozenset[str]:
        """Offenders and their associates: not counted among any key's other users."""
        return frozenset(self._insiders)

    @property
    def actor_keys(self) -> pl.DataFrame:
        """The snapshot's ``actor_keys`` table (every actor's distinct keys)."""
        return self._actor_keys

    def others(self, kind: str, key: str) -> int:
        """Snapshot accounts outside the offender set that used this key."""
        k = kind + _SEP + key
        return max(0, self._users.get(k, 0) - self._offender_users.get(k, 0))

    def exact(self, keys: AttemptKeys) -> dict[int, list[KeyMatch]]:
        """Offenders sharing at least one exact key with the attempt, with the keys."""
        found: dict[int, list[KeyMatch]] = {}
        for kind, key in keys.keys.items():
            owners = self._postings.get(kind + _SEP + key)
            if not owners:
                continue
            match = KeyMatch(kind, 1.0, self.others(kind, key))
            for pos in owners:
                found.setdefault(pos, []).append(match)
        return found

    def similar_names(self, keys: AttemptKeys, *, min_similarity: float) -> dict[int, KeyMatch]:
        """Offenders whose display name has trigram Jaccard >= ``min_similarity`` with
        the attempt's (the best of each offender's names; exact name matches excluded)."""
        grams = keys.grams
        if len(grams) == 0 or not self._gram_arrays:
            return {}
        hits = [self._gram_arrays[g] for g in grams.tolist() if g in self._gram_arrays]
        if not hits:
            return {}
        entries, inter = np.unique(np.concatenate(hits), return_counts=True)
        sim = inter / (len(grams) + self._name_size_arr[entries] - inter)
        good = sim >= min_similarity
        own_name = keys.keys.get("name")
        out: dict[int, KeyMatch] = {}
        for entry, s in zip(entries[good].tolist(), sim[good].tolist(), strict=True):
            name_key = self._name_key[entry]
            if name_key is not None and name_key == own_name:
                continue
            pos = self._name_owner[entry]
            if pos in out and out[pos].similarity >= s:
                continue
            others = self.others("name", name_key) if name_key is not None else 0
            out[pos] = KeyMatch("name_similar", round(s, 4), others)
        return out


def load_index(snapshot: Path, *, snapshot_id: str, key_fingerprint: str) -> OffenderIndex:
    """The offender index of one snapshot directory (without appended suspensions).

    Raises:
        SnapshotError: The snapshot has no offender index (made before this step existed).
    """
    tables = {}
    for name in ("offenders", "actor_keys", "name_grams"):
        path = Path(snapshot) / f"{name}.parquet"
        if not path.is_file():
            raise SnapshotError(
                f"snapshot {snapshot} has no {name}.parquet: re-run `ringscope run` to build "
                "the offender index"
            )
        tables[name] = read_parquet_file(path)
    index = OffenderIndex(snapshot_id=snapshot_id, key_fingerprint=key_fingerprint)
    return index.build(tables["offenders"], tables["actor_keys"], tables["name_grams"])
