"""Repeat-offender check at signup, and appending fresh suspensions (admin).

``POST /v1/signup/check`` (role ``service``) takes one signup attempt (the fields of a
contract ``signup`` event, raw identifiers) and answers with the risk, the tier
(``allow`` / ``review`` / ``block``) and the matched offenders with their reasons. The
body is validated by the same code as ``ringscope check-signups``, so a bad field is a
400 naming the field (never echoing its value). The identifiers are hashed in memory and
never logged.

``POST /v1/admin/suspensions`` (role ``admin``) appends a suspension to the snapshot
root's journal (:mod:`ringscope.signup.journal`): durable when it answers 201, applied
by the very next check, and kept across restarts and new snapshots. The append is also
written to the store's audit log (actor id and principal only).

The checker of a snapshot is built (its offender index read and checked) before the
server swaps the snapshot in (:meth:`SignupCheckers.prepare` is one of the holder's
snapshot checks): an unreadable index keeps the snapshot from being served at all, so a
check never meets a broken index; the secret key is ``RINGSCOPE_SECRET_KEY`` (the public demo key
only for snapshots made with it). Members of clusters whose latest verdict is
``confirmed`` count as offenders too (``source`` = ``confirmed``), picked up within
five seconds of the verdict; reviewers' signup outcomes
(:mod:`ringscope.api.routes.signup_outcomes`) recalibrate it on the same poll.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Annotated, Any

import orjson
import polars as pl
from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from sqlalchemy.exc import SQLAlchemyError

from ringscope.api.deps import AdminKey, ServiceKey, SnapshotDep, StoreDep
from ringscope.api.responses import errors
from ringscope.api.snapshot_view import SnapshotView
from ringscope.errors import ConfigError, RingscopeError, SnapshotDataError, SnapshotError
from ringscope.privacy import load_keyring
from ringscope.signup.attempt import (
    IDENTIFIER_FIELDS,
    SIGNUP_JSON_SCHEMA,
    SignupInputError,
    parse_attempt,
)
from ringscope.signup.check import SignupChecker, open_checker
from ringscope.signup.journal import append_suspension
from ringscope.signup.recalibrate import recalibrate
from ringscope.snapshot import read_manifest
from ringscope.store import Store

__all__ = ["SignupCheckers", "checker_for", "router"]

router = APIRouter(tags=["signup"])

_SIGNUP_EXAMPLE = {
    "actor_id": "u-new-123",
    "ts": "2026-10-22T10:00:00Z",
    "email": "someone@example.com",
    "display_name": "Some One",
    "ip": "203.0.113.7",
    "device_id": "d-1f2e3d",
}
_RESULT_EXAMPLE = {
    "actor_id": "u-new-123",
    "risk": 0.9712,
    "decision": "block",
    "matches": [
        {
            "actor_id": "u0badbad",
            "source": "suspended",
            "cluster_id": "c1a2b3c4d5e6f",
            "cluster_score": 0.81,
            "risk": 0.9712,
            "reasons": [
                {
                    "key": "device",
                    "similarity": 1.0,
                    "shared_with_others": 0,
                    "evidence": 13.122,
                    "counted": True,
                }
            ],
        }
    ],
    "clusters": ["c1a2b3c4d5e6f"],
    "snapshot_id": "20261022T100000000000Z",
}
_MAX_BODY = 64 * 1024
_VERDICT_POLL_S = 5.0

log = logging.getLogger(__name__)


class SignupCheckers:
    """The checker of each served snapshot, built before it is served (thread-safe), with
    the members of clusters investigators confirmed (verdicts polled every few seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prepared: dict[str, SignupChecker] = {}
        self._unavailable: dict[str, str] = {}
        self._checker: SignupChecker | None = None
        self._confirmed: set[str] = set()
        self._verdicts_at = 0.0

    def prepare(self, snapshot: SnapshotView) -> str | None:
        """Snapshot check: build the snapshot's checker now, reading its offender index.

        An index that cannot be read raises (the snapshot is not served); a secret key
        that does not match, or a snapshot without an index, leaves the snapshot
        servable without signup checks: the reason is returned and each check is a 503.
        """
        try:
            checker = _open_checker(snapshot)
        except SnapshotDataError:
            raise
        except (ConfigError, SnapshotError) as exc:
            reason = f"signup check unavailable: {exc}"
            with self._lock:
                self._unavailable[snapshot.snapshot_id] = reason
            return reason
        with self._lock:
            in_use = self._checker.index.snapshot_id if self._checker is not None else None
            self._prepared = {k: v for k, v in self._prepared.items() if k == in_use} | {
                snapshot.snapshot_id: checker
            }
        return None

    def get(self, snapshot: SnapshotView, store: Store) -> SignupChecker:
        checker = self._checker
        if checker is None or checker.index.snapshot_id != snapshot.snapshot_id:
            with self._lock:
                checker = self._checker
                if checker is None or checker.index.snapshot_id != snapshot.snapshot_id:
                    reason = self._unavailable.get(snapshot.snapshot_id)
                    if reason is not None:
                        raise SnapshotError(reason)
                    prepared = self._prepared.pop(snapshot.snapshot_id, None)
                    checker = prepared or _open_checker(snapshot)
                    self._checker, self._confirmed, self._verdicts_at = checker, set(), 0.0
        if time.monotonic() - self._verdicts_at >= _VERDICT_POLL_S:
            self._verdicts_at = time.monotonic()
            self._add_confirmed(checker, snapshot, store)
            recalibrate(checker, store)
        return checker

    def _add_confirmed(self, checker: SignupChecker, snapshot: SnapshotView, store: Store) -> None:
        try:
            verdicts = store.latest_verdicts(snapshot.clusters["cluster_id"])
        except SQLAlchemyError as exc:  # the check must not depend on the verdict store
            log.warning("signup check: verdicts unavailable (%s)", type(exc).__name__)
            return
        confirmed = {c for c, v in verdicts.items() if v.verdict == "confirmed"} - self._confirmed
        if not confirmed:
            return
        members = snapshot.members.filter(pl.col("cluster_id").is_in(list(confirmed)))
        for cluster_id, actor_id in members.select("cluster_id", "actor_id").iter_rows():
            checker.index.add_confirmed(actor_id, cluster_id)
        self._confirmed |= confirmed


def _open_checker(snapshot: SnapshotView) -> SignupChecker:
    manifest = read_manifest(snapshot.path)
    keyring = load_keyring(allow_demo=bool(manifest.get("insecure_demo_key")))
    return open_checker(snapshot.path, keyring=keyring)


def _checkers(request: Request) -> SignupCheckers:
    return request.app.state.signup_checkers


def checker_for(request: Request, snapshot: SnapshotView, store: Store) -> SignupChecker:
    """The served snapshot's checker (a 503 when it cannot be built)."""
    try:
        return _checkers(request).get(snapshot, store)
    except RingscopeError as exc:
        reason = str(exc)
        if not reason.startswith("signup check unavailable"):
            reason = f"signup check unavailable: {reason}"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason) from None


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "malformed_json: the body is not valid JSON"
        ) from None


