"""Store fixtures: a real SQLite file, and a real PostgreSQL server when one can be had.

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

import pytest

from ringscope.store import Store, open_store

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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL (skipped when PostgreSQL is unavailable)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on each backend, emptied of rows a previous test left behind."""
    opened = open_store(store_url)
    from ringscope.store.schema import Base

    with opened.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield opened
    opened.close()
