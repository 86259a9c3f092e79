"""The key is checked, and the body size capped, before a request body is read.

Against a real uvicorn server: an unauthenticated upload is answered 401 after the
headers, whatever follows; an oversized one 413, announced or streamed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings
from tests.api.conftest import running_server

MAX_BODY = 64 * 1024
BODY_ROUTES = (
    "/v1/clusters/c0/verdicts",
    "/v1/signup/check",
    "/v1/admin/keys",
    "/v1/admin/suspensions",
    "/v1/clusters",
)


@pytest.fixture
def base(settings: ApiSettings) -> Iterator[str]:
    limited = settings.model_copy(update={"max_body_bytes": MAX_BODY})
    with running_server(create_app(limited)) as url:
        yield url


def _send_headers_only(base: str, path: str, headers: dict[str, str]) -> bytes:
    """Announce a 200 MB body, send none of it, and return what the server answers."""
    parts = urlsplit(base)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {200 << 20}")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock.recv(65536)


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_no_key_is_a_401_before_the_body_is_read(base, path):
    started = time.monotonic()
    answer = _send_headers_only(base, path, {})
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"missing API key" in answer and time.monotonic() - started < 5
    answer = _send_headers_only(base, path, {"Authorization": "Bearer rsk_wrong"})
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.mark.parametrize("path", BODY_ROUTES)
def test_an_announced_oversized_body_is_a_413_before_it_is_read(base, keys, path):
    answer = _send_headers_only(base, path, {"Authorization": f"Bearer {keys['admin']}"})
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"request body too large" in answer


def test_a_streamed_oversized_body_is_a_413(base, keys):
    def chunks() -> Iterator[bytes]:
        for _ in range(4 * MAX_BODY // 1024):
            yield b" " * 1024

    response = httpx.post(
        f"{base}/v1/admin/suspensions",
        content=chunks(),
        headers={"Authorization": f"Bearer {keys['admin']}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and "too large" in response.json()["detail"]


def test_a_body_within_the_limit_still_works(base, keys):
    response = httpx.post(
        f"{base}/v1/admin/keys",
        json={"name": "fits", "role": "investigator"},
        headers={"Authorization": f"Bearer {keys['admin']}"},
    )
    assert response.status_code == 201, response.text


def test_public_routes_need_no_key(base):
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/openapi.json").status_code == 200
