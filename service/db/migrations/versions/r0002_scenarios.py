"""What-if scenarios and the jobs that solve their base and variants.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types at this revision, so later model changes cannot rewrite history.
JSON_DOCUMENT = sa.JSON()
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", JSON_DOCUMENT, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name=op.f("ck_scenarios_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
    )
    op.create_index("ix_scenarios_status", "scenarios", ["status"])
    op.create_index("ix_scenarios_tenant_created_at", "scenarios", ["tenant", "created_at", "id"])
    op.create_table(
        "scenario_plans",
        sa.Column("scenario_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["jobs.id"], name=op.f("fk_scenario_plans_plan_id_jobs")),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_scenario_plans_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("scenario_id", "position", name=op.f("pk_scenario_plans")),
        sa.UniqueConstraint("plan_id", name=op.f("uq_scenario_plans_plan_id")),
    )


def downgrade() -> None:
    op.drop_table("scenario_plans")
    op.drop_index("ix_scenarios_tenant_created_at", table_name="scenarios")
    op.drop_index("ix_scenarios_status", table_name="scenarios")
    op.drop_table("scenarios")
