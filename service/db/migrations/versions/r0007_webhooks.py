"""Webhooks: subscriptions, the events of the outbox, and one delivery per event and subscription.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types at this revision, so later model changes cannot rewrite history.
JSON_DOCUMENT = sa.JSON()
TIMESTAMP = sa.DateTime(timezone=True)
ROW_ID = sa.String(length=36)
TENANT = sa.String(length=200)
EVENT_TYPES = "'plan.completed', 'plan.published', 'booking.confirmed', 'booking.released', 'booking.broken'"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=256), nullable=False),
        sa.Column("event_types", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        "ix_webhook_subscriptions_tenant_created_at", "webhook_subscriptions", ["tenant", "created_at", "id"]
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(f"type IN ({EVENT_TYPES})", name=op.f("ck_webhook_events_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index("ix_webhook_events_tenant_created_at", "webhook_events", ["tenant", "created_at", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("tenant", TENANT, nullable=False),
        sa.Column("event_id", ROW_ID, nullable=False),
        sa.Column("subscription_id", ROW_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["webhook_events.id"], name=op.f("fk_webhook_deliveries_event_id_webhook_events")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_webhook_deliveries_subscription_id_created_at",
        "webhook_deliveries",
        ["subscription_id", "created_at", "id"],
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
