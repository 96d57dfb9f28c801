"""Alembic environment: migrates the connection handed over by service.db.migrate, or DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from service.db import models  # noqa: F401  (registers the tables on Base.metadata)
from service.db.base import Base
from service.db.engine import make_engine
from service.settings import get_settings
from service.webhooks import models as webhook_models  # noqa: F401  (and the webhook tables)


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = make_engine(get_settings())
    try:
        with engine.begin() as own_connection:
            run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
