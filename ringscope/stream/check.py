"""Check posted events exactly as batch ingest checks a JSON Lines file.

A posted array is written out as JSON Lines (one canonical line per element: keys
sorted, so an event has one byte form whatever order its fields came in) and read by
the same parser and the same :func:`ringscope.ingest.pipeline.check_batch` as an
event file: the same reject codes, the same scrubbed preview and sealed record. The
canonical line is also what the log stores and what the content-hash idempotency key
(:func:`event_key`) is made from.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from ringscope.ingest.jsonl import new_parser, parse_block
from ringscope.ingest.pipeline import check_batch
from ringscope.ingest.rejects import empty_rejects
from ringscope.ingest.sources import Source
from ringscope.privacy import Keyring

__all__ = ["CheckedEvents", "EventChecker", "canonical_line", "event_key"]


def canonical_line(event: Any) -> bytes:
    """One event as a single JSON line, keys sorted (no newline inside: JSON escapes it)."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def event_key(event: Any, line: bytes) -> str:
    """The idempotency key of an accepted event: its ``event_id`` (stripped, as ingest
    keeps it), or the SHA-256 of its canonical line when it has none."""
    if isinstance(event, dict):
        given = event.get("event_id")
        if isinstance(given, str) and given.strip():
            return "id:" + given.strip()
    return "sha256:" + hashlib.sha256(line).hexdigest()


@dataclass
class CheckedEvents:
    """The outcome of checking one posted array.

    ``accepted`` holds (index in the array, canonical line, idempotency key) of each
    valid event in order; ``rejects`` the reject records (``position`` = array index).
    """

    accepted: list[tuple[int, bytes, str]]
    rejects: pl.DataFrame


class EventChecker:
    """Checks posted arrays; one parser (DuckDB connection) per thread, made on first use."""

    def __init__(self, keyring: Keyring, source_name: str = "POST /v1/events") -> None:
        self.keyring = keyring
        self._source = Source(
            path=Path(source_name), display=source_name, format="jsonl", compressed=False, size=0
        )
        self._local = threading.local()

    def _parser(self) -> Any:
        parser = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = new_parser(threads=1)
        return parser

    def check(self, events: list[Any]) -> CheckedEvents:
        """Validate ``events`` (any JSON values: a non-object is rejected, not an error)."""
        if not events:
            return CheckedEvents([], empty_rejects())
        lines = [canonical_line(e) for e in events]
        batch = parse_block(self._parser(), self._source, b"\n".join(lines) + b"\n", 0)
        assert batch is not None and len(batch) == len(events)
        _, bad, rejects = check_batch(batch, self.keyring)
        positions = batch.positions.tolist()
        accepted = [
            (pos, lines[pos], event_key(events[pos], lines[pos]))
            for pos, is_bad in zip(positions, bad.tolist(), strict=True)
            if not is_bad
        ]
        return CheckedEvents(accepted, rejects if rejects is not None else empty_rejects())
