"""Compile a validated request into an integer-indexed problem: eligible pairs only, scaled integer data."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from service import costing
from service.contract import AllocationRequest
from service.eligibility import is_qualified, may_lead
from service.solver import rules

# Hours are compared in hundredths of an hour and money in cents, so that every hard rule is checked
# on integers by CP-SAT with a result that is also right in floating point.
HOURS_SCALE = 100
COST_SCALE = 100
# Covered value is optimized to a resolution of 1/VALUE_SCALE (a cent) unless the instance is so large
# that this would overflow 64-bit sums; then the resolution is coarsened (see value_scale()).
VALUE_SCALE = 100
_MAX_OBJECTIVE = 2**52


@dataclass(frozen=True)
class Slot:
    """One demand of one opportunity, with its slot count and value."""

    opportunity: int
    demand_id: str
    headcount: int
    start_week: int
    end_week: int
    hours_per_week: int  # scaled by HOURS_SCALE
    value: int  # value(d) scaled by the problem's value_scale

    @property
    def hours(self) -> int:
        """hours(d) of one place, scaled: hours_per_week over the demand's weeks (costing.demand_hours)."""
        return self.hours_per_week * (self.end_week - self.start_week + 1)


@dataclass(frozen=True)
class Pair:
    """An eligible (staff, slot) assignment: passes H1, H2, H9 and can fit alone (capacity, budget)."""

    staff: int
    slot: int
    cost: int  # member cost in cents, rounded up


@dataclass(frozen=True)
class LeadOption:
    """A person who may lead an opportunity (H5): can lead, right unit kind, works on one of its slots."""

    staff: int
    opportunity: int
    cost: int  # lead cost in cents, rounded up


@dataclass(frozen=True)
class Candidate:
    """Someone who passes H1, H2 and H9 for a slot, kept even when capacity or budget rules them out,
    so that unfilled work can be explained."""

    staff: int
    cost: int  # cents
    has_hours: bool  # hours_per_week free in every week of the slot in an empty plan, focus limit not 0


@dataclass
class Problem:
    """The request as integers. Pairs and lead options are the only decisions the model can make."""

    weeks: int
    horizon_start: dt.date  # only to name weeks by their dates in explanations (service.weeks)
    staff_ids: list[str]
    opportunity_ids: list[str]
    slots: list[Slot]
    pairs: list[Pair]
    lead_options: list[LeadOption]
    capacity: list[list[int]]  # [staff][week], scaled hours
    max_opportunities: list[int | None]
    windows: list[tuple[int, int] | None]  # active window per opportunity
    regions: list[str]  # per opportunity: neighbourhoods for large-neighbourhood search
    lead_hours_per_week: int  # scaled
    budgets: list[int]  # cents, rounded down
    value_scale: float
    pinned_pairs: list[int]  # indexes into pairs
    fixed_leads: dict[int, int]  # opportunity -> staff
    previous_pairs: list[int]  # previous-plan assignments that are still possible
    previous_total: int  # all previous-plan assignments, possible or not
    qualified: list[list[Candidate]]  # per slot
    lead_candidates: list[list[tuple[int, int]]]  # per opportunity: (staff, lead cost) passing H5 eligibility
    warm_pairs: list[int] = field(default_factory=list)  # options.warm_start assignments still possible
    warm_leads: list[int] = field(default_factory=list)  # options.warm_start leads, as lead options
    pairs_by_slot: list[list[int]] = field(default_factory=list)
    pairs_by_staff: list[list[int]] = field(default_factory=list)
    leads_by_opportunity: list[list[int]] = field(default_factory=list)
    leads_by_staff: list[list[int]] = field(default_factory=list)
    slots_by_opportunity: list[list[int]] = field(default_factory=list)
    # (staff, opportunity) -> that person's pairs on the deal: where H5 finds the demands a lead works on.
    pairs_by_staff_and_opportunity: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pairs_by_slot = [[] for _ in self.slots]
        self.pairs_by_staff = [[] for _ in self.staff_ids]
        for index, pair in enumerate(self.pairs):
            self.pairs_by_slot[pair.slot].append(index)
            self.pairs_by_staff[pair.staff].append(index)
        self.leads_by_opportunity = [[] for _ in self.opportunity_ids]
        self.leads_by_staff = [[] for _ in self.staff_ids]
        for index, option in enumerate(self.lead_options):
            self.leads_by_opportunity[option.opportunity].append(index)
            self.leads_by_staff[option.staff].append(index)
        self.slots_by_opportunity = [[] for _ in self.opportunity_ids]
        for index, slot in enumerate(self.slots):
            self.slots_by_opportunity[slot.opportunity].append(index)
        self.pairs_by_staff_and_opportunity = defaultdict(list)
        for index, pair in enumerate(self.pairs):
            self.pairs_by_staff_and_opportunity[(pair.staff, self.slots[pair.slot].opportunity)].append(index)

    def focus_rows(self) -> list[tuple[int, int, dict[int, list[int]]]]:
        """H7 for each person it can bind: (staff, limit, their pairs by opportunity), only where they are
        eligible on more opportunities than the limit. Shared by the CP-SAT model and the linear rows."""
        rows: list[tuple[int, int, dict[int, list[int]]]] = []
        for staff, limit in enumerate(self.max_opportunities):
            if limit is None:
                continue
            by_opportunity: dict[int, list[int]] = defaultdict(list)
            for p in self.pairs_by_staff[staff]:
                by_opportunity[self.slots[self.pairs[p].slot].opportunity].append(p)
            if len(by_opportunity) > limit:
                rows.append((staff, limit, by_opportunity))
        return rows

    def budget_row(self, opportunity: int) -> tuple[list[int], list[int]] | None:
        """H6 for one opportunity: its pairs and lead options (the terms of its cost), or None when even
        every pair with the dearest lead fits the budget, so no plan can break it and no row is needed."""
        pairs = [p for s in self.slots_by_opportunity[opportunity] for p in self.pairs_by_slot[s]]
        options = self.leads_by_opportunity[opportunity]
        most = sum(self.pairs[p].cost for p in pairs) + max((self.lead_options[q].cost for q in options), default=0)
        return None if rules.within_budget(0, most, self.budgets[opportunity]) else (pairs, options)


