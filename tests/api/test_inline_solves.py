"""Small synchronous requests solved in the API process itself (INLINE_SOLVE_MAX_BYTES): the same plan as the
queue gives, stored once with its job, idempotent, and sent to the queue whenever it cannot be proven here."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db.models import Job
from tests.api.conftest import ClientFactory
from tests.api.workload import busy_request, small_request

INLINE = 16_384


def solves_in_pool(client: TestClient) -> int:
    started: int = client.app.state.runner.solves_started  # type: ignore[attr-defined]
    return started


def job_row(client: TestClient, job_id: str) -> Job:
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as session:
        job: Job = session.scalars(select(Job).where(Job.id == job_id)).one()
        session.expunge(job)
        return job


def figures(plan: dict[str, Any]) -> tuple[str, float, float, list[tuple[str, str, str]]]:
    work = sorted((a["opportunity_id"], a["demand_id"], a["staff_id"]) for a in plan["assignments"])
    return plan["status"], plan["objective"]["covered_value"], plan["objective"]["total_cost"], work


def test_a_small_synchronous_request_is_answered_by_the_api_process_with_the_queues_plan(
    make_client: ClientFactory,
) -> None:
    inline = make_client(inline_solve_max_bytes=INLINE)
    answer = inline.post("/v1/plans", json=small_request())
    assert answer.status_code == 201, answer.text
    plan = answer.json()
    assert answer.headers["Location"] == f"/v1/plans/{plan['id']}"
    assert solves_in_pool(inline) == 0, "solved in the API process, not handed to the solver pool"

    # Stored as any job's plan: read back, listed, its job done in one attempt.
    assert inline.get(f"/v1/plans/{plan['id']}").json() == plan
    assert plan["id"] in {item["id"] for item in inline.get("/v1/plans").json()["items"]}
    row = job_row(inline, plan["id"])
    assert (row.status, row.attempts) == ("done", 1)
    assert row.started_at is not None
    assert row.finished_at is not None

    queued = make_client(inline_solve_max_bytes=0)
    through_pool = queued.post("/v1/plans", json=small_request())
    assert through_pool.status_code == 201, through_pool.text
    assert solves_in_pool(queued) == 1
    assert figures(plan) == figures(through_pool.json())


def test_an_inline_solve_keeps_the_idempotency_key(make_client: ClientFactory) -> None:
    client = make_client(inline_solve_max_bytes=INLINE)
    key = {"Idempotency-Key": "inline-once"}
    first = client.post("/v1/plans", json=small_request(), headers=key)
    again = client.post("/v1/plans", json=small_request(), headers=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = client.post("/v1/plans", json=small_request(time_limit_s=3), headers=key)
    assert other.status_code == 409, other.text


def test_what_cannot_be_proven_within_the_budget_or_is_large_or_async_takes_the_queue(
    make_client: ClientFactory,
) -> None:
    client = make_client(inline_solve_max_bytes=INLINE, inline_solve_budget_s=1e-6)
    unproven = client.post("/v1/plans", json=small_request())
    assert unproven.status_code == 201, unproven.text
    assert unproven.json()["status"] == "optimal"
    assert solves_in_pool(client) == 1, "not proven within the budget: solved again by the pool, whole limit"

    roomy = make_client(inline_solve_max_bytes=INLINE)
    accepted = roomy.post("/v1/plans?mode=async", json=small_request())
    assert accepted.status_code == 202, accepted.text
    large = roomy.post("/v1/plans", json=busy_request(time_limit_s=1.0))
    assert large.status_code == 201, large.text
    assert solves_in_pool(roomy) == 2, "an async request and one above INLINE_SOLVE_MAX_BYTES take the queue"
