"""Resolve the paths a user gives into an ordered list of event files with their format.

The format follows the file extension (see the input contract); a directory stands for
every event file below it. The order is deterministic (sorted paths) because the first
occurrence of a repeated ``event_id`` wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ringscope.errors import InputError

__all__ = ["EXTENSIONS", "Format", "Source", "resolve_sources"]

Format = Literal["jsonl", "csv", "parquet"]

#: Accepted extensions (lower-case) and the format and compression each means.
EXTENSIONS: dict[str, tuple[Format, bool]] = {
    ".jsonl": ("jsonl", False),
    ".jsonl.gz": ("jsonl", True),
    ".ndjson": ("jsonl", False),
    ".ndjson.gz": ("jsonl", True),
    ".csv": ("csv", False),
    ".csv.gz": ("csv", True),
    ".parquet": ("parquet", False),
}
_ACCEPTED = ".jsonl[.gz], .ndjson[.gz], .csv[.gz], .parquet"  # short, for one-line errors


@dataclass(frozen=True)
class Source:
    """One event file: where it is, how to name it in reports, and how to read it."""

    path: Path
    display: str  # the path as the user gave it (or below the directory they gave)
    format: Format
    compressed: bool
    size: int  # bytes on disk, for progress


def _match_extension(path: Path) -> tuple[Format, bool] | None:
    """Format and compression for a file name, or None if the extension is not accepted."""
    name = path.name.lower()
    for ext in sorted(EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext) and len(name) > len(ext):
            return EXTENSIONS[ext]
    return None


def _source(path: Path, display: str) -> Source:
    """A Source for one file whose extension is known to be accepted."""
    match = _match_extension(path)
    assert match is not None
    return Source(
        path=path, display=display, format=match[0], compressed=match[1], size=path.stat().st_size
    )


def _walk(directory: Path) -> Iterable[Path]:
    """Every regular file below ``directory``; names starting with ``.`` or ``_`` skipped.

    As in Hadoop and Spark, ``_`` marks what sits beside the data without being data
    (a generated world's held-back ``_holdout/`` signups, ``_SUCCESS`` markers).
    """
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if not name.startswith((".", "_")):
                yield Path(root) / name


def resolve_sources(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
) -> list[Source]:
    """Expand files and directories into event files, sorted, each listed once.

    Args:
        paths: Files or directories (searched recursively for accepted extensions).

    Returns:
        The event files sorted by path, so the order (and which of two records with one
        ``event_id`` wins) does not depend on the order the paths were given in.

    Raises:
        InputError: A path is missing, a file has an unsupported extension, a
            directory holds no event file, or no path was given.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if not paths:
        raise InputError("no input paths given")
    sources: list[Source] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputError(f"input {given} does not exist (accepted: {_ACCEPTED} or a directory)")
        if path.is_dir():
            found = sorted(p for p in _walk(path) if _match_extension(p) is not None)
            if not found:
                raise InputError(f"no event files ({_ACCEPTED}) in directory {given}")
            files = [(p, str(Path(given) / p.relative_to(path))) for p in found]
        elif _match_extension(path) is None:
            raise InputError(f"unsupported file extension: {given} (accepted: {_ACCEPTED})")
        else:
            files = [(path, str(given))]
        for file, display in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                sources.append(_source(file, display))
    return sorted(sources, key=lambda s: (str(s.path), s.display))
