"""API fixtures: one pool of solver processes per test session, an app per test on SQLite and PostgreSQL.

Apps share the database of their session (one per pytest-xdist worker, migrated once) and are isolated
by tenant: every test gets fresh API keys for two tenants of its own, so lists and caps start empty.
What tenants cannot isolate is start-up recovery, which requeues every job left queued or running,
whoever's it is: so every test that uses the database starts with none left by an earlier test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from service.api import create_app
from service.db.base import utcnow
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.models import ACTIVE_STATUSES, Job
from service.jobs.pool import Limits, SolvePool
from tests.db.targets import DatabaseTarget, database_target

__all__ = ["database_target"]

LIMITS = Limits(watchdog_factor=1.5, watchdog_min_grace_s=1.0, cancel_grace_s=5.0)


@dataclass(frozen=True)
class Tenants:
    a: str
    a_key: str
    b: str
    b_key: str

    @property
    def api_keys(self) -> dict[str, str]:
        return {self.a_key: self.a, self.b_key: self.b}

    @property
    def b_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.b_key}


@pytest.fixture(scope="session")
def solve_pool() -> Iterator[SolvePool]:
    pool = SolvePool(2, limits=LIMITS)
    pool.start()
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def job_engines() -> Iterator[dict[DatabaseTarget, Engine]]:
    engines: dict[DatabaseTarget, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def migrated_engine_of(request: pytest.FixtureRequest, job_engines: dict[DatabaseTarget, Engine]) -> Engine | None:
    """The engine of the test's database (migrated once per session), or None for a test without one."""
    if "database_target" not in request.fixturenames:
        return None
    target: DatabaseTarget = request.getfixturevalue("database_target")
    engine = job_engines.get(target)
    if engine is None:
        engine = job_engines[target] = make_engine(target.settings())
        upgrade(engine, target.schema)
    return engine


@pytest.fixture(autouse=True)
def no_unfinished_jobs(request: pytest.FixtureRequest, job_engines: dict[DatabaseTarget, Engine]) -> None:
    """End every job an earlier test left queued or running in this test's database.

    An app or server started on the database recovers all such jobs and solves them before this test's
    own (a burst test leaves fifty 30 s scenario solves queued), and a test that counts recovered jobs
    would count them too. Which tests ran earlier on a worker depends on the xdist schedule, so a test
    must not depend on them.
    """
    engine = migrated_engine_of(request, job_engines)
    if engine is None:
        return
    with engine.begin() as connection:
        connection.execute(
            update(Job)
            .where(Job.status.in_(ACTIVE_STATUSES))
            .values(status="cancelled", finished_at=utcnow(), detail="left unfinished by an earlier test")
        )


@pytest.fixture
def tenants() -> Tenants:
    run = uuid.uuid4().hex[:10]
    return Tenants(f"tenant-a-{run}", f"key-a-{run}", f"tenant-b-{run}", f"key-b-{run}")


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(database_target: DatabaseTarget, solve_pool: SolvePool, tenants: Tenants) -> Iterator[ClientFactory]:
    """Start an app (lifespan included) with settings overrides; the client speaks as tenant A."""
    with ExitStack() as stack:

        def make(pool: SolvePool | None = None, **overrides: object) -> TestClient:
            settings = database_target.settings(**{"api_keys": tenants.api_keys, **overrides})
            app = create_app(settings, pool=pool or solve_pool)
            client = TestClient(app, headers={"X-API-Key": tenants.a_key}, raise_server_exceptions=False)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
