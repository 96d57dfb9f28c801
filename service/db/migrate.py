"""Alembic, configured in code so migrations run from a clean clone and from an installed wheel alike.

`upgrade(engine)` runs at service start-up. For authoring migrations:
`uv run python -m service.db.migrate revision --autogenerate -m "what changed"` (uses DATABASE_URL).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import CommandLine, Config
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Any constant: serializes concurrent start-ups that migrate one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x70726573


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    # Revision files must be importable module names for mypy: r0001_initial.py, not 0001_initial.py.
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database to `revision` in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            if schema:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        command.upgrade(alembic_config(connection), revision)


def main(argv: Sequence[str] | None = None) -> None:
    cli = CommandLine(prog="python -m service.db.migrate")
    options = cli.parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    config = alembic_config()
    config.cmd_opts = options
    cli.run_cmd(config, options)


if __name__ == "__main__":
    main()
