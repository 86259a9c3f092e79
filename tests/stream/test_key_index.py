"""The idempotency index on disk: a reopen reads only the log past the index checkpoint;
an index behind the log (a crash between the segment's ``fsync`` and the index commit)
is caught up so nothing is lost or doubled; a root made before the index is indexed
once; compaction keeps the count right; and a real server restarted on a large log holds
no keys in memory yet refuses every logged event again, also after ``kill -9`` in the
window between the ``fsync`` and the commit.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from ringscope.ingest.rejects import empty_rejects
from ringscope.stream.check import CheckedEvents, EventChecker, canonical_line, event_key
from ringscope.stream.compact import JOURNAL, compact, finish_compaction
from ringscope.stream.log import EventLog, key_index_path, sealed_segments
from tests.stream.test_compact import KEYRING, _post, _server

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock, /proc")


def _events(first: int, n: int) -> list[dict]:
    """Valid events; every fifth has no ``event_id`` (keyed by content hash)."""
    out = []
    for i in range(first, first + n):
        event = {"ts": f"2026-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z", "event_type": "login"}
        event["actor_id"] = f"acct-{i % 97}"
        event["ip"] = f"10.0.{i // 256 % 256}.{i % 256}"
        if i % 5:
            event["event_id"] = f"evt-{i:08d}"
        out.append(event)
    return out


def _checked(events: list[dict]) -> CheckedEvents:
    """What the checker makes of valid events (its lines and keys), without parsing them."""
    lines = [canonical_line(e) for e in events]
    accepted = [(i, x, event_key(e, x)) for i, (e, x) in enumerate(zip(events, lines, strict=True))]
    return CheckedEvents(accepted, empty_rejects())


def _log_lines(root: Path) -> list[bytes]:
    segments = sealed_segments(root) + sorted((root / "stream" / "active").glob("seg-*"))
    return [x for s in segments for x in s.read_bytes().split(b"\n") if x]


def _keys(lines: list[bytes]) -> list[str]:
    return [event_key(orjson.loads(x), x) for x in lines]


def test_a_reopen_reads_only_the_log_past_the_checkpoint(tmp_path: Path) -> None:
    checker = EventChecker(KEYRING)
    log = EventLog(tmp_path).open()
    for first in (0, 100, 200):
        assert log.append(checker.check(_events(first, 100))).stored == 100
        log.seal()
    log.close()
    assert key_index_path(tmp_path).exists()
    log = EventLog(tmp_path).open()
    assert (log.tail_indexed, log.total, log.sealed_total) == (0, 300, 300)
    again = log.append(checker.check(_events(50, 200)))  # all logged, in three segments
    assert (again.stored, again.duplicates) == (0, 200)
    log.close()


def test_an_index_behind_the_log_is_caught_up(tmp_path: Path) -> None:
    """The index as it was before the last append (its commit lost, the lines durable)."""
    checker = EventChecker(KEYRING)
    log = EventLog(tmp_path).open()
    log.append(checker.check(_events(0, 100)))
    log.seal()
    log.append(checker.check(_events(100, 50)))
    log.close()
    index = key_index_path(tmp_path)
    saved = tmp_path / "saved.sqlite"
    shutil.copyfile(index, saved)  # closed: the WAL is folded into the file
    log = EventLog(tmp_path).open()
    log.append(checker.check(_events(150, 70)))  # same active segment
    log.seal()
    log.append(checker.check(_events(220, 30)))  # a newer segment
    log.close()
    shutil.copyfile(saved, index)
    log = EventLog(tmp_path).open()
    assert (log.tail_indexed, log.total, log.sealed_total) == (100, 250, 220)
    retry = log.append(checker.check(_events(140, 120)))
    assert (retry.stored, retry.duplicates) == (10, 110)
    log.close()
    keys = _keys(_log_lines(tmp_path))
    assert len(keys) == len(set(keys)) == 260


def test_a_root_made_before_the_index_is_indexed_once(tmp_path: Path) -> None:
    checker = EventChecker(KEYRING)
    log = EventLog(tmp_path).open()
    log.append(checker.check(_events(0, 120)))
    log.seal()
    log.append(checker.check(_events(120, 30)))
    log.close()
    for path in (tmp_path / "stream").glob("keys.sqlite*"):
        path.unlink()
    log = EventLog(tmp_path).open()
    assert (log.tail_indexed, log.total, log.sealed_total) == (150, 150, 120)
    assert log.append(checker.check(_events(0, 150))).duplicates == 150
    log.close()
    log = EventLog(tmp_path).open()
    assert log.tail_indexed == 0 and log.total == 150
    log.close()


def test_compaction_lowers_the_count_by_the_lines_it_drops_once(tmp_path: Path) -> None:
    checker = EventChecker(KEYRING)
    log = EventLog(tmp_path).open()
    log.append(checker.check(_events(0, 40)))
    log.seal()
    log.append(checker.check(_events(40, 40)))
    log.close()
    (active,) = (tmp_path / "stream" / "active").iterdir()
    with open(active, "ab") as fh:  # a line the log would never store: a key logged before
        fh.write(canonical_line(_events(3, 1)[0]) + b"\n")
    log = EventLog(tmp_path).open()
    assert (log.tail_indexed, log.total) == (1, 81)
    log.seal()
    log.close()
    report = compact(tmp_path)
    assert (report.duplicates_dropped, report.events) == (1, 80)
    # a crash after the count was lowered and before the journal was removed: applied again
    (tmp_path / "stream" / JOURNAL).write_bytes(
        orjson.dumps(
            {
                "outputs": {sealed_segments(tmp_path)[0].name: []},
                "cache": False,
                "generation": report.generation,
                "dropped": 1,
            }
        )
    )
    assert finish_compaction(tmp_path)
    log = EventLog(tmp_path).open()
    assert (log.tail_indexed, log.total, log.sealed_total) == (0, 80, 80)
    assert log.append(checker.check(_events(0, 80))).duplicates == 80
    log.close()
    assert len(_log_lines(tmp_path)) == 80


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _log_events(url: str, headers: dict) -> int:
    """The server's count of logged events (its metric: no snapshot is needed)."""
    metrics = httpx.get(f"{url}/metrics", headers=headers, timeout=30).text
    (line,) = [x for x in metrics.splitlines() if x.startswith("ringscope_stream_log_events ")]
    return round(float(line.split()[1]))