def _scale_up(value: float, scale: int) -> int:
    """Scale and round up, forgiving float noise (40.000000001 hours stays 4000)."""
    return math.ceil(value * scale - 1e-6)


def _scale_down(value: float, scale: int) -> int:
    return math.floor(value * scale + 1e-6)


def value_scale(total_value: float) -> float:
    """The largest scale <= VALUE_SCALE at which the summed covered value stays well inside int64."""
    if total_value <= 0:
        return float(VALUE_SCALE)
    return float(min(VALUE_SCALE, _MAX_OBJECTIVE / (total_value * 4)))


def compile_problem(request: AllocationRequest) -> Problem:
    """Build the integer problem; drops every pair that no plan could ever contain."""
    policy = request.policy
    weeks = request.horizon.weeks
    staff = request.staff
    staff_index = {person.id: i for i, person in enumerate(staff)}
    capacity = [[_scale_down(person.capacity(w), HOURS_SCALE) for w in range(weeks)] for person in staff]
    max_opportunities = [person.max_opportunities for person in staff]
    lead_hours_per_week = _scale_up(policy.lead_hours_per_week, HOURS_SCALE)

    by_skill: dict[str, list[int]] = defaultdict(list)  # who has the skill at all: whom H1 may let through
    for i, person in enumerate(staff):
        for skill in person.skills:
            by_skill[skill].append(i)

    total_value = sum(
        policy.grade_weights[o.grade] * costing.expected_value(o) for o in request.opportunities if o.demands
    )
    scale = value_scale(total_value)

    slots: list[Slot] = []
    pairs: list[Pair] = []
    lead_options: list[LeadOption] = []
    windows: list[tuple[int, int] | None] = []
    budgets: list[int] = []
    pinned_pairs: list[int] = []
    fixed_leads: dict[int, int] = {}
    pair_index: dict[tuple[int, int], int] = {}
    slot_index: dict[tuple[str, str], int] = {}
    qualified: list[list[Candidate]] = []
    lead_candidates: list[list[tuple[int, int]]] = []

    for o_index, opportunity in enumerate(request.opportunities):
        window = costing.active_window(opportunity)
        windows.append(window)
        budget = _scale_down(costing.budget(opportunity, policy), COST_SCALE)
        budgets.append(budget)
        pinned = {(pin.demand_id, pin.staff_id) for pin in opportunity.pinned}
        workers: set[int] = set()
        qualified_anywhere: set[int] = set()
        for demand in opportunity.demands:
            s_index = len(slots)
            hours_per_week = _scale_up(demand.hours_per_week, HOURS_SCALE)
            slots.append(
                Slot(
                    opportunity=o_index,
                    demand_id=demand.id,
                    headcount=demand.headcount,
                    start_week=demand.start_week,
                    end_week=demand.end_week,
                    hours_per_week=hours_per_week,
                    value=round(costing.slot_value(demand, opportunity, policy) * scale),
                )
            )
            slot_index[(opportunity.id, demand.id)] = s_index
            candidates: list[Candidate] = []
            qualified.append(candidates)
            for i in by_skill.get(demand.skill, ()):
                person = staff[i]
                if not is_qualified(person, opportunity, demand, policy):
                    continue
                is_pin = (demand.id, person.id) in pinned
                cost = _scale_up(costing.member_cost(person, demand, opportunity, policy), COST_SCALE)
                # Whether the work fits the person's empty week and focus (H3, H7).
                has_hours = (
                    rules.focus_allows(max_opportunities[i], 1)
                    and rules.week_short(capacity[i], None, demand.start_week, demand.end_week, hours_per_week) is None
                )
                candidates.append(Candidate(staff=i, cost=cost, has_hours=has_hours))
                qualified_anywhere.add(i)
                # A pair that cannot hold even alone is dropped, unless pinned: a pin that cannot hold
                # must surface as infeasible with an explanation, not vanish.
                if not is_pin and not (has_hours and rules.within_budget(0, cost, budget)):
                    continue
                pair_index[(i, s_index)] = len(pairs)
                pairs.append(Pair(staff=i, slot=s_index, cost=cost))
                workers.add(i)
                if is_pin:
                    pinned_pairs.append(pair_index[(i, s_index)])

        fixed = staff_index[opportunity.lead_staff_id] if opportunity.lead_staff_id is not None else None
        lead_candidates.append(
            [
                (i, _scale_up(costing.lead_cost(staff[i], opportunity, policy), COST_SCALE))
                for i in sorted(qualified_anywhere)
                if may_lead(staff[i], opportunity, policy) and (fixed is None or i == fixed)
            ]
        )
        if window is None:
            continue
        if fixed is not None:
            fixed_leads[o_index] = fixed
        for i in sorted(workers):
            person = staff[i]
            if fixed is not None and i != fixed:
                continue
            if not may_lead(person, opportunity, policy):
                continue
            cost = _scale_up(costing.lead_cost(person, opportunity, policy), COST_SCALE)
            fits_alone = rules.within_budget(0, cost, budget) and (
                rules.week_short(capacity[i], None, window[0], window[1], lead_hours_per_week) is None
            )
            if i != fixed and not fits_alone:
                continue
            lead_options.append(LeadOption(staff=i, opportunity=o_index, cost=cost))

    previous_pairs = []
    for planned in request.previous_plan:
        previous_slot = slot_index.get((planned.opportunity_id, planned.demand_id))
        previous_staff = staff_index.get(planned.staff_id)
        if previous_slot is not None and previous_staff is not None:
            known = pair_index.get((previous_staff, previous_slot))
            if known is not None:
                previous_pairs.append(known)

    warm_pairs: list[int] = []
    warm_leads: list[int] = []
    warm_start = request.options.warm_start
    if warm_start is not None:
        for planned in warm_start.assignments:
            warm_slot = slot_index.get((planned.opportunity_id, planned.demand_id))
            warm_staff = staff_index.get(planned.staff_id)
            if warm_slot is not None and warm_staff is not None and (warm_staff, warm_slot) in pair_index:
                warm_pairs.append(pair_index[(warm_staff, warm_slot)])
        lead_index = {(option.staff, option.opportunity): q for q, option in enumerate(lead_options)}
        opportunity_index = {o.id: i for i, o in enumerate(request.opportunities)}
        for chosen in warm_start.leads:
            key = (staff_index.get(chosen.staff_id, -1), opportunity_index.get(chosen.opportunity_id, -1))
            if key in lead_index:
                warm_leads.append(lead_index[key])

    return Problem(
        weeks=weeks,
        horizon_start=request.horizon.start,
        staff_ids=[person.id for person in staff],
        opportunity_ids=[o.id for o in request.opportunities],
        slots=slots,
        pairs=pairs,
        lead_options=lead_options,
        capacity=capacity,
        max_opportunities=max_opportunities,
        windows=windows,
        regions=[o.region for o in request.opportunities],
        lead_hours_per_week=lead_hours_per_week,
        budgets=budgets,
        value_scale=scale,
        pinned_pairs=sorted(set(pinned_pairs)),
        fixed_leads=fixed_leads,
        previous_pairs=sorted(set(previous_pairs)),
        qualified=qualified,
        lead_candidates=lead_candidates,
        previous_total=len({(p.opportunity_id, p.demand_id, p.staff_id) for p in request.previous_plan}),
        warm_pairs=sorted(set(warm_pairs)),
        warm_leads=sorted(set(warm_leads)),
    )
