"""Snapshot directories: atomic publication, the ``LATEST`` pointer, and reading back.

Layout of a snapshot root::

    ROOT/LATEST                  name of the newest complete snapshot
    ROOT/<snapshot_id>/          manifest.json, actors/clusters/members.parquet, ...
    ROOT/.<snapshot_id>.<pid>.partial/ a snapshot being written by process pid (never read)

A snapshot is written under its ``.partial`` name and renamed when every file is on disk
(``os.rename`` is atomic within a file system); only then is ``LATEST`` replaced, again
by an atomic rename. A crash at any point leaves the previous snapshot and pointer intact.

A writer holds an exclusive ``flock`` on ``.owner`` inside its ``.partial`` directory
while it writes; the kernel drops the lock when the writer dies, even by ``kill -9``, so
:func:`remove_stale_partials` (run when a run starts) removes exactly the directories no
live writer holds, and never a concurrent run's work in progress. The writer's pid in
the name covers the moments the lock cannot: just after the directory is made and while
it is flushed before the rename (a loaded machine can spend seconds there), a directory
whose writer is dead is abandoned whatever its lock file says.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ringscope.errors import SnapshotDataError, SnapshotError

__all__ = [
    "FORMAT_VERSION",
    "LATEST",
    "REQUIRED_FILES",
    "latest_snapshot",
    "list_snapshots",
    "new_snapshot_id",
    "publish_snapshot",
    "read_manifest",
    "read_parquet_file",
    "read_table",
    "remove_stale_partials",
    "resolve_snapshot",
]

FORMAT_VERSION = 1
LATEST = "LATEST"
REQUIRED_FILES = ("manifest.json", "actors.parquet", "clusters.parquet", "members.parquet")
_PARTIAL_SUFFIX = ".partial"
_OWNER = ".owner"
# A partial directory younger than this without an owner file may be one a writer has
# just created and not yet locked.
_UNOWNED_GRACE_S = 60.0


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
    tmp = root / f".{snapshot_id}.{os.getpid()}{_PARTIAL_SUFFIX}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with _owned(tmp):
            write(tmp)
            missing = [f for f in REQUIRED_FILES if not (tmp / f).exists()]
            if missing:
                raise SnapshotError(f"snapshot writer did not produce {missing}")
            (tmp / _OWNER).unlink()
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


@contextlib.contextmanager
def _owned(partial: Path) -> Iterator[None]:
    """Hold the owner lock of a partial directory (released by the kernel on any exit)."""
    fd = os.open(partial / _OWNER, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _abandoned(partial: Path) -> bool:
    """True when no live writer holds ``partial``."""
    writer = partial.name[: -len(_PARTIAL_SUFFIX)].rpartition(".")[2]
    if writer.isdigit() and not _pid_alive(writer):
        return True
    try:
        fd = os.open(partial / _OWNER, os.O_RDONLY)
    except FileNotFoundError:
        try:
            return time.time() - partial.stat().st_mtime > _UNOWNED_GRACE_S
        except FileNotFoundError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def remove_stale_partials(root: Path) -> list[Path]:
    """Remove the ``.partial`` directories (and ``LATEST`` temp files) of dead writers.

    A run killed while publishing leaves them behind; call this when a run starts.
    Returns what was removed.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in root.iterdir():
        if path.is_dir() and path.name.startswith(".") and path.name.endswith(_PARTIAL_SUFFIX):
            if _abandoned(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        elif path.name.startswith(f".{LATEST}.") and not _pid_alive(path.suffix[1:]):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


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
    return read_parquet_file(path)


def read_parquet_file(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """A snapshot's parquet file; a file that cannot be read is a
    :class:`SnapshotDataError` naming it (a truncated or corrupt snapshot)."""
    try:
        return pl.read_parquet(path, columns=columns)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or ["no detail"])[0]
        raise SnapshotDataError(
            f"snapshot {path.parent.name}: {path.name} cannot be read ({first})"
        ) from None
