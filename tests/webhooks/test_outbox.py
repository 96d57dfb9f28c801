"""The outbox and the dispatcher's claims, on SQLite and PostgreSQL: an event and its deliveries exist
exactly when the change that caused them committed; a delivery is claimed by one dispatcher at a time,
taken over once its claim has run out, and recorded only by the attempt that holds it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.db.base import utcnow
from service.db.repositories import JobRepository
from service.jobs.attempt import record, run_attempt
from service.jobs.pool import SolveJob, SolveOutcome
from service.webhooks import emit
from service.webhooks.models import WebhookDelivery, WebhookEvent
from service.webhooks.repository import WebhookRepository
from tests.db.targets import DatabaseTarget

PLAN: dict[str, Any] = {"status": "optimal", "objective": {"covered_value": 1500.0, "total_cost": 320.5}}
LATER = dt.timedelta(seconds=60)


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are savepoints of one transaction, rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        finally:
            transaction.rollback()


def tenant() -> str:
    return f"outbox-{uuid.uuid4().hex[:8]}"


def subscribe(session: Session, owner: str, *events: str) -> str:
    types = list(events) or ["plan.completed", "booking.confirmed"]
    return WebhookRepository(session).subscribe(owner, "http://127.0.0.1:9/hooks", "s" * 32, types).id


def deliveries(session: Session, event_id: str) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)))


def test_an_event_gets_one_delivery_per_subscription_that_wants_its_type(session: Session) -> None:
    owner, other = tenant(), tenant()
    plans_and_bookings = subscribe(session, owner, "plan.completed", "booking.confirmed")
    plans_only = subscribe(session, owner, "plan.completed")
    subscribe(session, owner, "booking.broken")
    subscribe(session, other, "plan.completed")

    event_id = emit(session, owner, "plan.completed", {"plan_id": "p1"})
    found = deliveries(session, event_id)
    assert sorted(d.subscription_id for d in found) == sorted([plans_and_bookings, plans_only])
    assert {(d.status, d.attempts, d.tenant) for d in found} == {("pending", 0, owner)}
    assert all(d.next_attempt_at is not None and d.next_attempt_at <= utcnow() for d in found)

    booking = emit(session, owner, "booking.confirmed", {"booking_id": "b1"})
    assert [d.subscription_id for d in deliveries(session, booking)] == [plans_and_bookings]
    # An event nobody subscribed to is still recorded, with no delivery.
    assert deliveries(session, emit(session, owner, "booking.released", {})) == []


def test_an_unknown_event_type_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        emit(session, tenant(), "plan.deleted", {})


def test_an_event_exists_exactly_when_its_transaction_commits(sessions: sessionmaker[Session]) -> None:
    owner = tenant()
    with sessions.begin() as session:
        subscribe(session, owner)

    class ChangeFailed(Exception):
        pass

    def failing_change() -> None:
        with sessions.begin() as session:
            emit(session, owner, "plan.completed", {"plan_id": "rolled back"})
            raise ChangeFailed  # the change the event reports fails after the event was written

    with pytest.raises(ChangeFailed):
        failing_change()
    with sessions.begin() as session:
        kept = emit(session, owner, "plan.completed", {"plan_id": "committed"})
    with sessions() as session:
        events = session.scalars(select(WebhookEvent).where(WebhookEvent.tenant == owner)).all()
        assert [(e.id, e.data) for e in events] == [(kept, {"plan_id": "committed"})]
        assert session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.tenant == owner))


def test_a_stored_plan_announces_itself_in_its_transaction(sessions: sessionmaker[Session]) -> None:
    """plan.completed is written with the plan; a hidden job's plan (a recommendation's own solve) and a
    result refused by the attempt's fence announce nothing."""
    owner = tenant()
    with sessions.begin() as session:
        subscribe(session, owner, "plan.completed")
        repo = JobRepository(session)
        shown = repo.create(
            tenant=owner, request_body={}, body_sha256="0" * 64, time_limit_s=5, workspace_revision=7
        ).id  # a workspace proposal, made at revision 7
        hidden = repo.create(tenant=owner, request_body={}, body_sha256="0" * 64, time_limit_s=5, hidden=True).id
        fenced = repo.create(tenant=owner, request_body={}, body_sha256="0" * 64, time_limit_s=5).id

    def solve(job: SolveJob) -> SolveOutcome:
        return SolveOutcome(json.dumps(PLAN), None, 0.1)

    assert run_attempt(sessions, shown, solve).status == "optimal"
    assert run_attempt(sessions, hidden, solve).status == "optimal"
    with sessions.begin() as session:
        JobRepository(session).claim(fenced)
    assert record(sessions, fenced, 2, SolveOutcome(json.dumps(PLAN), None, 0.1)).status == "refused"

    with sessions() as session:
        events = session.scalars(select(WebhookEvent).where(WebhookEvent.tenant == owner)).all()
        assert [(e.type, e.data) for e in events] == [
            (
                "plan.completed",
                {
                    "plan_id": shown,
                    "status": "optimal",
                    "covered_value": 1500.0,
                    "total_cost": 320.5,
                    "workspace_revision": 7,
                },
            )
        ]
        assert len(deliveries(session, events[0].id)) == 1


