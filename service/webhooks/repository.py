"""Queries and state changes of webhook subscriptions and deliveries; callers own the transaction.

The dispatcher's two steps are here: `claim_due` takes due deliveries for one attempt each (a lease, so no
other dispatcher sends them meanwhile) and `record` stores what the attempt got, fenced on the attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.repositories import PageCursor, is_row_id, new_id
from service.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class DueDelivery:
    """What one attempt at a delivery needs: where it goes, the secret, and the event it carries."""

    id: str
    attempt: int
    subscription_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    event_created_at: dt.datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class DeliveryRow:
    """One entry of a subscription's delivery log: the delivery and its event's type."""

    delivery: WebhookDelivery
    event_type: str


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, tenant: str, url: str, secret: str, event_types: Sequence[str]) -> WebhookSubscription:
        subscription = WebhookSubscription(
            id=new_id(), tenant=tenant, url=url, secret=secret, event_types=list(event_types), created_at=utcnow()
        )
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def subscription(self, tenant: str, subscription_id: str) -> WebhookSubscription | None:
        if not is_row_id(subscription_id):
            return None
        query = select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.tenant == tenant
        )
        return self.session.scalars(query).one_or_none()

    def subscriptions(self, tenant: str, limit: int, after: PageCursor | None = None) -> list[WebhookSubscription]:
        """The tenant's subscriptions newest first, `limit` of them, starting after `after`."""
        query = (
            select(WebhookSubscription)
            .where(WebhookSubscription.tenant == tenant)
            .order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                or_(
                    WebhookSubscription.created_at < after.created_at,
                    and_(WebhookSubscription.created_at == after.created_at, WebhookSubscription.id < after.id),
                )
            )
        return list(self.session.scalars(query))

    def unsubscribe(self, tenant: str, subscription_id: str) -> bool:
        """Remove a subscription and its deliveries (pending ones are not sent); False if there was none."""
        subscription = self.subscription(tenant, subscription_id)
        if subscription is None:
            return False
        self.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id))
        self.session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id))
        return True

    # ------------------------------------------------------------------ the delivery log

    def deliveries(
        self,
        subscription_id: str,
        limit: int,
        after: PageCursor | None = None,
        statuses: Collection[str] = (),
    ) -> list[DeliveryRow]:
        """A subscription's deliveries newest first, `limit` of them, starting after `after`."""
        query = (
            select(WebhookDelivery, WebhookEvent.type)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        if statuses:
            query = query.where(WebhookDelivery.status.in_(list(statuses)))
        if after is not None:
            query = query.where(
                or_(
                    WebhookDelivery.created_at < after.created_at,
                    and_(WebhookDelivery.created_at == after.created_at, WebhookDelivery.id < after.id),
                )
            )
        return [DeliveryRow(delivery, event_type) for delivery, event_type in self.session.execute(query)]

    # ------------------------------------------------------------------ the dispatcher's steps

    def claim_due(
        self,
        limit: int,
        lease_s: float,
        *,
        busy_subscriptions: Collection[str] = (),
        now: dt.datetime | None = None,
    ) -> list[DueDelivery]:
        """Take up to `limit` due deliveries for one attempt each: the oldest due one of each subscription,
        none of `busy_subscriptions` (those the caller is sending to already), so that a slow receiver holds
        one sending slot, not all of them, and a subscription's deliveries go out in the order they fell due.

        Due means pending, its next attempt's time reached, and no live lease. Each one taken counts an
        attempt and holds a lease of `lease_s`. On PostgreSQL the rows are locked with SKIP LOCKED and their
        being due is checked again under the lock, so dispatchers of several API processes take different
        deliveries; SQLite's write lock, taken when the transaction begins, serializes them.
        """
        now = now or utcnow()
        due = and_(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at <= now),
        )
        order = (WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        ranked = (
            select(
                WebhookDelivery.id,
                WebhookDelivery.subscription_id,
                WebhookDelivery.next_attempt_at,
                func.row_number().over(partition_by=WebhookDelivery.subscription_id, order_by=order).label("rank"),
            )
            .where(due)
            .subquery()
        )
        first_of_each = (
            select(ranked.c.id)
            .where(ranked.c.rank == 1, ranked.c.subscription_id.not_in(list(busy_subscriptions)))
            .order_by(ranked.c.next_attempt_at, ranked.c.id)
            .limit(limit)
        )
        wanted = list(self.session.scalars(first_of_each))
        if not wanted:
            return []
        chosen = self.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.id.in_(wanted), due)
            .order_by(*order)
            .with_for_update(skip_locked=True)
        ).all()
        lease_until = now + dt.timedelta(seconds=lease_s)
        for delivery in chosen:
            delivery.attempts += 1
            delivery.lease_expires_at = lease_until
            delivery.last_attempt_at = now
        self.session.flush()
        return self._due(chosen)

    def _due(self, deliveries: Sequence[WebhookDelivery]) -> list[DueDelivery]:
        if not deliveries:
            return []
        events = {
            event.id: event
            for event in self.session.scalars(
                select(WebhookEvent).where(WebhookEvent.id.in_({d.event_id for d in deliveries}))
            )
        }
        subscriptions = {
            subscription.id: subscription
            for subscription in self.session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.id.in_({d.subscription_id for d in deliveries}))
            )
        }
        found = []
        for delivery in deliveries:
            event, subscription = events[delivery.event_id], subscriptions[delivery.subscription_id]
            found.append(
                DueDelivery(
                    id=delivery.id,
                    attempt=delivery.attempts,
                    subscription_id=subscription.id,
                    url=subscription.url,
                    secret=subscription.secret,
                    event_id=event.id,
                    event_type=event.type,
                    event_created_at=event.created_at,
                    data=event.data,
                )
            )
        return found

    def record(
        self,
        delivery_id: str,
        attempt: int,
        *,
        status_code: int | None,
        error: str | None,
        retry_at: dt.datetime | None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Store what attempt `attempt` got: delivered when `error` is None, else pending again until
        `retry_at`, or failed when there is no retry left (`retry_at` None). False when the attempt no longer
        holds the delivery (its lease ran out and another took it over, or the subscription was removed)."""
        now = now or utcnow()
        values: dict[str, Any] = {"lease_expires_at": None, "last_status_code": status_code}
        if error is None:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None, last_error=None)
        elif retry_at is not None:
            values.update(status="pending", next_attempt_at=retry_at, last_error=error[:MAX_ERROR_CHARS])
        else:
            values.update(status="failed", next_attempt_at=None, last_error=error[:MAX_ERROR_CHARS])
        result = self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.attempts == attempt,
                WebhookDelivery.status == "pending",
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, delivery_id: str, attempt: int) -> bool:
        """Hand back a delivery whose attempt `attempt` was cut short by a stop before it got an answer: due
        at once and the attempt not counted. False if that attempt no longer holds it (it was recorded)."""
        result = self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.attempts == attempt,
                WebhookDelivery.status == "pending",
                WebhookDelivery.lease_expires_at.is_not(None),
            )
            .values(attempts=WebhookDelivery.attempts - 1, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
