"""One small world, two snapshots of it, and an app factory, shared by the API tests.

The world (400 legit actors) is generated and run through the real pipeline once per
session: snapshot ``early`` from the first three quarters of its event log, then
snapshot ``full`` from the whole log published on top of it (so ``full`` carries lineage
relative to ``early``). Tests copy these into their own roots; publishing ``full`` into a
root that serves ``early`` is exactly what a new batch run does.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings
from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.snapshot import publish_snapshot
from ringscope.store import ROLES, open_store
from ringscope.worlds import WorldConfig, generate_world, write_world

EARLY_SHARE = 0.75


@dataclass(frozen=True)
class Snapshots:
    """The session's two published snapshots (``full`` was published after ``early``)
    and the world's full event file they were made from."""

    early: Path
    full: Path
    events: Path


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    """Build the world and both snapshots once."""
    base = tmp_path_factory.mktemp("api-world")
    world = generate_world(WorldConfig(n_legit=400), seed=3)
    events = next(p for p in write_world(world, base / "world") if p.name.startswith("events"))
    with gzip.open(events, "rb") as fh:
        lines = fh.readlines()
    early_events = base / "early" / "events.jsonl.gz"
    early_events.parent.mkdir()
    with gzip.open(early_events, "wb") as fh:
        fh.writelines(lines[: int(len(lines) * EARLY_SHARE)])
    keyring = load_keyring(allow_demo=True)
    # Embeddings are not what these tests are about and cost most of a small run.
    config = RunConfig()
    root = base / "snapshots"
    early = run_pipeline([early_events], root, config=config, keyring=keyring)
    full = run_pipeline([events], root, config=config, keyring=keyring)
    return Snapshots(early=early, full=full, events=events)


def publish_copy(snapshot: Path, root: Path) -> Path:
    """Publish a copy of ``snapshot`` under ``root`` the way a pipeline run does."""

    def write(tmp: Path) -> None:
        for f in snapshot.iterdir():
            shutil.copy2(f, tmp / f.name)

    return publish_snapshot(root, snapshot.name, write)


@dataclass(frozen=True)
class ApiEnv:
    """A root of its own serving ``early``, a real SQLite store and one key per role."""

    root: Path
    settings: ApiSettings
    keys: dict[str, str]


def make_env(base: Path, snapshots: Snapshots) -> ApiEnv:
    """Publish ``early`` into ``base/root`` and create the store and keys beside it."""
    root = base / "root"
    publish_copy(snapshots.early, root)
    settings = ApiSettings(
        snapshot_root=root,
        database_url=f"sqlite:///{base / 'verdicts.sqlite3'}",
        reload_interval_s=0.1,
    )
    store = open_store(settings.database_url)
    try:
        keys = {role: store.create_key(f"{role}-key", role)[1] for role in ROLES}
    finally:
        store.close()
    return ApiEnv(root, settings, keys)


@pytest.fixture
def env(tmp_path: Path, snapshots: Snapshots) -> ApiEnv:
    """This test's own root, store and keys."""
    return make_env(tmp_path, snapshots)


@pytest.fixture
def root(env: ApiEnv) -> Path:
    """The test's snapshot root (serving ``early``)."""
    return env.root


@pytest.fixture
def settings(env: ApiEnv) -> ApiSettings:
    """Settings with a real SQLite file and a fast reload poll."""
    return env.settings


@pytest.fixture
def keys(env: ApiEnv) -> dict[str, str]:
    """One key per role, by role name."""
    return env.keys


@pytest.fixture
def client(settings: ApiSettings, keys: dict[str, str]) -> Iterator[TestClient]:
    """A TestClient running the app's lifespan (startup load, reload poller)."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def auth(keys: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """Headers carrying the key of a role."""
    return lambda role: {"Authorization": f"Bearer {keys[role]}"}


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """``app`` behind a real uvicorn server on a free port (in a thread); yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
