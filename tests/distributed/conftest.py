"""Fixtures of the distributed tests: the RabbitMQ broker of this machine and a PostgreSQL schema per test.

The broker is expected at TEST_BROKER_URL (default amqp://guest:guest@127.0.0.1:5672//). When it is out of
reach these tests skip with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from tests.db.targets import DatabaseTarget, database_target_for

BROKER_URL = os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="session")
def broker_url() -> str:
    try:
        with Connection(BROKER_URL, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        reason = f"RabbitMQ is not reachable at {BROKER_URL}: {type(error).__name__}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return BROKER_URL


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[DatabaseTarget]:
    """A PostgreSQL schema of this test's own, dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    yield from database_target_for("postgres", tmp_path, f"{worker}_{os.getpid()}")
