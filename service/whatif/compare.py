"""compare(base, base_plan, variant, variant_plan) -> Comparison: the KPI table with deltas, and who moved where.

A slot is one demand of one opportunity (`opportunity_id`, `demand_id`); with a headcount above one it
holds several people. A move is one change of person on a slot: from someone to someone else, from
nobody (the slot became filled) or to nobody (it became unfilled).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import zip_longest
from typing import Literal

from pydantic import Field

from service.contract import AllocationRequest, ContractModel, Plan, PlanStatus

MoveKind = Literal["replaced", "filled", "unfilled", "slot_removed", "slot_added"]


class ScenarioKpis(ContractModel):
    """One column of the comparison table."""

    status: PlanStatus
    covered_value: float
    total_cost: float
    coverage: float
    coverage_by_grade: dict[str, float]
    staffed_opportunities: int
    filled_slots: int
    unfilled_slots: int
    utilization: float


class KpiDeltas(ContractModel):
    """Variant minus base. A grade present on one side only has no coverage delta (null)."""

    covered_value: float
    total_cost: float
    coverage: float
    coverage_by_grade: dict[str, float | None]
    staffed_opportunities: int
    filled_slots: int
    unfilled_slots: int
    utilization: float


class Move(ContractModel):
    """One change of person on a slot. `from_staff` is null when the slot became filled, `to_staff` null
    when it became unfilled; `slot_removed`/`slot_added` when the demand exists on one side only."""

    opportunity_id: str
    demand_id: str
    from_staff: str | None
    to_staff: str | None
    kind: MoveKind


class SlotRef(ContractModel):
    opportunity_id: str
    demand_id: str


class StaffMove(ContractModel):
    """A person whose slots changed: the slots they left and the slots they took."""

    staff_id: str
    left: list[SlotRef]
    joined: list[SlotRef]


class StaffChange(ContractModel):
    """Someone who worked on one side only. `gone`: the variant removed them (or they are new in it)."""

    staff_id: str
    opportunities: list[str]
    gone: bool = False
    new: bool = False


class SlotChange(ContractModel):
    """A demand whose number of filled slots changed."""

    opportunity_id: str
    demand_id: str
    headcount: int
    base_filled: int
    variant_filled: int


class LeadChange(ContractModel):
    opportunity_id: str
    from_staff: str | None
    to_staff: str | None


class Comparison(ContractModel):
    base: ScenarioKpis
    variant: ScenarioKpis
    deltas: KpiDeltas
    moves: list[Move] = Field(description="Per slot: who was replaced by whom, which slots became (un)filled.")
    staff_moves: list[StaffMove] = Field(description="Per person: the slots they left and took.")
    dropped_out: list[StaffChange] = Field(description="Worked in the base plan, not in the variant's.")
    joined: list[StaffChange] = Field(description="Work in the variant's plan, not in the base's.")
    filled: list[SlotChange] = Field(description="Demands with more slots filled than in the base.")
    unfilled: list[SlotChange] = Field(description="Demands with fewer slots filled than in the base.")
    lead_changes: list[LeadChange]
    staffed: list[str] = Field(description="Opportunities staffed in the variant and not in the base.")
    unstaffed: list[str] = Field(description="Opportunities staffed in the base and not in the variant.")


def kpis_of(plan: Plan) -> ScenarioKpis:
    """The comparison's KPIs of a plan (from plan.kpis, or recounted when a plan carries none)."""
    if plan.kpis is not None:
        k = plan.kpis
        return ScenarioKpis(
            status=plan.status,
            covered_value=k.covered_value,
            total_cost=k.total_cost,
            coverage=k.coverage,
            coverage_by_grade=dict(k.coverage_by_grade),
            staffed_opportunities=k.staffed_opportunities,
            filled_slots=k.filled_slots,
            unfilled_slots=k.unfilled_slots,
            utilization=k.utilization,
        )
    return ScenarioKpis(
        status=plan.status,
        covered_value=plan.objective.covered_value,
        total_cost=plan.objective.total_cost,
        coverage=0.0,
        coverage_by_grade={},
        staffed_opportunities=len(plan.leads),
        filled_slots=len(plan.assignments),
        unfilled_slots=sum(u.slots for u in plan.unfilled),
        utilization=0.0,
    )


def _deltas(base: ScenarioKpis, variant: ScenarioKpis) -> KpiDeltas:
    grades = sorted(set(base.coverage_by_grade) | set(variant.coverage_by_grade))
    by_grade: dict[str, float | None] = {
        g: (
            round(variant.coverage_by_grade[g] - base.coverage_by_grade[g], 6)
            if g in base.coverage_by_grade and g in variant.coverage_by_grade
            else None
        )
        for g in grades
    }
    return KpiDeltas(
        covered_value=round(variant.covered_value - base.covered_value, 2),
        total_cost=round(variant.total_cost - base.total_cost, 2),
        coverage=round(variant.coverage - base.coverage, 6),
        coverage_by_grade=by_grade,
        staffed_opportunities=variant.staffed_opportunities - base.staffed_opportunities,
        filled_slots=variant.filled_slots - base.filled_slots,
        unfilled_slots=variant.unfilled_slots - base.unfilled_slots,
        utilization=round(variant.utilization - base.utilization, 6),
    )


