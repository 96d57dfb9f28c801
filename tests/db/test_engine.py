"""DATABASE_URL forms, SQLite connection settings, and migrations that match the models on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from service.db.base import Base
from service.db.engine import DatabaseUrlError, make_engine, sqlalchemy_url
from service.db.migrate import alembic_config, upgrade
from service.settings import DEFAULT_DATABASE_URL, Settings

TABLES = {"requests", "jobs", "plans", "idempotency_keys"}


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///var/service.db", "sqlite+pysqlite"),
        ("sqlite:////tmp/absolute.db", "sqlite+pysqlite"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql+psycopg"),
        ("postgres://user:secret@db.internal/presales", "postgresql+psycopg"),
        ("postgresql+psycopg://postgres@localhost/test", "postgresql+psycopg"),
    ],
)
def test_plain_database_urls_get_our_driver(plain: str, driver: str) -> None:
    assert sqlalchemy_url(plain).drivername == driver


@pytest.mark.parametrize(
    "bad",
    ["mysql://root@localhost/db", "postgresql+asyncpg://x@y/z", "sqlite://", "sqlite:///:memory:", "not a url"],
)
def test_unusable_database_urls_are_refused(bad: str) -> None:
    with pytest.raises(DatabaseUrlError):
        sqlalchemy_url(bad)


def test_default_database_is_a_file_under_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert (tmp_path / "var" / "presales-allocator.db").is_file()


def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", sqlite_busy_timeout_ms=4321))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrations_go_down_to_nothing_and_back(session: Session) -> None:
    # Inside the test's transaction, which is rolled back: both databases have transactional DDL.
    connection = session.connection()
    command.downgrade(alembic_config(connection), "base")
    assert not TABLES & set(inspect(connection).get_table_names())
    command.upgrade(alembic_config(connection), "head")
    assert set(inspect(connection).get_table_names()) >= TABLES


def test_upgrading_a_database_that_has_plans_keeps_them(tmp_path: Path) -> None:
    """The migrations that add job columns add them in place: on SQLite a table rebuild would have to drop
    the jobs table, which its plans reference (foreign keys are on)."""
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}"))
    try:
        upgrade(engine, revision="0003")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO requests (id, tenant, body, body_sha256, created_at) "
                "VALUES ('r1', 'acme', '{}', 'x', '2026-12-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO jobs (id, tenant, request_id, status, time_limit_s, cancel_requested, attempts, "
                "created_at) VALUES ('j1', 'acme', 'r1', 'done', 5, 0, 1, '2026-12-01 00:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO plans (id, tenant, status, cancelled, covered_value, total_cost, body, created_at) "
                "VALUES ('j1', 'acme', 'optimal', 0, 1, 2, '{}', '2026-12-01 00:00:00')"
            )
        upgrade(engine)
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SELECT status, hidden, lease_expires_at FROM jobs").one()
            assert tuple(row) == ("done", 0, None)
            assert connection.exec_driver_sql("SELECT count(*) FROM plans").scalar() == 1
    finally:
        engine.dispose()
