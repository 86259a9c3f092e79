"""API-key authentication shared by the request guard and the route dependencies.

An accepted key is remembered for :data:`AUTH_TTL_S` (a store lookup per request would
dominate a cached answer), so a key revoked by another process (``ringscope keys
revoke``) stops working within that time; one revoked through this server's admin route
stops at once (:func:`forget_keys`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ringscope.store import ApiKey
from ringscope.store.store import hash_key

__all__ = [
    "AUTH_TTL_S",
    "KEY_STATE",
    "MISSING_KEY",
    "UNKNOWN_KEY",
    "authenticate",
    "forget_keys",
    "request_secret",
]

#: Seconds an accepted key is trusted without asking the store again.
AUTH_TTL_S = 1.0
#: Request-state entry holding the key the guard accepted.
KEY_STATE = "api_key"
MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
UNKNOWN_KEY = "unknown or revoked API key"
_AUTH_CACHE_MAX = 1024


def request_secret(headers: Mapping[str, str]) -> str | None:
    """The key of a request (``Authorization: Bearer`` first, else ``X-API-Key``).

    ``headers`` has lower-case names.
    """
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get("x-api-key") or None


def _accepted(state: Any) -> dict[str, tuple[float, ApiKey]]:
    if not hasattr(state, "accepted_keys"):
        state.accepted_keys = {}
    return state.accepted_keys


def forget_keys(state: Any) -> None:
    """Drop the remembered keys of an app (its ``app.state``)."""
    _accepted(state).clear()


async def authenticate(state: Any, secret: str) -> ApiKey | None:
    """The active key with this secret (the app's store behind a short cache), or None."""
    accepted = _accepted(state)
    digest = hash_key(secret)
    now = time.monotonic()
    cached = accepted.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    key = state.store.authenticate(secret)
    if key is None:
        return None
    if len(accepted) >= _AUTH_CACHE_MAX:
        accepted.clear()
    accepted[digest] = (now + AUTH_TTL_S, key)
    return key
