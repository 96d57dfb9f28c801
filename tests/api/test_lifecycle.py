"""A hypothesis state machine drives the job lifecycle (submit, poll, cancel, replay, list) and checks,
after every step, what a client may rely on: states only move forward, a finished job never changes,
an Idempotency-Key always answers with its first job, and ids are never confused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.api.conftest import ClientFactory
from tests.api.workload import PENDING, busy_request, small_request, wait_for_status

PLAN_STATUSES = {"optimal", "feasible", "infeasible", "unknown"}
ENDED = {"failed", "cancelled"}
ORDER = {"queued": 0, "running": 1}  # anything else is final (2)
CAP = 4


def rank(status: str) -> int:
    return ORDER.get(status, 2)


@dataclass
class Tracked:
    kind: str  # "small" (solves in milliseconds) or "busy" (runs until cancelled)
    status: str = "queued"
    snapshot: dict[str, Any] | None = None  # the body once final: it must never change again
    cancelled: bool = False


@dataclass
class Key:
    name: str
    kind: str
    job_id: str


BODIES = {"small": lambda: small_request(), "busy": lambda: busy_request(time_limit_s=30)}


class JobLifecycle(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    keys = Bundle("keys")

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client
        self.run = uuid.uuid4().hex[:8]
        self.tracked: dict[str, Tracked] = {}
        self.order: list[str] = []
        self.key_names: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def observe(self, job_id: str, body: dict[str, Any]) -> None:
        job = self.tracked[job_id]
        status = body["status"]
        assert body["id"] == job_id
        assert status in PLAN_STATUSES | ENDED | set(PENDING), status
        assert rank(status) >= rank(job.status), f"{job_id} went back from {job.status} to {status}"
        if job.snapshot is not None:
            assert body == job.snapshot, "a finished job changed"
        if rank(status) == 2:
            job.snapshot = body
            if status in PLAN_STATUSES:
                assert isinstance(body["cancelled"], bool)
                if job.kind == "small" and not body["cancelled"]:
                    assert status == "optimal"
                if body["cancelled"]:
                    assert job.cancelled, "only a cancel marks a plan cancelled"
                    assert status in ("feasible", "unknown"), "a proven plan is not reported as cut short"
        job.status = status

    def active(self) -> int:
        return sum(1 for job in self.tracked.values() if rank(job.status) < 2)

    def refresh(self) -> None:
        for job_id, job in self.tracked.items():
            if rank(job.status) < 2:
                self.observe(job_id, self.client.get(f"/v1/plans/{job_id}").json())

    def busy_running(self) -> bool:
        self.refresh()
        return any(job.kind == "busy" and rank(job.status) < 2 for job in self.tracked.values())

    def post(self, kind: str, mode: str, key: str | None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post("/v1/plans", params={"mode": mode}, json=BODIES[kind](), headers=headers)

    def accept_new(self, response: Any, kind: str, mode: str) -> str:
        assert response.status_code == (202 if mode == "async" else 201), response.text
        job_id: str = response.json()["id"]
        assert job_id not in self.tracked
        assert response.headers["location"] == f"/v1/plans/{job_id}"
        self.tracked[job_id] = Tracked(kind)
        self.order.append(job_id)
        self.observe(job_id, response.json() if mode == "sync" else {"id": job_id, "status": "queued"})
        return job_id

    # ------------------------------------------------------------------ rules

    @initialize(target=jobs)
    def first_job(self) -> str:
        return self.accept_new(self.post("small", "sync", None), "small", "sync")

    @rule(target=jobs, kind=st.sampled_from(["small", "small", "busy"]), mode=st.sampled_from(["sync", "async"]))
    def submit(self, kind: str, mode: str) -> str:
        if kind == "busy" and (mode == "sync" or self.busy_running()):
            kind = "small"  # one busy solve at a time, and never waited for synchronously
        self.refresh()
        response = self.post(kind, mode, None)
        if self.active() >= CAP:
            assert response.status_code in (201, 202, 429)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                return self.order[-1]
        return self.accept_new(response, kind, mode)

    @rule(target=keys, kind=st.sampled_from(["small", "small", "busy"]))
    def submit_with_a_new_key(self, kind: str) -> Key:
        if kind == "busy" and self.busy_running():
            kind = "small"
        name = f"{self.run}-{len(self.key_names)}"
        self.key_names.add(name)
        self.refresh()
        response = self.post(kind, "async", name)
        if response.status_code == 429:
            assert self.active() >= CAP
            response = self.post(kind, "async", name)  # a refused key is not taken
            assert response.status_code in (202, 429)
        if response.status_code == 429:
            return Key(name, kind, "")
        return Key(name, kind, self.accept_new(response, kind, "async"))

    @rule(key=keys, mode=st.sampled_from(["sync", "async"]))
    def replay(self, key: Key, mode: str) -> None:
        if not key.job_id:
            return
        if mode == "sync" and self.tracked[key.job_id].kind == "busy" and rank(self.tracked[key.job_id].status) < 2:
            mode = "async"  # do not wait for a busy solve
        response = self.post(key.kind, mode, key.name)
        assert response.status_code == (202 if mode == "async" else 201), response.text
        assert response.headers["idempotent-replayed"] == "true"
        assert response.json()["id"] == key.job_id
        if mode == "sync" and "objective" in response.json():
            self.observe(key.job_id, response.json())

    @rule(key=keys)
    def reuse_a_key_with_another_body(self, key: Key) -> None:
        if not key.job_id:
            return
        other = "busy" if key.kind == "small" else "small"
        assert self.post(other, "async", key.name).status_code == 409

    @rule(job_id=jobs)
    def poll(self, job_id: str) -> None:
        response = self.client.get(f"/v1/plans/{job_id}")
        assert response.status_code == 200
        self.observe(job_id, response.json())

    @rule(job_id=consumes(jobs))
    def cancel(self, job_id: str) -> None:
        was_final = rank(self.tracked[job_id].status) == 2
        response = self.client.delete(f"/v1/plans/{job_id}")
        if was_final:
            assert response.status_code == 409
            return
        assert response.status_code in (200, 202, 409), response.text
        if response.status_code != 409:
            self.tracked[job_id].cancelled = True
        if response.status_code == 200:
            self.observe(job_id, response.json())
            body = response.json()
            assert body["status"] in ("cancelled", "optimal", "infeasible") or body["cancelled"] is True

    @rule()
    def unknown_ids_are_404(self) -> None:
        assert self.client.get(f"/v1/plans/{uuid.uuid4()}").status_code == 404
        assert self.client.delete(f"/v1/plans/{uuid.uuid4()}").status_code == 404

    @precondition(lambda self: len(self.order) > 0)
    @rule()
    def the_list_is_newest_first(self) -> None:
        listed = [item["id"] for item in self.client.get("/v1/plans", params={"limit": 100}).json()["items"]]
        mine = [job_id for job_id in listed if job_id in self.tracked]
        assert mine == list(reversed(self.order))

    @invariant()
    def ids_are_unique(self) -> None:
        assert len(self.order) == len(set(self.order))

    def teardown(self) -> None:
        # Leave nothing running for the next example: cancel, then wait for every job to be final.
        for job_id, job in self.tracked.items():
            if rank(job.status) < 2:
                job.cancelled = True
                self.client.delete(f"/v1/plans/{job_id}")
        for job_id in self.tracked:
            final = wait_for_status(self.client, job_id, lambda body: body["status"] not in PENDING, timeout_s=60)
            self.observe(job_id, final)


@pytest.mark.timeout(600)
def test_the_job_lifecycle_holds_its_promises(make_client: ClientFactory) -> None:
    client = make_client(tenant_max_active_jobs=CAP)

    class AgainstThisApp(JobLifecycle):
        def __init__(self) -> None:
            super().__init__(client)

    run_state_machine_as_test(
        AgainstThisApp,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
