"""An API process hears the jobs that other processes end (PostgreSQL LISTEN/NOTIFY), so that a request waiting
for a worker's plan answers once the plan is committed instead of at its next poll: every way a job ends
is heard, in its own schema only, and a refused late result is not."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.db.engine import make_engine, make_sessions
from service.db.migrate import upgrade
from service.db.repositories import JobRepository
from service.jobs.attempt import record
from service.jobs.listener import EndListener
from service.jobs.pool import SolveOutcome
from tests.db.targets import database_target_for

pytestmark = pytest.mark.postgres

PLAN = {"status": "optimal", "objective": {"covered_value": 1.0, "total_cost": 2.0}}


@pytest.fixture
def two_schemas(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Engines on two fresh schemas of one database, committing for real (notices go out at commit)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    for ours in database_target_for("postgres", tmp_path, f"{worker}_heard"):
        for theirs in database_target_for("postgres", tmp_path, f"{worker}_unheard"):
            engines = (make_engine(ours.settings()), make_engine(theirs.settings()))
            for engine, target in zip(engines, (ours, theirs), strict=True):
                upgrade(engine, target.schema)
            try:
                yield engines
            finally:
                for engine in engines:
                    engine.dispose()


def queued(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return (
            JobRepository(session)
            .create(tenant="listener", request_body={"any": "request"}, body_sha256="0" * 64, time_limit_s=5.0)
            .id
        )


def running(sessions: sessionmaker[Session]) -> str:
    job_id = queued(sessions)
    with sessions.begin() as session:
        JobRepository(session).claim(job_id, lease_s=10)
    return job_id


def test_the_listener_hears_every_job_ended_in_its_schema_and_no_other(two_schemas: tuple[Engine, Engine]) -> None:
    ours, theirs = (make_sessions(engine) for engine in two_schemas)

    async def scenario() -> tuple[set[str], set[str], bool]:
        heard: asyncio.Queue[str] = asyncio.Queue()
        listener = EndListener(two_schemas[0], heard.put_nowait)
        listener.start()
        try:
            assert await asyncio.to_thread(listener.listening.wait, 60), "the listener did not start listening"
            # Ended elsewhere first (another deployment's schema, a fenced-out late result): not heard.
            record(theirs, running(theirs), 1, SolveOutcome(json.dumps(PLAN), None, 0.1))
            late = running(ours)
            assert record(ours, late, 2, SolveOutcome(json.dumps(PLAN), None, 0.1)).status == "refused"
            # Then every way a job of ours ends: a plan stored, a failure, a cancel while queued.
            done = running(ours)
            record(ours, done, 1, SolveOutcome(json.dumps(PLAN), None, 0.1))
            failed = running(ours)
            record(ours, failed, 1, SolveOutcome(None, "the planner failed", 0.1))
            cancelled = queued(ours)
            with ours.begin() as session:
                JobRepository(session).cancel("listener", cancelled)
            # Notices arrive in commit order: had the earlier ends been heard, they would be among these.
            got = {await asyncio.wait_for(heard.get(), timeout=60) for _ in range(3)}
            return got, {done, failed, cancelled}, heard.empty()
        finally:
            await asyncio.to_thread(listener.stop)

    got, expected, nothing_else = asyncio.run(scenario())
    assert got == expected
    assert nothing_else
