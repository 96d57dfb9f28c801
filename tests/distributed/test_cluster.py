"""Two API processes and two Celery workers on the real RabbitMQ and PostgreSQL of this machine: every job is
solved exactly once whichever process took it, a cancel through the other API process stops the solve and
keeps its plan, scenarios and recommendations run on the workers, and the tenant cap and idempotency hold
across API processes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.workload import is_finished, small_request, wait_for, wait_for_status
from tests.checker import check_plan
from tests.db.targets import database_target_for
from tests.distributed.processes import Cluster, cluster, large_request

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.timeout(600)]

EXAMPLES = Path(__file__).resolve().parents[2] / "service" / "api" / "examples"
TENANTS = {f"key-{i}": f"tenant-{i}" for i in range(8)}
API_KEYS = ",".join(f"{key}:{tenant}" for key, tenant in TENANTS.items())


def as_tenant(i: int) -> dict[str, str]:
    return {"X-API-Key": f"key-{i}"}


@pytest.fixture(scope="module")
def two_by_two(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two API processes and two workers (one solve at a time each), shared by this module's tests."""
    workdir = tmp_path_factory.mktemp("cluster")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    for target in database_target_for("postgres", workdir, worker):
        assert target.schema is not None
        with cluster(
            broker_url=broker_url,
            database_url=target.url,
            schema=target.schema,
            workdir=workdir,
            API_KEYS=API_KEYS,
            TENANT_MAX_ACTIVE_JOBS="50",
        ) as made:
            made.start(apis=2, workers=2)
            yield made


