"""Waiting for, and stopping, a server subprocess the tests started (API and stream tests)."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

__all__ = ["stop_server", "wait_until_up"]


def wait_until_up(proc: subprocess.Popen, url: str, *, timeout_s: float = 120.0) -> None:
    """Poll ``url`` until it answers 200; fail at once if ``proc`` exits (with its output
    when it was piped), or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {output!r}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer 200 in {timeout_s:.0f} s"
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen, *, timeout_s: float = 60.0) -> None:
    """SIGTERM a server that still runs, and SIGKILL it if it has not exited in ``timeout_s``."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
