"""Reviewers' signup outcomes recalibrate the check (API and CLI, real SQLite store)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings
from ringscope.cli import main
from ringscope.config import SignupConfig
from ringscope.signup.recalibrate import Calibration, fit_calibration
from ringscope.store import ROLES, SignupOutcomeRecord, open_store
from tests.signup.conftest import TrapSnapshot

OUTCOMES = "/v1/signup/outcomes"


def returning_john(i: int) -> dict:
    """b-john back on his home /24 with his serial gmail pattern, on a new device."""
    return {
        "actor_id": f"jr-{i}",
        "email": f"john.smith{90 + i}@gmail.com",
        "display_name": f"J {i}",
        "device_id": f"dev-new-{i}",
        "ip": f"203.0.113.{20 + i}",
    }


def colleague(i: int) -> dict:
    """A new legit colleague behind the corporate NAT."""
    return {"actor_id": f"col-{i}", "email": f"new{i}@corp.example", "ip": "198.51.100.7"}


def test_outcomes_through_the_api_recalibrate_the_check(trap: TrapSnapshot, tmp_path: Path):
    root = Path(shutil.copytree(trap.root, tmp_path / "root"))
    settings = ApiSettings(snapshot_root=root, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}")
    store = open_store(settings.database_url)
    keys = {r: {"Authorization": f"Bearer {store.create_key(f'{r}-k', r)[1]}"} for r in ROLES}
    store.close()
    probe = returning_john(99)
    with TestClient(create_app(settings)) as client:
        service, investigator = keys["service"], keys["investigator"]
        before = client.post("/v1/signup/check", json=probe, headers=service).json()
        body = {"attempt": returning_john(0), "outcome": "offender"}
        assert client.post(OUTCOMES, json=body, headers=service).status_code == 403
        assert (
            client.post(
                OUTCOMES, json=body | {"outcome": "maybe"}, headers=investigator
            ).status_code
            == 422
        )
        bad = {"attempt": {"actor_id": "x", "ip": "nope"}, "outcome": "legit"}
        answer = client.post(OUTCOMES, json=bad, headers=investigator)
        assert answer.status_code == 400 and "ip" in answer.json()["detail"]
        for i in range(8):
            r = client.post(
                OUTCOMES,
                json={"attempt": returning_john(i), "outcome": "offender"},
                headers=investigator,
            )
            assert r.status_code == 201
            r = client.post(
                OUTCOMES, json={"attempt": colleague(i), "outcome": "legit"}, headers=investigator
            )
            assert r.status_code == 201
        last = r.json()
        assert last["calibration"]["n_outcomes"] == 16
        assert last["report"]["before"]["brier"] >= last["report"]["after_cross_fitted"]["brier"]
        after = client.post("/v1/signup/check", json=probe, headers=service).json()
    scales = last["calibration"]["scales"]
    assert scales["subnet"] > 1.0 or scales["email_pattern"] > 1.0
    assert after["risk"] > before["risk"], (before["risk"], after["risk"])
    store = open_store(settings.database_url)
    try:
        recorded = store.signup_outcomes()
        assert len(recorded) == 16 and recorded[0].evidence, "the check's evidence is kept"
        assert "john" not in json.dumps([r.evidence for r in recorded]), "no raw identifier"
    finally:
        store.close()


def test_outcome_cli_is_all_or_nothing_and_check_signups_uses_it(trap: TrapSnapshot, tmp_path):
    root = Path(shutil.copytree(trap.root, tmp_path / "root"))
    args = ["--snapshot", str(root), "--insecure-demo-key"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"attempt": returning_john(0), "outcome": "offender"}) + "\n"
        + json.dumps({"attempt": returning_john(1), "outcome": "guilty"}) + "\n"
        + "not json\n"
    )  # fmt: skip
    assert main(["signup-outcome", str(bad), *args]) == 2
    assert not (root / "ringscope.sqlite3").exists(), "nothing recorded"

    signups = tmp_path / "signups.jsonl"
    signups.write_text(json.dumps(returning_john(99)) + "\n")
    assert main(["check-signups", *args, "--in", str(signups), "--out", str(tmp_path / "r0")]) == 0
    before = json.loads((tmp_path / "r0").read_text())["risk"]
    good = tmp_path / "good.jsonl"
    good.write_text(
        "".join(
            json.dumps({"attempt": a, "outcome": o, "investigator": "rev"}) + "\n"
            for i in range(8)
            for a, o in ((returning_john(i), "offender"), (colleague(i), "legit"))
        )
    )
    assert main(["signup-outcome", str(good), *args]) == 0
    assert main(["check-signups", *args, "--in", str(signups), "--out", str(tmp_path / "r1")]) == 0
    after = json.loads((tmp_path / "r1").read_text())["risk"]
    assert after > before


def outcome(i: int, kind: str, risk: float, evidence: dict[str, float]) -> SignupOutcomeRecord:
    return SignupOutcomeRecord(i, f"a{i}", kind, None, "rev", "s", risk, evidence, None)


def test_few_outcomes_cannot_erase_the_configuration():
    """Scales stay within [1/4, 4] and thresholds only rise, averaged with the config."""
    config = SignupConfig()
    assert fit_calibration([], config) == Calibration()
    legit_high = [outcome(i, "legit", 0.95, {"device": 9.0}) for i in range(3)]
    cal = fit_calibration(legit_high, config)
    assert 0.25 <= cal.scale("device") < 1.0
    assert cal.review >= config.review and cal.block >= config.block
    offenders = [outcome(i, "offender", 0.001, {"subnet": 2.0}) for i in range(200)]
    assert fit_calibration(offenders, config).scale("subnet") <= 4.0 + 1e-9
