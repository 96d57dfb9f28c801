"""Webhook fixtures: the databases of tests/db (SQLite and PostgreSQL), apps as tests/api starts them, and a
real receiver on loopback.

The dispatcher of an app sends every tenant's due deliveries, so each test that uses a database starts with
none pending: deliveries an earlier test left (to a receiver long closed) are marked failed first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, update

from service.webhooks.models import WebhookDelivery
from tests.api.conftest import job_engines, make_client, migrated_engine_of, no_unfinished_jobs, solve_pool, tenants
from tests.db.conftest import engine, session
from tests.db.targets import DatabaseTarget, database_target
from tests.webhooks.receiver import Receiver

__all__ = [
    "database_target",
    "engine",
    "job_engines",
    "make_client",
    "no_unfinished_jobs",
    "session",
    "solve_pool",
    "tenants",
]


@pytest.fixture(autouse=True)
def no_pending_deliveries(request: pytest.FixtureRequest, job_engines: dict[DatabaseTarget, Engine]) -> None:
    engine = migrated_engine_of(request, job_engines)
    if engine is None:
        return
    with engine.begin() as connection:
        connection.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(status="failed", next_attempt_at=None, last_error="left pending by an earlier test")
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()
