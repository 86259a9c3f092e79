"""Reviewers record what a checked signup turned out to be; the check recalibrates.

``POST /v1/signup/outcomes`` (role ``investigator``) takes the signup attempt as it was
checked (``attempt``: the same fields as ``POST /v1/signup/check``), the ``outcome``
(``offender`` or ``legit``) and optionally a ``note`` and ``investigator``. The attempt
is checked again with the configured (uncalibrated) model and its risk and evidence per
key kind are stored with the outcome (never the raw identifiers); the served checker
is then recalibrated (:mod:`ringscope.signup.recalibrate`) and the answer reports the
new calibration with Brier score and ECE before and after.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ringscope.api.deps import InvestigatorKey, SnapshotDep, StoreDep
from ringscope.api.responses import errors
from ringscope.api.routes.signup import checker_for
from ringscope.signup.attempt import SIGNUP_JSON_SCHEMA, SignupInputError, parse_attempt
from ringscope.signup.recalibrate import calibration_report, recalibrate

__all__ = ["router"]

router = APIRouter(tags=["signup"])


class OutcomeCreate(BaseModel):
    """An outcome to record."""

    model_config = ConfigDict(extra="forbid")

    attempt: dict[str, Any] = Field(
        description="the signup attempt as it was checked", json_schema_extra=SIGNUP_JSON_SCHEMA
    )
    outcome: Literal["offender", "legit"]
    note: str | None = Field(default=None, max_length=2000)
    investigator: str | None = Field(default=None, min_length=1, max_length=200)


@router.post(
    "/v1/signup/outcomes",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, e400="not a valid signup attempt (the message names the field)"),
)
def record_outcome(
    body: Annotated[OutcomeCreate, Body()],
    request: Request,
    snapshot: SnapshotDep,
    store: StoreDep,
    key: InvestigatorKey,
) -> dict[str, Any]:
    """Record an outcome and recalibrate the served check."""
    try:
        attempt = parse_attempt(body.attempt)
    except SignupInputError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    checker = checker_for(request, snapshot, store)
    risk, evidence = checker.uncalibrated(attempt)
    record = store.add_signup_outcome(
        attempt.actor_id,
        body.outcome,
        investigator=body.investigator or key.name,
        snapshot_id=checker.index.snapshot_id,
        risk=risk,
        evidence=evidence,
        note=body.note,
    )
    recalibrate(checker, store)
    return {
        "id": record.id,
        "actor_id": record.actor_id,
        "outcome": record.outcome,
        "uncalibrated_risk": round(risk, 4),
        "evidence": {k: round(v, 4) for k, v in evidence.items()},
        "calibration": checker.calibration.to_json(),
        "report": calibration_report(store.signup_outcomes()),
    }
