"""Jobs that wait for another: a scenario's variants start once the base plan they warm-start from exists.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain column, no foreign key: SQLite cannot add one to an existing table without a rebuild, and the
    # job runner treats a missing predecessor as an ended one.
    op.add_column("jobs", sa.Column("after_job_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("after_job_id")
