"""A tenant's workspace in the database: reads, and writes as changes that each raise the revision by one.

`WorkspaceStore.change()` is the only way to write. It locks the workspace row (PostgreSQL: SELECT ... FOR
UPDATE; SQLite: every transaction holds the write lock from its start), checks `If-Match`, lets the caller
change rows, then in the same transaction marks the bookings the change broke, raises the revision, writes
the audit entry and the events. Two writers therefore run one after the other and neither loses the
other's change; a writer holding an older revision in `If-Match` gets a 412.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.access import Principal
from service.contract import Opportunity, Policy, Staff
from service.db.base import utcnow
from service.db.models import (
    LIVE_BOOKINGS,
    AuditEntry,
    Booking,
    Workspace,
    WorkspaceOpportunity,
    WorkspaceStaff,
)
from service.db.repositories import new_id
from service.workspace.events import emit_event
from service.workspace.state import Booked, Json, broken_reason, default_horizon, request_document


class RevisionMismatch(Exception):
    """`If-Match` named a revision the workspace has moved past."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"If-Match names revision {expected}; the workspace is at revision {current}")
        self.expected, self.current = expected, current


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> list[Any] | None:
    """The key a cursor carries, or None when it is not one of this service's."""
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, list) else None


@dataclass
class Change:
    """One write in progress: the workspace row (locked), who makes it, and what it will record."""

    session: Session
    workspace: Workspace
    principal: Principal
    action: str
    target: str | None
    revision: int  # the revision this change makes
    summary: str = ""
    events: list[tuple[str, Json]] = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.workspace.tenant

    def event(self, event_type: str, data: Json) -> None:
        self.events.append((event_type, data))

    def book(self, booked: Booked, plan_id: str) -> Booking:
        now = utcnow()
        row = Booking(
            id=new_id(),
            tenant=self.tenant,
            kind=booked.kind,
            opportunity_id=booked.opportunity_id,
            demand_id=booked.demand_id,
            staff_id=booked.staff_id,
            start_week=booked.start_week,
            end_week=booked.end_week,
            hours_per_week=booked.hours_per_week,
            status="tentative",
            reason=None,
            plan_id=plan_id,
            revision=self.revision,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        return row

    def set_status(self, booking: Booking, status: str, reason: str | None = None) -> None:
        booking.status, booking.reason = status, reason
        booking.revision, booking.updated_at = self.revision, utcnow()


def storable(text: str | None) -> bool:
    """Whether an id can be a key of the workspace's tables: PostgreSQL's text refuses NUL, so no stored id
    has one (validation.py refuses them), and a lookup by one finds nothing."""
    return text is None or "\x00" not in text


class WorkspaceStore:
    """Reads of one tenant's workspace, and `change()` for writes."""

    def __init__(self, session: Session, tenant: str) -> None:
        self.session = session
        self.tenant = tenant

    # ------------------------------------------------------------------ reading

    def workspace(self, *, lock: bool = False) -> Workspace:
        """The tenant's workspace row, made on first use (revision 0, this week's horizon, default policy)."""
        query = select(Workspace).where(Workspace.tenant == self.tenant)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).first()
        if row is not None:
            return row
        row = Workspace(
            tenant=self.tenant,
            revision=0,
            horizon=default_horizon(dt.datetime.now(dt.UTC).date()),
            policy={},
            updated_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def staff(self, after: str | None = None, limit: int | None = None) -> list[WorkspaceStaff]:
        query = select(WorkspaceStaff).where(WorkspaceStaff.tenant == self.tenant).order_by(WorkspaceStaff.id)
        if after is not None:
            query = query.where(WorkspaceStaff.id > after)
        return list(self.session.scalars(query.limit(limit)))

    def opportunities(self, after: str | None = None, limit: int | None = None) -> list[WorkspaceOpportunity]:
        query = (
            select(WorkspaceOpportunity)
            .where(WorkspaceOpportunity.tenant == self.tenant)
            .order_by(WorkspaceOpportunity.id)
        )
        if after is not None:
            query = query.where(WorkspaceOpportunity.id > after)
        return list(self.session.scalars(query.limit(limit)))

    def person(self, staff_id: str) -> WorkspaceStaff | None:
        return self.session.get(WorkspaceStaff, (self.tenant, staff_id)) if storable(staff_id) else None

    def opportunity(self, opportunity_id: str) -> WorkspaceOpportunity | None:
        if not storable(opportunity_id):
            return None
        return self.session.get(WorkspaceOpportunity, (self.tenant, opportunity_id))

    def bookings(
        self,
        *,
        statuses: Sequence[str] | None = None,
        staff_id: str | None = None,
        opportunity_id: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Booking]:
        if not (storable(staff_id) and storable(opportunity_id) and storable(after)):
            return []
        query = select(Booking).where(Booking.tenant == self.tenant)
        if statuses:
            query = query.where(Booking.status.in_(statuses))
        if staff_id is not None:
            query = query.where(Booking.staff_id == staff_id)
        if opportunity_id is not None:
            query = query.where(Booking.opportunity_id == opportunity_id)
        if after is not None:
            query = query.where(Booking.id > after)
        return list(self.session.scalars(query.order_by(Booking.id).limit(limit)))

    def booking(self, booking_id: str) -> Booking | None:
        row = self.session.get(Booking, booking_id) if storable(booking_id) else None
        return row if row is not None and row.tenant == self.tenant else None

    def audit(self, before: int | None = None, limit: int = 20, since_revision: int | None = None) -> list[AuditEntry]:
        """Audit entries, newest first: before entry id `before`, or every one after `since_revision`."""
        query = select(AuditEntry).where(AuditEntry.tenant == self.tenant)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        if since_revision is not None:
            query = query.where(AuditEntry.revision > since_revision)
        return list(self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))

    def request(self) -> Json:
        """The v1 request the workspace stands for now (without options)."""
        workspace = self.workspace()
        return request_document(
            workspace.horizon,
            workspace.policy,
            [row.body for row in self.staff()],
            [row.body for row in self.opportunities()],
            self.bookings(statuses=LIVE_BOOKINGS),
        )

    # ------------------------------------------------------------------ writing

    @contextmanager
    def change(
        self, principal: Principal, action: str, target: str | None = None, *, if_match: int | None = None
    ) -> Iterator[Change]:
        """One write: yields the change to make, then records it (see the module's docstring). The caller
        commits the session."""
        workspace = self.workspace(lock=True)
        if if_match is not None and if_match != workspace.revision:
            raise RevisionMismatch(if_match, workspace.revision)
        change = Change(self.session, workspace, principal, action, target, workspace.revision + 1)
        yield change
        self.session.flush()
        self._break_bookings(change)
        workspace.revision = change.revision
        workspace.updated_at = utcnow()
        self.session.add(
            AuditEntry(
                tenant=self.tenant,
                revision=change.revision,
                actor=principal.key_id,
                role=principal.role,
                action=action,
                target=target,
                summary=change.summary,
                created_at=workspace.updated_at,
            )
        )
        for event_type, data in change.events:
            emit_event(self.session, self.tenant, event_type, {**data, "workspace_revision": change.revision})
        self.session.flush()

    def _break_bookings(self, change: Change) -> None:
        """Mark broken every live booking the workspace no longer allows on its own, with the reason."""
        live = self.bookings(statuses=LIVE_BOOKINGS)
        if not live:
            return
        staff = {row.id: Staff.model_validate(row.body) for row in self.staff()}
        opportunities = {row.id: Opportunity.model_validate(row.body) for row in self.opportunities()}
        policy = Policy.model_validate(change.workspace.policy)
        for booking in live:
            reason = broken_reason(booking, staff, opportunities, policy)
            if reason is None:
                continue
            was = booking.status
            change.set_status(booking, "broken", reason)
            change.event("booking.broken", {"booking": booking_json(booking), "was": was})

    def remove_rows(self, model: type[WorkspaceStaff] | type[WorkspaceOpportunity]) -> None:
        self.session.execute(delete(model).where(model.tenant == self.tenant))


def booking_json(booking: Booking) -> Json:
    """A booking as the API shows it."""
    return {
        "id": booking.id,
        "kind": booking.kind,
        "opportunity_id": booking.opportunity_id,
        "demand_id": booking.demand_id,
        "staff_id": booking.staff_id,
        "start_week": booking.start_week,
        "end_week": booking.end_week,
        "hours_per_week": booking.hours_per_week,
        "status": booking.status,
        "reason": booking.reason,
        "plan_id": booking.plan_id or None,  # a booking made by hand from no plan has none
        "revision": booking.revision,
        "created_at": booking.created_at.isoformat(),
        "updated_at": booking.updated_at.isoformat(),
    }
