"""Engines and sessions from the plain DATABASE_URL forms: SQLite tuned for a server, PostgreSQL via psycopg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings


class DatabaseUrlError(ValueError):
    """DATABASE_URL names something this service cannot use."""


def sqlalchemy_url(database_url: str) -> URL:
    """`sqlite:///path.db` and `postgresql://user@host:port/db` (or `postgres://`) -> URL with our driver."""
    try:
        url = make_url(database_url)
    except Exception as error:  # SQLAlchemy raises ArgumentError with the raw string
        raise DatabaseUrlError(f"DATABASE_URL is not a database URL: {database_url!r}") from error
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise DatabaseUrlError(f"PostgreSQL is reached through psycopg, not {driver!r}")
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise DatabaseUrlError(f"SQLite is reached through the standard sqlite3 module, not {driver!r}")
        if url.database in (None, "", ":memory:") or (url.database or "").startswith("file::memory:"):
            raise DatabaseUrlError("an in-memory SQLite database would lose every job; give a file path")
        return url.set(drivername="sqlite+pysqlite")
    raise DatabaseUrlError(f"DATABASE_URL must be sqlite:///path.db or postgresql://…, got {url.drivername!r}")


def make_engine(settings: Settings) -> Engine:
    url = sqlalchemy_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings.sqlite_busy_timeout_ms)
    connect_args: dict[str, Any] = {}
    if settings.database_schema:
        connect_args["options"] = f"-c search_path={settings.database_schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    assert url.database is not None
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes can fail at once
        # with SQLITE_BUSY when another connection committed meanwhile, without honouring busy_timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
