"""Atomic publication: a failed write leaves the previous snapshot and LATEST intact."""

from __future__ import annotations

import pytest

from ringscope.errors import SnapshotError
from ringscope.snapshot import (
    REQUIRED_FILES,
    latest_snapshot,
    list_snapshots,
    publish_snapshot,
    remove_stale_partials,
    resolve_snapshot,
)


def _complete(tmp):
    for name in REQUIRED_FILES:
        (tmp / name).write_text("{}" if name.endswith(".json") else "x")


def test_publish_then_failed_publish_keeps_previous(tmp_path):
    first = publish_snapshot(tmp_path, "20260101T000000000000Z", _complete)
    assert latest_snapshot(tmp_path) == first

    def crash(tmp):
        (tmp / "manifest.json").write_text("{}")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish_snapshot(tmp_path, "20260102T000000000000Z", crash)
    assert latest_snapshot(tmp_path) == first
    assert list_snapshots(tmp_path) == [first]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".2026")] == []


def test_incomplete_writer_is_not_published(tmp_path):
    with pytest.raises(SnapshotError, match="did not produce"):
        publish_snapshot(tmp_path, "20260101T000000000000Z", lambda t: None)
    assert latest_snapshot(tmp_path) is None


def test_resolve_accepts_root_or_snapshot_and_explains_failures(tmp_path):
    snap = publish_snapshot(tmp_path, "20260101T000000000000Z", _complete)
    assert resolve_snapshot(tmp_path) == snap
    assert resolve_snapshot(snap) == snap
    with pytest.raises(SnapshotError, match="does not exist"):
        resolve_snapshot(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SnapshotError, match="neither a snapshot"):
        resolve_snapshot(tmp_path / "empty")
    (snap / "members.parquet").unlink()
    with pytest.raises(SnapshotError, match="incomplete"):
        resolve_snapshot(snap)


def test_existing_snapshot_id_is_refused(tmp_path):
    publish_snapshot(tmp_path, "s1", _complete)
    with pytest.raises(SnapshotError, match="already exists"):
        publish_snapshot(tmp_path, "s1", _complete)


def test_stale_partials_go_but_a_live_writers_stays(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    dead = root / ".20240101T000000000000Z.partial"
    dead.mkdir()
    (dead / ".owner").touch()  # its writer died: nobody holds the lock
    (root / ".LATEST.999999999").write_text("x\n")
    seen_while_writing: list = []

    def write(tmp):
        seen_while_writing.extend(remove_stale_partials(root))
        assert tmp.is_dir(), "a live writer's partial directory is kept"
        for name in REQUIRED_FILES:
            (tmp / name).write_text("{}")

    publish_snapshot(root, "20240102T000000000000Z", write)
    assert sorted(p.name for p in seen_while_writing) == sorted([dead.name, ".LATEST.999999999"])
    assert not (root / "20240102T000000000000Z" / ".owner").exists()


def test_a_dead_writers_partial_goes_even_before_it_was_locked(tmp_path):
    # killed between making the directory and locking it (or after unlocking it to
    # flush): no owner file, fresh mtime, but the pid in its name is gone
    dead = tmp_path / ".20240101T000000000000Z.999999999.partial"
    dead.mkdir()
    (dead / "actors.parquet").write_text("x")
    assert remove_stale_partials(tmp_path) == [dead]
    assert not dead.exists()
