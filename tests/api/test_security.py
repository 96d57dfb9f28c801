"""API keys, tenant isolation, and the loopback-only rule when no keys are configured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api import server
from service.settings import Settings, get_settings
from tests.api.conftest import ClientFactory, Tenants
from tests.api.workload import small_request


def test_requests_without_a_valid_key_are_401_problems(client: TestClient) -> None:
    for headers in ({"X-API-Key": ""}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        client.headers.pop("X-API-Key", None)
        response = client.get("/v1/plans", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_key_works_as_header_or_bearer_token(client: TestClient, tenants: Tenants) -> None:
    client.headers.pop("X-API-Key")
    plan = client.post("/v1/plans", json=small_request(), headers={"Authorization": f"Bearer {tenants.a_key}"})
    assert plan.status_code == 201
    assert client.get(plan.headers["location"], headers={"X-API-Key": tenants.a_key}).status_code == 200


def test_another_tenant_sees_nothing_of_a_plan(client: TestClient, tenants: Tenants) -> None:
    plan = client.post("/v1/plans", json=small_request()).json()
    other = tenants.b_headers
    assert client.get(f"/v1/plans/{plan['id']}", headers=other).status_code == 404
    assert client.delete(f"/v1/plans/{plan['id']}", headers=other).status_code == 404
    assert client.get("/v1/plans", headers=other).json() == {"items": [], "next_cursor": None}
    assert [item["id"] for item in client.get("/v1/plans").json()["items"]] == [plan["id"]]


def test_without_keys_everyone_is_one_tenant(make_client: ClientFactory) -> None:
    client = make_client(api_keys={})
    client.headers.pop("X-API-Key")
    plan = client.post("/v1/plans", json=small_request())
    assert plan.status_code == 201
    assert client.get(plan.headers["location"]).status_code == 200


def test_operations_endpoints_need_no_key(client: TestClient) -> None:
    client.headers.pop("X-API-Key")
    for path in ("/healthz", "/metrics", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 200, path
    # 503 while the solver processes start, never a demand for a key.
    assert client.get("/readyz").status_code in (200, 503)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert server.is_loopback(host) is loopback


def test_without_keys_the_server_refuses_to_listen_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "get_settings", lambda: Settings(api_keys={}))
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not start"))
    with pytest.raises(SystemExit, match="API_KEYS"):
        server.run("0.0.0.0", 8000)


def test_with_keys_the_server_may_listen_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, object] = {}
    monkeypatch.setattr(server, "get_settings", lambda: Settings(api_keys={"k": "t"}))
    monkeypatch.setattr(server, "create_app", lambda settings: "app")
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: started.update(kwargs))
    server.run("0.0.0.0", 8123)
    assert (started["host"], started["port"]) == ("0.0.0.0", 8123)


def test_api_keys_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", " key1:tenantA , key2:tenantB,")
    get_settings.cache_clear()
    try:
        assert get_settings().api_keys == {"key1": "tenantA", "key2": "tenantB"}
    finally:
        get_settings.cache_clear()
    with pytest.raises(ValueError, match="key:tenant"):
        Settings(api_keys="no-colon")
