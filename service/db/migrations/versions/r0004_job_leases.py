"""Jobs solved by workers on other hosts: the lease of the attempt under way, when the job was handed to the
broker, its request's size (the express lane), and hidden jobs (a recommendation's solves, grouped).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the column type at this revision, so later model changes cannot rewrite history.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite adds them in place, where anything more (a batch rebuild) would drop and
    # copy the jobs table, which plans and scenarios reference.
    op.add_column("jobs", sa.Column("request_bytes", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("lease_expires_at", TIMESTAMP, nullable=True))
    op.add_column("jobs", sa.Column("published_at", TIMESTAMP, nullable=True))
    # The server default fills the rows that exist (the model sets the column on every insert).
    op.add_column("jobs", sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("jobs", sa.Column("group_id", sa.String(length=36), nullable=True))
    op.create_index("ix_jobs_after_job_id", "jobs", ["after_job_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_after_job_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("group_id")
        batch.drop_column("hidden")
        batch.drop_column("published_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("request_bytes")
