"""Key management over HTTP for admins (the same operations as ``ringscope keys``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status

from ringscope.api.deps import AdminKey, StoreDep, forget_keys
from ringscope.api.models import KeyCreate, KeyCreated, KeyPublic, KeysPublic
from ringscope.api.responses import errors
from ringscope.store import ApiKey, StoreError

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin/keys", tags=["admin"])


def _public(key: ApiKey) -> KeyPublic:
    return KeyPublic(
        name=key.name,
        role=key.role,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("", response_model=KeysPublic)
def list_keys(store: StoreDep, _key: AdminKey) -> KeysPublic:
    """Every key (never a secret), revoked ones included."""
    return KeysPublic(items=[_public(k) for k in store.list_keys()])


@router.post(
    "",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 409, e400="the body is not JSON", e409="a key with this name exists"),
)
def create_key(body: KeyCreate, store: StoreDep, admin: AdminKey) -> KeyCreated:
    """Create a key; its secret is in this response only."""
    try:
        key, secret = store.create_key(body.name, body.role, principal=admin.name)
    except StoreError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return KeyCreated(**_public(key).model_dump(), key=secret)


@router.delete(
    "/{name}",
    response_model=KeyPublic,
    responses=errors(404, e404="no key with this name"),
)
def revoke_key(
    name: Annotated[str, Path(min_length=1, max_length=100)],
    request: Request,
    store: StoreDep,
    admin: AdminKey,
) -> KeyPublic:
    """Revoke a key by name; requests with it get 401 from now on."""
    try:
        revoked = store.revoke_key(name, principal=admin.name)
    except StoreError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    forget_keys(request)
    return _public(revoked)
