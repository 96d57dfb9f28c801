"""The workspace's rules, on plain documents (CONTRACT v2): the v1 request it stands for, when a booking is
broken, what a published plan books, and what moving the horizon does. Nothing here touches the database.

- Confirmed bookings are commitments: the request pins them (`pinned`; a lead as `lead_staff_id`).
- Tentative bookings are the plan of record: the request's `previous_plan`, so the next plan changes as few
  of them as the objective allows.
- A live booking that the workspace no longer allows on its own (its person, deal or demand gone; H1, H2, H9
  or the lead part of H5 broken) is broken, with the reason in words: never pinned, never dropped silently.
- Moving `horizon.start` forward by whole weeks shifts every week index back; work wholly in the past leaves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.contract import Opportunity, Policy, Staff
from service.eligibility import fixed_lead_refusal, serve_refusals

Json = dict[str, Any]
DEFAULT_WEEKS = 12


class BookingFacts(Protocol):
    """What the rules read of a booking (the bookings table's row has these)."""

    kind: str
    opportunity_id: str
    demand_id: str | None
    staff_id: str
    status: str


@dataclass(frozen=True)
class Booked:
    """One booking a published plan makes: an assignment (with its demand) or a lead."""

    kind: str
    opportunity_id: str
    demand_id: str | None
    staff_id: str
    start_week: int
    end_week: int
    hours_per_week: float

    @property
    def key(self) -> tuple[str, str, str | None, str]:
        return booking_key(self)


def booking_key(booking: BookingFacts | Booked) -> tuple[str, str, str | None, str]:
    """Who does what: two bookings with one key are the same commitment."""
    return (booking.kind, booking.opportunity_id, booking.demand_id, booking.staff_id)


def default_horizon(today: dt.date) -> Json:
    """A new workspace plans from the Monday of this week, twelve weeks ahead."""
    monday = today - dt.timedelta(days=today.weekday())
    return {"start": monday.isoformat(), "weeks": DEFAULT_WEEKS}


# --------------------------------------------------------------------------- the request


def request_document(
    horizon: Json,
    policy: Json,
    staff: Sequence[Json],
    opportunities: Sequence[Json],
    bookings: Iterable[BookingFacts],
) -> Json:
    """The v1 request the workspace stands for: confirmed bookings as pins and fixed leads, tentative
    assignments as `previous_plan`. Exclusions of people not on the roster are left out (a CRM may exclude
    someone before adding them, or after removing them)."""
    roster = {person["id"] for person in staff}
    pins: defaultdict[str, list[Json]] = defaultdict(list)
    leads: dict[str, str] = {}
    previous: list[Json] = []
    for booking in bookings:
        if booking.status == "confirmed" and booking.kind == "assignment":
            pins[booking.opportunity_id].append({"demand_id": booking.demand_id, "staff_id": booking.staff_id})
        elif booking.status == "confirmed":
            leads[booking.opportunity_id] = booking.staff_id
        elif booking.status == "tentative" and booking.kind == "assignment":
            previous.append(
                {"opportunity_id": booking.opportunity_id, "demand_id": booking.demand_id, "staff_id": booking.staff_id}
            )
    deals = []
    for opportunity in opportunities:
        deal = dict(opportunity)
        deal["excluded_staff"] = [s for s in opportunity.get("excluded_staff", []) if s in roster]
        deal["pinned"] = sorted(pins.get(opportunity["id"], []), key=lambda pin: (pin["demand_id"], pin["staff_id"]))
        deal["lead_staff_id"] = leads.get(opportunity["id"])
        deals.append(deal)
    previous.sort(key=lambda p: (p["opportunity_id"], p["demand_id"], p["staff_id"]))
    return {
        "horizon": horizon,
        "staff": list(staff),
        "opportunities": deals,
        "policy": policy,
        "previous_plan": previous,
    }


# --------------------------------------------------------------------------- broken bookings


def broken_reason(
    booking: BookingFacts, staff: Mapping[str, Staff], opportunities: Mapping[str, Opportunity], policy: Policy
) -> str | None:
    """Why the workspace no longer allows `booking` on its own (None: it still holds)."""
    person = staff.get(booking.staff_id)
    if person is None:
        return f"{booking.staff_id} was removed from the roster"
    opportunity = opportunities.get(booking.opportunity_id)
    if opportunity is None:
        return f"{booking.opportunity_id} was removed from the pipeline"
    if booking.kind == "lead":
        refusal = fixed_lead_refusal(person, opportunity, policy)
        return None if refusal is None else f"{booking.staff_id} can no longer lead {opportunity.id}: {refusal}"
    demand = next((d for d in opportunity.demands if d.id == booking.demand_id), None)
    if demand is None:
        return f"demand {booking.demand_id} of {opportunity.id} was removed"
    refusals = serve_refusals(person, opportunity, demand, policy)
    if not refusals:
        return None
    return f"{booking.staff_id} can no longer serve {demand.id} of {opportunity.id}: " + "; ".join(map(str, refusals))


# --------------------------------------------------------------------------- publishing


def bookings_of_plan(plan: Json, request: Json) -> list[Booked]:
    """The bookings a plan makes: one per assignment and one per lead, with their weeks and weekly hours."""
    demands = {(o["id"], d["id"]): d for o in request["opportunities"] for d in o["demands"]}
    windows = {
        o["id"]: (min(d["start_week"] for d in o["demands"]), max(d["end_week"] for d in o["demands"]))
        for o in request["opportunities"]
        if o["demands"]
    }
    lead_hours = float(Policy.model_validate(request["policy"]).lead_hours_per_week)
    booked = [
        Booked(
            "assignment",
            a["opportunity_id"],
            a["demand_id"],
            a["staff_id"],
            a["start_week"],
            a["end_week"],
            float(demands[(a["opportunity_id"], a["demand_id"])]["hours_per_week"]),
        )
        for a in plan.get("assignments", [])
    ]
    for lead in plan.get("leads", []):
        first, last = windows[lead["opportunity_id"]]
        booked.append(Booked("lead", lead["opportunity_id"], None, lead["staff_id"], first, last, lead_hours))
    return booked


def teams_of_plan(plan: Json) -> list[Json]:
    """Per opportunity its lead and team, as `plan.published` carries them for a CRM to write back."""
    teams: dict[str, Json] = {}
    for lead in plan.get("leads", []):
        teams.setdefault(lead["opportunity_id"], {"lead_staff_id": None, "team": []})["lead_staff_id"] = lead[
            "staff_id"
        ]
    for assignment in plan.get("assignments", []):
        team = teams.setdefault(assignment["opportunity_id"], {"lead_staff_id": None, "team": []})["team"]
        team.append({"demand_id": assignment["demand_id"], "staff_id": assignment["staff_id"]})
    return [{"opportunity_id": o, **teams[o]} for o in sorted(teams)]


# --------------------------------------------------------------------------- the horizon


def weeks_moved(old: Json, new: Json) -> int | None:
    """By how many whole weeks `horizon.start` moves forward (negative: back); None if not by whole weeks."""
    days = (dt.date.fromisoformat(new["start"]) - dt.date.fromisoformat(old["start"])).days
    return days // 7 if days % 7 == 0 else None


def shifted_capacity(capacity: float | list[float], moved: int, weeks: int) -> float | list[float]:
    """A person's weekly hours on a horizon `moved` weeks later and `weeks` long: the past weeks leave, and
    new weeks at the end repeat the last known week."""
    if not isinstance(capacity, list):
        return capacity
    kept = capacity[moved:] or capacity[-1:]
    return (kept + [kept[-1]] * weeks)[:weeks]


def shifted_opportunity(opportunity: Json, moved: int) -> Json:
    """The deal on a horizon `moved` weeks later: demands wholly in the past leave, the others start at
    week 0 at the earliest."""
    demands = []
    for demand in opportunity["demands"]:
        if demand["end_week"] - moved < 0:
            continue
        demands.append(
            {**demand, "start_week": max(0, demand["start_week"] - moved), "end_week": demand["end_week"] - moved}
        )
    return {**opportunity, "demands": demands}
