"""Workspace events (CONTRACT v2, "Events and webhooks"), written in the transaction of the change that
caused them, so that an event exists exactly when its change committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service import webhooks


def emit_event(session: Session, tenant: str, event_type: str, data: dict[str, Any]) -> None:
    """Record `event_type` with `data` for the tenant's webhook subscriptions (the webhook outbox)."""
    webhooks.emit(session, tenant, event_type, data)
