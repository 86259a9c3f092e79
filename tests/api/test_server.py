"""The real thing: ``ringscope keys`` and ``ringscope serve`` as processes, over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import publish_copy
from tests.serving import stop_server, wait_until_up

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ringscope.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def server(root: Path) -> Iterator[str]:
    """``ringscope serve`` on a free port; yields its base URL once /readyz says ready."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ringscope.cli",
            "serve",
            "--snapshot",
            str(root),
            "--port",
            str(port),
            "--reload-interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=os.environ | {"RINGSCOPE_DATABASE_URL": ""},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, f"{base}/readyz", timeout_s=60)
        yield base
    finally:
        stop_server(proc, timeout_s=20)


def test_serve_switches_snapshots_and_keeps_verdicts_across_restarts(root, snapshots):
    snapshot = ("--snapshot", str(root))
    created = cli("keys", "create", "--name", "ops", "--role", "investigator", *snapshot)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("rsk_")
    assert key not in (root / "ringscope.sqlite3").read_bytes().decode("latin-1")
    headers = {"Authorization": f"Bearer {key}"}

    with server(root) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/v1/clusters").status_code == 401
        queue = httpx.get(f"{base}/v1/clusters", headers=headers).json()
        assert queue["snapshot_id"] == snapshots.early.name
        cid = queue["items"][0]["cluster_id"]
        verdict = httpx.post(
            f"{base}/v1/clusters/{cid}/verdicts",
            json={"verdict": "dismissed", "note": "newsletter team"},
            headers=headers,
        )
        assert verdict.status_code == 201
        assert httpx.get(f"{base}/docs").status_code == 200

        publish_copy(snapshots.full, root)
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/v1/snapshots", headers=headers).json()["current"] != (
            snapshots.full.name
        ):
            assert time.monotonic() < deadline, "server did not switch to the new snapshot"
            time.sleep(0.2)
        assert httpx.get(f"{base}/readyz").json()["snapshot_id"] == snapshots.full.name

    revoked = cli("keys", "revoke", "ops", "--snapshot", str(root))
    assert revoked.returncode == 0, revoked.stderr
    listed = cli("keys", "list", "--snapshot", str(root))
    assert "ops" in listed.stdout and key not in listed.stdout
    admin = cli("keys", "create", "--name", "root", "--role", "admin", "--snapshot", str(root))
    admin_headers = {"X-API-Key": admin.stdout.strip()}

    with server(root) as base:
        assert httpx.get(f"{base}/v1/clusters", headers=headers).status_code == 401
        history = httpx.get(f"{base}/v1/clusters/{cid}/verdicts", headers=admin_headers).json()
        assert [v["id"] for v in history["items"]] == [verdict.json()["id"]]
        assert history["items"][0]["note"] == "newsletter team"


def test_cli_errors_are_one_line(tmp_path):
    missing = cli("serve", "--snapshot", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a directory" in missing.stderr
    bad_role = cli("keys", "create", "--name", "x", "--role", "root", "--snapshot", str(tmp_path))
    assert bad_role.returncode == 2
    bad_url = cli("keys", "list", "--database-url", "mysql://u@h/db")
    assert bad_url.returncode == 2 and "unsupported database" in bad_url.stderr
    duplicate = [
        cli("keys", "create", "--name", "same", "--role", "service", "--snapshot", str(tmp_path))
        for _ in range(2)
    ]
    assert duplicate[0].returncode == 0
    assert duplicate[1].returncode == 2 and "already exists" in duplicate[1].stderr
