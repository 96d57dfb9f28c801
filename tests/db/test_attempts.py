"""One attempt at a job, as the local pool and the Celery workers both run it: a result that comes back after
another attempt took the job over is refused and logged, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from service.db.base import utcnow
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.models import Job, StoredPlan
from service.db.repositories import JobRepository
from service.jobs.attempt import record, run_attempt
from service.jobs.pool import SolveJob, SolveOutcome
from service.settings import Settings
from tests.api.workload import wait_for

PLAN: dict[str, Any] = {"status": "optimal", "objective": {"covered_value": 1.0, "total_cost": 2.0}}


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are savepoints of one transaction, rolled back after the test: the database is
    shared by the session's tests (start-up recovery and the migrations' round trip see every row)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        finally:
            transaction.rollback()


def queued_job(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        job = JobRepository(session).create(
            tenant=f"attempts-{uuid.uuid4().hex[:8]}",
            request_body={"any": "request"},
            body_sha256="0" * 64,
            time_limit_s=5.0,
        )
        return job.id


def test_a_result_that_comes_back_after_a_takeover_is_refused(sessions: sessionmaker[Session]) -> None:
    job_id = queued_job(sessions)
    overtaken: list[int] = []

    def solve(job: SolveJob) -> SolveOutcome:
        # While this attempt solves, its lease runs out (a partition, a stalled host) and another worker
        # takes the job over: that is attempt 2.
        later = utcnow() + dt.timedelta(seconds=60)
        with sessions.begin() as session:
            claim = JobRepository(session).claim(job.job_id, lease_s=10, max_attempts=3, now=later)
        assert claim.job is not None
        overtaken.append(claim.job.attempts)
        return SolveOutcome(json.dumps(PLAN), None, 0.5)

    with capture_logs() as logs:
        late = run_attempt(sessions, job_id, solve, lease_s=10, max_attempts=3)
    assert (late.claim, late.attempt, late.status) == ("claimed", 1, "refused")
    assert overtaken == [2]
    refused = [e for e in logs if e["event"] == "job.result_refused"]
    assert [(e["job_id"], e["attempt"], e["outcome"]) for e in refused] == [(job_id, 1, "plan")]
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.attempts) == ("running", 2)
        assert session.get(StoredPlan, job_id) is None

    current = record(sessions, job_id, 2, SolveOutcome(json.dumps({**PLAN, "status": "feasible"}), None, 1.0))
    assert current.status == "feasible"
    assert record(sessions, job_id, 1, SolveOutcome(None, "the old attempt failed late", 2.0)).status == "refused"
    with sessions() as session:
        plan = session.get(StoredPlan, job_id)
        assert plan is not None
        assert plan.status == "feasible"


def test_a_job_another_attempt_holds_is_not_solved_again(sessions: sessionmaker[Session]) -> None:
    job_id = queued_job(sessions)
    with sessions.begin() as session:
        assert JobRepository(session).claim(job_id, lease_s=30).kind == "claimed"

    def solve(job: SolveJob) -> SolveOutcome:
        raise AssertionError("a second solve started while the first attempt's lease is live")

    held = run_attempt(sessions, job_id, solve, lease_s=30, max_attempts=3)
    assert held.claim == "held"
    assert 0 < held.lease_left_s <= 30


def stored_progress(sessions: sessionmaker[Session], job_id: str) -> tuple[dict[str, Any] | None, dt.datetime | None]:
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.progress, job.progress_at


def test_only_the_attempt_that_holds_a_job_stores_its_plan_so_far(sessions: sessionmaker[Session]) -> None:
    job_id = queued_job(sessions)
    so_far = {"phase": "covered_value", "found_after_s": 1.5, "improvements": 3, "plan": PLAN}
    with sessions.begin() as session:
        assert JobRepository(session).claim(job_id, lease_s=10).kind == "claimed"
        assert JobRepository(session).save_progress(job_id, 1, json.dumps(so_far))
    stored, stored_at = stored_progress(sessions, job_id)
    assert stored == so_far
    assert stored_at is not None

    # Attempt 1's lease runs out and attempt 2 takes the job over: it starts with no plan so far, and the
    # stale attempt can no longer write one.
    later = utcnow() + dt.timedelta(seconds=60)
    with sessions.begin() as session:
        assert JobRepository(session).claim(job_id, lease_s=10, now=later).kind == "claimed"
    assert stored_progress(sessions, job_id) == (None, None)
    with sessions.begin() as session:
        assert not JobRepository(session).save_progress(job_id, 1, json.dumps(so_far))
        assert JobRepository(session).save_progress(job_id, 2, json.dumps({**so_far, "improvements": 1}))
    assert (stored_progress(sessions, job_id)[0] or {})["improvements"] == 1

    # The result ends the plan so far, and nothing more is written once the job has ended.
    assert record(sessions, job_id, 2, SolveOutcome(json.dumps(PLAN), None, 1.0)).status == "optimal"
    assert stored_progress(sessions, job_id) == (None, None)
    with sessions.begin() as session:
        assert not JobRepository(session).save_progress(job_id, 2, json.dumps(so_far))


def test_a_plan_that_ends_while_the_database_is_out_of_reach_is_stored_once_it_is_back(tmp_path: Path) -> None:
    """The solve ends while another process holds the SQLite file locked (as a partition would hold the
    database out of reach): the attempt keeps trying and stores its plan once the lock is gone, instead of
    dropping it to be solved again."""
    database = tmp_path / "jobs.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{database}", sqlite_busy_timeout_ms=20))
    upgrade(engine, None)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    job_id = queued_job(sessions)

    with capture_logs() as logs:

        def hold_until_retried(blocker: sqlite3.Connection) -> None:
            # The lock goes once the attempt has met it and said it will try again.
            wait_for(
                lambda: True if any(e["event"] == "job.store_retry" for e in logs) else None,
                timeout_s=20,
                what="the attempt to retry its store",
            )
            blocker.execute("ROLLBACK")
            blocker.close()

        def solve(job: SolveJob) -> SolveOutcome:
            blocker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            blocker.execute("BEGIN EXCLUSIVE")
            threading.Thread(target=hold_until_retried, args=(blocker,), daemon=True).start()
            return SolveOutcome(json.dumps(PLAN), None, 0.5)

        result = run_attempt(sessions, job_id, solve)
    assert (result.attempt, result.status) == (1, "optimal")
    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.attempts) == ("done", 1)
        assert session.get(StoredPlan, job_id) is not None
    engine.dispose()
