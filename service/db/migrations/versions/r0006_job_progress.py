"""A running job's plan so far: the JSON document its attempt stores about once a second while it solves,
and when it stored it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen copy of the column type at this revision, so later model changes cannot rewrite history.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite adds them in place (a batch rebuild would copy the jobs table).
    op.add_column("jobs", sa.Column("progress", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("progress_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("progress_at")
        batch.drop_column("progress")
