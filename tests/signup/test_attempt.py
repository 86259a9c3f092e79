"""Validation of signup attempts: clear reason codes, identifiers never echoed."""

from __future__ import annotations

import pytest

from ringscope.signup.attempt import SignupInputError, parse_attempt


def test_valid_attempt_is_stripped_and_timestamped() -> None:
    attempt = parse_attempt(
        {"actor_id": " n1 ", "ts": "2026-10-22T10:00:00Z", "email": " a@b.example ", "ip": ""}
    )
    assert attempt.actor_id == "n1"
    assert attempt.email == "a@b.example"
    assert attempt.ip is None  # empty counts as absent, as at ingest
    assert attempt.ts_ms == 1_792_663_200_000
    assert parse_attempt({"actor_id": "n1", "ts": 1_792_663_200}).ts_ms == 1_792_663_200_000


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([1, 2], "not_an_object"),
        ({"email": "a@b.example"}, "missing_field: actor_id"),
        ({"actor_id": "   "}, "missing_field: actor_id"),
        ({"actor_id": 7}, "wrong_type: actor_id"),
        ({"actor_id": "n1", "email": ["a@b.example"]}, "wrong_type: email"),
        ({"actor_id": "n1", "ip": "10.0.0.999"}, "invalid_ip"),
        ({"actor_id": "n1", "ts": "yesterday"}, "bad_timestamp"),
        ({"actor_id": "n1", "ts": True}, "bad_timestamp"),
        ({"actor_id": "n1", "event_type": "login"}, "wrong_type: event_type"),
        ({"actor_id": "n1", "display_name": "x" * 2000}, "wrong_type: display_name"),
    ],
)
def test_bad_attempts_name_the_problem(record: object, reason: str) -> None:
    with pytest.raises(SignupInputError, match=reason):
        parse_attempt(record)


def test_errors_and_repr_never_carry_raw_values() -> None:
    secret_ip = "10.0.0.999"
    with pytest.raises(SignupInputError) as info:
        parse_attempt({"actor_id": "n1", "ip": secret_ip})
    assert secret_ip not in str(info.value)
    attempt = parse_attempt({"actor_id": "n1", "email": "hidden@secret.example"})
    assert "hidden" not in repr(attempt)
    assert "email" in repr(attempt)
