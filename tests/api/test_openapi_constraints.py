"""The OpenAPI document says what the server refuses with a 422 wherever a schema can say it, so that
generated clients know: a page cursor's format, a question that names a slot or a person (not both, not
neither), a `set_policy` that changes something, and which ids `previous_plan` may name. Each constraint is
read from /openapi.json, checked against bodies with a JSON Schema validator, and matched by the server."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from service.api.openapi import CURSOR_PATTERN
from service.db.repositories import PageCursor
from tests.api.workload import small_request

PROBLEM = "application/problem+json"


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def accepts(document: dict[str, Any], component: str, instance: Any) -> bool:
    """Whether the document's component schema (its $refs resolved within the document) accepts `instance`."""
    root = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    valid: bool = jsonschema_rs.Draft202012Validator(root).is_valid(instance)
    return valid


def refused(response: Any, path: str) -> bool:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return any(e["path"] == path or e["path"].startswith(path + "[") for e in response.json()["errors"])


# --------------------------------------------------------------------------- page cursors


@pytest.mark.parametrize("path", ["/v1/plans", "/v1/scenarios", "/v1/webhooks"])
def test_a_cursor_has_its_format_in_the_document_and_anything_else_is_a_422(
    client: TestClient, document: dict[str, Any], path: str
) -> None:
    [cursor] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "cursor"]
    assert "next_cursor" in cursor["description"]
    assert "422" in cursor["description"]
    [string] = [branch for branch in cursor["schema"]["anyOf"] if branch.get("type") == "string"]
    assert string["pattern"] == CURSOR_PATTERN
    # What the service hands out fits the pattern.
    handed_out = PageCursor(dt.datetime.now(dt.UTC), str(uuid.uuid4())).encode()
    assert re.fullmatch(CURSOR_PATTERN, handed_out)
    assert client.get(path, params={"cursor": handed_out}).status_code == 200
    # What does not fit is refused; a cursor of the right letters that the service did not hand out, too.
    for bad in ("not a cursor!", "abc=", "x" * 301, "bm90LWEtY3Vyc29y"):
        assert refused(client.get(path, params={"cursor": bad}), "query.cursor"), bad


# --------------------------------------------------------------------------- recommendations


def test_a_recommendation_names_a_slot_or_a_person_in_the_document_and_on_the_server(
    client: TestClient, document: dict[str, Any]
) -> None:
    schema = document["components"]["schemas"]["RecommendationRequest"]
    required = sorted(sorted(form["required"]) for form in schema["oneOf"])
    assert required == [["demand_id", "opportunity_id"], ["staff_id"]]
    request = small_request()
    slot = {"request": request, "opportunity_id": "opp-C1", "demand_id": "crm-demo"}
    person = {"request": request, "staff_id": "south-01"}
    assert accepts(document, "RecommendationRequest", slot)
    assert accepts(document, "RecommendationRequest", person)
    assert accepts(document, "RecommendationRequest", {**slot, "staff_id": None})
    # Refused by both: neither, half a slot, a slot and a person, a null where an id is needed.
    for body, path in [
        ({"request": request}, "opportunity_id"),
        ({"request": request, "opportunity_id": "opp-C1"}, "demand_id"),
        ({**slot, "staff_id": "south-01"}, "staff_id"),
        ({**person, "demand_id": "crm-demo"}, "demand_id"),
        ({**slot, "demand_id": None}, "demand_id"),
    ]:
        assert not accepts(document, "RecommendationRequest", body), body
        assert refused(client.post("/v1/recommendations", json=body), path), body


def test_the_recommendation_figures_say_what_they_compare(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("Candidate", "SlotOption"):
        fields = schemas[name]["properties"]
        assert "minus the baseline plan" in fields["delta_covered_value_vs_baseline"]["description"]
        assert "total_cost - baseline.total_cost" in fields["delta_total_cost_vs_baseline"]["description"]
        assert "delta_covered_value_vs_baseline" in fields["delta_covered_value"]["description"]
        estimate = fields["estimated_delta_covered_value"]["description"]
        assert "without a solve" in estimate
        assert "even of the other sign" in estimate
        assert "displaces" in fields["changed_slots"]["description"]
        assert "displaces" in fields["note"]["description"]
    slot = schemas["SlotRecommendations"]["properties"]
    assert {"qualified", "not_qualified", "limit", "note"} <= set(slot)
    assert "fewer than `limit`" in slot["candidates"]["description"]
    assert set(schemas["NotQualified"]["properties"]) == {"skill", "unit", "excluded"}


# --------------------------------------------------------------------------- scenarios: set_policy


def test_a_policy_patch_must_change_something_in_the_document_and_on_the_server(
    client: TestClient, document: dict[str, Any]
) -> None:
    patch = document["components"]["schemas"]["PolicyPatch"]
    assert patch["minProperties"] == 1
    assert sorted(form["required"][0] for form in patch["anyOf"]) == sorted(patch["properties"])

    def scenario(policy: dict[str, Any]) -> dict[str, Any]:
        change = {"op": "set_policy", "policy": policy}
        return {"name": "policy", "base": small_request(), "variants": [{"name": "v", "changes": [change]}]}

    assert accepts(document, "ScenarioRequest", scenario({"travel_surcharge": 0.3}))
    assert accepts(document, "ScenarioRequest", scenario({"travel_surcharge": 0.3, "tiers": None}))
    for policy in ({}, {"travel_surcharge": None}, {"tiers": None, "budget_ratio": None}):
        assert not accepts(document, "ScenarioRequest", scenario(policy)), policy
        response = client.post("/v1/scenarios", params={"mode": "async"}, json=scenario(policy))
        assert refused(response, "variants[0].changes[0].policy"), policy


# --------------------------------------------------------------------------- previous_plan


def test_previous_plan_says_which_ids_it_may_name_and_others_are_a_422(
    client: TestClient, document: dict[str, Any]
) -> None:
    description = document["components"]["schemas"]["AllocationRequest"]["properties"]["previous_plan"]["description"]
    for words in ("`staff` id", "`opportunities` id", "demand id of that opportunity", "422"):
        assert words in description
    request = small_request()
    request["previous_plan"] = [{"opportunity_id": "opp-C1", "demand_id": "crm-demo", "staff_id": "ghost"}]
    assert refused(client.post("/v1/plans", json=request), "previous_plan[0].staff_id")
    request["previous_plan"] = [{"opportunity_id": "opp-C1", "demand_id": "nope", "staff_id": "south-01"}]
    assert refused(client.post("/v1/plans", json=request), "previous_plan[0].demand_id")