def test_a_claim_takes_the_oldest_due_delivery_of_each_subscription(session: Session) -> None:
    owner = tenant()
    first, second = subscribe(session, owner), subscribe(session, owner)
    events = [emit(session, owner, "plan.completed", {"n": n}) for n in range(3)]
    now = utcnow() + dt.timedelta(seconds=1)
    repo = WebhookRepository(session)

    claimed = repo.claim_due(10, 30, now=now)
    assert sorted((d.subscription_id, d.event_id) for d in claimed) == sorted([(first, events[0]), (second, events[0])])
    assert {d.attempt for d in claimed} == {1}
    # Claimed deliveries are leased: the next claim takes each subscription's next event.
    again = repo.claim_due(10, 30, busy_subscriptions={second}, now=now)
    assert [(d.subscription_id, d.event_id) for d in again] == [(first, events[1])]


def test_a_delivery_whose_claim_ran_out_is_sent_again_and_only_the_holder_records(session: Session) -> None:
    """At least once: a dispatcher that died between sending and recording leaves a lease that runs out,
    and the delivery is claimed again; the dead attempt's late record is refused by the fence."""
    owner = tenant()
    subscribe(session, owner)
    event_id = emit(session, owner, "plan.completed", {"plan_id": "p"})
    repo = WebhookRepository(session)
    now = utcnow() + dt.timedelta(seconds=1)

    [first] = repo.claim_due(5, 10, now=now)
    assert repo.claim_due(5, 10, now=now + dt.timedelta(seconds=9)) == []
    [second] = repo.claim_due(5, 10, now=now + dt.timedelta(seconds=11))
    assert (first.id, first.attempt, second.id, second.attempt) == (second.id, 1, first.id, 2)
    assert second.event_id == event_id

    assert not repo.record(first.id, 1, status_code=200, error=None, retry_at=None)
    assert repo.record(second.id, 2, status_code=500, error="the receiver answered 500", retry_at=now + LATER)
    [delivery] = deliveries(session, event_id)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 500)
    assert delivery.lease_expires_at is None
    assert repo.claim_due(5, 10, now=now + dt.timedelta(seconds=30)) == []  # not due before its retry
    [third] = repo.claim_due(5, 10, now=now + LATER)
    assert repo.record(third.id, 3, status_code=None, error="no answer within 10 s", retry_at=None)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert delivery.last_error == "no answer within 10 s"


def test_a_delivery_handed_back_at_a_stop_is_due_at_once_with_its_attempt_uncounted(session: Session) -> None:
    owner = tenant()
    subscribe(session, owner)
    event_id = emit(session, owner, "plan.completed", {})
    repo = WebhookRepository(session)
    now = utcnow() + dt.timedelta(seconds=1)
    [claimed] = repo.claim_due(1, 60, now=now)
    assert repo.release(claimed.id, claimed.attempt)
    assert not repo.release(claimed.id, claimed.attempt)
    [again] = repo.claim_due(1, 60, now=now)
    assert (again.id, again.attempt, again.event_id) == (claimed.id, 1, event_id)


@pytest.mark.postgres
def test_dispatchers_of_two_processes_never_claim_one_delivery(engine: Engine, database_target: DatabaseTarget) -> None:
    """On PostgreSQL two claims in flight at once (two API processes) take different deliveries: rows the
    first has locked are skipped by the second."""
    if database_target.kind != "postgres":
        pytest.skip("SQLite serializes claims with its write lock; two cannot be in flight at once")
    owner = tenant()
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        subscriptions = [subscribe(session, owner) for _ in range(4)]
        emit(session, owner, "plan.completed", {})
    now = utcnow() + dt.timedelta(seconds=1)
    try:
        with sessions.begin() as first, sessions.begin() as second:
            taken_first = WebhookRepository(first).claim_due(2, 30, now=now)
            taken_second = WebhookRepository(second).claim_due(4, 30, now=now)  # while the first holds its rows
        ids_first, ids_second = {d.id for d in taken_first}, {d.id for d in taken_second}
        assert len(ids_first) == 2
        assert ids_first.isdisjoint(ids_second)
        assert {d.subscription_id for d in [*taken_first, *taken_second]} <= set(subscriptions)
        assert len(ids_first | ids_second) == 4
    finally:
        with sessions.begin() as session:
            session.execute(
                WebhookDelivery.__table__.delete().where(WebhookDelivery.tenant == owner)  # type: ignore[attr-defined]
            )
