"""While a job runs, GET /v1/plans/{id} shows how far it has come and the best plan so far (local solver pool,
SQLite and PostgreSQL); once it ends, the final plan alone, at least as good as any plan shown before."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Job
from tests.api.workload import busy_request, is_finished, wait_for_status
from tests.checker import check_plan


def has_plan_so_far(body: dict[str, Any]) -> bool:
    return body["status"] == "running" and "plan" in body


def test_a_running_job_shows_its_plan_so_far_and_the_kept_plan_is_no_worse(client: TestClient) -> None:
    request = busy_request(time_limit_s=60)
    accepted = client.post("/v1/plans", params={"mode": "async"}, json=request)
    assert accepted.status_code == 202, accepted.text
    plan_id = accepted.json()["id"]

    running = wait_for_status(client, plan_id, has_plan_so_far, timeout_s=120)
    progress, plan = running["progress"], running["plan"]
    assert running["cancelled"] is False
    assert (plan["id"], plan["status"]) == (plan_id, "feasible")
    assert check_plan(request, plan).violations == []
    assert progress["attempt"] == 1
    assert progress["time_limit_s"] == 60
    assert progress["phase"] in ("first_plan", "covered_value", "changes", "total_cost")
    assert progress["improvements"] >= 1
    assert progress["elapsed_s"] >= progress["found_after_s"] >= 0
    objective = plan["objective"]
    assert (progress["covered_value"], progress["total_cost"]) == (objective["covered_value"], objective["total_cost"])
    assert (progress["bound"], progress["gap"]) == (objective["bound"], objective["gap"])
    assert progress["bound"] >= progress["covered_value"] > 0
    assert 0 <= progress["gap"] < 1
    assert running["progress"]["updated_at"].endswith("Z")

    again = client.get(f"/v1/plans/{plan_id}").json()
    if again["status"] == "running" and "plan" in again:
        assert again["progress"]["covered_value"] >= progress["covered_value"], "the plan so far never gets worse"

    assert client.delete(f"/v1/plans/{plan_id}").status_code in (200, 202)
    kept = wait_for_status(client, plan_id, is_finished, timeout_s=60)
    assert "progress" not in kept
    assert kept["cancelled"] is True
    assert kept["objective"]["covered_value"] >= progress["covered_value"]


def test_a_job_that_ends_keeps_no_progress(client: TestClient) -> None:
    accepted = client.post("/v1/plans", params={"mode": "async"}, json=busy_request(time_limit_s=3))
    plan_id = accepted.json()["id"]
    final = wait_for_status(client, plan_id, is_finished, timeout_s=120)
    assert final["status"] in ("optimal", "feasible")
    assert "progress" not in final
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as session:
        assert session.scalars(select(Job.progress).where(Job.id == plan_id)).one() is None
