"""Every route against every kind of caller: 401 without a valid key, 403 without the role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.store import open_store
from tests.api.conftest import ApiEnv, make_env

CLUSTER = "{cluster}"
ROUTES = [
    ("GET", "/v1/clusters", {"investigator", "admin"}),
    ("GET", f"/v1/clusters/{CLUSTER}", {"investigator", "admin"}),
    ("GET", f"/v1/clusters/{CLUSTER}/graph", {"investigator", "admin"}),
    ("GET", f"/v1/clusters/{CLUSTER}/verdicts", {"investigator", "admin"}),
    ("POST", f"/v1/clusters/{CLUSTER}/verdicts", {"investigator", "admin"}),
    ("GET", "/v1/actors/{actor}", {"investigator", "admin"}),
    ("GET", "/v1/snapshots", {"investigator", "admin"}),
    ("GET", "/metrics", {"service", "admin"}),
    ("GET", "/v1/admin/keys", {"admin"}),
    ("POST", "/v1/admin/keys", {"admin"}),
    ("DELETE", "/v1/admin/keys/spare", {"admin"}),
]
CALLERS = ["none", "unknown", "revoked", "investigator", "service", "admin"]
OPEN_ROUTES = ["/healthz", "/readyz", "/docs", "/openapi.json"]


def _bodies() -> dict[str, dict]:
    return {
        "/verdicts": {"verdict": "dismissed"},
        "/v1/admin/keys": {"name": "fresh", "role": "service"},
    }


@pytest.fixture(scope="module")
def matrix_env(tmp_path_factory, snapshots) -> ApiEnv:
    """One app for the whole matrix (only admin calls mutate, each once)."""
    return make_env(tmp_path_factory.mktemp("auth"), snapshots)


@pytest.fixture(scope="module")
def client(matrix_env):
    with TestClient(create_app(matrix_env.settings)) as c:
        yield c


@pytest.fixture(scope="module")
def auth(matrix_env):
    return lambda role: {"Authorization": f"Bearer {matrix_env.keys[role]}"}


@pytest.fixture(scope="module")
def targets(client, auth, matrix_env):
    """Real ids to put in paths, and a revoked key plus a spare key to revoke."""
    top = client.get("/v1/clusters", params={"limit": 1}, headers=auth("admin")).json()
    cluster = top["items"][0]["cluster_id"]
    actor = client.get(f"/v1/clusters/{cluster}", headers=auth("admin")).json()
    store = open_store(matrix_env.settings.database_url)
    _, revoked = store.create_key("gone", "admin")
    store.revoke_key("gone")
    store.create_key("spare", "service")
    store.close()
    return {
        "cluster": cluster,
        "actor": actor["members"]["items"][0]["actor_id"],
        "revoked": revoked,
    }


def _headers(caller: str, auth, targets) -> dict[str, str]:
    if caller == "none":
        return {}
    if caller == "unknown":
        return {"Authorization": "Bearer rsk_not-a-real-key"}
    if caller == "revoked":
        return {"X-API-Key": targets["revoked"]}
    return auth(caller)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
def test_auth_matrix(client, auth, targets, method, path, allowed, caller):
    url = path.format(cluster=targets["cluster"], actor=targets["actor"])
    body = next((b for suffix, b in _bodies().items() if url.endswith(suffix)), None)
    response = client.request(method, url, json=body, headers=_headers(caller, auth, targets))
    if caller in ("none", "unknown", "revoked"):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif caller in allowed:
        assert response.status_code in (200, 201)
    else:
        assert response.status_code == 403
        assert caller in response.json()["detail"]


@pytest.mark.parametrize("path", OPEN_ROUTES)
def test_health_and_docs_need_no_key(client, path):
    assert client.get(path).status_code == 200


def test_malformed_authorization_header_is_401(client):
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "rsk_x", ""):
        response = client.get("/v1/clusters", headers={"Authorization": value})
        assert response.status_code == 401, value