LARGE = 200_000  # events; as keys in a Python set, about 25 MB


@pytest.mark.slow
def test_a_server_restarted_on_a_large_log_holds_no_keys_yet_refuses_them(
    tmp_path: Path,
) -> None:
    roots = {"small": tmp_path / "small", "large": tmp_path / "large"}
    for name, root in roots.items():
        root.mkdir()
        log = EventLog(root).open()
        n = LARGE if name == "large" else 500
        for first in range(0, n, 5000):
            log.append(_checked(_events(first, min(5000, n - first))))
            if first % 50_000 == 45_000:
                log.seal()
        log.close()
    rss = {}
    for name, root in roots.items():
        with _server(root, "--batch-interval", "3600", "--max-backlog", str(2 * LARGE)) as (
            proc,
            url,
            headers,
        ):
            n = LARGE if name == "large" else 500
            assert _log_events(url, headers) == n
            old = _events(0, 250) + _events(n - 250, 250)  # the oldest and newest logged
            again = _post(url, headers, old)
            assert (again["accepted"], again["duplicates"]) == (500, 500)
            assert _post(url, headers, _events(n, 500))["duplicates"] == 0
            rss[name] = _rss_mb(proc.pid)
    # keys held in memory would cost ~25 MB more; the index's page cache is 2 MB
    assert rss["large"] - rss["small"] < 10, rss


@pytest.mark.slow
def test_a_kill_between_the_segment_fsync_and_the_index_commit(tmp_path: Path) -> None:
    """``kill -9`` a server, then leave the log as a kill inside an append's window
    (lines durable, keys not committed, no answer) would: nothing lost or doubled."""
    root = tmp_path / "root"
    root.mkdir()
    acked, lost_answer, new = _events(0, 400), _events(400, 300), _events(700, 200)
    with _server(root, "--batch-interval", "3600") as (proc, url, headers):
        assert _post(url, headers, acked)["duplicates"] == 0
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (active,) = (root / "stream" / "active").iterdir()
    with open(active, "ab") as fh:
        fh.write(b"".join(canonical_line(e) + b"\n" for e in lost_answer))
        fh.flush()
        os.fsync(fh.fileno())
    with _server(root, "--batch-interval", "3600") as (proc, url, headers):
        assert _log_events(url, headers) == 700
        retry = _post(url, headers, lost_answer + new[:100])  # the client's retry
        assert (retry["accepted"], retry["duplicates"]) == (400, 300)
        assert _post(url, headers, acked + new)["duplicates"] == 500
        assert _log_events(url, headers) == 900
    keys = _keys(_log_lines(root))
    assert len(keys) == len(set(keys)) == 900
    posted = acked + lost_answer + new
    assert set(keys) == {event_key(e, canonical_line(e)) for e in posted}
