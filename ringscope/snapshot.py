"""Snapshot directories: atomic publication, the ``LATEST`` pointer, and reading back.

Layout of a snapshot root::

    ROOT/LATEST                  name of the newest complete snapshot
    ROOT/<snapshot_id>/          manifest.json, actors/clusters/members.parquet, ...
    ROOT/.<snapshot_id>.partial/ a snapshot being written (never read)

A snapshot is written under its ``.partial`` name and renamed when every file is on disk
(``os.rename`` is atomic within a file system); only then is ``LATEST`` replaced, again
by an atomic rename. A crash at any point leaves the previous snapshot and pointer intact.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ringscope.errors import SnapshotError

__all__ = [
    "FORMAT_VERSION",
    "REQUIRED_FILES",
    "latest_snapshot",
    "list_snapshots",
    "new_snapshot_id",
    "publish_snapshot",
    "read_manifest",
    "read_table",
    "resolve_snapshot",
]

FORMAT_VERSION = 1
LATEST = "LATEST"
REQUIRED_FILES = ("manifest.json", "actors.parquet", "clusters.parquet", "members.parquet")
_PARTIAL_SUFFIX = ".partial"


def new_snapshot_id(now: datetime | None = None) -> str:
    """Sortable id from the UTC time, with microseconds so two runs never collide."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def publish_snapshot(root: Path, snapshot_id: str, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_dir)`` and publish its result atomically as ``root/snapshot_id``.

    If ``write`` raises, the partial directory is removed and nothing is published.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / snapshot_id
    if final.exists():
        raise SnapshotError(f"snapshot {final} already exists")
    tmp = root / f".{snapshot_id}{_PARTIAL_SUFFIX}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        missing = [f for f in REQUIRED_FILES if not (tmp / f).exists()]
        if missing:
            raise SnapshotError(f"snapshot writer did not produce {missing}")
        _fsync_dir(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer_tmp = root / f".{LATEST}.{os.getpid()}"
    pointer_tmp.write_text(snapshot_id + "\n")
    os.replace(pointer_tmp, root / LATEST)
    _fsync_dir(root)
    return final


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def latest_snapshot(root: Path) -> Path | None:
    """The snapshot ``LATEST`` points to, or None when the root has none yet."""
    pointer = root / LATEST
    if not pointer.exists():
        return None
    name = pointer.read_text().strip()
    path = root / name
    return path if (path / "manifest.json").exists() else None


def list_snapshots(root: Path) -> list[Path]:
    """Complete snapshots under ``root``, oldest first."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists()
    )


def resolve_snapshot(path: Path) -> Path:
    """Accept a snapshot directory or a root holding ``LATEST``; error clearly otherwise."""
    path = Path(path)
    if not path.exists():
        raise SnapshotError(f"snapshot path does not exist: {path}")
    if (path / "manifest.json").exists():
        snap = path
    else:
        snap = latest_snapshot(path)
        if snap is None:
            raise SnapshotError(f"{path} is neither a snapshot nor a root with a LATEST snapshot")
    missing = [f for f in REQUIRED_FILES if not (snap / f).exists()]
    if missing:
        raise SnapshotError(f"snapshot {snap} is incomplete: missing {', '.join(missing)}")
    return snap


def read_manifest(snapshot: Path) -> dict:
    """The manifest of a snapshot (format version checked)."""
    manifest = json.loads((snapshot / "manifest.json").read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SnapshotError(
            f"snapshot {snapshot} has format version {manifest.get('format_version')}, "
            f"this ringscope reads {FORMAT_VERSION}"
        )
    return manifest


def read_table(snapshot: Path, name: str) -> pl.DataFrame:
    """One parquet table of a snapshot by name (``actors``, ``clusters``, ...)."""
    path = snapshot / f"{name}.parquet"
    if not path.exists():
        raise SnapshotError(f"snapshot {snapshot} has no {name}.parquet")
    return pl.read_parquet(path)
