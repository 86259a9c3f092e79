"""``POST /v1/signup/check`` and ``POST /v1/admin/suspensions`` on the real app."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings
from ringscope.store import ROLES, open_store
from tests.signup.conftest import TrapSnapshot

CHECK = "/v1/signup/check"


def _settings(trap: TrapSnapshot, base: Path) -> ApiSettings:
    root = Path(shutil.copytree(trap.root, base / "root"))
    return ApiSettings(snapshot_root=root, database_url=f"sqlite:///{base / 'api.sqlite3'}")


def _keys(settings: ApiSettings) -> dict[str, dict[str, str]]:
    store = open_store(settings.database_url)
    try:
        made = {role: store.create_key(f"{role}-key", role)[1] for role in ROLES}
    finally:
        store.close()
    return {role: {"Authorization": f"Bearer {key}"} for role, key in made.items()}


@pytest.fixture(scope="module")
def served(
    trap: TrapSnapshot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """One app for the tests that only read (checks, bad input)."""
    settings = _settings(trap, tmp_path_factory.mktemp("signup-api"))
    keys = _keys(settings)
    with TestClient(create_app(settings)) as client:
        yield client, keys


def test_check_needs_the_service_role(served: tuple[TestClient, dict]) -> None:
    client, keys = served
    body = {"actor_id": "n-1", "device_id": "dev-john"}
    assert client.post(CHECK, json=body).status_code == 401
    assert client.post(CHECK, json=body, headers=keys["investigator"]).status_code == 403
    response = client.post(CHECK, json=body, headers=keys["service"])
    assert response.status_code == 200
    result = response.json()
    assert (result["decision"], result["matches"][0]["actor_id"]) == ("block", "b-john")
    assert result["matches"][0]["reasons"][0]["key"] == "device"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b'["a"]', "not_an_object"),
        (b'{"email": "a@b.example"}', "missing_field: actor_id"),
        (b'{"actor_id": "n", "ip": "300.1.2.3"}', "invalid_ip"),
        (b'{"actor_id": "n", "phone": 5550100}', "wrong_type: phone"),
    ],
)
def test_bad_signups_are_400s(served: tuple[TestClient, dict], body: bytes, reason: str) -> None:
    client, keys = served
    headers = keys["service"] | {"Content-Type": "application/json"}
    response = client.post(CHECK, content=body, headers=headers)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert reason in detail
    assert "300.1.2.3" not in detail


def test_appended_suspension_is_durable(trap: TrapSnapshot, tmp_path: Path) -> None:
    settings = _settings(trap, tmp_path)
    keys = _keys(settings)
    probe = {"actor_id": "n-2", "device_id": "dev-nat-7"}
    with TestClient(create_app(settings)) as client:
        assert client.post(CHECK, json=probe, headers=keys["service"]).json()["matches"] == []
        url, body = "/v1/admin/suspensions", {"actor_id": "nat-7"}
        assert client.post(url, json=body, headers=keys["service"]).status_code == 403
        assert client.post(url, json={}, headers=keys["admin"]).status_code == 400
        bad = {"actor_id": "x", "identifiers": {"ip": "nope"}}
        assert client.post(url, json=bad, headers=keys["admin"]).status_code == 400
        created = client.post(url, json=body, headers=keys["admin"])
        assert created.status_code == 201
        assert created.json()["source"] == "api:admin-key"
        result = client.post(CHECK, json=probe, headers=keys["service"]).json()
        assert result["matches"][0]["actor_id"] == "nat-7"
    with TestClient(create_app(settings)) as restarted:
        result = restarted.post(CHECK, json=probe, headers=keys["service"]).json()
        assert (result["decision"], result["matches"][0]["actor_id"]) == ("block", "nat-7")
    store = open_store(settings.database_url)
    try:
        assert [a.payload for a in store.audit_log(kind="suspension")] == [{"actor_id": "nat-7"}]
    finally:
        store.close()


def test_members_of_a_confirmed_ring_are_offenders(trap: TrapSnapshot, tmp_path: Path) -> None:
    settings = _settings(trap, tmp_path)
    keys = _keys(settings)
    snap = settings.snapshot_root / (settings.snapshot_root / "LATEST").read_text().strip()
    members = pl.read_parquet(snap / "members.parquet")
    cluster_id = members.filter(pl.col("actor_id") == "neigh-2")["cluster_id"].item()
    probe = {"actor_id": "n-3", "device_id": "dev-neigh-2"}
    with TestClient(create_app(settings)) as client:
        verdict = {"verdict": "confirmed", "note": "same operator"}
        url = f"/v1/clusters/{cluster_id}/verdicts"
        assert client.post(url, json=verdict, headers=keys["investigator"]).status_code == 201
        result = client.post(CHECK, json=probe, headers=keys["service"]).json()
    top = result["matches"][0]
    assert (top["actor_id"], top["source"]) == ("neigh-2", "confirmed")
    assert top["cluster_id"] == cluster_id
    assert result["decision"] == "block"


def test_a_revoked_key_stops_working_within_a_second(trap: TrapSnapshot, tmp_path: Path) -> None:
    settings = _settings(trap, tmp_path)
    keys = _keys(settings)
    probe = {"actor_id": "n-4", "device_id": "dev-x"}
    with TestClient(create_app(settings)) as client:
        assert client.post(CHECK, json=probe, headers=keys["service"]).status_code == 200
        store = open_store(settings.database_url)
        try:
            store.revoke_key("service-key")
        finally:
            store.close()
        time.sleep(1.1)
        assert client.post(CHECK, json=probe, headers=keys["service"]).status_code == 401
