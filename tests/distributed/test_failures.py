"""Nothing is lost when a process dies: `kill -9` of a worker mid-solve gets its job redelivered and finished on
the other worker; `kill -9` of an API process loses none of the jobs it acknowledged, and a job it committed
but never published is published by the other API process's sweep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.contract import AllocationRequest
from service.db.engine import make_sessions
from service.db.repositories import JobRepository
from service.jobs.attempt import request_document
from tests.api import fake_planner
from tests.api.workload import is_finished, is_running, small_request, wait_for, wait_for_status
from tests.db.targets import DatabaseTarget
from tests.distributed.processes import Cluster, children_of, cluster, large_request, process_gone

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.timeout(600)]


@pytest.fixture
def two_by_two(broker_url: str, postgres: DatabaseTarget, tmp_path: Path) -> Iterator[Cluster]:
    assert postgres.schema is not None
    with cluster(
        broker_url=broker_url,
        database_url=postgres.url,
        schema=postgres.schema,
        workdir=tmp_path,
        TENANT_MAX_ACTIVE_JOBS="50",
    ) as made:
        made.start(apis=2, workers=2)
        yield made


def test_a_worker_killed_mid_solve_has_its_job_finished_by_the_other(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    accepted = first.client.post("/v1/plans", params={"mode": "async"}, json=large_request(time_limit_s=8))
    assert accepted.status_code == 202, accepted.text
    plan_id = accepted.json()["id"]
    wait_for_status(second.client, plan_id, is_running, timeout_s=120)

    def solver() -> tuple[int, int] | None:
        for index, worker in enumerate(two_by_two.workers):
            if any(e["job_id"] == plan_id for e in worker.events("job.started")):
                return index, worker.pid
        return None

    index, _ = wait_for(solver, timeout_s=30, what="a worker to log that it started the job", interval_s=0.2)
    doomed, survivor = two_by_two.workers[index], two_by_two.workers[1 - index]
    pool = children_of(doomed.pid)
    assert pool, "a prefork worker solves in a child process"
    # SIGKILL of the worker's main process alone: its broker connection closes (the broker redelivers the
    # task) and the child solving the job must notice it is orphaned and stop, without storing anything.
    doomed.kill(group=False)
    wait_for(lambda: all(process_gone(pid) for pid in pool) or None, timeout_s=15, what="the orphaned pool to exit")

    plan = wait_for_status(second.client, plan_id, is_finished, timeout_s=180)
    assert plan["status"] in ("feasible", "optimal")
    assert plan["cancelled"] is False
    finished = [e for e in survivor.events("job.finished") if e["job_id"] == plan_id]
    assert [(e["attempt"], e["status"]) for e in finished] == [(2, plan["status"])]
    assert not [e for e in doomed.events("job.finished") if e["job_id"] == plan_id]
    row = two_by_two.job_rows([plan_id])[plan_id]
    assert (row["status"], row["attempts"]) == ("done", 2)
    # The survivor got the task again from the broker, waited out the dead worker's lease, and took over.
    assert [e for e in survivor.events("job.not_claimed") if e["job_id"] == plan_id and e["claim"] == "held"]


def test_an_api_process_killed_loses_nothing_it_acknowledged(two_by_two: Cluster) -> None:
    first, second = two_by_two.apis
    accepted = []
    for seed in range(6):
        response = first.client.post("/v1/plans", params={"mode": "async"}, json=small_request(seed=seed))
        assert response.status_code == 202, response.text
        accepted.append(response.json()["id"])
    first.kill(group=True)

    # A job committed by a process that died before it could publish it: the row exists, no message does.
    request = AllocationRequest.model_validate(small_request(seed=99))
    document, sha256, size = request_document(request)
    sessions = make_sessions(two_by_two.engine)
    with sessions.begin() as session:
        lost = (
            JobRepository(session)
            .create(
                tenant="default",
                request_body=document,
                body_sha256=sha256,
                time_limit_s=request.options.time_limit_s,
                request_bytes=size,
            )
            .id
        )

    for job_id in [*accepted, lost]:
        plan = wait_for_status(second.client, job_id, is_finished, timeout_s=120)
        assert plan["status"] == "optimal"
    swept = [job_id for e in second.events("jobs.published_by_sweep") for job_id in e["unpublished"]]
    assert lost in swept
    rows = two_by_two.job_rows([*accepted, lost])
    assert {row["attempts"] for row in rows.values()} == {1}
    assert all(row["published_at"] is not None for row in rows.values())


def test_the_workers_watchdog_ends_a_solve_that_ignores_its_time_limit_or_its_cancel(
    broker_url: str, postgres: DatabaseTarget, tmp_path: Path
) -> None:
    assert postgres.schema is not None
    with cluster(
        broker_url=broker_url,
        database_url=postgres.url,
        schema=postgres.schema,
        workdir=tmp_path,
        WORKER_PLANNER=fake_planner.TARGET,
    ) as made:
        made.start(apis=1, workers=1)
        api, worker = made.apis[0], made.workers[0]
        hung = api.client.post(
            "/v1/plans", params={"mode": "async"}, json=small_request(time_limit_s=1, seed=fake_planner.HANG_SEED)
        )
        assert hung.status_code == 202, hung.text
        ended = wait_for_status(api.client, hung.json()["id"], is_finished, timeout_s=60)
        assert ended["status"] == "failed"
        assert "stopped by the watchdog" in ended["detail"]

        deaf = api.client.post(
            "/v1/plans", params={"mode": "async"}, json=small_request(time_limit_s=4, seed=fake_planner.HANG_SEED)
        )
        deaf_id = deaf.json()["id"]
        wait_for_status(api.client, deaf_id, is_running, timeout_s=60)
        assert api.client.delete(f"/v1/plans/{deaf_id}").status_code == 202
        ended = wait_for_status(api.client, deaf_id, is_finished, timeout_s=60)
        assert ended["status"] == "cancelled"
        assert "did not stop within 3 s of the cancel" in ended["detail"]

        # The worker replaced the processes its watchdog ended, and goes on solving.
        after = api.client.post("/v1/plans", params={"mode": "async"}, json=small_request())
        assert after.status_code == 202, after.text
        assert wait_for_status(api.client, after.json()["id"], is_finished, timeout_s=60)["status"] == "optimal"
        worker.alive()
        rows = made.job_rows([hung.json()["id"], deaf_id])
        assert {row["attempts"] for row in rows.values()} == {1}, "a job its watchdog ended is not run again"
