"""POST /v1/recommendations: candidates for a slot and slots for a person, every solve on the solver pool."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from fastapi.testclient import TestClient

from service.contract import AllocationRequest
from service.jobs.runner import JobRunner
from service.recommendations import pinned_request
from tests.api.conftest import ClientFactory
from tests.api.workload import busy_request, small_request

PROBLEM = "application/problem+json"


def runner_of(client: TestClient) -> JobRunner:
    runner: JobRunner = client.app.state.runner  # type: ignore[attr-defined]
    return runner


def slot_question(**extra: Any) -> dict[str, Any]:
    return {"request": small_request(deterministic=True), "opportunity_id": "opp-C1", "demand_id": "crm-demo", **extra}


@pytest.fixture(autouse=True)
def no_solves_in_the_web_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Solver processes import the planner themselves; in this (the web) process it must never run."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("a plan was solved in the web process")

    monkeypatch.setattr("service.planning.make_plan", refuse)
    monkeypatch.setattr("service.recommendations.make_plan", refuse)


def test_candidates_for_a_slot_are_ranked_and_priced_by_a_re_solve_on_the_pool(client: TestClient) -> None:
    runner = runner_of(client)
    solves = runner.solves_started
    response = client.post("/v1/recommendations", json=slot_question(limit=3))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["opportunity_id"], answer["demand_id"]) == ("opp-C1", "crm-demo")
    assert answer["baseline"]["status"] == "optimal"
    assert answer["on_slot"] == ["hot-01"]
    candidates = {c["staff_id"]: c for c in answer["candidates"]}
    assert [c["rank"] for c in answer["candidates"]] == list(range(1, len(candidates) + 1))
    assert candidates["hot-01"]["on_slot"] is True
    assert candidates["hot-01"]["delta_covered_value"] == 0
    liu = candidates["south-01"]
    assert (liu["resolved"], liu["feasible"], liu["exact"]) == (True, True, True)
    assert answer["resolved"] == 1
    # The exact figures under names that say their reference, and the answer says why it lists so few.
    assert liu["delta_covered_value_vs_baseline"] == liu["delta_covered_value"]
    assert liu["delta_total_cost_vs_baseline"] == liu["delta_total_cost"]
    assert "against the baseline plan" in liu["note"]
    assert answer["qualified"] == len(answer["candidates"])
    assert answer["note"].startswith(f"Only {answer['qualified']} of 5 people pass H1, H2 and H9")
    assert runner.solves_started == solves + 1 + answer["resolved"], "the baseline and each re-solve on the pool"
    # The re-solve is exactly the request with Liu Yang pinned to the slot, solved directly.
    request = AllocationRequest.model_validate(slot_question()["request"])
    pinned = pinned_request(request, "opp-C1", "crm-demo", "south-01").model_dump(mode="json")
    direct = client.post("/v1/plans", json=pinned).json()
    assert liu["covered_value"] == direct["objective"]["covered_value"]
    assert liu["total_cost"] == direct["objective"]["total_cost"]
    assert liu["delta_total_cost"] == pytest.approx(
        direct["objective"]["total_cost"] - answer["baseline"]["total_cost"]
    )


def test_slots_for_a_person(client: TestClient) -> None:
    question = {"request": small_request(), "staff_id": "south-01", "limit": 3, "open_only": False}
    response = client.post("/v1/recommendations", json=question)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["staff_id"] == "south-01"
    slots = {(s["opportunity_id"], s["demand_id"]): s for s in answer["slots"]}
    assert ("opp-C1", "crm-demo") in slots
    assert slots[("opp-C1", "crm-demo")]["feasible"] is True


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"opportunity_id": "opp-X"}, "opportunity_id"),
        ({"demand_id": "nope"}, "demand_id"),
        ({"demand_id": None}, "demand_id"),
        ({"limit": 0}, "limit"),
        ({"staff_id": "south-01"}, "staff_id"),
        ({"request": {"horizon": {"start": "2026-11-23", "weeks": 0}, "staff": [], "opportunities": []}}, "request"),
    ],
)
def test_invalid_questions_are_422_naming_the_field(client: TestClient, change: dict[str, Any], path: str) -> None:
    response = client.post("/v1/recommendations", json=slot_question(**change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert any(e["path"] == path or e["path"].startswith(path + ".") for e in response.json()["errors"])


def test_a_recommendation_counts_against_the_tenant_cap(make_client: ClientFactory) -> None:
    client = make_client(tenant_max_active_jobs=1)
    busy = client.post("/v1/plans", params={"mode": "async"}, json=busy_request(time_limit_s=30)).json()["id"]
    try:
        response = client.post("/v1/recommendations", json=slot_question())
        assert response.status_code == 429
        assert response.headers["content-type"] == PROBLEM
    finally:
        client.delete(f"/v1/plans/{busy}")


def test_recommendations_need_a_key(client: TestClient) -> None:
    client.headers.pop("X-API-Key")
    assert client.post("/v1/recommendations", json=slot_question()).status_code == 401


def test_the_published_schema_keeps_the_recommendation_model_names() -> None:
    """Clients generate code from /openapi.json: the models' component names and fields are part of the API,
    wherever the models live in the code (the recommendation SlotChange keeps its module-qualified name)."""
    from service.api.app import create_app
    from service.settings import Settings

    schemas = create_app(Settings(database_url="sqlite:///unused.db")).openapi()["components"]["schemas"]
    outcome = [
        "changed_slots",
        "covered_value",
        "delta_covered_value",
        "delta_covered_value_vs_baseline",
        "delta_total_cost",
        "delta_total_cost_vs_baseline",
        "detail",
        "estimated_delta_covered_value",
        "exact",
        "feasible",
        "member_cost",
        "note",
        "on_slot",
        "pinned",
        "rank",
        "reasons",
        "resolved",
        "status",
        "total_cost",
    ]
    expected = {
        "RecommendationRequest": ["demand_id", "limit", "open_only", "opportunity_id", "request", "staff_id"],
        "Baseline": ["covered_value", "status", "total_cost"],
        "service__recommendations__SlotChange": [
            "delta_covered_value",
            "demand_id",
            "filled_in_baseline",
            "filled_with_choice",
            "opportunity_id",
        ],
        "Candidate": sorted([*outcome, "name", "region", "role", "skill_level", "staff_id", "unit_id", "unit_kind"]),
        "NotQualified": ["excluded", "skill", "unit"],
        "SlotRecommendations": [
            "baseline",
            "candidates",
            "demand_id",
            "headcount",
            "limit",
            "not_qualified",
            "note",
            "on_slot",
            "opportunity_id",
            "qualified",
            "resolved",
            "slot_value",
        ],
        "SlotOption": sorted(
            [*outcome, "demand_id", "grade", "open_slots", "opportunity_id", "opportunity_name", "slot_value"]
        ),
        "StaffRecommendations": ["baseline", "limit", "note", "qualified", "resolved", "slots", "staff_id"],
    }
    assert {name: sorted(schemas[name]["properties"]) for name in expected} == expected
    assert "service__whatif__compare__SlotChange" in schemas
