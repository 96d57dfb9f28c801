"""/v1/webhooks: a tenant's subscriptions to its events (contract v2, "Events and webhooks") and each one's
delivery log, for admin keys only (contract v2, "Roles"). The secret that signs deliveries is shown once, in
the answer that creates the subscription."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from service.api.body import JsonBody
from service.api.deps import AdminDep, SessionDep, SettingsDep
from service.api.errors import NotFound, ValidationFailed
from service.api.openapi import problems
from service.contract import FieldError, InvalidRequest, errors_from_pydantic
from service.db.repositories import InvalidCursor, PageCursor
from service.webhooks.addresses import MAX_URL_LENGTH, UnsafeDestination, check_url_form, resolve
from service.webhooks.models import EVENT_TYPES, DeliveryStatus, EventType, WebhookSubscription
from service.webhooks.repository import DeliveryRow, WebhookRepository
from service.webhooks.signing import new_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WEBHOOK_LOCATION = {
    "Location": {"description": "Where the subscription lives: /v1/webhooks/{id}", "schema": {"type": "string"}}
}
NOT_FOUND = {404: "No such webhook subscription for this tenant."}
# Resolving the receiver's name when a subscription is made: as long as a delivery may take to do it.
RESOLVE_TIMEOUT_S = 10.0


class NewWebhook(BaseModel):
    """A subscription: where to post, which events, and optionally the secret that signs them."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=MAX_URL_LENGTH,
        description="An http or https URL whose host resolves to public addresses (private, loopback and "
        "link-local ones only with WEBHOOK_ALLOW_PRIVATE=true); redirects are not followed.",
    )
    events: list[EventType] | None = Field(
        default=None, min_length=1, description="The event types to receive; every type when absent."
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        pattern=r"^[\x21-\x7e]+$",
        description="Signs each delivery (X-Signature-256); generated and returned once when absent.",
    )

    @field_validator("url")
    @classmethod
    def _a_webhook_url(cls, url: str) -> str:
        try:
            check_url_form(url)
        except UnsafeDestination as error:
            raise PydanticCustomError("unsafe_url", str(error)) from None
        return url

    @field_validator("events")
    @classmethod
    def _each_once(cls, events: list[EventType] | None) -> list[EventType] | None:
        if events is not None and len(set(events)) != len(events):
            raise PydanticCustomError("duplicate_event", "each event type may be named once")
        return events


def parse_new_webhook(document: Any) -> NewWebhook:
    try:
        return NewWebhook.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None


NewWebhookBody = Annotated[NewWebhook, Depends(JsonBody(NewWebhook, parse_new_webhook))]


class Webhook(BaseModel):
    """A subscription as listed: never with its secret."""

    model_config = ConfigDict(extra="forbid")

    id: str
    url: str
    events: list[EventType]
    created_at: dt.datetime

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> Webhook:
        events = [event for event in EVENT_TYPES if event in subscription.event_types]
        return cls(id=subscription.id, url=subscription.url, events=events, created_at=subscription.created_at)


class CreatedWebhook(Webhook):
    """The subscription just made, with its secret: the only answer that shows it."""

    secret: str = Field(description="Keep it: receivers check X-Signature-256 with it; it is never shown again.")


class WebhookPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Webhook]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next, older page; null on the last page."
    )


