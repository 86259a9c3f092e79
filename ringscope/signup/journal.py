"""Suspensions appended after a snapshot was made: an append-only, fsynced journal file.

A suspended actor must count at the very next signup check, not after the next pipeline
run. ``ROOT/suspensions.jsonl`` (next to the snapshots and ``LATEST``) holds one JSON
line per appended suspension; every reader of the root (the API, ``check-signups``) adds
them to the offender index it loaded, so they apply to every snapshot published under
that root, old or new, and survive restarts.

Why a file in the snapshot root and not the API's database: the root is the one thing
the pipeline, the batch CLI and the API all share (the CLI works without a database or a
server), the journal travels with the snapshots it qualifies, and an append of one line
with ``O_APPEND``, an exclusive ``flock`` and ``fsync`` (plus the directory on creation)
is durable and safe for concurrent writers.

Each line carries only the actor id, the time, who appended it, the keyring fingerprint
and, when the signup path gave identifiers, their keyed hashes and name trigram hashes,
made exactly as ingest makes them: never a raw value. A torn last line (a crash
mid-write) is skipped when read and the next append starts on a fresh line.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ringscope.errors import InputError
from ringscope.privacy import Keyring
from ringscope.signup.attempt import SignupAttempt
from ringscope.signup.fuzzy import attempt_keys

__all__ = ["JOURNAL_NAME", "Suspension", "append_suspension", "read_suspensions"]

JOURNAL_NAME = "suspensions.jsonl"
_MAX_ID_LEN = 256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suspension:
    """One appended suspension: an actor, when, by whom, and its keyed identifiers."""

    actor_id: str
    ts_ms: int
    source: str
    key_fingerprint: str
    keys: dict[str, str] = field(default_factory=dict)
    name_grams: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The journal line (and API response) for this suspension."""
        return {
            "actor_id": self.actor_id,
            "suspended_at": datetime.fromtimestamp(self.ts_ms / 1000, tz=UTC).isoformat(),
            "ts_ms": self.ts_ms,
            "source": self.source,
            "key_fingerprint": self.key_fingerprint,
            "keys": self.keys,
            "name_grams": list(self.name_grams),
        }


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_suspension(
    root: Path,
    *,
    actor_id: str,
    keyring: Keyring,
    source: str,
    identifiers: SignupAttempt | None = None,
    ts_ms: int | None = None,
) -> Suspension:
    """Append one suspension durably to ``root``'s journal and return it.

    Args:
        root: The snapshot root (must exist).
        actor_id: The suspended account.
        keyring: The keys the snapshots under ``root`` were made with.
        source: Who appended it (``cli``, ``api:<key name>``), for the audit trail.
        identifiers: The account's raw identifiers, when it may not be in a snapshot
            (hashed here; only the hashes are written).
        ts_ms: When it was suspended (default: now).

    Raises:
        InputError: ``root`` is not a directory or ``actor_id`` is empty or too long.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"snapshot root not found: {root}")
    actor_id = actor_id.strip() if isinstance(actor_id, str) else ""
    if not actor_id or len(actor_id) > _MAX_ID_LEN:
        raise InputError(f"actor_id must be a non-empty string of at most {_MAX_ID_LEN} chars")
    keys, grams = {}, ()
    if identifiers is not None:
        made = attempt_keys(identifiers, keyring)
        keys, grams = made.keys, tuple(int(g) for g in made.grams)
    entry = Suspension(
        actor_id=actor_id,
        ts_ms=ts_ms if ts_ms is not None else int(datetime.now(UTC).timestamp() * 1000),
        source=source,
        key_fingerprint=keyring.fingerprint,
        keys=keys,
        name_grams=grams,
    )
    line = json.dumps(entry.to_json(), separators=(",", ":")).encode() + b"\n"
    path = root / JOURNAL_NAME
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a torn line from a crash stays on its own line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_dir(root)
    return entry


def read_suspensions(
    root: Path, *, key_fingerprint: str, offset: int = 0
) -> tuple[list[Suspension], int]:
    """Suspensions appended to ``root``'s journal from byte ``offset`` on.

    Lines made under another keyring (their hashes could never match) and torn or
    unreadable lines are skipped with a warning that gives only their count.

    Returns:
        The suspensions in append order and the offset to read on from next time
        (the end of the last complete line).
    """
    path = Path(root) / JOURNAL_NAME
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out: list[Suspension] = []
    skipped = foreign = 0
    for raw in data[:end].splitlines():
        try:
            rec = json.loads(raw)
            entry = Suspension(
                actor_id=str(rec["actor_id"]),
                ts_ms=int(rec["ts_ms"]),
                source=str(rec["source"]),
                key_fingerprint=str(rec["key_fingerprint"]),
                keys={str(k): str(v) for k, v in rec.get("keys", {}).items()},
                name_grams=tuple(int(g) for g in rec.get("name_grams", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            skipped += 1
            continue
        if entry.key_fingerprint != key_fingerprint:
            foreign += 1
            continue
        out.append(entry)
    if skipped or foreign:
        log.warning(
            "suspension journal: skipped %d unreadable line(s) and %d made under another key",
            skipped,
            foreign,
        )
    return out, offset + end
