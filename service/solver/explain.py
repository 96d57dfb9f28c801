"""Why work stayed unfilled: one of the contract's reason codes per unfilled slot, each true for that slot.

Reasons are tried in the contract's order; the first that holds is given, with a detail a director can act on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from service.solver.greedy import Solution
from service.solver.ledger import Ledger
from service.solver.problem import COST_SCALE, HOURS_SCALE, Problem
from service.weeks import weeks_text


@dataclass(frozen=True)
class UnfilledSlots:
    slot: int
    slots: int
    reason: str
    detail: str


def _money(cents: int) -> str:
    return f"{cents / COST_SCALE:,.2f}"


def _every_week(problem: Problem, first: int, last: int) -> str:
    """`week W48 · 23 Nov`, or `each of weeks W48 · 23 Nov – W51 · 14 Dec`: weeks by their dates."""
    text = weeks_text(problem.horizon_start, first, last)
    return text if first == last else f"each of {text}"


def _hours(scaled: int) -> str:
    value = scaled / HOURS_SCALE
    return f"{value:g}"


def explain_unfilled(problem: Problem, solution: Solution | None) -> list[UnfilledSlots]:
    """Every slot the solution leaves open, grouped per demand and reason."""
    assigned = solution.assigned if solution is not None else ()
    plan = Ledger.of(problem, assigned, solution.leads if solution is not None else ())
    busy: dict[int, list[int]] = defaultdict(list)  # staff -> pairs they work
    for p in assigned:
        busy[problem.pairs[p].staff].append(p)

    found: list[UnfilledSlots] = []
    for s, slot in enumerate(problem.slots):
        open_slots = slot.headcount - len(plan.filled.get(s, ()))
        if open_slots <= 0:
            continue
        qualified = problem.qualified[s]
        short = min(open_slots, slot.headcount - len(qualified))
        if short > 0:
            detail = (
                "nobody passes skill, tier/region and exclusion rules (H1, H2, H9) for this demand"
                if not qualified
                else f"only {len(qualified)} qualified {'person' if len(qualified) == 1 else 'people'} "
                f"for {slot.headcount} slots (H1, H2, H9)"
            )
            found.append(UnfilledSlots(s, short, "no_qualified_staff", detail))
            open_slots -= short
        if open_slots <= 0:
            continue
        reason, detail = _reason(problem, s, busy, plan)
        found.append(UnfilledSlots(s, open_slots, reason, detail))
    return found


def _reason(problem: Problem, s: int, busy: dict[int, list[int]], plan: Ledger) -> tuple[str, str]:
    slot = problem.slots[s]
    opportunity = slot.opportunity
    leads = problem.lead_candidates[opportunity]
    if not leads:
        fixed = problem.fixed_leads.get(opportunity)
        if fixed is not None:
            return "no_lead", f"the required lead {problem.staff_ids[fixed]} cannot lead this opportunity"
        return "no_lead", "nobody qualified for this opportunity may lead it (can_lead and lead_units, H5)"
    qualified = problem.qualified[s]
    budget = problem.budgets[opportunity]
    # The budget is judged with the people who could do the work: members with the hours free and leads
    # with the lead hours free (a cheap person on leave does not make the deal affordable). When nobody
    # qualified has the hours, every qualified person and eligible lead counts.
    working = any(c.has_hours for c in qualified)
    cheapest = _cheapest_staffing(problem, s, working_only=working)
    if cheapest is None:
        cheapest = _cheapest_staffing(problem, s, working_only=False)
    if cheapest is not None and cheapest > budget:
        unconstrained = _cheapest_staffing(problem, s, working_only=False)
        caveat = (
            "; cheaper qualified people lack the hours"
            if working and unconstrained is not None and unconstrained < cheapest
            else ""
        )
        return (
            "over_budget",
            f"the cheapest qualified person with the hours plus a lead (who must also work on the deal) costs "
            f"{_money(cheapest)}, the budget is {_money(budget)} (H6){caveat}",
        )
    if not working:
        return (
            "no_capacity",
            f"no qualified person has {_hours(slot.hours_per_week)} h free in "
            f"{_every_week(problem, slot.start_week, slot.end_week)}, even before any other work (H3)",
        )
    if not problem.leads_by_opportunity[opportunity]:
        return (
            "no_lead",
            f"no eligible lead has {_hours(problem.lead_hours_per_week)} h a week free for the lead role across the "
            "deal's weeks on top of a slot of their own, within the budget (H3, H5, H6)",
        )
    return "outranked", _outranked_detail(problem, s, busy, plan)


def _cheapest_staffing(problem: Problem, s: int, *, working_only: bool) -> int | None:
    """Cost of the cheapest plan for this deal that fills slot `s` once, ignoring other work: a qualified
    member and a lead (H5: the lead also fills a slot of the deal, this one or another). With
    `working_only`, only people with the hours free count. None when no such pair exists."""
    slot = problem.slots[s]
    opportunity = slot.opportunity
    member_cost = {c.staff: c.cost for c in problem.qualified[s] if c.has_hours or not working_only}
    empty = Ledger(problem)
    best: int | None = None
    for lead, lead_cost in problem.lead_candidates[opportunity]:
        # The lead's hours in an empty plan (H3), and a deal their focus limit allows (H7).
        if working_only and not (empty.focus_allows(lead, opportunity) and empty.lead_has_hours(lead, opportunity)):
            continue
        # The lead's own cheapest slot of this deal other than this one (or this one if it has room for two).
        own = [
            c.cost
            for other in problem.slots_by_opportunity[opportunity]
            if other != s or slot.headcount >= 2
            for c in problem.qualified[other]
            if c.staff == lead and (c.has_hours or not working_only)
        ]
        options = []
        if lead in member_cost:
            options.append(member_cost[lead] + lead_cost)
        if own:
            others = [cost for staff, cost in member_cost.items() if staff != lead]
            if others:
                options.append(min(others) + lead_cost + min(own))
        if options and (best is None or min(options) < best):
            best = min(options)
    return best


def _outranked_detail(problem: Problem, s: int, busy: dict[int, list[int]], plan: Ledger) -> str:
    """Name the work that took the qualified people's hours, or the budget that ran out."""
    slot = problem.slots[s]
    opportunity = slot.opportunity
    takers: dict[str, set[str]] = defaultdict(set)
    for candidate in problem.qualified[s]:
        if not candidate.has_hours:
            continue
        for p in busy.get(candidate.staff, ()):
            other = problem.slots[problem.pairs[p].slot]
            if other.start_week <= slot.end_week and slot.start_week <= other.end_week:
                takers[problem.staff_ids[candidate.staff]].add(problem.opportunity_ids[other.opportunity])
    spent = plan.spent[opportunity]
    budget_left = problem.budgets[opportunity] - spent
    cheapest = min((c.cost for c in problem.qualified[s] if c.has_hours), default=0)
    parts = []
    if takers:
        listed = "; ".join(f"{staff} on {', '.join(sorted(deals))}" for staff, deals in sorted(takers.items())[:5])
        parts.append(
            f"qualified people are busy on more valuable work in "
            f"{weeks_text(problem.horizon_start, slot.start_week, slot.end_week)}: {listed}"
        )
    if spent and cheapest > budget_left:
        parts.append(
            f"the budget left ({_money(budget_left)}) is below the cheapest qualified person ({_money(cheapest)})"
        )
    if not parts:
        parts.append("possible alone, but capacity, focus limits or budget went to work of higher value")
    return "; ".join(parts)
