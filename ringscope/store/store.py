"""The verdict store: API keys, investigator verdicts and an append-only audit log.

Every write runs in its own transaction and is committed before the call returns, so a
crash never loses an acknowledged verdict. Readers get plain frozen records, never ORM
objects, so nothing outside this module touches a session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ringscope.store.engine import StoreError, make_engine
from ringscope.store.migrate import upgrade
from ringscope.store.schema import (
    ActorVerdictRow,
    ApiKeyRow,
    AuditRow,
    SignupOutcomeRow,
    VerdictRow,
)
from ringscope.vocabulary import ROLES, VERDICTS

__all__ = [
    "OUTCOMES",
    "ROLES",
    "VERDICTS",
    "ActorVerdictRecord",
    "ApiKey",
    "AuditRecord",
    "SignupOutcomeRecord",
    "Store",
    "VerdictRecord",
    "hash_key",
    "open_store",
]

OUTCOMES = ("offender", "legit")
KEY_PREFIX = "rsk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
# Cluster ids per IN list (well under every backend's bound-parameter limit).
_IN_CHUNK = 500
_NEWEST_VERDICT = select(func.max(VerdictRow.id))


def hash_key(secret: str) -> str:
    """SHA-256 of a key: keys are 256-bit random, so a fast hash is safe to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiKey:
    """A stored key without its secret."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class VerdictRecord:
    """One verdict on a cluster (by stable cluster id)."""

    id: int
    cluster_id: str
    verdict: str
    note: str | None
    investigator: str
    snapshot_id: str
    created_at: datetime
    features: dict[str, float] | None = None
    actor_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActorVerdictRecord:
    """One verdict on a single account."""

    id: int
    actor_id: str
    verdict: str
    note: str | None
    investigator: str
    created_at: datetime


@dataclass(frozen=True)
class SignupOutcomeRecord:
    """A reviewer's finding on a checked signup and the check's evidence per key kind."""

    id: int
    actor_id: str
    outcome: str
    note: str | None
    investigator: str
    snapshot_id: str
    risk: float
    evidence: dict[str, float]
    created_at: datetime


@dataclass(frozen=True)
class AuditRecord:
    """One audit-log entry."""

    id: int
    kind: str
    principal: str
    created_at: datetime
    payload: dict[str, Any]


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, row.role, row.prefix, row.created_at, row.revoked_at)


def _verdict(row: VerdictRow) -> VerdictRecord:
    return VerdictRecord(
        row.id,
        row.cluster_id,
        row.verdict,
        row.note,
        row.investigator,
        row.snapshot_id,
        row.created_at,
        dict(row.features) if row.features else None,
        tuple(row.actor_ids or ()),
    )


def _actor_verdict(row: ActorVerdictRow) -> ActorVerdictRecord:
    return ActorVerdictRecord(
        row.id, row.actor_id, row.verdict, row.note, row.investigator, row.created_at
    )


def _outcome(row: SignupOutcomeRow) -> SignupOutcomeRecord:
    return SignupOutcomeRecord(
        row.id,
        row.actor_id,
        row.outcome,
        row.note,
        row.investigator,
        row.snapshot_id,
        row.risk,
        dict(row.evidence),
        row.created_at,
    )


def _check_verdict(verdict: str) -> None:
    if verdict not in VERDICTS:
        raise StoreError(f"unknown verdict {verdict!r}; choose one of {', '.join(VERDICTS)}")


def _audit(row: AuditRow) -> AuditRecord:
    return AuditRecord(row.id, row.kind, row.principal, row.created_at, dict(row.payload))


class Store:
    """Keys, verdicts and audit records in one SQL database (open with :func:`open_store`).

    Other components use it like this::

        store = open_store("sqlite:///snapshots/ringscope.sqlite3")
        latest = store.latest_verdicts()          # {cluster_id: VerdictRecord}
        store.append_audit("takedown.exported", "flag-job", {"clusters": 12})
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _write(self) -> Session:
        return self._sessions.begin()

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def ping(self) -> bool:
        """True when the database answers a query on the store's own tables.

        Not ``SELECT 1``: a SQLite file deleted and recreated empty answers that, yet
        holds no keys or verdicts.
        """
        try:
            with self.engine.connect() as conn:
                conn.execute(select(ApiKeyRow.id).limit(1))
        except SQLAlchemyError:
            return False
        return True

    # --- API keys -------------------------------------------------------------------

    def create_key(self, name: str, role: str, *, principal: str = "cli") -> tuple[ApiKey, str]:
        """Create a key; returns the record and the secret (shown once, never stored)."""
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
        if not _NAME.match(name):
            raise StoreError(
                f"invalid key name {name!r}: 1-100 characters of letters, digits, . _ @ -"
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(
            name=name,
            role=role,
            key_hash=hash_key(secret),
            prefix=secret[:10],
            created_at=_now(),
        )
        try:
            with self._write() as session:
                session.add(row)
                session.flush()
                session.add(_audit_row("key.created", principal, {"name": name, "role": role}))
        except IntegrityError:
            raise StoreError(f"a key named {name!r} already exists") from None
        return _key(row), secret

    def list_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))
            return [_key(r) for r in rows]

    def revoke_key(self, name: str, *, principal: str = "cli") -> ApiKey:
        """Revoke a key by name (idempotent); unknown names are an error."""
        with self._write() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
            if row is None:
                raise StoreError(f"no key named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = _now()
                session.add(_audit_row("key.revoked", principal, {"name": name}))
            return _key(row)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None (unknown or revoked)."""
        with self._sessions() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(secret)))
            return _key(row) if row is not None and row.revoked_at is None else None

    # --- verdicts -------------------------------------------------------------------

    def add_verdict(
        self,
        cluster_id: str,
        verdict: str,
        *,
        investigator: str,
        snapshot_id: str,
        note: str | None = None,
        key_id: int | None = None,
        features: dict[str, float] | None = None,
        actor_ids: Iterable[str] | None = None,
    ) -> VerdictRecord:
        """Record a verdict (and its audit entry) in one transaction.

        ``features`` and ``actor_ids`` are the cluster's feature vector and members in
        ``snapshot_id``: what the ranker and the risk model learn from later.
        """
        _check_verdict(verdict)
        row = VerdictRow(
            cluster_id=cluster_id,
            verdict=verdict,
            note=note,
            investigator=investigator,
            snapshot_id=snapshot_id,
            key_id=key_id,
            created_at=_now(),
            features=features,
            actor_ids=list(actor_ids) if actor_ids is not None else None,
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            payload = {"verdict_id": row.id, "cluster_id": cluster_id, "verdict": verdict}
            session.add(_audit_row("verdict.created", investigator, payload))
        return _verdict(row)

    def verdicts(self, cluster_id: str) -> list[VerdictRecord]:
        """The verdict history of one cluster, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(VerdictRow)
                .where(VerdictRow.cluster_id == cluster_id)
                .order_by(VerdictRow.id.desc())
            )
            return [_verdict(r) for r in rows]

    def latest_verdicts(self, cluster_ids: Iterable[str] | None = None) -> dict[str, VerdictRecord]:
        """The latest verdict per cluster id (all clusters, or only ``cluster_ids``).

        With ``cluster_ids`` each lookup is a probe of the ``(cluster_id, id)`` index, in
        chunks, so verdicts on other clusters cost nothing.
        """
        latest = select(func.max(VerdictRow.id)).group_by(VerdictRow.cluster_id)
        if cluster_ids is None:
            chunks = [latest]
        else:
            ids = sorted(set(cluster_ids))
            chunks = [
                latest.where(VerdictRow.cluster_id.in_(ids[i : i + _IN_CHUNK]))
                for i in range(0, len(ids), _IN_CHUNK)
            ]
        out = {}
        with self._sessions() as session:
            for chunk in chunks:
                rows = session.scalars(select(VerdictRow).where(VerdictRow.id.in_(chunk)))
                out.update({r.cluster_id: _verdict(r) for r in rows})
        return out

    def verdict_version(self) -> int:
        """The id of the newest verdict (0 when none): verdicts are append-only, so any
        new verdict changes it. One primary-key lookup."""
        with self.engine.connect() as conn:
            return conn.execute(_NEWEST_VERDICT).scalar() or 0

    def verdicts_since(self, after_id: int) -> list[VerdictRecord]:
        """Verdicts with an id above ``after_id``, oldest first (a primary-key range)."""
        with self._sessions() as session:
            rows = session.scalars(
                select(VerdictRow).where(VerdictRow.id > after_id).order_by(VerdictRow.id)
            )
            return [_verdict(r) for r in rows]

    def all_verdicts(self) -> list[VerdictRecord]:
        """Every cluster verdict ever recorded, oldest first (the ranker's training set).

        Reads plain rows, not ORM objects: a run reads every verdict, thousands of them.
        """
        columns = (
            VerdictRow.id,
            VerdictRow.cluster_id,
            VerdictRow.verdict,
            VerdictRow.note,
            VerdictRow.investigator,
            VerdictRow.snapshot_id,
            VerdictRow.created_at,
            VerdictRow.features,
            VerdictRow.actor_ids,
        )
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(VerdictRow.id))
            return [VerdictRecord(*r[:7], r[7] or None, tuple(r[8] or ())) for r in rows]

    def actor_verdicts(self) -> list[ActorVerdictRecord]:
        """Every verdict on a single account, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(select(ActorVerdictRow).order_by(ActorVerdictRow.id))
            return [_actor_verdict(r) for r in rows]

    def import_verdicts(
        self,
        clusters: list[dict[str, Any]],
        actors: list[dict[str, Any]],
        *,
        principal: str,
    ) -> tuple[int, int]:
        """Add many cluster and account verdicts in ONE transaction: all or nothing.

        Each dict holds the keyword arguments of a row (``cluster_id`` or ``actor_id``,
        ``verdict``, ``note``, ``investigator``, ``created_at``, and for clusters
        ``snapshot_id``, ``features``, ``actor_ids``). Returns (clusters, actors) added.
        """
        for row in (*clusters, *actors):
            _check_verdict(row["verdict"])
        with self._write() as session:
            session.add_all(VerdictRow(**row) for row in clusters)
            session.add_all(ActorVerdictRow(**row) for row in actors)
            payload = {"clusters": len(clusters), "actors": len(actors)}
            session.add(_audit_row("verdict.imported", principal, payload))
        return len(clusters), len(actors)

    # --- signup outcomes --------------------------------------------------------------

    def add_signup_outcome(
        self,
        actor_id: str,
        outcome: str,
        *,
        investigator: str,
        snapshot_id: str,
        risk: float,
        evidence: dict[str, float],
        note: str | None = None,
    ) -> SignupOutcomeRecord:
        """Record what review found about a checked signup (with the check's evidence)."""
        if outcome not in OUTCOMES:
            raise StoreError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
        row = SignupOutcomeRow(
            actor_id=actor_id,
            outcome=outcome,
            note=note,
            investigator=investigator,
            snapshot_id=snapshot_id,
            risk=risk,
            evidence=evidence,
            created_at=_now(),
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            payload = {"outcome_id": row.id, "actor_id": actor_id, "outcome": outcome}
            session.add(_audit_row("signup.outcome", investigator, payload))
        return _outcome(row)

    def signup_outcomes(self) -> list[SignupOutcomeRecord]:
        """Every recorded signup outcome, oldest first."""
        with self._sessions() as session:
            rows = session.scalars(select(SignupOutcomeRow).order_by(SignupOutcomeRow.id))
            return [_outcome(r) for r in rows]

    # --- audit log ------------------------------------------------------------------

    def append_audit(self, kind: str, principal: str, payload: dict[str, Any]) -> AuditRecord:
        """Append one audit record (JSON-serialisable payload) and commit it."""
        row = _audit_row(kind, principal, payload)
        with self._write() as session:
            session.add(row)
        return _audit(row)

    def audit_log(self, *, kind: str | None = None, limit: int = 1000) -> list[AuditRecord]:
        """Audit records, newest first, optionally of one kind."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(AuditRow.kind == kind)
        with self._sessions() as session:
            return [_audit(r) for r in session.scalars(query)]


def _audit_row(kind: str, principal: str, payload: dict[str, Any]) -> AuditRow:
    return AuditRow(kind=kind, principal=principal, created_at=_now(), payload=payload)


def open_store(url: str) -> Store:
    """Open (and migrate to the shipped head) the store at a SQLAlchemy URL.

    ``sqlite:///path/ringscope.sqlite3`` (durable WAL) or ``postgresql://user@host/db``.
    Raises :class:`StoreError` with a clear message when the database cannot be reached.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
        raise StoreError(f"cannot open the store: {reason.splitlines()[0]}") from None
    return Store(engine)
