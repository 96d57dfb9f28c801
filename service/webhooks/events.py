"""The outbox: an event is written in the transaction of the change it reports, with one pending delivery for
each of the tenant's subscriptions that wants its type. So an event exists exactly when its change
committed, and the dispatcher, which reads only committed rows, can never announce a change that was
rolled back nor miss one that was not.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.base import utcnow
from service.db.repositories import new_id
from service.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEvent, WebhookSubscription


def emit(session: Session, tenant: str, event_type: str, data: dict[str, Any]) -> str:
    """Record event `event_type` of `tenant` with its payload `data` (JSON) in the caller's transaction, and
    a delivery to each subscription of the tenant that asked for that type; the event's id.

    Nothing is sent here: the dispatcher sends the deliveries once the caller's transaction has committed.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; the types are {', '.join(EVENT_TYPES)}")
    now = utcnow()
    event = WebhookEvent(id=new_id(), tenant=tenant, type=event_type, data=data, created_at=now)
    session.add(event)
    session.flush()  # the deliveries reference the event
    subscriptions = session.scalars(select(WebhookSubscription).where(WebhookSubscription.tenant == tenant))
    for subscription in subscriptions:
        if event_type in subscription.event_types:
            session.add(
                WebhookDelivery(
                    id=new_id(),
                    tenant=tenant,
                    event_id=event.id,
                    subscription_id=subscription.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    session.flush()
    return event.id


def plan_completed(session: Session, tenant: str, plan: dict[str, Any]) -> str:
    """`plan.completed` for a stored plan: its id, status and headline figures, and the workspace revision it
    was proposed at when it is a workspace proposal."""
    objective = plan.get("objective") or {}
    data: dict[str, Any] = {
        "plan_id": plan["id"],
        "status": plan["status"],
        "covered_value": objective.get("covered_value"),
        "total_cost": objective.get("total_cost"),
    }
    if plan.get("workspace_revision") is not None:
        data["workspace_revision"] = plan["workspace_revision"]
    return emit(session, tenant, "plan.completed", data)


def timestamp(moment: dt.datetime) -> str:
    """An event's time as the API writes times: ISO 8601 in UTC with a `Z`."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def delivery_body(event_id: str, event_type: str, created_at: dt.datetime, data: dict[str, Any]) -> bytes:
    """The bytes a delivery posts (and signs): `{"id", "type", "created_at", "data"}` as compact JSON.

    Built from the stored event alone, so every attempt at a delivery posts the same bytes.
    """
    document = {"id": event_id, "type": event_type, "created_at": timestamp(created_at), "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
