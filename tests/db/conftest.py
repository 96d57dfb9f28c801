"""DB fixtures: migrate once per session and database, then one rolled-back transaction per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.db.engine import make_engine
from service.db.migrate import upgrade
from tests.db.targets import DatabaseTarget, database_target

__all__ = ["database_target"]


@pytest.fixture(scope="session")
def engine(database_target: DatabaseTarget) -> Iterator[Engine]:
    engine = make_engine(database_target.settings())
    upgrade(engine, database_target.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction that is rolled back afterwards."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()
