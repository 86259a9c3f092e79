"""Bulk verdicts: import from another tool and export, as CSV or JSON Lines.

One row per verdict with the columns ``cluster_id`` or ``actor_id`` (exactly one),
``verdict`` (confirmed, dismissed, needs_more_info), ``note`` (optional),
``investigator`` and ``time`` (ISO 8601 with a timezone, e.g. ``2026-11-30T14:05:00Z``).
Export writes the same columns, so an export imports again.

An import checks every row first and writes nothing unless all pass; then all rows go
in one transaction. A row is rejected, with its line number and reason, when a column
is missing, unknown or malformed, when it names both or neither id, a cluster that the
current snapshot lacks or an account it has never seen, or repeats an earlier row.
Cluster verdicts are stored against the current snapshot with the cluster's feature
vector and members there, exactly as if given through the API.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ringscope.errors import InputError
from ringscope.feedback.features import cluster_features, feature_vector
from ringscope.store import VERDICTS, Store

__all__ = ["COLUMNS", "BulkError", "export_verdicts", "import_verdicts", "read_rows"]

COLUMNS = ("cluster_id", "actor_id", "verdict", "note", "investigator", "time")
_REQUIRED = ("verdict", "investigator", "time")
_MAX_NOTE, _MAX_NAME, _MAX_ID = 2000, 200, 256
_CLOCK_SKEW = timedelta(minutes=5)


class BulkError(InputError):
    """Rows of a bulk file were rejected; nothing was imported."""

    def __init__(self, path: Path, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "\n".join(f"  line {n}: {why}" for n, why in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{len(problems)} bad row(s) in {path}; nothing was imported:\n{shown}{more}"
        )


def _format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise InputError(f"cannot tell the format of {path}: name it .csv or .jsonl, or pass --format")


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) per record; a row that cannot be parsed comes as its error."""
    kind = _format(path, fmt)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        if kind == "csv":
            reader = csv.DictReader(handle)
            unknown = set(reader.fieldnames or ()) - set(COLUMNS)
            if unknown:
                yield 1, f"unknown column(s) {sorted(unknown)}; expected {', '.join(COLUMNS)}"
                return
            start = 2
            for row in reader:
                yield start, row
                start = reader.line_num + 1
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"
                continue
            if not isinstance(row, dict):
                yield number, "not a JSON object"
                continue
            yield number, row


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("time is missing")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time {value!r} is not ISO 8601") from None
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no timezone (add Z or +hh:mm)")
    when = when.astimezone(UTC)
    if when > datetime.now(UTC) + _CLOCK_SKEW:
        raise ValueError(f"time {value!r} is in the future")
    return when


def _text(row: dict[str, Any], name: str, limit: int) -> str | None:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value.strip()


@dataclass(frozen=True)
class _Snapshot:
    snapshot_id: str
    clusters: pl.DataFrame
    members: pl.DataFrame
    actors: frozenset[str]


def _check(row: dict[str, Any], snap: _Snapshot) -> tuple[str, str, dict[str, Any]]:
    """("cluster" | "actor", id, store fields) of a valid row; ValueError otherwise."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    missing = [c for c in _REQUIRED if _text(row, c, _MAX_NOTE) is None]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    cluster_id, actor_id = _text(row, "cluster_id", 64), _text(row, "actor_id", _MAX_ID)
    if (cluster_id is None) == (actor_id is None):
        raise ValueError("give exactly one of cluster_id and actor_id")
    verdict = _text(row, "verdict", 20)
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; choose one of {', '.join(VERDICTS)}")
    fields = {
        "verdict": verdict,
        "note": _text(row, "note", _MAX_NOTE),
        "investigator": _text(row, "investigator", _MAX_NAME),
        "created_at": _parse_time(row.get("time")),
    }
    if actor_id is not None:
        if actor_id not in snap.actors:
            raise ValueError(f"account {actor_id!r} is not in snapshot {snap.snapshot_id}")
        return "actor", actor_id, fields | {"actor_id": actor_id}
    match = snap.clusters.filter(pl.col("cluster_id") == cluster_id)
    if match.is_empty():
        raise ValueError(f"no cluster {cluster_id!r} in snapshot {snap.snapshot_id}")
    prior = "prior_score" if "prior_score" in match.columns else "score"
    members = snap.members.filter(pl.col("cluster_id") == cluster_id)["actor_id"].to_list()
    return (
        "cluster",
        cluster_id,
        fields
        | {
            "cluster_id": cluster_id,
            "snapshot_id": snap.snapshot_id,
            "features": feature_vector(cluster_features(match, prior).row(0, named=True)),
            "actor_ids": members,
        },
    )


def import_verdicts(
    path: Path, snapshot: Path, store: Store, *, fmt: str | None = None, principal: str = "cli"
) -> tuple[int, int]:
    """Check every row of ``path`` against ``snapshot``, then import all in one go.

    Returns (cluster verdicts, account verdicts) added; raises :class:`BulkError` with
    every bad row (and imports nothing) when any row is bad.
    """
    manifest = json.loads((snapshot / "manifest.json").read_text())
    snap = _Snapshot(
        str(manifest["snapshot_id"]),
        pl.read_parquet(snapshot / "clusters.parquet"),
        pl.read_parquet(snapshot / "members.parquet", columns=["cluster_id", "actor_id"]),
        frozenset(pl.read_parquet(snapshot / "actors.parquet", columns=["actor_id"])["actor_id"]),
    )
    clusters, actors, problems = [], [], []
    seen: dict[tuple[str, str, str, datetime], int] = {}
    for number, row in read_rows(path, fmt):
        if isinstance(row, str):
            problems.append((number, row))
            continue
        try:
            kind, ident, fields = _check(row, snap)
        except ValueError as exc:
            problems.append((number, str(exc)))
            continue
        key = (kind, ident, fields["investigator"], fields["created_at"])
        if key in seen:
            problems.append((number, f"repeats line {seen[key]}"))
            continue
        seen[key] = number
        (clusters if kind == "cluster" else actors).append(fields)
    if problems:
        raise BulkError(path, problems)
    if not clusters and not actors:
        raise InputError(f"no verdicts in {path}")
    return store.import_verdicts(clusters, actors, principal=principal)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_verdicts(path: Path, store: Store, *, fmt: str | None = None) -> int:
    """Write every cluster and account verdict, oldest first; returns the row count."""
    rows = [
        {"cluster_id": v.cluster_id, "actor_id": None, "verdict": v.verdict, "note": v.note,
         "investigator": v.investigator, "time": _iso(v.created_at)}
        for v in store.all_verdicts()
    ] + [
        {"cluster_id": None, "actor_id": v.actor_id, "verdict": v.verdict, "note": v.note,
         "investigator": v.investigator, "time": _iso(v.created_at)}
        for v in store.actor_verdicts()
    ]  # fmt: skip
    rows.sort(key=lambda r: r["time"])
    kind = _format(path, fmt)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as out:
        if kind == "csv":
            writer = csv.DictWriter(out, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
        else:
            for r in rows:
                out.write(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n")
    tmp.replace(path)
    return len(rows)