@router.post(
    "/v1/signup/check",
    responses={
        200: {
            "description": "risk, tier and matched offenders with their reasons",
            "content": {"application/json": {"example": _RESULT_EXAMPLE}},
        },
        **errors(
            400,
            503,
            e400="not JSON, or not a valid signup (the message names the field)",
            e503="no valid snapshot, or the secret key does not match it",
        ),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": SIGNUP_JSON_SCHEMA,
                    "example": _SIGNUP_EXAMPLE,
                }
            },
        }
    },
)
async def check_signup(
    request: Request, snapshot: SnapshotDep, store: StoreDep, _key: ServiceKey
) -> Response:
    """Risk, tier and matched offenders (with reasons) for one signup attempt.

    The answer is serialised with orjson directly (no response model to validate: it is
    built by the checker, and this route is on the signup path's latency budget).
    """
    record = await _json_body(request)
    try:
        attempt = parse_attempt(record)
    except SignupInputError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    result = checker_for(request, snapshot, store).check(attempt)
    return Response(orjson.dumps(result), media_type="application/json")


@router.post(
    "/v1/admin/suspensions",
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    responses=errors(400, e400="not JSON, or a bad actor id or identifier (the message says)"),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["actor_id"],
                        "properties": {
                            "actor_id": SIGNUP_JSON_SCHEMA["properties"]["actor_id"],
                            "ts": SIGNUP_JSON_SCHEMA["properties"]["ts"],
                            "identifiers": {
                                "type": ["object", "null"],
                                "properties": {
                                    f: SIGNUP_JSON_SCHEMA["properties"][f]
                                    for f in IDENTIFIER_FIELDS
                                },
                            },
                        },
                    }
                }
            }
        }
    },
)
def add_suspension(
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[{"actor_id": "u0badbad", "identifiers": {"email": "x@example.com"}}],
            description="actor_id (required), ts (optional), identifiers (optional object "
            "with email, phone, display_name, ip, device_id: hashed, never stored raw)",
        ),
    ],
    request: Request,
    snapshot: SnapshotDep,
    store: StoreDep,
    admin: AdminKey,
) -> dict[str, Any]:
    """Append a suspension; the next signup check counts the actor as an offender."""
    actor_id = body.get("actor_id")
    if not isinstance(actor_id, str) or not actor_id.strip():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "missing_field: actor_id")
    identifiers = body.get("identifiers")
    if identifiers is not None and not isinstance(identifiers, dict):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "wrong_type: identifiers must be an object"
        )
    checker = checker_for(request, snapshot, store)
    try:
        attempt = parse_attempt({**(identifiers or {}), "actor_id": actor_id, "ts": body.get("ts")})
        entry = append_suspension(
            checker.root,
            actor_id=actor_id,
            keyring=checker.keyring,
            source=f"api:{admin.name}",
            identifiers=attempt if identifiers else None,
            ts_ms=attempt.ts_ms,
        )
    except RingscopeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    store.append_audit("suspension", admin.name, {"actor_id": entry.actor_id})
    out = entry.to_json()
    out.pop("name_grams")
    return out
