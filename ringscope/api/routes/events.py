"""``POST /v1/events`` (role ``service``): events in, durably, for the next micro-batch.

Served when ``ringscope serve`` runs with ``--ingest`` (:mod:`ringscope.stream`). The
body is a JSON array of events in the input schema. Each element is checked by the
batch ingest code; the answer, ``202``, comes only once the valid events are fsync'ed
in the log: ``accepted`` (valid: stored now or already logged), ``duplicates`` (of
those, already logged by ``event_id`` or content hash: a retry is safe), ``rejected``
and ``rejects`` (``index`` in the array and reason code of each invalid element; the
element itself is kept, sealed, in ``ROOT/stream/rejects.jsonl``). A body past the
server's size cap is a 413 before it is read; while the backlog of logged events not
yet in a snapshot is past ``--max-backlog``, the answer is ``429`` with ``Retry-After``
and nothing is stored.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ringscope.api.deps import ServiceKey
from ringscope.api.responses import errors
from ringscope.stream.service import Backlogged, IngestService

__all__ = ["router"]

router = APIRouter(tags=["ingest"])

_EXAMPLE = [
    {
        "event_id": "e-1",
        "ts": "2026-10-22T10:00:00Z",
        "actor_id": "u1",
        "event_type": "message",
        "message_id": "m-1",
        "urls": ["https://example.com/offer"],
    }
]


@router.post(
    "/v1/events",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "valid events durably stored; counts and each reject's index and reason",
            "content": {
                "application/json": {
                    "example": {
                        "accepted": 1,
                        "duplicates": 0,
                        "rejected": 1,
                        "rejects": [{"index": 1, "reason": "missing_field: actor_id"}],
                    }
                }
            },
        },
        429: {"description": "backlog past its bound: retry after Retry-After seconds"},
        **errors(400, e400="the body is not a JSON array"),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": _EXAMPLE,
                }
            },
        }
    },
)
async def post_events(request: Request, _key: ServiceKey) -> JSONResponse:
    """Check and durably store a batch of events; 202 with what became of each."""
    service: IngestService = request.app.state.ingest
    try:
        events = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "malformed_json: the body is not valid JSON"
        ) from None
    if not isinstance(events, list):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON array of events")
    try:
        outcome = await run_in_threadpool(service.ingest, events)
    except Backlogged as exc:
        return JSONResponse(
            {"detail": str(exc)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return JSONResponse(
        {
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": outcome.rejected,
            "rejects": outcome.rejects,
        },
        status_code=status.HTTP_202_ACCEPTED,
    )
