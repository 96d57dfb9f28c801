"""The workspace (CONTRACT v2): per tenant its settings and revision, staff, opportunities, bookings and audit
entries; a job made from the workspace keeps the revision it was built from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types at this revision, so later model changes cannot rewrite history.
TIMESTAMP = sa.DateTime(timezone=True)
TENANT = sa.String(length=200)
ROW_ID = sa.String(length=36)
NAME = sa.String(length=200)
JSON_DOCUMENT = sa.JSON()


def upgrade() -> None:
    op.add_column("jobs", sa.Column("workspace_revision", sa.Integer(), nullable=True))
    op.create_table(
        "workspaces",
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("horizon", JSON_DOCUMENT, nullable=False),
        sa.Column("policy", JSON_DOCUMENT, nullable=False),
        sa.Column("plan_of_record_id", ROW_ID, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_workspaces")),
    )
    for table in ("workspace_staff", "workspace_opportunities"):
        op.create_table(
            table,
            sa.Column("tenant", TENANT, nullable=False),
            sa.Column("id", NAME, nullable=False),
            sa.Column("body", JSON_DOCUMENT, nullable=False),
            sa.PrimaryKeyConstraint("tenant", "id", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "bookings",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("opportunity_id", NAME, nullable=False),
        sa.Column("demand_id", NAME, nullable=True),
        sa.Column("staff_id", NAME, nullable=False),
        sa.Column("start_week", sa.Integer(), nullable=False),
        sa.Column("end_week", sa.Integer(), nullable=False),
        sa.Column("hours_per_week", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("plan_id", ROW_ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('tentative', 'confirmed', 'broken', 'completed', 'released', 'replaced')",
            name=op.f("ck_bookings_status"),
        ),
        sa.CheckConstraint("kind IN ('assignment', 'lead')", name=op.f("ck_bookings_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_tenant_status", "bookings", ["tenant", "status"])
    op.create_index("ix_bookings_tenant_staff_id", "bookings", ["tenant", "staff_id"])
    op.create_index("ix_bookings_tenant_opportunity_id", "bookings", ["tenant", "opportunity_id"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_tenant_revision", "audit_entries", ["tenant", "revision"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_tenant_revision", table_name="audit_entries")
    op.drop_table("audit_entries")
    for index in ("ix_bookings_tenant_opportunity_id", "ix_bookings_tenant_staff_id", "ix_bookings_tenant_status"):
        op.drop_index(index, table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("workspace_opportunities")
    op.drop_table("workspace_staff")
    op.drop_table("workspaces")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("workspace_revision")
