"""Merging a large-neighbourhood step into a plan that moved on while the step was being solved.

With two step threads (service/solver/lns.py), a step is built from the best plan of the moment it
starts, and the other thread may improve that plan before the step ends. Both steps then changed the
same plan: their changes can break a rule together that neither breaks alone (two steps filling the same
person's spare hours in the same week). `merge` puts the step's changes into the current plan in the
pieces that can move independently: the changes of deals that share no person. A piece is kept only if
the plan still satisfies H3-H7 with it and it improves the objective without breaking a level held by a
floor; pieces that would break a rule are left out, so the merged plan is always valid. H1, H2 and H9
hold by construction (only eligible pairs exist), and the search is not used with pins (H8).
Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from service.solver.greedy import Solution
from service.solver.problem import Problem


class Coefficients(Protocol):
    """A linear expression over assignments and lead options (service.solver.lns._Linear)."""

    @property
    def pair(self) -> Mapping[int, int]: ...

    @property
    def lead(self) -> Mapping[int, int]: ...


@dataclass
class Change:
    """What a step changed on one or more deals: entries leaving and entering the plan."""

    removed_pairs: list[int] = field(default_factory=list)
    added_pairs: list[int] = field(default_factory=list)
    removed_leads: list[int] = field(default_factory=list)
    added_leads: list[int] = field(default_factory=list)

    def extend(self, other: Change) -> None:
        self.removed_pairs += other.removed_pairs
        self.added_pairs += other.added_pairs
        self.removed_leads += other.removed_leads
        self.added_leads += other.added_leads

    def delta(self, linear: Coefficients) -> int:
        """How much the expression changes with this change."""
        return (
            sum(linear.pair.get(p, 0) for p in self.added_pairs)
            - sum(linear.pair.get(p, 0) for p in self.removed_pairs)
            + sum(linear.lead.get(q, 0) for q in self.added_leads)
            - sum(linear.lead.get(q, 0) for q in self.removed_leads)
        )

    def people(self, problem: Problem) -> set[int]:
        return {problem.pairs[p].staff for p in (*self.removed_pairs, *self.added_pairs)} | {
            problem.lead_options[q].staff for q in (*self.removed_leads, *self.added_leads)
        }

    def reversed(self) -> Change:
        return Change(self.added_pairs, self.removed_pairs, self.added_leads, self.removed_leads)


class PlanLedger:
    """A plan with what its rules look at, kept up to date as changes are applied: hours per person and
    week (H3), people per demand (H4), leads per deal (H5), spend per deal (H6), deals per person (H7)."""

    def __init__(self, problem: Problem, plan: Solution) -> None:
        self.problem = problem
        self.hours = [[0] * problem.weeks for _ in problem.staff_ids]
        self.deals_of: list[dict[int, int]] = [defaultdict(int) for _ in problem.staff_ids]  # deal -> pairs
        self.people_on: dict[int, int] = defaultdict(int)  # slot -> people
        self.spent: dict[int, int] = defaultdict(int)
        self.leads_of: dict[int, list[int]] = defaultdict(list)
        self.assigned = set(plan.assigned)
        self.leads = set(plan.leads)
        for p in plan.assigned:
            self._pair(p, 1)
        for q in plan.leads:
            self._lead(q, 1)

    def _pair(self, p: int, sign: int) -> None:
        pair = self.problem.pairs[p]
        slot = self.problem.slots[pair.slot]
        row = self.hours[pair.staff]
        for week in range(slot.start_week, slot.end_week + 1):
            row[week] += sign * slot.hours_per_week
        deals = self.deals_of[pair.staff]
        deals[slot.opportunity] += sign
        if deals[slot.opportunity] == 0:
            del deals[slot.opportunity]
        self.people_on[pair.slot] += sign
        self.spent[slot.opportunity] += sign * pair.cost

    def _lead(self, q: int, sign: int) -> None:
        option = self.problem.lead_options[q]
        window = self.problem.windows[option.opportunity]
        if window is not None:
            row = self.hours[option.staff]
            for week in range(window[0], window[1] + 1):
                row[week] += sign * self.problem.lead_hours_per_week
        self.spent[option.opportunity] += sign * option.cost
        if sign > 0:
            self.leads_of[option.opportunity].append(q)
        else:
            self.leads_of[option.opportunity].remove(q)

    def apply(self, change: Change) -> None:
        for p in change.removed_pairs:
            self._pair(p, -1)
            self.assigned.discard(p)
        for q in change.removed_leads:
            self._lead(q, -1)
            self.leads.discard(q)
        for p in change.added_pairs:
            self._pair(p, 1)
            self.assigned.add(p)
        for q in change.added_leads:
            self._lead(q, 1)
            self.leads.add(q)

    def valid_for(self, people: Iterable[int], deals: Iterable[int]) -> bool:
        """Whether H3-H7 hold for these people and deals (a change can only break the rules of the people
        and deals it touches)."""
        problem = self.problem
        for staff in people:
            capacity = problem.capacity[staff]
            if any(hours > limit for hours, limit in zip(self.hours[staff], capacity, strict=True)):
                return False  # H3
            limit = problem.max_opportunities[staff]
            if limit is not None and len(self.deals_of[staff]) > limit:
                return False  # H7
        for opportunity in deals:
            slots = problem.slots_by_opportunity[opportunity]
            if any(self.people_on[s] > problem.slots[s].headcount for s in slots):
                return False  # H4
            staffed = any(self.people_on[s] > 0 for s in slots)
            leads = self.leads_of[opportunity]
            if len(leads) != (1 if staffed else 0):
                return False  # H5: exactly one lead on a staffed deal, none on another
            if leads and opportunity not in self.deals_of[problem.lead_options[leads[0]].staff]:
                return False  # H5: the lead works on the deal
            if staffed and self.spent[opportunity] > problem.budgets[opportunity]:
                return False  # H6
        return True

    def plan(self) -> Solution:
        return Solution(assigned=tuple(sorted(self.assigned)), leads=tuple(sorted(self.leads)))


@dataclass(frozen=True)
class Merged:
    plan: Solution
    kept: int  # pieces of the step's change put into the plan
    left_out: int  # pieces that would have broken a rule or a floor, or gained nothing


def merge(
    problem: Problem,
    current: Solution,
    freed_pairs: set[int],
    freed_leads: set[int],
    result: Solution,
    objective: Coefficients,
    maximize: bool,
    floors: Sequence[tuple[Coefficients, int | None, int | None]] = (),
) -> Merged:
    """`current` with its entries among the step's freed decisions replaced by `result`'s, piece by
    piece, largest gain first. `result` holds the step's chosen pairs and leads among the freed ones."""
    changes: dict[int, Change] = defaultdict(Change)  # deal -> its change
    chosen_pairs = set(result.assigned) & freed_pairs
    chosen_leads = set(result.leads) & freed_leads
    held_pairs = set(current.assigned) & freed_pairs
    held_leads = set(current.leads) & freed_leads
    for p in sorted(held_pairs - chosen_pairs):
        changes[problem.slots[problem.pairs[p].slot].opportunity].removed_pairs.append(p)
    for p in sorted(chosen_pairs - held_pairs):
        changes[problem.slots[problem.pairs[p].slot].opportunity].added_pairs.append(p)
    for q in sorted(held_leads - chosen_leads):
        changes[problem.lead_options[q].opportunity].removed_leads.append(q)
    for q in sorted(chosen_leads - held_leads):
        changes[problem.lead_options[q].opportunity].added_leads.append(q)

    # Deals whose changes share a person form one piece: one deal's new people may need the hours that
    # another deal's change frees, so neither can be taken without the other.
    root = {deal: deal for deal in changes}

    def find(deal: int) -> int:
        while root[deal] != deal:
            root[deal] = root[root[deal]]
            deal = root[deal]
        return deal

    first_deal_of: dict[int, int] = {}
    for deal, change in changes.items():
        for staff in change.people(problem):
            if staff in first_deal_of:
                root[find(deal)] = find(first_deal_of[staff])
            else:
                first_deal_of[staff] = deal
    pieces: dict[int, tuple[list[int], Change]] = {}
    for deal in sorted(changes):
        deals, change = pieces.setdefault(find(deal), ([], Change()))
        deals.append(deal)
        change.extend(changes[deal])

    sign = 1 if maximize else -1
    ledger = PlanLedger(problem, current)
    floor_values = [linear_value(linear, current) for linear, _, _ in floors]
    kept = left_out = 0
    for deals, change in sorted(pieces.values(), key=lambda piece: (-sign * piece[1].delta(objective), piece[0])):
        if sign * change.delta(objective) <= 0:
            left_out += 1
            continue
        moved = [value + change.delta(linear) for value, (linear, _, _) in zip(floor_values, floors, strict=True)]
        if any(
            (at_least is not None and value < at_least) or (at_most is not None and value > at_most)
            for value, (_, at_least, at_most) in zip(moved, floors, strict=True)
        ):
            left_out += 1
            continue
        ledger.apply(change)
        if ledger.valid_for(change.people(problem), deals):
            floor_values = moved
            kept += 1
        else:
            ledger.apply(change.reversed())
            left_out += 1
    return Merged(ledger.plan(), kept, left_out)


def linear_value(linear: Coefficients, plan: Solution) -> int:
    return sum(linear.pair.get(p, 0) for p in plan.assigned) + sum(linear.lead.get(q, 0) for q in plan.leads)
