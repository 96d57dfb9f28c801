"""Greedy allocator: what a dispatcher does by hand, deal by deal, most valuable first, cheapest person first.

It is the warm start for CP-SAT, the fallback when a time limit leaves CP-SAT without a plan, and the
baseline the benchmarks compare against. Every plan it returns satisfies H1-H9.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from service.solver.ledger import Ledger
from service.solver.problem import Problem


@dataclass(frozen=True)
class Solution:
    """A plan as indexes into the problem: chosen pairs and chosen lead options."""

    assigned: tuple[int, ...]
    leads: tuple[int, ...]


Order = Literal["value", "value_for_hours"]


def greedy(problem: Problem, prefer: Solution | None = None, order: Order = "value") -> Solution | None:
    """Staff opportunities in order of value; None only when the pins cannot be honoured this way.

    With `prefer` (a plan to start from, such as a scenario's base plan mapped onto this problem), its
    opportunities come first, each under its preferred lead with its preferred people where they still fit,
    so that the result stays close to that plan.

    `order="value"` is the dispatcher's rule (most valuable deal first). `order="value_for_hours"` ranks a
    deal by its value over the square root of the presales hours it asks for: hours are what runs out, so a
    big deal that eats a team's month comes after two smaller ones worth nearly as much. Measured on the
    seeded instances (sum of covered value): S 66.0M -> 67.6M, M 764M -> 782M, L mean 397M -> 413M; value
    over plain hours (no root) put small deals too far forward (L mean 400M)."""
    ledger = Ledger(problem)
    pairs_by_staff_and_opportunity = problem.pairs_by_staff_and_opportunity

    value_of = [
        sum(problem.slots[s].value * problem.slots[s].headcount for s in slots)
        for slots in problem.slots_by_opportunity
    ]
    pinned_by_opportunity: dict[int, list[int]] = defaultdict(list)
    for p in problem.pinned_pairs:
        pinned_by_opportunity[problem.slots[problem.pairs[p].slot].opportunity].append(p)
    preferred_by_opportunity: dict[int, list[int]] = defaultdict(list)
    preferred_lead: dict[int, int] = {}
    if prefer is not None:
        for p in prefer.assigned:
            preferred_by_opportunity[problem.slots[problem.pairs[p].slot].opportunity].append(p)
        preferred_lead = {problem.lead_options[q].opportunity: q for q in prefer.leads}
    rank: list[float] = [float(value) for value in value_of]
    if order == "value_for_hours":
        hours_of = [
            sum(problem.slots[s].hours * problem.slots[s].headcount for s in slots)
            for slots in problem.slots_by_opportunity
        ]
        rank = [value / math.sqrt(max(hours, 1)) for value, hours in zip(value_of, hours_of, strict=True)]
    deals = sorted(
        range(len(problem.opportunity_ids)),
        key=lambda o: (o not in pinned_by_opportunity, o not in preferred_by_opportunity, -rank[o], o),
    )

    assigned: list[int] = []
    leads: list[int] = []
    for opportunity in deals:
        if not problem.leads_by_opportunity[opportunity]:
            if opportunity in pinned_by_opportunity:
                return None
            continue
        staffed = _staff_opportunity(
            problem,
            ledger,
            opportunity,
            pinned_by_opportunity.get(opportunity, []),
            pairs_by_staff_and_opportunity,
            preferred_by_opportunity.get(opportunity, []),
            preferred_lead.get(opportunity),
        )
        if staffed is None:
            if opportunity in pinned_by_opportunity:
                return None
            continue
        assigned.extend(staffed[0])
        leads.append(staffed[1])
    return Solution(assigned=tuple(sorted(assigned)), leads=tuple(sorted(leads)))


def warm_start(problem: Problem, prefer: Solution | None = None) -> Solution | None:
    """The better of the two greedy orders (covered value, then cost): CP-SAT's first plan. The dispatcher's
    order alone stays the benchmarks' baseline (`greedy`)."""
    best: Solution | None = None
    best_key: tuple[int, int] | None = None
    for order in ("value", "value_for_hours"):
        plan = greedy(problem, prefer=prefer, order=order)
        if plan is None:
            continue
        value, _, cost = evaluate(problem, plan)
        if best_key is None or (value, -cost) > best_key:
            best, best_key = plan, (value, -cost)
    return best


def evaluate(problem: Problem, solution: Solution) -> tuple[int, int, int]:
    """(covered value scaled, kept previous, cost cents) of a solution."""
    value = sum(problem.slots[problem.pairs[p].slot].value for p in solution.assigned)
    chosen = set(solution.assigned)
    kept = sum(1 for p in problem.previous_pairs if p in chosen)
    cost = sum(problem.pairs[p].cost for p in solution.assigned) + sum(
        problem.lead_options[q].cost for q in solution.leads
    )
    return value, kept, cost


def _staff_opportunity(
    problem: Problem,
    ledger: Ledger,
    opportunity: int,
    pinned: list[int],
    pairs_by_staff_and_opportunity: dict[tuple[int, int], list[int]],
    preferred: list[int],
    preferred_lead: int | None,
) -> tuple[list[int], int] | None:
    """Try lead candidates cheapest first (the preferred one before them); book and return (pairs, lead)
    for the first that works."""
    pinned_staff = {problem.pairs[p].staff for p in pinned}

    def lead_price(q: int) -> int:
        option = problem.lead_options[q]
        own = pairs_by_staff_and_opportunity[(option.staff, opportunity)]
        return option.cost + min(problem.pairs[p].cost for p in own)

    options = sorted(
        problem.leads_by_opportunity[opportunity],
        key=lambda q: (problem.lead_options[q].staff not in pinned_staff, q != preferred_lead, lead_price(q), q),
    )
    for q in options:
        attempt = _Attempt(problem, ledger, opportunity)
        if attempt.book_lead(q) and attempt.staff(pinned, pairs_by_staff_and_opportunity, preferred):
            return attempt.chosen, q
        attempt.undo()
    return None


class _Attempt:
    """One try at staffing an opportunity under one lead, booked in the ledger; undone whole if it fails."""

    def __init__(self, problem: Problem, ledger: Ledger, opportunity: int) -> None:
        self.problem = problem
        self.ledger = ledger
        self.opportunity = opportunity
        self.chosen: list[int] = []
        self.lead: int | None = None
        self.lead_staff = -1

    def undo(self) -> None:
        for p in self.chosen:
            self.ledger.remove_pair(p)
        if self.lead is not None:
            self.ledger.remove_lead(self.lead)
        self.chosen.clear()
        self.lead = None

    def book_lead(self, q: int) -> bool:
        ledger, opportunity = self.ledger, self.opportunity
        option = self.problem.lead_options[q]
        if not (
            ledger.budget_allows(opportunity, option.cost)
            and ledger.lead_has_hours(option.staff, opportunity)
            and ledger.focus_allows(option.staff, opportunity)
        ):
            return False
        ledger.add_lead(q)
        self.lead = q
        self.lead_staff = option.staff
        return True

    def take(self, p: int) -> bool:
        """Book pair `p` if H3, H6 and H7 allow it (H4 is the caller's: pins and the lead's own slot are
        taken first and checked after)."""
        ledger, opportunity = self.ledger, self.opportunity
        pair = self.problem.pairs[p]
        if not (
            ledger.budget_allows(opportunity, pair.cost)
            and ledger.slot_has_hours(pair.staff, pair.slot)
            and ledger.focus_allows(pair.staff, opportunity)
        ):
            return False
        ledger.add_pair(p)
        self.chosen.append(p)
        return True

    def staff(
        self,
        pinned: list[int],
        pairs_by_staff_and_opportunity: dict[tuple[int, int], list[int]],
        preferred: Sequence[int] = (),
    ) -> bool:
        """Pins first, then the preferred people where they fit, then a slot for the lead, then the
        remaining slots, most valuable first."""
        problem, ledger = self.problem, self.ledger
        if not all(self.take(p) for p in pinned):
            return False
        for p in preferred:
            pair = problem.pairs[p]
            if ledger.slot_has_room(pair.staff, pair.slot):
                self.take(p)
        if not ledger.works_on(self.lead_staff, self.opportunity):
            own = sorted(
                pairs_by_staff_and_opportunity[(self.lead_staff, self.opportunity)],
                key=lambda p: (-problem.slots[problem.pairs[p].slot].value, problem.pairs[p].cost),
            )
            if not any(self.take(p) for p in own):
                return False
        slots = problem.slots_by_opportunity[self.opportunity]
        if any(ledger.slot_overfilled(s) for s in slots):
            return False
        for s in sorted(slots, key=lambda s: -problem.slots[s].value):
            for p in sorted(problem.pairs_by_slot[s], key=lambda p: (problem.pairs[p].cost, p)):
                if ledger.slot_full(s):
                    break
                if ledger.slot_has_room(problem.pairs[p].staff, s):
                    self.take(p)
        return True
