"""A viewer key sees no hourly rate, cost or budget in any answer: every GET route of the API (walked from the
app's routes, not a sample) and the recommendations, on a tenant with plans, a scenario, a workspace with a
published proposal and bookings."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from service.access import is_money_key
from tests.api.conftest import ClientFactory, Tenants
from tests.api.test_roles import money_fields
from tests.api.test_workspace import load
from tests.api.workload import small_request

_MONEY_TEXT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d{2}\b")


def money_in_text(document: Any) -> list[str]:
    """Money figures written into explanation texts (details, notes) and what-if names."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("detail", "details", "note", "name", "variant") and _MONEY_TEXT.search(str(value)):
                found.append(str(value))
            found.extend(money_in_text(value))
    elif isinstance(document, list):
        for item in document:
            found.extend(money_in_text(item))
    return found


def test_every_answer_to_a_viewer_is_free_of_rates_costs_and_budgets(
    make_client: ClientFactory, tenants: Tenants
) -> None:
    run = uuid.uuid4().hex[:8]
    planner_key, viewer_key = f"planner-{run}", f"viewer-{run}"
    client = make_client(api_keys={planner_key: f"{tenants.a}:planner", viewer_key: f"{tenants.a}:viewer"})
    planner, viewer = {"X-API-Key": planner_key}, {"X-API-Key": viewer_key}

    # Something of every kind to read: a v1 plan, a scenario, a workspace proposal published, bookings.
    plan = client.post("/v1/plans", json=small_request(deterministic=True), headers=planner).json()
    scenario_body = {
        "name": "lose dc-01 (rate 120.00)",
        "base": small_request(deterministic=True),
        "variants": [
            {"name": "without dc-01, saving 14,800", "changes": [{"op": "remove_staff", "staff_id": "dc-01"}]}
        ],
    }
    scenario = client.post("/v1/scenarios", json=scenario_body, headers=planner)
    assert scenario.status_code == 201, scenario.text
    load(client, planner)
    proposal = client.post("/v1/workspace/plans", json={"options": {"deterministic": True}}, headers=planner).json()
    assert client.post(f"/v1/workspace/plans/{proposal['id']}/publish", headers=planner).status_code == 200
    ids = {
        "plan_id": plan["id"],
        "scenario_id": scenario.json()["id"],
        "staff_id": "dc-01",
        "opportunity_id": "opp-A1",
    }

    checked: list[str] = []
    hidden: list[str] = []  # paths where a planner sees money that the viewer did not
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        template = route.path_format
        if not isinstance(route.original_route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        if not template or not template.startswith("/v1/"):
            continue
        path = template.format(**{name: ids.get(name, "x") for name in re.findall(r"{(\w+)}", template)})
        response = client.get(path, headers=viewer)
        assert response.status_code in (200, 403, 404), (path, response.status_code, response.text)
        if response.status_code != 200:
            continue
        media = response.headers["content-type"]
        if "json" in media:
            body = response.json()
            assert money_fields(body) == [], path
            assert money_in_text(body) == [], path
            if money_fields(client.get(path, headers=planner).json()):
                hidden.append(path)
        elif "csv" in media:
            header = next(csv.reader(io.StringIO(response.text)))
            assert [column for column in header if is_money_key(column)] == [], path
        checked.append(path)
    assert {f"/v1/plans/{plan['id']}", "/v1/workspace/request", "/v1/workspace/staff"} <= set(checked)
    assert {f"/v1/plans/{plan['id']}", f"/v1/scenarios/{ids['scenario_id']}", "/v1/workspace/request"} <= set(hidden)
    # The what-if's author wrote money into its names: a planner reads them as written, a viewer does not.
    assert money_in_text(client.get(f"/v1/scenarios/{ids['scenario_id']}", headers=planner).json())

    question = {"request": small_request(deterministic=True), "opportunity_id": "opp-A1", "demand_id": "arch"}
    answered = client.post("/v1/recommendations", json=question, headers=viewer)
    assert answered.status_code == 200, answered.text
    assert money_fields(answered.json()) == []
    assert money_in_text(answered.json()) == []
