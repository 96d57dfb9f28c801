"""Webhook tables: a tenant's subscriptions, the events of the outbox, and one delivery per event and subscription.

An event row is written in the transaction of the change it reports (service.webhooks.events.emit), with
a `pending` delivery for each subscription that wants it; the dispatcher (service.webhooks.dispatcher)
sends the due ones. The tables live on the same Base as service/db/models.py; migration 0007 creates them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, JSONDocument, utcnow
from service.db.models import RowId, Tenant

EventType = Literal["plan.completed", "plan.published", "booking.confirmed", "booking.released", "booking.broken"]
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)

# pending -> delivered (a 2xx answer), or failed once the last attempt allowed has failed.
DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: Final[tuple[DeliveryStatus, ...]] = get_args(DeliveryStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class WebhookSubscription(Base):
    """Where a tenant wants its events sent, which event types, and the secret that signs them."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_tenant_created_at", "tenant", "created_at", "id"),)

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    url: Mapped[str] = mapped_column(Text)
    # Kept as given: the receiver needs the same bytes to check a signature, so it cannot be hashed.
    secret: Mapped[str] = mapped_column(String(256))
    event_types: Mapped[list[str]] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """Something that happened to a tenant's data, as its subscribers receive it (`data` is the payload)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint(_in("type", EVENT_TYPES), name="type"),
        Index("ix_webhook_events_tenant_created_at", "tenant", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: its attempts so far, when the next is due, and what the last one got.

    `lease_expires_at` is the claim of a dispatcher that is sending it: no other dispatcher (in this or
    another API process) takes the delivery until the lease has passed, which it only does when the one that
    claimed it died between sending and recording; then the delivery is sent again (at least once).
    `attempts` counts claims, and the record of an attempt is fenced on it, as a job's plan is.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    lease_expires_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
