"""The decision on the trap snapshot: each match kind, the false-positive traps, tiers."""

from __future__ import annotations

from typing import Any

import pytest

from ringscope.config import SignupConfig
from ringscope.errors import ConfigError
from ringscope.privacy import Keyring
from ringscope.signup.attempt import parse_attempt
from ringscope.signup.check import SignupChecker, open_checker, tier_of
from tests.signup.conftest import NAT_IP, TrapSnapshot

FRESH = {
    "email": "new.person@fresh.example",
    "display_name": "Nova Person",
    "device_id": "dev-fresh",
    "ip": "100.64.7.7",
}


@pytest.fixture(scope="module")
def checker(trap: TrapSnapshot) -> SignupChecker:
    return open_checker(trap.root, keyring=trap.keyring)


def _check(checker: SignupChecker, **fields: str) -> dict[str, Any]:
    return checker.check(parse_attempt({"actor_id": "n-1", **(FRESH | fields)}))


def _keys(result: dict[str, Any]) -> set[str]:
    return {r["key"] for r in result["matches"][0]["reasons"]}


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"device_id": "dev-john"}, "device"),
        ({"email": "J.o.h.n.Smith82+new@googlemail.com"}, "email"),
        ({"phone": "+1 (555) 0100"}, "phone"),
        ({"ip": "203.0.113.99", "email": "johnsmith83@gmail.com"}, "email_pattern"),
    ],
)
def test_strong_matches_flag_the_banned_actor(
    checker: SignupChecker, fields: dict[str, str], key: str
) -> None:
    result = _check(checker, **fields)
    assert result["decision"] in ("review", "block")
    top = result["matches"][0]
    assert top["actor_id"] == "b-john"
    assert top["source"] == "suspended"
    assert key in _keys(result)
    assert result["risk"] == top["risk"]


def test_subnet_and_email_pattern_add_up(checker: SignupChecker) -> None:
    subnet = _check(checker, ip="203.0.113.99")
    both = _check(checker, ip="203.0.113.99", email="johnsmith83@gmail.com")
    assert subnet["decision"] == "allow"  # five legit neighbours share the /24
    assert [r["shared_with_others"] for r in subnet["matches"][0]["reasons"]] == [5]
    assert both["risk"] > subnet["risk"]
    assert _keys(both) == {"email_pattern", "subnet"}


def test_fuzzy_name_is_reported_but_weak(checker: SignupChecker) -> None:
    result = _check(checker, display_name="Kateryna Wolfeschlegl")
    assert result["decision"] == "allow"
    (reason,) = result["matches"][0]["reasons"]
    assert result["matches"][0]["actor_id"] == "b-kate"
    assert reason["key"] == "name_similar"
    assert 0.5 <= reason["similarity"] < 1.0


def test_corporate_nat_alone_is_not_enough(checker: SignupChecker) -> None:
    result = _check(checker, ip=NAT_IP, email="new.hire@corp.example")
    assert result["decision"] == "allow"
    top = result["matches"][0]
    assert top["actor_id"] == "b-nat"
    assert {r["key"]: r["shared_with_others"] for r in top["reasons"]} == {"ip": 60, "subnet": 60}
    assert all(r["evidence"] == 0 for r in top["reasons"])


def test_common_name_alone_is_not_enough(checker: SignupChecker) -> None:
    result = _check(checker, display_name="john  SMITH")
    assert result["decision"] == "allow"
    (reason,) = result["matches"][0]["reasons"]
    assert (reason["key"], reason["shared_with_others"]) == ("name", 10)


def test_unrelated_signup_has_no_matches(checker: SignupChecker) -> None:
    result = _check(checker)
    assert result == {
        "actor_id": "n-1",
        "risk": 0.0,
        "decision": "allow",
        "matches": [],
        "clusters": [],
        "snapshot_id": checker.index.snapshot_id,
    }


def test_tiers_follow_the_configured_thresholds(trap: TrapSnapshot) -> None:
    config = SignupConfig(review=0.05, block=0.5)
    assert [tier_of(r, config) for r in (0.0, 0.05, 0.49, 0.5, 1.0)] == [
        "allow",
        "review",
        "review",
        "block",
        "block",
    ]
    strict = open_checker(trap.root, keyring=trap.keyring, config=config)
    assert _check(strict, display_name="Kateryna Wolfeschlegl")["decision"] == "review"
    with pytest.raises(ValueError, match="must not exceed"):
        SignupConfig(review=0.9, block=0.5)


def test_a_foreign_key_is_refused(trap: TrapSnapshot) -> None:
    with pytest.raises(ConfigError, match="does not match snapshot"):
        open_checker(trap.root, keyring=Keyring(b"some other secret value"))