def test_jobs_posted_to_either_api_process_are_each_solved_exactly_once(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    headers = as_tenant(0)
    accepted = []
    for i in range(8):
        api = (first, second)[i % 2]
        response = api.client.post("/v1/plans", params={"mode": "async"}, json=small_request(seed=i), headers=headers)
        assert response.status_code == 202, response.text
        accepted.append(response.json()["id"])
    # A synchronous POST above INLINE_SOLVE_MAX_BYTES waits on the database for the worker's plan.
    started = time.monotonic()
    waited = second.client.post("/v1/plans", json=large_request(time_limit_s=2), headers=headers)
    assert waited.status_code == 201, waited.text
    sync_s = time.monotonic() - started
    # A small synchronous POST is answered by the API process itself: stored the same way, solved by no worker.
    direct = first.client.post("/v1/plans", json=small_request(), headers=headers)
    assert direct.status_code == 201, direct.text
    assert direct.json()["status"] == "optimal"
    by_workers = [*accepted, waited.json()["id"]]
    job_ids = [*by_workers, direct.json()["id"]]
    for job_id in job_ids:
        plan = wait_for_status(WithHeaders(first.client, headers), job_id, is_finished, timeout_s=120)
        assert plan["status"] in ("optimal", "feasible")
        assert second.client.get(f"/v1/plans/{job_id}", headers=headers).json() == plan

    solved: dict[str, list[dict[str, Any]]] = {}
    for worker in two_by_two.workers:
        for job_id, events in worker.solved().items():
            solved.setdefault(job_id, []).extend(events)
    expected = {**dict.fromkeys(by_workers, 1), direct.json()["id"]: 0}
    assert {job_id: len(solved.get(job_id, [])) for job_id in job_ids} == expected
    rows = two_by_two.job_rows(job_ids)
    assert {job_id: (row["status"], row["attempts"]) for job_id, row in rows.items()} == dict.fromkeys(
        job_ids, ("done", 1)
    )
    assert all(not worker.events("job.result_refused") for worker in two_by_two.workers)
    listed = first.client.get("/v1/plans", params={"limit": 100}, headers=headers).json()["items"]
    assert {item["id"] for item in listed} == set(job_ids)
    assert sync_s < 60


def test_a_cancel_through_the_other_api_process_stops_the_solve_and_keeps_its_plan(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    headers = as_tenant(1)
    request = large_request(time_limit_s=120)
    accepted = first.client.post("/v1/plans", params={"mode": "async"}, json=request, headers=headers)
    assert accepted.status_code == 202, accepted.text
    plan_id = accepted.json()["id"]
    # The worker stores its plan so far in the database, so either API process shows it while it runs.
    running = wait_for_status(WithHeaders(second.client, headers), plan_id, has_a_plan_so_far, timeout_s=180)
    so_far = running["plan"]
    assert (so_far["id"], so_far["status"]) == (plan_id, "feasible")
    assert check_plan(request, so_far).violations == []
    assert running["progress"]["attempt"] == 1
    assert running["progress"]["covered_value"] == so_far["objective"]["covered_value"]
    seen_first = wait_for_status(WithHeaders(first.client, headers), plan_id, has_a_plan_so_far, timeout_s=60)
    assert seen_first["progress"]["covered_value"] >= running["progress"]["covered_value"]

    asked = time.monotonic()
    cancel = second.client.delete(f"/v1/plans/{plan_id}", headers=headers)
    assert cancel.status_code in (200, 202), cancel.text
    kept = wait_for_status(WithHeaders(second.client, headers), plan_id, is_finished, timeout_s=60)
    stopped_s = time.monotonic() - asked
    assert (kept["status"], kept["cancelled"]) == ("feasible", True)
    assert kept["assignments"], "the best plan so far is kept"
    assert kept["objective"]["covered_value"] >= seen_first["progress"]["covered_value"]
    # About a second: the worker sees the cancel within a heartbeat (0.5 s) and the planner answers at once.
    assert stopped_s < 10, f"the solve took {stopped_s:.1f} s to stop after the cancel"
    assert first.client.get(f"/v1/plans/{plan_id}", headers=headers).json() == kept
    (seen,) = [e for w in two_by_two.workers for e in w.events("job.cancel_seen") if e["job_id"] == plan_id]
    assert seen["attempt"] == 1
    # The logs of both sides name the job, and the attempt where there is one.
    (asked_log,) = second.events("job.cancel_requested", job_id=plan_id)
    assert asked_log["attempt"] == 1
    assert second.events("http.request", job_id=plan_id, method="DELETE")
    assert first.events("http.request", job_id=plan_id, method="POST", status=202)
    (worker,) = [w for w in two_by_two.workers if w.events("job.started", job_id=plan_id)]
    assert [e["attempt"] for e in worker.events("job.finished", job_id=plan_id)] == [1]


def test_readiness_and_metrics_see_the_broker_its_queues_and_the_workers(two_by_two: Cluster) -> None:
    api = two_by_two.apis[0]

    def ready() -> dict[str, Any] | None:
        response = api.client.get("/readyz")
        return response.json() if response.status_code == 200 else None

    readiness = wait_for(ready, timeout_s=60, what="/readyz to see the workers", interval_s=0.5)
    assert (readiness["broker"], readiness["workers"]) == ("reachable", 2)
    metrics = api.client.get("/metrics").text
    assert "broker_reachable 1.0" in metrics
    assert "workers_alive 2.0" in metrics
    for lane in ("solve", "express"):
        assert f'broker_queue_messages{{queue="{two_by_two.prefix}.{lane}"}}' in metrics
        assert f'broker_queue_consumers{{queue="{two_by_two.prefix}.{lane}"}} 2.0' in metrics


def test_scenarios_and_recommendations_run_on_the_workers(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    headers = as_tenant(2)
    scenario = (EXAMPLES / "small-scenario-request.json").read_text()
    response = first.client.post(
        "/v1/scenarios", content=scenario, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    compared = response.json()
    assert compared["status"] == "done"
    assert compared["base"]["kpis"] is not None
    assert all(variant["deltas"] is not None for variant in compared["variants"])
    # Each variant ran after the base, warm-started from its plan (as the local pool does it).
    for variant in compared["variants"]:
        request = second.client.get(f"/v1/plans/{variant['plan_id']}/request", headers=headers).json()
        assert request["options"]["warm_start"] is not None
    assert second.client.get(f"/v1/scenarios/{compared['id']}", headers=headers).json()["status"] == "done"

    question = (EXAMPLES / "small-recommendation-slot.json").read_text()
    answered = second.client.post(
        "/v1/recommendations", content=question, headers={**headers, "Content-Type": "application/json"}
    )
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    assert answer["baseline"]["status"] == "optimal"
    assert answer["resolved"] >= 1
    # The recommendation's solves were stored hidden for the workers, and forgotten once answered.
    listed = first.client.get("/v1/plans", params={"limit": 100}, headers=headers).json()["items"]
    plan_ids = {compared["base"]["plan_id"], *(variant["plan_id"] for variant in compared["variants"])}
    assert {item["id"] for item in listed} == plan_ids
    solved = {job_id for worker in two_by_two.workers for job_id in worker.solved()}
    assert plan_ids <= solved


def test_an_idempotency_key_gives_one_job_across_api_processes(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    headers = as_tenant(3)
    for attempt in range(3):
        key = {**headers, "Idempotency-Key": f"crm-order-{attempt}"}
        answers = at_once(
            [
                partial(api.client.post, "/v1/plans", params={"mode": "async"}, json=small_request(), headers=key)
                for api in (first, second, first, second)
            ]
        )
        assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    listed = second.client.get("/v1/plans", params={"limit": 100}, headers=headers).json()["items"]
    assert len(listed) == 3


def test_the_tenant_cap_holds_across_api_processes(broker_url: str, tmp_path: Path) -> None:
    """No workers: the jobs stay queued, so exactly the cap of them is admitted, whichever process asks."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    for target in database_target_for("postgres", tmp_path, worker):
        assert target.schema is not None
        with cluster(
            broker_url=broker_url,
            database_url=target.url,
            schema=target.schema,
            workdir=tmp_path,
            TENANT_MAX_ACTIVE_JOBS="3",
        ) as made:
            made.start(apis=2, workers=0)
            answers = at_once(
                [
                    partial(made.apis[i % 2].client.post, "/v1/plans", params={"mode": "async"}, json=small_request())
                    for i in range(10)
                ]
            )
            assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * 7
            listed = made.apis[0].client.get("/v1/plans").json()["items"]
            assert len(listed) == 3
            assert {item["status"] for item in listed} == {"queued"}


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Make the calls from threads released together, so that they race; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def has_a_plan_so_far(body: dict[str, Any]) -> bool:
    """Running, with a plan so far that staffs someone: a cancel now has a plan worth keeping."""
    return body["status"] == "running" and bool(body.get("plan", {}).get("assignments"))


class WithHeaders:
    """An httpx client that sends the given headers with every GET (for wait_for_status)."""

    def __init__(self, client: httpx.Client, headers: dict[str, str]) -> None:
        self._client = client
        self._headers = headers

    def get(self, url: str) -> httpx.Response:
        return self._client.get(url, headers=self._headers)
