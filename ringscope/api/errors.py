"""Every error leaves the API as ``{"detail": "<one clear message>"}``.

Validation errors are flattened into one readable line ("query parameter 'limit': Input
should be less than or equal to 200"); store outages become 503; anything unexpected is
logged here and answered with a 500 that carries no traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import Match

__all__ = ["allowed_methods", "install_error_handlers", "validation_message"]

log = logging.getLogger(__name__)

_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header"}


def validation_message(exc: RequestValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] == "body":
            where = "request body" + (f" field '{'.'.join(loc[1:])}'" if len(loc) > 1 else "")
        elif loc:
            where = f"{_WHERE.get(loc[0], loc[0])} '{'.'.join(loc[1:])}'"
        else:
            where = "request"
        parts.append(f"{where}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette names only the first
    route that matched the path, so a path with a GET and a POST route said one)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": ""})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _detail(status_code: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _detail(status.HTTP_422_UNPROCESSABLE_CONTENT, validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            headers = {"Allow": ", ".join(allowed_methods(request))}
        return _detail(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(SQLAlchemyError)
    async def _store(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("verdict store error: %s", type(exc).__name__)
        return _detail(status.HTTP_503_SERVICE_UNAVAILABLE, "verdict store unavailable")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _detail(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")
