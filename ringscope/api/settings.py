"""Settings of the query API, from arguments or ``RINGSCOPE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings", "default_database_url"]

DATABASE_FILE = "ringscope.sqlite3"


def default_database_url(snapshot_root: Path) -> str:
    """The embedded SQLite store next to the snapshots: ``<root>/ringscope.sqlite3``."""
    return f"sqlite:///{Path(snapshot_root).resolve() / DATABASE_FILE}"


class ApiSettings(BaseSettings):
    """Where the snapshots and the verdict store live, and how often to look for news.

    Attributes:
        snapshot_root: directory holding published snapshots and ``LATEST``
            (``RINGSCOPE_SNAPSHOT_ROOT``).
        database_url: SQLAlchemy URL of the verdict store (``RINGSCOPE_DATABASE_URL``);
            defaults to SQLite at ``<snapshot_root>/ringscope.sqlite3``.
        reload_interval_s: seconds between checks for a newer ``LATEST``
            (``RINGSCOPE_RELOAD_INTERVAL_S``).
        max_body_bytes: largest request body accepted; a larger one is a 413 before it
            is read (``RINGSCOPE_MAX_BODY_BYTES``).
        ingest: serve ``POST /v1/events`` and micro-batch the logged events into new
            snapshots (``RINGSCOPE_INGEST``; see :mod:`ringscope.stream`).
        batch_interval_s: seconds between micro-batches (``RINGSCOPE_BATCH_INTERVAL_S``).
        max_backlog: logged events not yet in a snapshot past which ``POST /v1/events``
            answers 429 (``RINGSCOPE_MAX_BACKLOG``).
        keep_snapshots: snapshots the micro-batcher keeps (``RINGSCOPE_KEEP_SNAPSHOTS``).
        drop_dir: a folder whose new event files each micro-batch takes in
            (``RINGSCOPE_DROP_DIR``).
        run_config: TOML run configuration for the micro-batches (``RINGSCOPE_RUN_CONFIG``).
    """

    model_config = SettingsConfigDict(env_prefix="RINGSCOPE_", extra="ignore")

    snapshot_root: Path
    database_url: str | None = None
    reload_interval_s: float = Field(default=2.0, gt=0)
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    ingest: bool = False
    batch_interval_s: float = Field(default=10.0, gt=0)
    max_backlog: int = Field(default=200_000, gt=0)
    keep_snapshots: int = Field(default=5, ge=1)
    drop_dir: Path | None = None
    run_config: Path | None = None

    @model_validator(mode="after")
    def _default_database(self) -> ApiSettings:
        if not self.database_url:
            self.database_url = default_database_url(self.snapshot_root)
        return self