class Delivery(BaseModel):
    """One event's delivery to one subscription, and what its attempts got."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Sent as X-Webhook-Delivery.")
    event_id: str = Field(description="The payload's `id`: the same in every attempt, so receivers can de-duplicate.")
    event_type: EventType
    status: DeliveryStatus = Field(description="`pending` until a 2xx answer (`delivered`) or the last attempt.")
    attempts: int
    next_attempt_at: dt.datetime | None = Field(default=None, description="While pending: when it is tried next.")
    last_attempt_at: dt.datetime | None = None
    last_status_code: int | None = Field(default=None, description="The last answer's status; null without one.")
    last_error: str | None = Field(default=None, description="Why the last attempt failed.")
    created_at: dt.datetime
    delivered_at: dt.datetime | None = None

    @classmethod
    def of(cls, row: DeliveryRow) -> Delivery:
        delivery = row.delivery
        return cls.model_validate(
            {
                "id": delivery.id,
                "event_id": delivery.event_id,
                "event_type": row.event_type,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "next_attempt_at": delivery.next_attempt_at,
                "last_attempt_at": delivery.last_attempt_at,
                "last_status_code": delivery.last_status_code,
                "last_error": delivery.last_error,
                "created_at": delivery.created_at,
                "delivered_at": delivery.delivered_at,
            }
        )


class DeliveryPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Delivery]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next, older page; null on the last page."
    )


Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page.")]


def page_cursor(cursor: str | None) -> PageCursor | None:
    try:
        return PageCursor.decode(cursor) if cursor else None
    except InvalidCursor as error:
        raise ValidationFailed([FieldError("query.cursor", str(error), "invalid_cursor")]) from None


def next_page(
    response: Response, path: str, size: int, last: tuple[dt.datetime, str] | None, query: str = ""
) -> str | None:
    """The cursor after `last` (and the Link header to the next page, with `query` kept), when there is one."""
    if last is None:
        return None
    cursor = PageCursor(*last).encode()
    response.headers["Link"] = f'<{path}?limit={size}&cursor={cursor}{query}>; rel="next"'
    return cursor


@router.post(
    "",
    status_code=201,
    summary="Subscribe to events",
    response_model=CreatedWebhook,
    responses={201: {"headers": WEBHOOK_LOCATION}, **problems(400, 401, 403, 413, 415, 422)},
)
async def create_webhook(
    response: Response, body: NewWebhookBody, session: SessionDep, admin: AdminDep, settings: SettingsDep
) -> CreatedWebhook:
    try:
        await resolve(body.url, allow_private=settings.webhook_allow_private, timeout_s=RESOLVE_TIMEOUT_S)
    except UnsafeDestination as error:
        raise ValidationFailed([FieldError("url", str(error), "unsafe_url")]) from None
    secret = body.secret or new_secret()
    events = list(body.events or EVENT_TYPES)

    def store() -> WebhookSubscription:
        subscription = WebhookRepository(session).subscribe(admin.tenant, body.url, secret, events)
        session.commit()
        return subscription

    subscription = await to_thread.run_sync(store)
    response.headers["Location"] = f"{router.prefix}/{subscription.id}"
    return CreatedWebhook(**Webhook.of(subscription).model_dump(), secret=secret)


@router.get(
    "", summary="List subscriptions, newest first", response_model=WebhookPage, responses=problems(401, 403, 422)
)
def list_webhooks(
    response: Response,
    session: SessionDep,
    admin: AdminDep,
    settings: SettingsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> WebhookPage:
    after = page_cursor(cursor)
    size = min(limit, settings.page_size_max)
    rows = WebhookRepository(session).subscriptions(admin.tenant, size + 1, after)
    last = (rows[size - 1].created_at, rows[size - 1].id) if len(rows) > size else None
    return WebhookPage(
        items=[Webhook.of(row) for row in rows[:size]], next_cursor=next_page(response, router.prefix, size, last)
    )


@router.get(
    "/{webhook_id}",
    summary="A subscription (without its secret)",
    response_model=Webhook,
    responses=problems(401, 403, 404, descriptions=NOT_FOUND),
)
def get_webhook(webhook_id: str, session: SessionDep, admin: AdminDep) -> Webhook:
    subscription = WebhookRepository(session).subscription(admin.tenant, webhook_id)
    if subscription is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    return Webhook.of(subscription)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Unsubscribe: no more deliveries, pending ones included; the delivery log goes too",
    response_class=Response,
    responses=problems(401, 403, 404, descriptions=NOT_FOUND),
)
def delete_webhook(webhook_id: str, session: SessionDep, admin: AdminDep) -> Response:
    if not WebhookRepository(session).unsubscribe(admin.tenant, webhook_id):
        raise NotFound(f"no webhook {webhook_id!r}")
    session.commit()
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    summary="A subscription's deliveries, newest first",
    response_model=DeliveryPage,
    responses=problems(401, 403, 404, 422, descriptions=NOT_FOUND),
)
def list_deliveries(
    webhook_id: str,
    response: Response,
    session: SessionDep,
    admin: AdminDep,
    settings: SettingsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[list[DeliveryStatus] | None, Query(description="Only deliveries with these statuses.")] = None,
) -> DeliveryPage:
    after = page_cursor(cursor)
    repository = WebhookRepository(session)
    if repository.subscription(admin.tenant, webhook_id) is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    size = min(limit, settings.page_size_max)
    rows = repository.deliveries(webhook_id, size + 1, after, statuses=status or ())
    last = (rows[size - 1].delivery.created_at, rows[size - 1].delivery.id) if len(rows) > size else None
    path = f"{router.prefix}/{webhook_id}/deliveries"
    query = "".join(f"&status={wanted}" for wanted in status or ())
    return DeliveryPage(
        items=[Delivery.of(row) for row in rows[:size]], next_cursor=next_page(response, path, size, last, query)
    )
