"""Find the raw messages in what a user points at: a directory tree, a tar archive, an mbox.

Every message comes with a stable address (``source``, ``position``) so a reject can be
found again: ``source`` is the file (``archive.tar.gz::folder/name`` for an archive
member) and ``position`` the 1-based line the message starts on (1 for a file that
holds one message). The order is deterministic: sorted paths in a directory tree,
archive order in a tar file, file order in an mbox.

Which files are mboxes: a file whose name ends in ``.mbox`` (or is ``mbox``), anywhere,
and a single file given directly that starts with an mbox ``From `` line. Every other
file is one message; in particular a directory of single messages that each start with
an envelope ``From `` line (the SpamAssassin corpus, many archives) is read one message
per file, so a body line that happens to look like an envelope never splits a message.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ringscope.errors import InputError

__all__ = ["RawMessage", "iter_messages", "split_mbox"]

# An mbox envelope line: "From <sender> <asctime date>", e.g.
# "From 12a1mailbot1@web.de  Thu Aug 22 13:17:22 2002".
_ENVELOPE = re.compile(rb"^From \S+\s+\S.*\d{1,2}:\d{2}")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class RawMessage:
    """One message's bytes, where it came from, and the top-level folder it sits in."""

    source: str
    position: int
    data: bytes
    folder: str | None = None


def _is_mbox_name(name: str) -> bool:
    """Whether a file name marks an mbox (``*.mbox``, ``*.mbox.gz``, ``mbox``)."""
    lower = name.lower().removesuffix(".gz")
    return lower == "mbox" or lower.endswith(".mbox")


def split_mbox(lines: Iterable[bytes], source: str, folder: str | None) -> Iterator[RawMessage]:
    """Messages of an mbox: each starts at an envelope line at the top or after a blank line.

    ``>From `` lines are unescaped one level (mboxrd; harmless for mboxo). Bytes before
    the first envelope line (not an mbox message) come out as one message of their own,
    so they are rejected with their position rather than lost.
    """
    current: list[bytes] = []
    start = 1
    blank_before = True
    for number, line in enumerate(lines, start=1):
        if blank_before and _ENVELOPE.match(line):
            if current:
                yield RawMessage(source, start, b"".join(current), folder)
            current, start = [], number
        blank_before = line in (b"\n", b"\r\n")
        current.append(_ESCAPED_FROM.sub(rb"\1", line))
    if current:
        yield RawMessage(source, start, b"".join(current), folder)


def _maybe_gunzip(data: bytes) -> bytes:
    """Decompress gzip data (a ``.gz`` file); other data as it is."""
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):  # a truncated or corrupt .gz: keep the bytes for the reject
        return data


def _file_messages(
    data: bytes, source: str, folder: str | None, *, mbox: bool
) -> Iterator[RawMessage]:
    """The message(s) in one file's bytes."""
    if mbox:
        yield from split_mbox(data.splitlines(keepends=True), source, folder)
    else:
        yield RawMessage(source, 1, data, folder)


def _folder(relative: str) -> str | None:
    """Top-level folder of a path inside a tree or archive (None for a top-level file)."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    return parts[0] if len(parts) > 1 else None


def _directory_messages(root: Path, given: str) -> Iterator[RawMessage]:
    """Every regular file below ``root``, sorted by path."""
    files: list[Path] = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        files.extend(Path(directory) / name for name in names)
    for file in sorted(files):
        if not file.is_file():
            continue
        relative = file.relative_to(root).as_posix()
        data = _maybe_gunzip(file.read_bytes())
        display = str(Path(given) / relative)
        yield from _file_messages(data, display, _folder(relative), mbox=_is_mbox_name(file.name))


def _tar_messages(path: Path, given: str) -> Iterator[RawMessage]:
    """Every regular member of a tar archive (any compression), in archive order."""
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                handle = archive.extractfile(member)
                assert handle is not None  # regular members always have data
                data = _maybe_gunzip(handle.read())
                name = member.name.removeprefix("./")
                yield from _file_messages(
                    data,
                    f"{given}::{name}",
                    _folder(name),
                    mbox=_is_mbox_name(Path(name).name),
                )
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{given}: unreadable tar archive ({exc})") from exc


def _open(path: Path) -> BinaryIO:
    """The file's bytes, decompressed on the fly when it is gzip data."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")  # type: ignore[return-value]


def _single_file_messages(path: Path, given: str) -> Iterator[RawMessage]:
    """A file given directly: an mbox when named so or when it starts with an envelope line.

    An mbox is streamed line by line, so its size is not bounded by memory.
    """
    with _open(path) as stream:
        try:
            first = stream.readline()
            if _is_mbox_name(path.name) or _ENVELOPE.match(first):
                yield from split_mbox(_chain_first(first, stream), given, None)
            else:
                yield RawMessage(given, 1, first + stream.read())
        except (OSError, EOFError) as exc:  # e.g. a truncated .gz
            raise InputError(f"{given}: unreadable file ({exc})") from exc


def _chain_first(first: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The already-read first line, then the rest of the stream line by line."""
    yield first
    yield from stream


def iter_messages(path: str | os.PathLike[str]) -> Iterator[RawMessage]:
    """Every raw message under ``path``, each with its source and position.

    Args:
        path: A directory tree of message files, a tar archive (``.tar``, ``.tar.gz``,
            ``.tgz``, ...) of one, an mbox file, or a single message file; ``.gz`` files
            are decompressed.

    Raises:
        InputError: The path does not exist or an archive cannot be read.
    """
    given = str(path)
    path = Path(path)
    if not path.exists():
        raise InputError(f"mail input {given} does not exist")
    if path.is_dir():
        yield from _directory_messages(path, given)
    elif tarfile.is_tarfile(path):
        yield from _tar_messages(path, given)
    else:
        yield from _single_file_messages(path, given)
