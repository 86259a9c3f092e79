"""Checks made before any request body is read: the API key, and the body's size.

A plain ASGI middleware, so it runs before FastAPI parses anything: a request to a
protected path (``/v1/...``, ``/metrics``) without a valid key is answered 401 as soon
as its headers are in, and a body announced (``Content-Length``) or streamed past
``max_body_bytes`` is answered 413 without being held in memory. The accepted key is
left in the request state, where :func:`ringscope.api.deps.current_key` picks it up;
roles are still checked by each route's dependency (403).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import status
from starlette.exceptions import HTTPException

from ringscope.api.auth import KEY_STATE, MISSING_KEY, UNKNOWN_KEY, authenticate, request_secret

__all__ = ["PROTECTED_PREFIXES", "TOO_LARGE", "RequestGuard"]

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]

#: Paths that need a key; everything else (page, health, docs) is public.
PROTECTED_PREFIXES = ("/v1/", "/metrics")
TOO_LARGE = "request body too large"


class _BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit (FastAPI re-raises
    HTTP exceptions met while reading a body, so this becomes the 413 answer)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, f"{TOO_LARGE} (limit {limit} bytes)")


async def _answer(send: _Send, code: int, detail: str, headers: dict[str, str] | None = None):
    body = orjson.dumps({"detail": detail})
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    # The body was not read: ask the client to open a new connection for its next request.
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": code, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: authenticate protected paths and cap bodies, before reading them."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"].startswith(PROTECTED_PREFIXES):
            secret = request_secret(headers)
            challenge = {"WWW-Authenticate": "Bearer"}
            if not secret:
                await _answer(send, status.HTTP_401_UNAUTHORIZED, MISSING_KEY, challenge)
                return
            key = await authenticate(scope["app"].state, secret)
            if key is None:
                await _answer(send, status.HTTP_401_UNAUTHORIZED, UNKNOWN_KEY, challenge)
                return
            scope.setdefault("state", {})[KEY_STATE] = key
        limit = self.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            detail = f"{TOO_LARGE} (limit {limit} bytes)"
            await _answer(send, status.HTTP_413_CONTENT_TOO_LARGE, detail)
            return
        seen = 0

        async def capped_receive() -> _Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(limit)
            return message

        await self.app(scope, capped_receive, send)
