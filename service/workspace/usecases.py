"""What a planner does to the workspace, each one change (one transaction, one revision, one audit entry):
put or remove a person or a deal, replace the roster or the pipeline (a CSV import), change the settings
(moving the horizon), publish a proposal, confirm or release a booking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.access import Principal
from service.contract import FieldError, InvalidRequest, Opportunity, Policy, Staff
from service.db.models import LIVE_BOOKINGS, Booking, WorkspaceOpportunity, WorkspaceStaff
from service.eligibility import fixed_lead_refusal, serve_refusals
from service.workspace.state import (
    Booked,
    Json,
    booking_key,
    bookings_of_plan,
    shifted_capacity,
    shifted_opportunity,
    teams_of_plan,
    weeks_moved,
)
from service.workspace.store import Change, WorkspaceStore, booking_json
from service.workspace.validation import WorkspaceSettings, canonical


class WorkspaceConflict(Exception):
    """A write the workspace's state refuses (409): a stale proposal, a booking in the wrong status..."""

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = extensions


class SettingsRefused(Exception):
    """Settings the workspace cannot take: (path, message) for each reason."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in errors))
        self.errors = errors


@dataclass(frozen=True)
class Written:
    revision: int
    created: bool = False


# --------------------------------------------------------------------------- roster and pipeline


Row = type[WorkspaceStaff] | type[WorkspaceOpportunity]
# Per kind of row: its table, the audit's name for it, and the path of its resource.
ROWS: dict[str, tuple[Row, str]] = {
    "staff": (WorkspaceStaff, "staff"),
    "opportunity": (WorkspaceOpportunity, "opportunities"),
}


def put_staff(store: WorkspaceStore, principal: Principal, person: Staff, if_match: int | None) -> Written:
    return _put(store, principal, "staff", person, person.name or person.role, if_match)


def put_opportunity(
    store: WorkspaceStore, principal: Principal, opportunity: Opportunity, if_match: int | None
) -> Written:
    return _put(store, principal, "opportunity", opportunity, opportunity.name or opportunity.customer, if_match)


def delete_staff(store: WorkspaceStore, principal: Principal, staff_id: str, if_match: int | None) -> Written | None:
    """None when there is no such person."""
    return _delete(store, principal, "staff", staff_id, if_match)


def delete_opportunity(
    store: WorkspaceStore, principal: Principal, opportunity_id: str, if_match: int | None
) -> Written | None:
    """None when there is no such opportunity."""
    return _delete(store, principal, "opportunity", opportunity_id, if_match)


def _put(
    store: WorkspaceStore, principal: Principal, kind: str, item: Staff | Opportunity, name: str, if_match: int | None
) -> Written:
    """Add a person or a deal, or replace the one with its id."""
    table, path = ROWS[kind]
    existing = store.session.get(table, (store.tenant, item.id))
    assert existing is None or isinstance(existing, WorkspaceStaff | WorkspaceOpportunity)
    with store.change(principal, f"{kind}.put", f"{path}/{item.id}", if_match=if_match) as change:
        if existing is None:
            store.session.add(table(tenant=store.tenant, id=item.id, body=canonical(item)))
            change.summary = f"added {item.id} ({name or 'no name'})"
        else:
            existing.body = canonical(item)
            change.summary = f"replaced {item.id}"
    return Written(change.revision, created=existing is None)


def _delete(
    store: WorkspaceStore, principal: Principal, kind: str, item_id: str, if_match: int | None
) -> Written | None:
    table, path = ROWS[kind]
    row = store.session.get(table, (store.tenant, item_id))
    if row is None:
        return None
    with store.change(principal, f"{kind}.delete", f"{path}/{item_id}", if_match=if_match) as change:
        store.session.delete(row)
        change.summary = f"removed {item_id}"
    return Written(change.revision)


def replace_staff(store: WorkspaceStore, principal: Principal, staff: Sequence[Staff], if_match: int | None) -> Written:
    """The whole roster replaced (a CSV import): people not in it leave, as by a DELETE each."""
    with store.change(principal, "staff.import", "staff", if_match=if_match) as change:
        store.remove_rows(WorkspaceStaff)
        store.session.add_all(WorkspaceStaff(tenant=store.tenant, id=p.id, body=canonical(p)) for p in staff)
        change.summary = f"imported {len(staff)} people"
    return Written(change.revision)


def replace_opportunities(
    store: WorkspaceStore, principal: Principal, opportunities: Sequence[Opportunity], if_match: int | None
) -> Written:
    """The whole pipeline replaced (a CSV import)."""
    with store.change(principal, "opportunities.import", "opportunities", if_match=if_match) as change:
        store.remove_rows(WorkspaceOpportunity)
        store.session.add_all(
            WorkspaceOpportunity(tenant=store.tenant, id=o.id, body=canonical(o)) for o in opportunities
        )
        change.summary = f"imported {len(opportunities)} opportunities"
    return Written(change.revision)


# --------------------------------------------------------------------------- settings and the horizon


def put_settings(
    store: WorkspaceStore, principal: Principal, settings: WorkspaceSettings, if_match: int | None
) -> Written:
    """New horizon and policy. Moving `horizon.start` forward by whole weeks shifts every week index: demands
    and bookings wholly in the past leave (bookings become completed), capacity lists lose their past weeks.
    A workspace with deals or bookings cannot move back, nor by part of a week, nor end before its work."""
    horizon = settings.horizon.model_dump(mode="json")
    with store.change(principal, "settings.put", "settings", if_match=if_match) as change:
        old = change.workspace.horizon
        deals = store.opportunities()
        moved = weeks_moved(old, horizon)
        has_work = bool(deals) or bool(store.bookings(statuses=LIVE_BOOKINGS))
        if has_work and (moved is None or moved < 0):
            raise SettingsRefused(
                [
                    (
                        "horizon.start",
                        f"can only move forward by whole weeks from {old['start']} (the workspace has work)",
                    )
                ]
            )
        moved = max(moved or 0, 0)
        _shift_deals(deals, moved, horizon["weeks"])
        for row in store.staff():
            capacity = shifted_capacity(row.body["capacity_hours"], moved, horizon["weeks"])
            row.body = {**row.body, "capacity_hours": capacity}
        for booking in store.bookings(statuses=LIVE_BOOKINGS):
            if booking.end_week - moved < 0:
                change.set_status(booking, "completed", f"its last week was before {horizon['start']}")
            else:
                booking.start_week, booking.end_week = max(0, booking.start_week - moved), booking.end_week - moved
        change.workspace.horizon = horizon
        change.workspace.policy = settings.policy.model_dump(mode="json")
        change.summary = f"horizon {horizon['start']} for {horizon['weeks']} weeks" + (
            f", {moved} week(s) later" if moved else ""
        )
    return Written(change.revision)


def _shift_deals(deals: Sequence[WorkspaceOpportunity], moved: int, weeks: int) -> None:
    late = []
    for row in deals:
        body = shifted_opportunity(row.body, moved) if moved else row.body
        late += [f"{row.id}/{d['id']} ends in week {d['end_week']}" for d in body["demands"] if d["end_week"] >= weeks]
        row.body = body
    if late:
        raise SettingsRefused([("horizon.weeks", f"{weeks} weeks end before work that is planned: {', '.join(late)}")])


# --------------------------------------------------------------------------- publishing and bookings


def publish(
    store: WorkspaceStore,
    principal: Principal,
    plan: Json,
    request: Json,
    if_match: int | None,
) -> tuple[Written, list[Json]]:
    """Make a proposal the plan of record: its assignments and leads become tentative bookings, replacing the
    tentative bookings published before; confirmed bookings stay (the proposal pinned them). A proposal made
    from an older revision is a 409 naming the changes since."""
    plan_revision = plan.get("workspace_revision")
    workspace = store.workspace()
    if plan_revision != workspace.revision:
        since = store.audit(since_revision=plan_revision, limit=50)
        raise WorkspaceConflict(
            f"the proposal was made from revision {plan_revision}; the workspace is at revision "
            f"{workspace.revision} after {len(since)} change(s): propose again",
            proposal_revision=plan_revision,
            revision=workspace.revision,
            changes=[audit_json(entry) for entry in reversed(since)],
        )
    if plan["status"] not in ("optimal", "feasible"):
        raise WorkspaceConflict(f"a plan with status {plan['status']} cannot be published")
    with store.change(principal, "plan.publish", f"plans/{plan['id']}", if_match=if_match) as change:
        made = _book_plan(store, change, plan, request)
        change.workspace.plan_of_record_id = plan["id"]
        change.summary = f"published {plan['id']}: {len(made)} tentative booking(s)"
        change.event("plan.published", {"plan_id": plan["id"], "opportunities": teams_of_plan(plan)})
    return Written(change.revision), [booking_json(b) for b in store.bookings(statuses=LIVE_BOOKINGS)]


def _book_plan(store: WorkspaceStore, change: Change, plan: Json, request: Json) -> list[Any]:
    confirmed = {booking_key(b) for b in store.bookings(statuses=("confirmed",))}
    for old in store.bookings(statuses=("tentative",)):
        change.set_status(old, "replaced", f"replaced by the plan {plan['id']}")
    return [change.book(b, plan["id"]) for b in bookings_of_plan(plan, request) if b.key not in confirmed]


def confirm(store: WorkspaceStore, principal: Principal, booking_id: str, if_match: int | None) -> Written | None:
    """A tentative booking becomes a commitment: every later request pins it."""
    booking = store.booking(booking_id)
    if booking is None:
        return None
    if booking.status != "tentative":
        raise WorkspaceConflict(f"booking {booking_id} is {booking.status}; only a tentative booking can be confirmed")
    if booking.kind == "lead":
        for other in store.bookings(statuses=("confirmed",), opportunity_id=booking.opportunity_id):
            if other.kind == "lead":
                raise WorkspaceConflict(f"{booking.opportunity_id} already has a confirmed lead, {other.staff_id}")
    with store.change(principal, "booking.confirm", f"bookings/{booking_id}", if_match=if_match) as change:
        change.set_status(booking, "confirmed")
        change.summary = f"confirmed {_what(booking)}"
        change.event("booking.confirmed", {"booking": booking_json(booking)})
    return Written(change.revision)


def release(store: WorkspaceStore, principal: Principal, booking_id: str, if_match: int | None) -> Written | None:
    """A tentative or confirmed booking is given up: the next request no longer carries it."""
    booking = store.booking(booking_id)
    if booking is None:
        return None
    if booking.status not in LIVE_BOOKINGS:
        raise WorkspaceConflict(f"booking {booking_id} is {booking.status}; only a live booking can be released")
    with store.change(principal, "booking.release", f"bookings/{booking_id}", if_match=if_match) as change:
        was = booking.status
        change.set_status(booking, "released")
        change.summary = f"released {_what(booking)} (was {was})"
        change.event("booking.released", {"booking": booking_json(booking), "was": was})
    return Written(change.revision)


def book(
    store: WorkspaceStore,
    principal: Principal,
    wanted: Booked,
    status: str,
    plan_id: str | None,
    if_match: int | None,
) -> tuple[Written, Booking]:
    """A booking made by hand (a director locks a proposal's work, or books a candidate for open work):
    `confirmed` pins it in every later request, `tentative` makes it part of the plan of record. Its weeks and
    hours are the demand's (a lead's: the deal's window and the policy's lead hours). It must hold on its own
    (422 naming the rule), and a confirmed one must fit beside the confirmed bookings (409)."""
    booked = _placed(store, wanted)
    for other in store.bookings(statuses=LIVE_BOOKINGS, opportunity_id=booked.opportunity_id):
        if booking_key(other) == booked.key:
            raise WorkspaceConflict(
                f"{_what(other)} is booked already ({other.status}, booking {other.id})", booking_id=other.id
            )
    if status == "confirmed":
        _check_fits(store, booked)
    with store.change(principal, "booking.create", "bookings", if_match=if_match) as change:
        row = change.book(booked, plan_id or "")
        change.set_status(row, status)
        change.summary = f"booked {_what(row)} ({status})"
        if status == "confirmed":
            change.event("booking.confirmed", {"booking": booking_json(row)})
    return Written(change.revision, created=True), row


def _placed(store: WorkspaceStore, wanted: Booked) -> Booked:
    """`wanted` with its weeks and hours from the workspace, or InvalidRequest naming why it cannot be."""
    person = store.person(wanted.staff_id)
    deal = store.opportunity(wanted.opportunity_id)
    errors = []
    if person is None:
        errors.append(FieldError("staff_id", f"no person {wanted.staff_id!r} on the roster", "unknown_id"))
    if deal is None:
        errors.append(FieldError("opportunity_id", f"no opportunity {wanted.opportunity_id!r}", "unknown_id"))
    if person is None or deal is None:
        raise InvalidRequest(errors)
    staff, opportunity = Staff.model_validate(person.body), Opportunity.model_validate(deal.body)
    policy = Policy.model_validate(store.workspace().policy)
    if wanted.kind == "lead":
        if not opportunity.demands:
            raise InvalidRequest([FieldError("opportunity_id", f"{opportunity.id} needs no work, so no lead")])
        refusal = fixed_lead_refusal(staff, opportunity, policy)
        if refusal is not None:
            raise InvalidRequest([FieldError("staff_id", f"{staff.id} cannot lead {opportunity.id}: {refusal}")])
        first = min(d.start_week for d in opportunity.demands)
        last = max(d.end_week for d in opportunity.demands)
        return Booked("lead", opportunity.id, None, staff.id, first, last, float(policy.lead_hours_per_week))
    demand = next((d for d in opportunity.demands if d.id == wanted.demand_id), None)
    if demand is None:
        raise InvalidRequest(
            [FieldError("demand_id", f"{opportunity.id} has no demand {wanted.demand_id!r}", "unknown_id")]
        )
    refusals = serve_refusals(staff, opportunity, demand, policy)
    if refusals:
        reasons = "; ".join(map(str, refusals))
        raise InvalidRequest(
            [FieldError("staff_id", f"{staff.id} cannot serve {opportunity.id}/{demand.id}: {reasons}")]
        )
    return Booked(
        "assignment",
        opportunity.id,
        demand.id,
        staff.id,
        demand.start_week,
        demand.end_week,
        float(demand.hours_per_week),
    )


def _check_fits(store: WorkspaceStore, booked: Booked) -> None:
    """A new confirmed booking beside the confirmed ones of its deal: one lead (H5), `headcount` people on a
    demand (H4). Other conflicts (hours, budget) show as an infeasible proposal, as the contract says."""
    confirmed = store.bookings(statuses=("confirmed",), opportunity_id=booked.opportunity_id)
    if booked.kind == "lead":
        for other in confirmed:
            if other.kind == "lead":
                raise WorkspaceConflict(f"{booked.opportunity_id} already has a confirmed lead, {other.staff_id}")
        return
    deal = store.opportunity(booked.opportunity_id)
    assert deal is not None
    headcount = next(int(d.get("headcount", 1)) for d in deal.body["demands"] if d["id"] == booked.demand_id)
    taken = [b.staff_id for b in confirmed if b.kind == "assignment" and b.demand_id == booked.demand_id]
    if len(taken) >= headcount:
        raise WorkspaceConflict(
            f"{booked.opportunity_id}/{booked.demand_id} needs {headcount} and has {len(taken)} confirmed already "
            f"({', '.join(sorted(taken))}): release one first"
        )


def _what(booking: Any) -> str:
    if booking.kind == "lead":
        return f"{booking.staff_id} as lead of {booking.opportunity_id}"
    return f"{booking.staff_id} on {booking.opportunity_id}/{booking.demand_id}"


def audit_json(entry: Any) -> Json:
    return {
        "id": entry.id,
        "revision": entry.revision,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "summary": entry.summary,
        "created_at": entry.created_at.isoformat(),
    }
