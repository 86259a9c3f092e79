"""The documented error answers: every error is ``{"detail": "<one clear message>"}``.

Routers are included with :data:`PROTECTED_ERRORS` (what any ``/v1`` route can answer:
no or unknown key, wrong role, body too large, invalid parameters, store down); a route
adds what it alone can answer with :func:`errors` (``responses=errors(404, ...)``). So
the OpenAPI schema names every status code the API sends, with its body's shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["PROTECTED_ERRORS", "ErrorBody", "errors"]


class ErrorBody(BaseModel):
    """An error answer: one message naming what is wrong (never a traceback)."""

    detail: str


_DESCRIPTIONS = {
    400: "malformed request: a body that is not JSON, a bad cursor, or a field the message names",
    401: "missing, unknown or revoked API key (checked before the body is read)",
    403: "the key's role may not use this route",
    404: "not found in the current snapshot",
    409: "conflicts with what is stored",
    413: "request body larger than the server's limit (not read)",
    422: "invalid parameters or body: the message names each field",
    503: "no valid snapshot, or the verdict store is unreachable",
}


def errors(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error codes (``descriptions`` override, keyed ``e404``)."""
    return {
        code: {
            "model": ErrorBody,
            "description": descriptions.get(f"e{code}", _DESCRIPTIONS[code]),
        }
        for code in codes
    }


#: What every route behind a key can answer.
PROTECTED_ERRORS = errors(401, 403, 413, 422, 503)
