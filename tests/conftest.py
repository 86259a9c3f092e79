"""Shared fixtures: small event tables in the canonical schema, built without ingest, the
real data sets, and one real PostgreSQL server for the whole run when one can be had.

PostgreSQL comes from ``RINGSCOPE_TEST_POSTGRES_URL`` when set; otherwise, if the Debian
``postgresql`` binaries are installed, a throwaway cluster is started in a temporary
directory (as the ``postgres`` user via ``runuser`` when the tests run as root, since
PostgreSQL refuses to run as root). Without either, PostgreSQL tests skip and say why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from ringscope.graph.schema import EVENT_SCHEMA

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""Real public data sets, kept next to the project and never copied into it."""

MIN = 60_000
T0 = 1_790_000_000_000


def make_events(rows: list[dict]) -> pl.DataFrame:
    """Canonical event table from partial rows (missing fields are null)."""
    full = []
    for i, r in enumerate(rows):
        row = {c: None for c in EVENT_SCHEMA}
        row.update({"event_id": f"e{i}", "actor_key": f"k-{r['actor_id']}"})
        row.update(r)
        full.append(row)
    return pl.DataFrame(full, schema=EVENT_SCHEMA).sort("ts", "actor_id")


@pytest.fixture
def ring_events() -> pl.DataFrame:
    """Five accounts blasting one template and domain to strangers, plus busy legit users."""
    rows: list[dict] = []
    ring = [f"r{i}" for i in range(5)]
    for wave in range(3):
        for j, a in enumerate(ring):
            ts = T0 + wave * 600 * MIN + j * MIN
            rows.append(
                {
                    "ts": ts,
                    "actor_id": a,
                    "event_type": "message",
                    "message_key": f"m-{a}-{wave}",
                    "recipients": [f"k-s{wave}{j}", f"k-t{wave}{j}"],
                    "domains": ["spam.example"],
                    "content_bands": [101, 102, 103 + wave],
                    "device_key": "dev-farm",
                    "ip_key": "ip-1",
                    "subnet_key": "net-1",
                }
            )
    legit = [f"l{i}" for i in range(6)]
    for day in range(4):
        for j, a in enumerate(legit):
            ts = T0 + day * 1440 * MIN + j * 97 * MIN
            friend = legit[(j + 1) % len(legit)]
            rows.append(
                {
                    "ts": ts,
                    "actor_id": a,
                    "event_type": "message",
                    "message_key": f"m-{a}-{day}",
                    "recipients": [f"k-{friend}"],
                    "domains": ["news.example", f"own{j}.example"],
                    "content_bands": [1000 + 10 * j + day],
                    "device_key": f"dev-{a}",
                    "ip_key": f"ip-{a}",
                    "subnet_key": f"net-{j % 2}",
                }
            )
    return make_events(rows)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data directory; tests that need it fail loudly when it is missing."""
    assert SHARED_DATA.is_dir(), f"real data directory missing: {SHARED_DATA}"
    return SHARED_DATA


POSTGRES_ENV = "RINGSCOPE_TEST_POSTGRES_URL"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: from the environment, or a temporary local cluster."""
    if os.environ.get(POSTGRES_ENV):
        yield os.environ[POSTGRES_ENV]
        return
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(f"no PostgreSQL: set {POSTGRES_ENV} or install the postgresql package")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            pytest.skip(f"running as root and no postgres user to run as; set {POSTGRES_ENV}")
        prefix = [runuser, "-u", "postgres", "--"]
    workdir = Path(tempfile.mkdtemp(prefix="ringscope-pg-"))
    if owner is not None:
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
    data, port = workdir / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    try:
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            **run,
        )
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=on"
        subprocess.run(
            # -l: the server must not inherit our pipes, or this call waits for it to exit.
            [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(workdir / "log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            **run,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        output = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"could not start a local PostgreSQL: {output.decode()[-300:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)
