"""The verdict store's tables (SQLAlchemy 2 declarative models).

The schema itself is created and changed only by the Alembic migrations in
``ringscope/store/migrations/versions``; these models must match the latest migration
(``tests/store/test_store.py`` checks that they do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActorVerdictRow",
    "ApiKeyRow",
    "AuditRow",
    "Base",
    "SignupOutcomeRow",
    "UTCDateTime",
    "VerdictRow",
]


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class ApiKeyRow(Base):
    """An API key: only its SHA-256 hash is kept, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class VerdictRow(Base):
    """An investigator's verdict on a cluster, keyed by the cluster's stable id."""

    __tablename__ = "verdicts"
    __table_args__ = (
        Index("ix_verdicts_cluster_created", "cluster_id", "created_at"),
        Index("ix_verdicts_cluster_id_id", "cluster_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_id: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    investigator: Mapped[str] = mapped_column(String(200))
    snapshot_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the cluster's feature vector and members in the snapshot it was judged on, so the
    # ranker and the risk model learn from it after that snapshot is gone
    features: Mapped[dict[str, float] | None] = mapped_column(JSON, nullable=True)
    actor_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class ActorVerdictRow(Base):
    """A verdict on one account (bulk imports from another tool name accounts)."""

    __tablename__ = "actor_verdicts"
    __table_args__ = (Index("ix_actor_verdicts_actor", "actor_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    investigator: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignupOutcomeRow(Base):
    """What a reviewer found about a checked signup, with the evidence the check saw."""

    __tablename__ = "signup_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[str] = mapped_column(String(256))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    investigator: Mapped[str] = mapped_column(String(200))
    snapshot_id: Mapped[str] = mapped_column(String(64))
    risk: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One append-only audit record (key changes, verdicts, batch-job actions)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(100))
    principal: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
