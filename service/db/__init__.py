"""Persistence: tables, engines and sessions, repositories, and the Alembic migrations beside them."""
