"""/readyz when the verdict store stops answering: 503 and why, then 200 once it is back.

Readiness asks the store to read its key table on a pooled connection. On PostgreSQL the
engine pings a pooled connection before use and reconnects, so a server that went away
is noticed at once: here the app reaches a real PostgreSQL through a TCP gate that the
test shuts (port closed, live connections cut) and opens again on the same port.

SQLite differs: a pooled connection holds the file open, so it keeps answering after
the file's directory is gone; readiness notices only when the store has
to open a new connection (after the pool let go of its idle ones, as ``close`` does).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings

UNREACHABLE = {"detail": "verdict store unreachable"}


class _Gate:
    """A TCP forwarder to ``target`` on a loopback port of its own.

    ``shut`` closes the port and cuts every connection through it (to a client, just
    like the database going away); ``open`` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        with self._lock:
            doomed = [*self._sockets, *([self._listener] if self._listener else [])]
            self._sockets, self._listener = [], None
        for s in doomed:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() or recv()
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def test_readyz_is_503_while_postgres_is_unreachable(postgres_url, root, snapshots):
    database = make_url(postgres_url)
    gate = _Gate((database.host or "127.0.0.1", database.port or 5432))
    gate.open()
    url = database.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False)
    settings = ApiSettings(snapshot_root=root, database_url=url, reload_interval_s=0.1)
    try:
        with TestClient(create_app(settings)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["snapshot_id"] == snapshots.early.name

            gate.shut()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json() == UNREACHABLE
            assert client.get("/healthz").status_code == 200  # alive, just not ready

            gate.open()
            assert client.get("/readyz").status_code == 200
    finally:
        gate.shut()


def test_readyz_is_503_when_the_sqlite_directory_is_gone(tmp_path: Path, root, snapshots):
    directory = tmp_path / "store"
    directory.mkdir()
    settings = ApiSettings(
        snapshot_root=root,
        database_url=f"sqlite:///{directory / 'verdicts.sqlite3'}",
        reload_interval_s=0.1,
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["snapshot_id"] == snapshots.early.name

        shutil.rmtree(directory)
        client.app.state.store.close()  # the next ping needs a new connection
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == UNREACHABLE
