"""A drop folder for jobs that write batches: new event files are taken in, moved aside.

A job writes its file under a name starting with ``.`` or ``_`` (never read) and renames
it when complete, the convention of Hadoop and Spark. Each micro-batch moves the
complete files of the folder to ``ROOT/stream/dropped/`` (numbered in arrival order, so
the first of two records with one ``event_id`` stays the first), after reading each one
through once: a file that cannot be read as events (a broken gzip, an unknown
extension) goes to ``ROOT/stream/refused/`` with a warning instead, so one bad file
never blocks the stream. The records of dropped files are checked by the run like any
input: bad ones land in the snapshot's ``rejects.jsonl.gz``.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ringscope.errors import InputError
from ringscope.ingest.readers import read_batches
from ringscope.ingest.sources import resolve_sources

__all__ = ["FileDrop"]

log = logging.getLogger(__name__)


def _move(src: Path, dst: Path) -> None:
    """Move a file durably (rename, or copy + fsync + unlink across file systems)."""
    try:
        os.replace(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        with open(dst, "rb") as fh:
            os.fsync(fh.fileno())
        src.unlink()
    fd = os.open(dst.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _readable(path: Path) -> str | None:
    """None when every record of the file can be read, else why not."""
    try:
        for source in resolve_sources([path]):
            for _ in read_batches(source):
                pass
    except (InputError, OSError, ValueError, EOFError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class FileDrop:
    """Takes complete event files from ``watch_dir`` into the snapshot root."""

    def __init__(self, watch_dir: Path, root: Path) -> None:
        self.watch_dir = Path(watch_dir)
        self.consumed_dir = Path(root).resolve() / "stream" / "dropped"
        self.refused_dir = Path(root).resolve() / "stream" / "refused"
        for folder in (self.watch_dir, self.consumed_dir, self.refused_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def file_count(self) -> int:
        """Files taken in so far."""
        return sum(1 for _ in self.consumed_dir.iterdir())

    def has_files(self) -> bool:
        """Whether any file was taken in."""
        return any(self.consumed_dir.iterdir())

    def collect(self) -> int:
        """Move the complete files of the folder in (or to ``refused/``); how many came in."""
        taken = self.file_count()
        moved = 0
        for path in sorted(self.watch_dir.iterdir()):
            if not path.is_file() or path.name.startswith((".", "_")):
                continue
            why = _readable(path)
            if why is not None:
                log.warning("drop folder: %s refused (%s)", path.name, why)
                _move(path, self.refused_dir / path.name)
                continue
            _move(path, self.consumed_dir / f"{taken + moved:08d}-{path.name}")
            moved += 1
        return moved
