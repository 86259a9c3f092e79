"""Open-loop HTTP load on a real API server, shared by the benches.

* :func:`api_server` starts uvicorn (one worker) with ``--factory
  ringscope.api.app:create_app`` in a child process, configured by environment
  variables, and waits until it listens;
* :class:`Connections` is a pool of raw keep-alive HTTP/1.1 connections (a client
  library costs several times more CPU per request than the server's work; on a
  two-core machine that would measure the client);
* :func:`open_loop` sends requests at a fixed rate whatever the server's speed, and
  times each one from when it was due and from when it was sent;
* :func:`closed_loop` keeps every connection busy (the next request as soon as the
  answer is in) and measures the rate one server sustains;
* :func:`percentiles` and :func:`cpu_seconds` (of a process, from ``/proc``).

Imported by the bench scripts, which run as ``python bench/bench_x.py`` (the script's
directory is then first on ``sys.path``)::

    with api_server({"RINGSCOPE_SNAPSHOT_ROOT": str(root)}) as server:
        requests = [http_request("GET", "/v1/clusters", server.port, {"Authorization": ...})]
        result = asyncio.run(open_loop(server.port, requests, rate=200, seconds=20))
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Connections",
    "LoadResult",
    "Server",
    "api_server",
    "closed_loop",
    "cpu_seconds",
    "fetch",
    "free_port",
    "http_request",
    "open_loop",
    "percentiles",
]

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(ms: Iterable[float], qs: Sequence[int] = (50, 99)) -> dict[str, float]:
    """``{"p50": ..., "p99": ..., "max": ...}`` (one ``pNN`` per ``qs``), rounded to µs."""
    a = np.asarray(list(ms), dtype=float)
    out = {f"p{q}": round(float(np.percentile(a, q)), 3) for q in qs}
    out["max"] = round(float(a.max()), 3)
    return out


@dataclass(frozen=True)
class Server:
    """A running API server: where it listens and its process (for its CPU time)."""

    host: str
    port: int
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU seconds the server has used so far."""
        return cpu_seconds(self.pid)


@contextlib.contextmanager
def api_server(
    env: Mapping[str, str], *, timeout_s: float = 30.0, port: int | None = None
) -> Iterator[Server]:
    """uvicorn serving ``create_app()`` (one worker, no access log) on ``port`` (default: a
    free one), in a process group of its own (so its children can be counted and killed).

    ``env`` is added to this process's environment (``RINGSCOPE_SNAPSHOT_ROOT``,
    ``RINGSCOPE_SECRET_KEY``, ...). Yields once the port accepts connections; raises if
    the server exits or does not listen within ``timeout_s``. Stopped with SIGTERM.
    """
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "ringscope.api.app:create_app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=os.environ | dict(env),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"API server exited with code {process.returncode}")
            try:
                socket.create_connection((HOST, port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API server not listening after {timeout_s} s") from None
                time.sleep(0.1)
        yield Server(HOST, port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http_request(
    method: str,
    path: str,
    port: int,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request (``Content-Length`` when a body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connections:
    """Keep-alive HTTP/1.1 connections to the server, written to and read raw.

    :meth:`send` writes a request's bytes (from :func:`http_request`, any method) and
    reads the status line, headers and ``Content-Length`` body.
    """

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Status and body of the response (waits for an idle connection first)."""
        reader, writer = await self.idle.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
        finally:
            self.idle.put_nowait((reader, writer))
        return status, body

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


def fetch(port: int, request: bytes) -> tuple[int, bytes]:
    """Send one request on a fresh connection; its status and body."""

    async def once() -> tuple[int, bytes]:
        pool = Connections(HOST, port, 1)
        await pool.open()
        try:
            return await pool.send(request)
        finally:
            pool.close()

    return asyncio.run(once())


@dataclass
class LoadResult:
    """One open-loop run: latencies in ms, non-200 answers, the rate achieved.

    ``warmup`` holds the (status, body) of every warm-up response that was not a 200;
    ``server_cpu_s`` the server's CPU time over the timed requests (when its pid was
    given).
    """

    from_due: list[float]
    from_send: list[float]
    errors: int
    error_statuses: Counter[int]
    achieved_rate: float
    warmup: list[tuple[int, bytes]] = field(default_factory=list)
    server_cpu_s: float | None = None

    @property
    def requests(self) -> int:
        return len(self.from_due)


async def open_loop(
    port: int,
    requests: Sequence[bytes],
    rate: float,
    seconds: float,
    *,
    connections: int = 64,
    warmup: int = 100,
    server_pid: int | None = None,
) -> LoadResult:
    """Open-loop load: request i is due at ``i / rate``; latency from due time and from
    send time (they differ when the client falls behind or waits for a connection).

    ``requests`` are cycled through: first ``warmup`` of them one at a time, untimed
    (caches built, connections established), then the timed run from the first again.
    """
    pool = Connections(HOST, port, connections)
    await pool.open()
    failed_warmup = []
    for i in range(warmup):
        status, body = await pool.send(requests[i % len(requests)])
        if status != 200:
            failed_warmup.append((status, body))
    from_due: list[float] = []
    from_send: list[float] = []
    errors: Counter[int] = Counter()

    async def one(request: bytes, due: float) -> None:
        sent = time.perf_counter()
        status, _ = await pool.send(request)
        done = time.perf_counter()
        from_due.append((done - due) * 1000)
        from_send.append((done - sent) * 1000)
        if status != 200:
            errors[status] += 1

    total = int(rate * seconds)
    cpu0 = cpu_seconds(server_pid) if server_pid is not None else None
    start = time.perf_counter()
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[i % len(requests)], due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(server_pid) - cpu0 if server_pid is not None and cpu0 is not None else None
    pool.close()
    return LoadResult(
        from_due=from_due,
        from_send=from_send,
        errors=sum(errors.values()),
        error_statuses=errors,
        achieved_rate=total / elapsed,
        warmup=failed_warmup,
        server_cpu_s=cpu,
    )


async def closed_loop(
    port: int,
    requests: Sequence[bytes],
    seconds: float,
    *,
    connections: int = 16,
    server_pid: int | None = None,
) -> LoadResult:
    """Throughput: ``connections`` clients each send their next request as soon as the
    previous answer is in, for ``seconds``; latency is from send (``from_due`` equal)."""
    pool = Connections(HOST, port, connections)
    await pool.open()
    latencies: list[float] = []
    errors: Counter[int] = Counter()
    cpu0 = cpu_seconds(server_pid) if server_pid is not None else None
    start = time.perf_counter()
    stop = start + seconds

    async def client(offset: int) -> None:
        i = offset
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            status, _ = await pool.send(requests[i % len(requests)])
            latencies.append((time.perf_counter() - sent) * 1000)
            if status != 200:
                errors[status] += 1
            i += connections

    await asyncio.gather(*(client(c) for c in range(connections)))
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(server_pid) - cpu0 if server_pid is not None and cpu0 is not None else None
    pool.close()
    return LoadResult(
        from_due=latencies,
        from_send=latencies,
        errors=sum(errors.values()),
        error_statuses=errors,
        achieved_rate=len(latencies) / elapsed,
        server_cpu_s=cpu,
    )
