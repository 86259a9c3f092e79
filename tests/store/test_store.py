"""The verdict store on real databases: keys, verdicts, audit log, durability."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from ringscope.store import ROLES, StoreError, open_store
from ringscope.store.migrate import current_revision, head_revision
from ringscope.store.schema import Base


def test_open_migrates_to_head_and_models_match_migrations(store):
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_is_idempotent(store_url, store):
    store.create_key("alice", "investigator")
    again = open_store(store_url)
    assert [k.name for k in again.list_keys()] == ["alice"]
    again.close()


def test_keys_are_hashed_and_revocable(store):
    key, secret = store.create_key("alice", "investigator")
    assert secret.startswith("rsk_") and len(secret) > 40
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash, prefix FROM api_keys")).one()
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored and stored.prefix == secret[:10]
    assert store.authenticate(secret) == key
    assert store.authenticate(secret + "x") is None
    revoked = store.revoke_key("alice")
    assert revoked.revoked_at is not None and not revoked.active
    assert store.authenticate(secret) is None
    assert store.revoke_key("alice").revoked_at == revoked.revoked_at
    assert [r.kind for r in store.audit_log()] == ["key.revoked", "key.created"]


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("bob", "root", "unknown role"),
        ("", "admin", "invalid key name"),
        ("has space", "admin", "invalid key name"),
        ("x" * 101, "admin", "invalid key name"),
    ],
)
def test_bad_keys_are_refused(store, name, role, message):
    with pytest.raises(StoreError, match=message):
        store.create_key(name, role)
    assert store.list_keys() == []


def test_duplicate_and_unknown_key_names(store):
    for role in ROLES:
        store.create_key(f"k-{role}", role)
    with pytest.raises(StoreError, match="already exists"):
        store.create_key("k-admin", "service")
    with pytest.raises(StoreError, match="no key named"):
        store.revoke_key("nobody")
    assert [k.role for k in store.list_keys()] == list(ROLES)


def test_verdict_history_latest_and_audit(store):
    first = store.add_verdict("c1", "needs_more_info", investigator="ann", snapshot_id="s1")
    second = store.add_verdict("c1", "confirmed", investigator="bo", snapshot_id="s2", note="n")
    other = store.add_verdict("c2", "dismissed", investigator="ann", snapshot_id="s2")
    assert [v.id for v in store.verdicts("c1")] == [second.id, first.id]
    assert store.verdicts("c3") == []
    assert store.latest_verdicts() == {"c1": second, "c2": other}
    assert store.latest_verdicts(["c2", "c9"]) == {"c2": other}
    assert store.latest_verdicts([]) == {}
    assert second.created_at.tzinfo is not None and second.note == "n"
    audits = store.audit_log(kind="verdict.created")
    assert [a.payload["verdict_id"] for a in audits] == [other.id, second.id, first.id]
    with pytest.raises(StoreError, match="unknown verdict"):
        store.add_verdict("c1", "guilty", investigator="x", snapshot_id="s")


def test_audit_log_is_append_only_json(store):
    record = store.append_audit("takedown.exported", "flag-job", {"clusters": ["c1"], "n": 1})
    assert store.audit_log(kind="takedown.exported") == [record]
    assert record.payload == {"clusters": ["c1"], "n": 1}


def test_concurrent_writers_lose_nothing(store):
    def write(who: str) -> None:
        for i in range(20):
            store.add_verdict(f"c{i % 3}", "confirmed", investigator=who, snapshot_id="s")

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(store.verdicts(f"c{i}")) for i in range(3)) == 80


def test_sqlite_is_wal_and_fully_synchronous(sqlite_url):
    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
    store.close()


def test_acknowledged_verdict_survives_a_killed_process(sqlite_url):
    script = (
        "import os, signal, sys\n"
        "from ringscope.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "v = store.add_verdict('c1', 'confirmed', investigator='a', snapshot_id='s')\n"
        "print(v.id, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, sqlite_url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL
    store = open_store(sqlite_url)
    assert [v.id for v in store.verdicts("c1")] == [int(done.stdout.strip())]
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("not a url", "not a database URL"),
        ("sqlite://", "needs a SQLite file"),
        ("sqlite:////nonexistent-dir/x.sqlite3", "does not exist"),
        ("postgresql://nobody@127.0.0.1:1/x", "cannot open the store"),
    ],
)
def test_bad_urls_are_clear_errors(url, message):
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_postgres_urls_use_psycopg(postgres_url):
    store = open_store(postgres_url)
    assert store.engine.dialect.name == "postgresql"
    assert store.engine.dialect.driver == "psycopg"
    assert store.ping()
    store.close()
    assert os.environ.get("RINGSCOPE_DATABASE_URL") != postgres_url
