"""Appended suspensions: durable, applied at the next check, robust to a torn line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ringscope.errors import InputError
from ringscope.privacy import Keyring
from ringscope.signup.attempt import parse_attempt
from ringscope.signup.check import open_checker
from ringscope.signup.journal import JOURNAL_NAME, append_suspension, read_suspensions
from tests.signup.conftest import TrapSnapshot


@pytest.fixture
def root(trap: TrapSnapshot, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trap.root, tmp_path / "root"))


def _top(checker, **fields: str) -> tuple[str | None, str]:
    result = checker.check(parse_attempt({"actor_id": "n-1", **fields}))
    top = result["matches"][0]["actor_id"] if result["matches"] else None
    return top, result["decision"]


def test_suspension_of_a_snapshot_actor_applies_at_once_and_after_restart(
    root: Path, trap: TrapSnapshot
) -> None:
    checker = open_checker(root, keyring=trap.keyring)
    assert _top(checker, device_id="dev-nat-3") == (None, "allow")
    append_suspension(root, actor_id="nat-3", keyring=trap.keyring, source="test")
    assert _top(checker, device_id="dev-nat-3") == ("nat-3", "block")  # running checker
    restarted = open_checker(root, keyring=trap.keyring)
    assert _top(restarted, device_id="dev-nat-3") == ("nat-3", "block")
    # nat-3 was one of the NAT's independent users; now the address has one fewer
    result = restarted.check(parse_attempt({"actor_id": "n-2", "ip": "198.51.100.7"}))
    shared = {m["actor_id"]: m["reasons"][0]["shared_with_others"] for m in result["matches"]}
    assert shared == {"b-nat": 59, "nat-3": 59}


def test_suspension_with_identifiers_of_an_unseen_actor(root: Path, trap: TrapSnapshot) -> None:
    identifiers = parse_attempt(
        {"actor_id": "ghost", "device_id": "dev-ghost", "email": "Ghost.Writer7@gmail.com"}
    )
    entry = append_suspension(
        root, actor_id="ghost", keyring=trap.keyring, source="test", identifiers=identifiers
    )
    line = (root / JOURNAL_NAME).read_text()
    assert "dev-ghost" not in line and "ghost.writer" not in line.lower()
    assert set(entry.keys) == {"device", "email", "email_pattern"}
    checker = open_checker(root, keyring=trap.keyring)
    assert _top(checker, device_id="dev-ghost") == ("ghost", "block")
    assert _top(checker, email="ghostwriter8@gmail.com")[0] == "ghost"


def test_torn_and_foreign_lines_are_skipped(root: Path, trap: TrapSnapshot) -> None:
    append_suspension(root, actor_id="nat-1", keyring=trap.keyring, source="test")
    append_suspension(root, actor_id="nat-2", keyring=Keyring(b"another secret!!"), source="x")
    with open(root / JOURNAL_NAME, "ab") as fh:
        fh.write(b'{"actor_id": "nat-9", "ts_ms"')  # a crash mid-write
    entries, offset = read_suspensions(root, key_fingerprint=trap.keyring.fingerprint)
    assert [e.actor_id for e in entries] == ["nat-1"]
    append_suspension(root, actor_id="nat-4", keyring=trap.keyring, source="test")
    more, _ = read_suspensions(root, key_fingerprint=trap.keyring.fingerprint, offset=offset)
    assert [e.actor_id for e in more] == ["nat-4"]
    lines = (root / JOURNAL_NAME).read_text().splitlines()
    assert json.loads(lines[-1])["actor_id"] == "nat-4"


def test_bad_appends_are_refused(tmp_path: Path, trap: TrapSnapshot) -> None:
    with pytest.raises(InputError, match="not found"):
        append_suspension(tmp_path / "nope", actor_id="a", keyring=trap.keyring, source="t")
    with pytest.raises(InputError, match="actor_id"):
        append_suspension(tmp_path, actor_id="  ", keyring=trap.keyring, source="t")