Slot = tuple[str, str]


def _people_by_slot(plan: Plan) -> dict[Slot, list[str]]:
    people: dict[Slot, list[str]] = defaultdict(list)
    for a in plan.assignments:
        people[(a.opportunity_id, a.demand_id)].append(a.staff_id)
    return people


def _slots(request: AllocationRequest) -> dict[Slot, int]:
    return {(o.id, d.id): d.headcount for o in request.opportunities for d in o.demands}


def _opportunities_of(plan: Plan) -> dict[str, list[str]]:
    works: dict[str, list[str]] = defaultdict(list)
    for a in plan.assignments:
        if a.opportunity_id not in works[a.staff_id]:
            works[a.staff_id].append(a.opportunity_id)
    return works


def compare(
    base_request: AllocationRequest, base_plan: Plan, variant_request: AllocationRequest, variant_plan: Plan
) -> Comparison:
    """KPIs of both plans with deltas (variant − base), and every change of person on a slot.

    On a slot with several people, those who left are paired with those who came in id order; the
    pairing is a presentation choice, the sets of people are exact.
    """
    base_kpis, variant_kpis = kpis_of(base_plan), kpis_of(variant_plan)
    base_slots, variant_slots = _slots(base_request), _slots(variant_request)
    before, after = _people_by_slot(base_plan), _people_by_slot(variant_plan)

    moves: list[Move] = []
    filled: list[SlotChange] = []
    unfilled: list[SlotChange] = []
    left: dict[str, list[SlotRef]] = defaultdict(list)
    joined_slots: dict[str, list[SlotRef]] = defaultdict(list)
    ordered = list(base_slots) + [slot for slot in variant_slots if slot not in base_slots]
    for slot in ordered:
        was, now = before.get(slot, []), after.get(slot, [])
        gone = sorted(set(was) - set(now))
        came = sorted(set(now) - set(was))
        opportunity_id, demand_id = slot
        ref = SlotRef(opportunity_id=opportunity_id, demand_id=demand_id)
        for person in gone:
            left[person].append(ref)
        for person in came:
            joined_slots[person].append(ref)
        if slot not in variant_slots:
            moves += [Move(**ref.model_dump(), from_staff=p, to_staff=None, kind="slot_removed") for p in gone]
            continue
        if slot not in base_slots:
            moves += [Move(**ref.model_dump(), from_staff=None, to_staff=p, kind="slot_added") for p in came]
            continue
        for out, into in zip_longest(gone, came):
            kind: MoveKind = "filled" if out is None else ("unfilled" if into is None else "replaced")
            moves.append(Move(**ref.model_dump(), from_staff=out, to_staff=into, kind=kind))
        if len(now) != len(was):
            change = SlotChange(
                **ref.model_dump(), headcount=variant_slots[slot], base_filled=len(was), variant_filled=len(now)
            )
            (filled if len(now) > len(was) else unfilled).append(change)

    staff_moves = [
        StaffMove(staff_id=person, left=left.get(person, []), joined=joined_slots.get(person, []))
        for person in sorted(set(left) | set(joined_slots))
    ]

    base_work, variant_work = _opportunities_of(base_plan), _opportunities_of(variant_plan)
    base_staff = {p.id for p in base_request.staff}
    variant_staff = {p.id for p in variant_request.staff}
    dropped_out = [
        StaffChange(staff_id=person, opportunities=work, gone=person not in variant_staff)
        for person, work in sorted(base_work.items())
        if person not in variant_work
    ]
    joined = [
        StaffChange(staff_id=person, opportunities=work, new=person not in base_staff)
        for person, work in sorted(variant_work.items())
        if person not in base_work
    ]

    base_leads = {lead.opportunity_id: lead.staff_id for lead in base_plan.leads}
    variant_leads = {lead.opportunity_id: lead.staff_id for lead in variant_plan.leads}
    base_opportunities = [o.id for o in base_request.opportunities]
    known = set(base_opportunities)
    opportunity_order = base_opportunities + [o.id for o in variant_request.opportunities if o.id not in known]
    lead_changes = [
        LeadChange(opportunity_id=o, from_staff=base_leads.get(o), to_staff=variant_leads.get(o))
        for o in opportunity_order
        if base_leads.get(o) != variant_leads.get(o)
    ]

    return Comparison(
        base=base_kpis,
        variant=variant_kpis,
        deltas=_deltas(base_kpis, variant_kpis),
        moves=moves,
        staff_moves=staff_moves,
        dropped_out=dropped_out,
        joined=joined,
        filled=filled,
        unfilled=unfilled,
        lead_changes=lead_changes,
        staffed=[o for o in opportunity_order if o in variant_leads and o not in base_leads],
        unstaffed=[o for o in opportunity_order if o in base_leads and o not in variant_leads],
    )
