"""Roles (CONTRACT v2): admin, planner and viewer keys of one tenant. A viewer reads, never writes, and never
sees an hourly rate or a cost in any answer; a key without a role is an admin."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.access import is_money_key, key_id, parse_grant, redact_for_viewer
from service.settings import Settings
from tests.api.conftest import ClientFactory, Tenants
from tests.api.workload import small_request


@pytest.fixture
def keys(tenants: Tenants) -> dict[str, str]:
    """One key per role of tenant A (the bare key is the admin), plus tenant B's."""
    run = uuid.uuid4().hex[:8]
    return {
        "admin": f"admin-{run}",
        "planner": f"planner-{run}",
        "viewer": f"viewer-{run}",
    }


@pytest.fixture
def roles_client(make_client: ClientFactory, tenants: Tenants, keys: dict[str, str]) -> TestClient:
    api_keys = {
        keys["admin"]: tenants.a,
        keys["planner"]: f"{tenants.a}:planner",
        keys["viewer"]: f"{tenants.a}:viewer",
        tenants.b_key: tenants.b,
    }
    return make_client(api_keys=api_keys)


def as_role(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def money_fields(document: Any, path: str = "") -> list[str]:
    """Every field of `document` that holds a rate or a cost, by path."""
    found: list[str] = []
    if isinstance(document, dict):
        if is_money_key(str(document.get("name", ""))):
            found.append(f"{path} (named {document['name']})")
        for key, value in document.items():
            here = f"{path}.{key}" if path else str(key)
            if is_money_key(str(key)):
                found.append(here)
            found.extend(money_fields(value, here))
    elif isinstance(document, list):
        for i, item in enumerate(document):
            found.extend(money_fields(item, f"{path}[{i}]"))
    return found


def test_a_viewer_reads_plans_without_any_rate_or_cost(roles_client: TestClient, keys: dict[str, str]) -> None:
    created = roles_client.post("/v1/plans", json=small_request(), headers=as_role(keys, "planner"))
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    assert money_fields(created.json()), "a planner sees the costs"

    for path in (f"/v1/plans/{plan_id}", "/v1/plans", f"/v1/plans/{plan_id}/request"):
        seen = roles_client.get(path, headers=as_role(keys, "viewer"))
        assert seen.status_code == 200, (path, seen.text)
        assert money_fields(seen.json()) == [], path
        assert int(seen.headers["content-length"]) == len(seen.content)
    plan = roles_client.get(f"/v1/plans/{plan_id}", headers=as_role(keys, "viewer")).json()
    assert plan["objective"]["covered_value"] == created.json()["objective"]["covered_value"]
    assert "total_cost" not in plan["kpis"]


def test_a_viewer_may_not_write_but_may_ask_for_recommendations(roles_client: TestClient, keys: dict[str, str]) -> None:
    viewer = as_role(keys, "viewer")
    refused = roles_client.post("/v1/plans", json=small_request(), headers=viewer)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "viewer" in refused.json()["detail"]
    assert roles_client.post("/v1/scenarios", json={"name": "x"}, headers=viewer).status_code == 403

    question = {"request": small_request(deterministic=True), "opportunity_id": "opp-C1", "demand_id": "crm-demo"}
    answered = roles_client.post("/v1/recommendations", json=question, headers=viewer)
    assert answered.status_code == 200, answered.text
    assert money_fields(answered.json()) == []
    assert answered.json()["candidates"], "the ranking is still there"


def test_admin_and_planner_keys_solve_and_a_key_without_a_role_is_an_admin(
    roles_client: TestClient, keys: dict[str, str], tenants: Tenants
) -> None:
    for role in ("admin", "planner"):
        response = roles_client.post("/v1/plans", json=small_request(), headers=as_role(keys, role))
        assert response.status_code == 201, (role, response.text)
    # Tenant B's key (no role) reaches only tenant B's plans.
    assert roles_client.get("/v1/plans", headers=tenants.b_headers).json()["items"] == []


def test_api_keys_carry_roles_and_an_unknown_role_is_refused() -> None:
    settings = Settings(api_keys="k1:acme,k2:acme:viewer,k3:acme:planner")  # type: ignore[arg-type]
    assert [parse_grant(g) for g in settings.api_keys.values()] == [
        ("acme", "admin"),
        ("acme", "viewer"),
        ("acme", "planner"),
    ]
    with pytest.raises(ValueError, match="role 'boss'"):
        Settings(api_keys="k1:acme:boss")  # type: ignore[arg-type]
    assert key_id("k1") == key_id("k1") != key_id("k2")
    assert "k1" not in key_id("k1")


def test_redaction_drops_rates_and_costs_and_hides_money_in_explanations() -> None:
    document = {
        "staff": [{"id": "s-1", "hourly_rate": 120.0, "capacity_hours": 40}],
        "objective": {"covered_value": 10.0, "total_cost": 5.0},
        "unfilled": [{"reason": "over_budget", "detail": "costs 12,480.00, the budget is 9,000.00 (H6)"}],
        "candidates": [{"member_cost": 1.0, "delta_total_cost_vs_baseline": -2.0, "details": ["at least 980.50"]}],
        "solver": {"version": "9.12.4544", "levels": [{"name": "covered_value"}, {"name": "total_cost", "bound": 1}]},
    }
    assert redact_for_viewer(document) == {
        "staff": [{"id": "s-1", "capacity_hours": 40}],
        "objective": {"covered_value": 10.0},
        "unfilled": [{"reason": "over_budget", "detail": "costs [hidden], the budget is [hidden] (H6)"}],
        "candidates": [{"details": ["at least [hidden]"]}],
        "solver": {"version": "9.12.4544", "levels": [{"name": "covered_value"}]},
    }


def test_me_names_the_callers_tenant_and_role(roles_client: TestClient, keys: dict[str, str], tenants: Tenants) -> None:
    """The page asks GET /v1/me to know whether to hide rates, costs and the buttons that write."""
    for role in ("admin", "planner", "viewer"):
        answer = roles_client.get("/v1/me", headers=as_role(keys, role))
        assert answer.status_code == 200
        body = answer.json()
        assert body["tenant"] == tenants.a
        assert body["role"] == role
        assert body["key_id"] == key_id(keys[role])
    assert roles_client.get("/v1/me").status_code == 401
