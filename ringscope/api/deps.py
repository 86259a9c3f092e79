"""Dependencies of the routes, as ``Annotated`` aliases (FastAPI full-stack style).

Routes declare what they need in their signature::

    @router.get("/things")
    def things(snapshot: SnapshotDep, store: StoreDep, key: InvestigatorKey): ...

Other routers protect themselves the same way: ``ServiceKey`` (signup checks),
``AdminKey``, or ``Annotated[ApiKey, Depends(require_role("service"))]`` for any mix of
roles. ``admin`` passes every role check. A missing, unknown or revoked key is a 401;
a valid key without the role is a 403.

Every dependency here is ``async``: FastAPI runs a sync dependency in its thread pool, a
hop that costs more than the work of these few lines. The key itself is checked by
:class:`ringscope.api.guard.RequestGuard` before the body is read; :func:`current_key`
takes the key it accepted (see :mod:`ringscope.api.auth` for the key cache).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ringscope.api import auth
from ringscope.api.holder import SnapshotHolder
from ringscope.api.settings import ApiSettings
from ringscope.api.snapshot_view import SnapshotView
from ringscope.store import ROLES, ApiKey, Store

__all__ = [
    "AdminKey",
    "ApiKeyDep",
    "HolderDep",
    "InvestigatorKey",
    "ServiceKey",
    "SettingsDep",
    "SnapshotDep",
    "StoreDep",
    "current_key",
    "forget_keys",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <API key>")


async def get_settings(request: Request) -> ApiSettings:
    """The app's settings."""
    return request.app.state.settings


async def get_store(request: Request) -> Store:
    """The app's verdict store."""
    return request.app.state.store


async def get_holder(request: Request) -> SnapshotHolder:
    """The app's snapshot holder."""
    return request.app.state.snapshots


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
HolderDep = Annotated[SnapshotHolder, Depends(get_holder)]


async def get_snapshot(holder: HolderDep) -> SnapshotView:
    """The snapshot this request answers from, taken once for its whole duration."""
    view = holder.current
    if view is None:
        holder.refresh()
        view = holder.current
    if view is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no snapshot loaded yet")
    return view


SnapshotDep = Annotated[SnapshotView, Depends(get_snapshot)]


def forget_keys(request: Request) -> None:
    """Drop the remembered keys, so a change to a key applies to the next request."""
    auth.forget_keys(request.app.state)


async def current_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> ApiKey:
    """The active API key of the request (``Authorization: Bearer`` or ``X-API-Key``)."""
    key = request.scope.get("state", {}).get(auth.KEY_STATE)
    if key is not None:
        return key
    secret = bearer.credentials if bearer is not None else header_key
    challenge = {"WWW-Authenticate": "Bearer"}
    if not secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, auth.MISSING_KEY, headers=challenge)
    key = await auth.authenticate(request.app.state, secret)
    if key is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, auth.UNKNOWN_KEY, headers=challenge)
    return key


ApiKeyDep = Annotated[ApiKey, Depends(current_key)]


def require_role(*roles: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that admits keys with one of ``roles`` (``admin`` always passes)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {ROLES}")
    allowed = {*roles, "admin"}

    async def check(key: ApiKeyDep) -> ApiKey:
        if key.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"key {key.name!r} has role {key.role!r}; this route needs "
                + " or ".join(sorted(allowed)),
            )
        return key

    return check


InvestigatorKey = Annotated[ApiKey, Depends(require_role("investigator"))]
ServiceKey = Annotated[ApiKey, Depends(require_role("service"))]
AdminKey = Annotated[ApiKey, Depends(require_role("admin"))]
