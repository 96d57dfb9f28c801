"""POST and GET /v1/scenarios: each side a stored plan solved on the pool, the comparison, errors, tenants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.contract import Plan
from service.jobs.pool import Limits, SolvePool
from service.whatif import apply_changes, parse_scenario, warm_started
from tests.api import fake_planner
from tests.api.conftest import ClientFactory, Tenants
from tests.api.workload import busy_request, is_finished, is_running, small_request, wait_for, wait_for_status
from tests.checker import check_plan
from tests.db.targets import DatabaseTarget

EXAMPLE = Path(__file__).resolve().parents[2] / "service" / "api" / "examples" / "small-scenario-request.json"
PROBLEM = "application/problem+json"
# Parts of a plan that differ between two solves of the same request: its id and how long it took.
VOLATILE = ("id", "timing", "solver")


def small_scenario(**options: Any) -> dict[str, Any]:
    """The small request as the base; variants: hire a tester in the south, or lose Chen Jing (dc-01)."""
    scenario: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    scenario["base"]["options"] = {"deterministic": True, **options}
    return scenario


def scenario_state(client: TestClient, scenario_id: str) -> dict[str, Any] | None:
    response = client.get(f"/v1/scenarios/{scenario_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body if body["status"] in ("done", "failed") else None


def wait_for_scenario(client: TestClient, scenario_id: str, timeout_s: float = 60) -> dict[str, Any]:
    return wait_for(
        lambda: scenario_state(client, scenario_id), timeout_s=timeout_s, what=f"scenario {scenario_id} to settle"
    )


def stable(plan: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in plan.items() if key not in VOLATILE}


def test_a_synchronous_scenario_compares_every_variant_with_the_base(client: TestClient) -> None:
    response = client.post("/v1/scenarios", json=small_scenario())
    assert response.status_code == 201, response.text
    result = response.json()
    assert response.headers["location"] == f"/v1/scenarios/{result['id']}"
    assert result["status"] == "done"
    assert result["name"] == small_scenario()["name"]
    assert [v["name"] for v in result["variants"]] == ["hire a tester in the south", "lose Chen Jing (dc-01)"]
    base, hire, lose = result["base"], *result["variants"]
    assert base["kpis"]["status"] == "optimal"
    for variant in (hire, lose):
        kpis, deltas = variant["kpis"], variant["deltas"]
        for key in ("covered_value", "total_cost"):
            assert deltas[key] == pytest.approx(kpis[key] - base["kpis"][key], abs=0.01)
        for key in ("staffed_opportunities", "filled_slots", "unfilled_slots"):
            assert deltas[key] == kpis[key] - base["kpis"][key]
    # The new tester takes the test slot of the A deal that nobody could fill in the base.
    assert {"opportunity_id": "opp-A1", "demand_id": "test", "from_staff": None, "to_staff": "south-02"} in [
        {k: m[k] for k in ("opportunity_id", "demand_id", "from_staff", "to_staff")} for m in hire["moves"]
    ]
    assert hire["deltas"]["filled_slots"] >= 1
    assert [j["staff_id"] for j in hire["joined"] if j["new"]] == ["south-02"]
    # Without Chen Jing the A deal's architect slot goes unfilled, and she is reported as gone.
    assert {"opportunity_id": "opp-A1", "demand_id": "arch", "from_staff": "dc-01", "to_staff": None} in [
        {k: m[k] for k in ("opportunity_id", "demand_id", "from_staff", "to_staff")} for m in lose["moves"]
    ]
    assert [(d["staff_id"], d["gone"]) for d in lose["dropped_out"]] == [("dc-01", True)]
    assert lose["deltas"]["covered_value"] < 0
    assert client.get(response.headers["location"]).json() == result


def test_each_variant_plan_is_stored_and_is_what_solving_its_changed_request_gives(client: TestClient) -> None:
    scenario = small_scenario()
    result = client.post("/v1/scenarios", json=scenario).json()
    parsed = parse_scenario(scenario)
    base_plan = Plan.model_validate(client.get(f"/v1/plans/{result['base']['plan_id']}").json())
    changed = [apply_changes(parsed.base, variant.changes) for variant in parsed.variants]
    # Each variant is solved as its changed request with the base plan as options.warm_start.
    sides = [(result["base"], parsed.base, None)] + [
        (variant, warm_started(request, base_plan), request)
        for variant, request in zip(result["variants"], changed, strict=True)
    ]
    for side, request, without_warm_start in sides:
        stored = client.get(f"/v1/plans/{side['plan_id']}")
        assert stored.status_code == 200
        plan = stored.json()
        assert plan["id"] == side["plan_id"]
        assert plan["status"] == side["status"] == "optimal"
        document = request.model_dump(mode="json")
        assert client.get(f"/v1/plans/{side['plan_id']}/request").json() == document
        assert check_plan(document, plan).violations == []
        direct = client.post("/v1/plans", json=document)
        assert direct.status_code == 201
        assert stable(direct.json()) == stable(plan)
        if without_warm_start is not None:
            # The warm start changes no objective level: the changed request alone is exactly as good.
            assert without_warm_start.options.warm_start is None
            plain = client.post("/v1/plans", json=without_warm_start.model_dump(mode="json")).json()
            assert plain["status"] == plan["status"]
            assert plain["objective"] == plan["objective"]
    listed = {item["id"] for item in client.get("/v1/plans", params={"limit": 100}).json()["items"]}
    assert {result["base"]["plan_id"], *(v["plan_id"] for v in result["variants"])} <= listed


def test_variants_start_after_the_base_and_keep_its_people_where_nothing_changed(client: TestClient) -> None:
    scenario = small_scenario()
    scenario["variants"] = [{"name": "nothing changes", "changes": []}]
    result = client.post("/v1/scenarios", json=scenario).json()
    variant = result["variants"][0]
    assert variant["moves"] == []
    assert variant["lead_changes"] == []
    base = client.get(f"/v1/plans/{result['base']['plan_id']}").json()
    same = client.get(f"/v1/plans/{variant['plan_id']}").json()
    assert same["assignments"] == base["assignments"]
    assert same["leads"] == base["leads"]
    warm = client.get(f"/v1/plans/{variant['plan_id']}/request").json()["options"]["warm_start"]
    assert {(a["opportunity_id"], a["demand_id"], a["staff_id"]) for a in warm["assignments"]} == {
        (a["opportunity_id"], a["demand_id"], a["staff_id"]) for a in base["assignments"]
    }


def test_an_asynchronous_scenario_is_acknowledged_with_its_plan_ids_then_compared(client: TestClient) -> None:
    response = client.post("/v1/scenarios", params={"mode": "async"}, json=small_scenario())
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] in ("queued", "running")
    assert accepted["base"]["kpis"] is None
    assert all(v["deltas"] is None and v["moves"] == [] for v in accepted["variants"])
    assert response.headers["location"] == f"/v1/scenarios/{accepted['id']}"
    done = wait_for_scenario(client, accepted["id"])
    assert done["status"] == "done"
    assert done["base"]["plan_id"] == accepted["base"]["plan_id"]
    assert [v["plan_id"] for v in done["variants"]] == [v["plan_id"] for v in accepted["variants"]]
    assert all(v["kpis"] is not None for v in done["variants"])


def test_variants_are_solved_in_parallel_on_the_pool(client: TestClient) -> None:
    scenario = small_scenario()
    scenario["base"] = busy_request(time_limit_s=2)
    scenario["variants"] = [
        {"name": "rates +10%", "changes": [{"op": "scale_rates", "factor": 1.1}]},
        {"name": "rates -10%", "changes": [{"op": "scale_rates", "factor": 0.9}]},
    ]
    accepted = client.post("/v1/scenarios", params={"mode": "async"}, json=scenario).json()
    ids = [accepted["base"]["plan_id"], *(v["plan_id"] for v in accepted["variants"])]

    def two_running() -> bool | None:
        statuses = [client.get(f"/v1/plans/{plan_id}").json()["status"] for plan_id in ids]
        return True if statuses.count("running") == 2 else None  # the pool has two solver processes

    wait_for(two_running, timeout_s=30, what="two sides of the scenario solving at once")
    assert wait_for_scenario(client, accepted["id"])["status"] == "done"


@pytest.mark.parametrize(
    ("variants", "path", "variant", "message"),
    [
        (
            [
                {"name": "fine", "changes": []},
                {
                    "name": "typo",
                    "changes": [
                        {"op": "set_grade", "opportunity_id": "opp-A1", "grade": "B"},
                        {"op": "remove_staff", "staff_id": "dc-99"},
                    ],
                },
            ],
            "variants[1].changes[1].staff_id",
            "typo",
            "unknown staff id 'dc-99'",
        ),
        (
            [{"name": "odd op", "changes": [{"op": "fire_everyone"}]}],
            "variants[0].changes[0].op",
            "odd op",
            "",
        ),
        (
            [{"name": "too dear", "changes": [{"op": "scale_rates", "factor": 0}]}],
            "variants[0].changes[0].factor",
            "too dear",
            "",
        ),
        (
            [{"name": "pin breaks", "changes": [{"op": "set_grade", "opportunity_id": "opp-C1", "grade": "A"}]}],
            None,
            "pin breaks",
            "",
        ),
    ],
)
def test_invalid_changes_are_422_naming_the_variant_and_the_change(
    client: TestClient, variants: list[dict[str, Any]], path: str | None, variant: str, message: str
) -> None:
    scenario = small_scenario()
    if path is None:  # a change that makes a pin of the base break H2: blamed on the op that caused it
        scenario["base"]["opportunities"][1]["pinned"] = [{"demand_id": "crm-demo", "staff_id": "hot-01"}]
        path = "variants[0].changes[0].grade"
    scenario["variants"] = variants
    response = client.post("/v1/scenarios", json=scenario)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    errors = {e["path"]: e for e in problem["errors"]}
    assert path in errors, problem
    assert errors[path]["variant"] == variant
    assert message in errors[path]["message"]
    assert f"variant {variant!r}" in problem["detail"]
    assert client.get("/v1/scenarios").json()["items"] == []
    assert client.get("/v1/plans").json()["items"] == [], "nothing is solved for an invalid scenario"


def test_bodies_that_are_not_scenarios(client: TestClient) -> None:
    assert client.post("/v1/scenarios", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/v1/scenarios", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    missing = client.post("/v1/scenarios", json={"name": "x", "base": small_request()})
    assert missing.status_code == 422
    assert [e["path"] for e in missing.json()["errors"]] == ["variants"]
    duplicate = small_scenario()
    duplicate["variants"][1]["name"] = duplicate["variants"][0]["name"]
    response = client.post("/v1/scenarios", json=duplicate)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "variants[1].name"


def test_unknown_scenarios_are_404_problems(client: TestClient) -> None:
    for scenario_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        response = client.get(f"/v1/scenarios/{scenario_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


def test_another_tenant_sees_nothing_of_a_scenario(client: TestClient, tenants: Tenants) -> None:
    result = client.post("/v1/scenarios", json=small_scenario()).json()
    other = tenants.b_headers
    assert client.get(f"/v1/scenarios/{result['id']}", headers=other).status_code == 404
    for side in (result["base"], *result["variants"]):
        assert client.get(f"/v1/plans/{side['plan_id']}", headers=other).status_code == 404
        assert client.get(f"/v1/plans/{side['plan_id']}/request", headers=other).status_code == 404
    assert client.get("/v1/scenarios", headers=other).json() == {"items": [], "next_cursor": None}
    assert [s["id"] for s in client.get("/v1/scenarios").json()["items"]] == [result["id"]]


def test_scenarios_are_listed_newest_first_a_page_at_a_time(make_client: ClientFactory) -> None:
    client = make_client(tenant_max_active_jobs=10)
    ids = [client.post("/v1/scenarios", json=small_scenario()).json()["id"] for _ in range(3)]
    first = client.get("/v1/scenarios", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert 'rel="next"' in first.headers["link"]
    second = client.get("/v1/scenarios", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert second["next_cursor"] is None
    items = page["items"] + second["items"]
    assert [item["id"] for item in items] == list(reversed(ids))
    assert {item["status"] for item in items} == {"done"}
    assert items[0]["variants"] == ["hire a tester in the south", "lose Chen Jing (dc-01)"]
    assert client.get("/v1/scenarios", params={"cursor": "nonsense"}).status_code == 422


def test_a_scenario_counts_as_one_solve_against_the_tenant_cap(make_client: ClientFactory) -> None:
    client = make_client(tenant_max_active_jobs=1)
    scenario = small_scenario()
    scenario["base"] = busy_request(time_limit_s=30)
    scenario["variants"] = [{"name": "rates +10%", "changes": [{"op": "scale_rates", "factor": 1.1}]}]
    accepted = client.post("/v1/scenarios", params={"mode": "async"}, json=scenario)
    assert accepted.status_code == 202, "a scenario of two solves is admitted under a cap of one"
    refused = client.post("/v1/scenarios", params={"mode": "async"}, json=small_scenario())
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
    ids = [accepted.json()["base"]["plan_id"], *(v["plan_id"] for v in accepted.json()["variants"])]
    # The variant starts once the base has ended. Cancel each only once it is solving: a job cancelled
    # while still queued has no plan to keep.
    for plan_id in ids:
        wait_for_status(client, plan_id, is_running, timeout_s=60)
        client.delete(f"/v1/plans/{plan_id}")
        wait_for_status(client, plan_id, is_finished, timeout_s=20)
    # Cancelled solves keep their best plan so far, so the scenario is still compared.
    settled = wait_for_scenario(client, accepted.json()["id"])
    assert settled["status"] == "done"
    assert settled["base"]["status"] == "feasible"


def test_a_scenario_left_pending_by_a_stopped_server_is_compared_after_the_restart(
    database_target: DatabaseTarget, solve_pool: SolvePool, tenants: Tenants
) -> None:
    settings = database_target.settings(api_keys=tenants.api_keys)
    headers = {"X-API-Key": tenants.a_key}
    scenario = small_scenario()
    scenario["base"] = busy_request(time_limit_s=3)
    scenario["variants"] = [{"name": "rates +10%", "changes": [{"op": "scale_rates", "factor": 1.1}]}]
    with TestClient(create_app(settings, pool=solve_pool), headers=headers) as first:
        accepted = first.post("/v1/scenarios", params={"mode": "async"}, json=scenario).json()
        wait_for_status(first, accepted["base"]["plan_id"], is_running)
    # The first app has stopped: its running solves went back to the queue, the scenario is pending.
    with TestClient(create_app(settings, pool=solve_pool), headers=headers) as second:
        settled = wait_for_scenario(second, accepted["id"], timeout_s=90)
    assert settled["status"] == "done"
    assert all(v["kpis"] is not None for v in settled["variants"])


@pytest.fixture(scope="module")
def crashing_pool() -> Iterator[SolvePool]:
    pool = SolvePool(1, target=fake_planner.TARGET, limits=Limits(1.5, 0.5, 2.0))
    pool.start()
    yield pool
    pool.stop()


def test_a_scenario_whose_solves_fail_is_a_503_and_stays_failed(
    make_client: ClientFactory, crashing_pool: SolvePool
) -> None:
    client = make_client(pool=crashing_pool)
    scenario = small_scenario(seed=fake_planner.CRASH_SEED)
    scenario["variants"] = scenario["variants"][:1]
    response = client.post("/v1/scenarios", json=scenario)
    assert response.status_code == 503, response.text
    problem = response.json()
    assert "exit code 3" in problem["detail"]
    assert "variant 'hire a tester in the south'" in problem["detail"]
    stored = client.get(response.headers["location"]).json()
    assert stored["status"] == "failed"
    assert stored["detail"] == problem["detail"]
    assert stored["variants"][0]["status"] == "failed"


def test_a_scenario_gets_every_error_in_one_422(client: TestClient) -> None:
    scenario = small_scenario()
    scenario["base"]["staff"][0]["can_lead"] = "yes"
    scenario["base"]["opportunities"][1]["id"] = scenario["base"]["opportunities"][0]["id"]
    scenario["variants"].append(dict(scenario["variants"][0]))
    response = client.post("/v1/scenarios", json=scenario)
    assert response.status_code == 422
    errors = {e["path"]: e["type"] for e in response.json()["errors"]}
    duplicate_variant = f"variants[{len(scenario['variants']) - 1}].name"
    assert errors == {
        "base.staff[0].can_lead": "bool_type",
        "base.opportunities[1].id": "duplicate_id",
        duplicate_variant: "duplicate_id",
    }


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("policy", "travel_surcharge"), False, "policy.travel_surcharge"),
        (("opportunities", 0, "demands", 0, "remote_ok"), 0, "opportunities[0].demands[0].remote_ok"),
        (("horizon", "start"), 0, "horizon.start"),
        (("staff", 0, "hourly_rate"), "150", "staff[0].hourly_rate"),
    ],
)
def test_scalars_of_the_wrong_json_type_are_422_everywhere(
    client: TestClient, where: tuple[str | int, ...], value: Any, path: str
) -> None:
    """Pydantic's lax mode would read `false` as 0 or `0` as a date; the OpenAPI document says otherwise."""

    def spoil(request: dict[str, Any]) -> dict[str, Any]:
        target: Any = request
        for key in where[:-1]:
            target = target[key] if key in target or isinstance(key, int) else target.setdefault(key, {})
        target[where[-1]] = value
        return request

    scenario = small_scenario()
    spoil(scenario["base"])
    bodies = {
        "/v1/plans": (spoil(small_request()), path),
        "/v1/scenarios": (scenario, f"base.{path}"),
        "/v1/recommendations": (
            {"request": spoil(small_request()), "opportunity_id": "opp-C1", "demand_id": "erp"},
            f"request.{path}",
        ),
    }
    for endpoint, (body, expected) in bodies.items():
        response = client.post(endpoint, json=body)
        assert response.status_code == 422, (endpoint, response.text)
        assert [e["path"] for e in response.json()["errors"]] == [expected], endpoint
