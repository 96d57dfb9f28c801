"""Webhooks: a tenant's subscriptions to its events, the transactional outbox those events are written to
(`emit`, in the transaction of the change each reports), and the dispatcher that delivers them, signed,
at least once, with retries (service.webhooks.dispatcher)."""

from service.webhooks.events import emit, plan_completed
from service.webhooks.models import EVENT_TYPES, EventType

__all__ = ["EVENT_TYPES", "EventType", "emit", "plan_completed"]
