"""The databases every DB and API test runs against: a SQLite file and a PostgreSQL schema of its own.

PostgreSQL is expected at TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Each
test session gets a fresh schema named after its xdist worker, dropped at the end, so parallel runs
never see each other's rows. When the server is unreachable the PostgreSQL half is skipped with the
reason, unless PRESALES_REQUIRE_POSTGRES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from service.db.engine import sqlalchemy_url
from service.settings import Settings

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class DatabaseTarget:
    kind: str  # "sqlite" or "postgres"
    url: str
    schema: str | None = None

    def settings(self, **overrides: object) -> Settings:
        return Settings(database_url=self.url, database_schema=self.schema, **overrides)  # type: ignore[arg-type]

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a server process at this database."""
        found = {"DATABASE_URL": self.url}
        if self.schema:
            found["DATABASE_SCHEMA"] = self.schema
        return found


def _postgres_schema(worker: str) -> Iterator[DatabaseTarget]:
    admin = create_engine(sqlalchemy_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}"
        if os.environ.get("PRESALES_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"test_{worker}_{uuid.uuid4().hex[:8]}"
    try:
        yield DatabaseTarget("postgres", POSTGRES_URL, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def database_target_for(kind: str, workdir: Path, worker: str) -> Iterator[DatabaseTarget]:
    if kind == "sqlite":
        yield DatabaseTarget("sqlite", f"sqlite:///{workdir / 'service.db'}")
    else:
        yield from _postgres_schema(worker)


DATABASE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=DATABASE_KINDS)
def database_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseTarget]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    yield from database_target_for(request.param, tmp_path_factory.mktemp(f"db-{request.param}"), worker)
