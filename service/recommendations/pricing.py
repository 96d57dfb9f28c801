"""Pricing the choices of one request: its baseline plan and compiled problem, the rules that rule a pin
out without a solve, the pre-ranking's estimate, and the re-solves with the pin."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from service import costing
from service.contract import AllocationRequest, Baseline, Demand, Pin, Plan, SlotChange
from service.eligibility import may_lead
from service.planning import solve_json
from service.recommendations.choice import Choice, ranked, who
from service.solver.ledger import Ledger
from service.solver.problem import COST_SCALE, HOURS_SCALE, Problem, compile_problem
from service.weeks import weeks_text

PlanSolver = Callable[[AllocationRequest], Plan]


@dataclass
class Pricing:
    """The request, its compiled problem and baseline plan, and what the cheap checks need from them.
    Staff, slots and opportunities are the problem's indexes."""

    request: AllocationRequest
    problem: Problem
    solve: PlanSolver
    baseline: Plan
    slot_index: dict[tuple[str, str], int]  # (opportunity id, demand id) -> slot
    demands: list[Demand]  # per slot: the request's demand
    values: list[float]  # per slot: the value of one of its slots
    on_slot: dict[int, list[int]]  # slot -> the staff on it in the baseline plan
    work: dict[int, list[tuple[int, float]]]  # staff -> (slot, value) of their baseline assignments
    led: dict[int, list[int]]  # staff -> the opportunities they lead in the baseline plan
    pinned_work: Ledger  # the request's pins and its fixed leads' roles: what every choice must fit beside
    spent: dict[str, float]  # opportunity id -> baseline cost
    staffed: set[int]  # opportunities the baseline plan staffs (gives a lead)
    pinned: dict[int, list[int]]  # staff -> the slots the request pins them to
    pinned_on: dict[int, list[int]]  # slot -> the staff the request pins to it
    member_costs: dict[tuple[int, int], int]  # (staff, slot) -> member cost in cents, for every qualified pair

    @classmethod
    def of(cls, request: AllocationRequest, solve: PlanSolver) -> Pricing:
        baseline = solve(request)
        problem = compile_problem(request)
        demands = [d for o in request.opportunities for d in o.demands]
        slot_index = {(problem.opportunity_ids[s.opportunity], s.demand_id): i for i, s in enumerate(problem.slots)}
        staff_index = {staff_id: i for i, staff_id in enumerate(problem.staff_ids)}
        values = [costing.slot_value(d, o, request.policy) for o in request.opportunities for d in o.demands]
        on_slot: dict[int, list[int]] = defaultdict(list)
        work: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for a in baseline.assignments:
            slot, staff = slot_index[(a.opportunity_id, a.demand_id)], staff_index[a.staff_id]
            on_slot[slot].append(staff)
            work[staff].append((slot, values[slot]))
        opportunity_index = {o: i for i, o in enumerate(problem.opportunity_ids)}
        staffed = set()
        led: dict[int, list[int]] = defaultdict(list)
        for lead in baseline.leads:
            opportunity, staff = opportunity_index[lead.opportunity_id], staff_index[lead.staff_id]
            staffed.add(opportunity)
            led[staff].append(opportunity)
        pinned_work = Ledger.of(problem, problem.pinned_pairs)
        for opportunity, lead_staff in problem.fixed_leads.items():
            pinned_work.add_lead_role(lead_staff, opportunity)
        pinned: dict[int, list[int]] = defaultdict(list)
        pinned_on: dict[int, list[int]] = defaultdict(list)
        for q in problem.pinned_pairs:
            pair = problem.pairs[q]
            pinned[pair.staff].append(pair.slot)
            pinned_on[pair.slot].append(pair.staff)
        return cls(
            request=request,
            problem=problem,
            solve=solve,
            baseline=baseline,
            slot_index=slot_index,
            demands=demands,
            values=values,
            on_slot=dict(on_slot),
            work=dict(work),
            led=dict(led),
            pinned_work=pinned_work,
            spent={o.opportunity_id: o.cost for o in baseline.opportunities},
            staffed=staffed,
            pinned=dict(pinned),
            pinned_on=dict(pinned_on),
            member_costs={
                (candidate.staff, slot): candidate.cost
                for slot, candidates in enumerate(problem.qualified)
                for candidate in candidates
            },
        )

    def baseline_summary(self) -> Baseline:
        return Baseline(
            status=self.baseline.status,
            covered_value=self.baseline.objective.covered_value,
            total_cost=self.baseline.objective.total_cost,
        )

    def on_slot_ids(self, slot: int) -> list[str]:
        return [self.problem.staff_ids[staff] for staff in self.on_slot.get(slot, [])]

    # ----------------------------------------------------------------- cheap checks and estimate

    def evaluate(self, staff: int, slot: int) -> Choice:
        """The choice of `staff` for `slot`, a pair of the problem's qualified lists (H1, H2, H9 hold)."""
        request = self.request
        o_index = self.problem.slots[slot].opportunity
        demand = self.demands[slot]
        choice = Choice(
            staff=staff,
            opportunity=o_index,
            slot=slot,
            demand=demand,
            member_cost=costing.member_cost(
                request.staff[staff], demand, request.opportunities[o_index], request.policy
            ),
            on_slot=staff in self.on_slot.get(slot, []),
            pinned=staff in self.pinned_on.get(slot, []),
            baseline=self.baseline,
        )
        if self.baseline.status in ("infeasible", "unknown"):
            choice.reasons.append("pins")
            choice.details.append(f"the request has no plan even without this choice ({self.baseline.status})")
            return choice
        if choice.pinned:
            return choice
        self._rule_out(choice)
        if not choice.ruled_out and not choice.on_slot:
            self._estimate(choice)
        return choice

    def _rule_out(self, choice: Choice) -> None:
        """Rules this pin breaks together with the request's own pins and fixed leads, whatever the plan:
        H3, H4, H5, H6 and H7 on the problem's scaled hours and cents, the numbers the solver decides on."""
        problem = self.problem
        staff, slot = choice.staff, problem.slots[choice.slot]
        opportunity = slot.opportunity
        person_id, opportunity_id = problem.staff_ids[staff], problem.opportunity_ids[opportunity]
        booked = self.pinned_work
        if not booked.slot_has_room(staff, choice.slot):
            choice.reasons.append("slots")
            choice.details.append(
                f"all {slot.headcount} slot(s) of {slot.demand_id} are pinned to "
                f"{', '.join(problem.staff_ids[s] for s in booked.filled[choice.slot])} (H4)"
            )

        # H3 and H7 against this person's pins and fixed leads elsewhere.
        week = booked.week_short(staff, slot.start_week, slot.end_week, slot.hours_per_week)
        if week is not None:
            busy, capacity = booked.used(staff, week), problem.capacity[staff][week]
            pinned_part = f" with {busy / HOURS_SCALE:g} h pinned or leading" if busy else ""
            when = weeks_text(problem.horizon_start, week, week)
            choice.reasons.append("capacity")
            choice.details.append(
                f"{person_id} has {capacity / HOURS_SCALE:g} h in {when}{pinned_part}; "
                f"{slot.demand_id} needs {slot.hours_per_week / HOURS_SCALE:g} h/week (H3)"
            )
        if not booked.focus_allows(staff, opportunity):
            choice.reasons.append("focus")
            choice.details.append(
                f"{person_id} may work on {problem.max_opportunities[staff]} opportunities and would be on "
                f"{booked.deals_with(staff, opportunity)} with their pins (H7)"
            )

        # H5 and H6: someone working on the deal must lead it, and the deal must pay for them.
        slots = problem.slots_by_opportunity[opportunity]
        workers = {staff} | {s for other in slots for s in self.pinned_on.get(other, [])}
        lead_extra: list[int] = []
        for candidate, lead_cost in problem.lead_candidates[opportunity]:
            # A lead works on the deal too: anyone but this person needs a slot this pin leaves free.
            work = [
                self.member_costs[(candidate, other)]
                for other in slots
                if (candidate, other) in self.member_costs
                and (candidate == staff or other != choice.slot or problem.slots[other].headcount > 1)
            ]
            if work:
                lead_extra.append(lead_cost if candidate in workers else lead_cost + min(work))
        if not lead_extra:
            fixed = problem.fixed_leads.get(opportunity)
            choice.reasons.append("lead")
            choice.details.append(
                f"the required lead {problem.staff_ids[fixed]} cannot lead {opportunity_id} with this choice (H5)"
                if fixed is not None
                else f"nobody who may lead {opportunity_id} could also work on it with this choice "
                "(can_lead, lead_units, H5)"
            )
            return
        # The pins' cost is booked already (this person is not pinned here: a pin needs no rule-out).
        extra = self.member_costs[(staff, choice.slot)] + min(lead_extra)
        if not booked.budget_allows(opportunity, extra):
            least, budget = booked.spent[opportunity] + extra, problem.budgets[opportunity]
            choice.reasons.append("budget")
            choice.details.append(
                f"{opportunity_id} would cost at least {least / COST_SCALE:,.2f} with this person, its pins and a "
                f"lead; the budget is {budget / COST_SCALE:,.2f} (H6)"
            )

    def _estimate(self, choice: Choice) -> None:
        """A cheap guess of the covered-value change: the slot's value if it was open, minus the value of
        this person's work that must give way (hours, focus), minus the slot again if the budget breaks.
        Hours are the problem's; money is the baseline plan's own figures and costing's."""
        request, problem = self.request, self.problem
        policy = request.policy
        person = request.staff[choice.staff]
        opportunity = request.opportunities[choice.opportunity]
        slot = problem.slots[choice.slot]
        value = self.values[choice.slot]
        is_open = len(self.on_slot.get(choice.slot, [])) < slot.headcount
        gain = value if is_open else 0.0
        displaced_cost = 0.0
        if not is_open:
            displaced_cost = max(
                (
                    a.cost
                    for a in self.baseline.assignments
                    if (a.opportunity_id, a.demand_id) == (opportunity.id, slot.demand_id)
                ),
                default=0.0,
            )

        pinned_here = set(self.pinned.get(choice.staff, []))
        # This person's baseline work and lead roles, from which work gives way until the slot's hours fit.
        theirs = Ledger(problem)
        for job in self.work.get(choice.staff, []):
            theirs.add_work(choice.staff, job[0])
        for led in self.led.get(choice.staff, []):
            theirs.add_lead_role(choice.staff, led)
        mine = sorted(
            (job for job in self.work.get(choice.staff, []) if job[0] not in pinned_here), key=lambda job: job[1]
        )
        kept = list(mine)
        lost = 0.0

        def fits() -> bool:
            return theirs.slot_has_hours(choice.staff, choice.slot)

        for item in mine:
            if fits():
                break
            other = problem.slots[item[0]]
            if other.end_week < slot.start_week or slot.end_week < other.start_week:
                continue
            theirs.remove_work(choice.staff, item[0])
            kept.remove(item)
            lost += item[1]
        if not fits():
            lost += value  # lead hours or pins hold the week: something of this deal's size must go

        focus = problem.max_opportunities[choice.staff]
        if focus is not None:
            deals = {problem.slots[job[0]].opportunity for job in kept} - {choice.opportunity}
            if len(deals) >= focus and deals:
                by_deal: dict[int, float] = defaultdict(float)
                for job in kept:
                    by_deal[problem.slots[job[0]].opportunity] += job[1]
                lost += min(by_deal[d] for d in deals)

        extra_cost = choice.member_cost - displaced_cost
        if choice.opportunity not in self.staffed:
            lead = costing.lead_cost(person, opportunity, policy) if may_lead(person, opportunity, policy) else 0.0
            extra_cost += lead
        if self.spent.get(opportunity.id, 0.0) + extra_cost > costing.budget(opportunity, policy) + 1e-6:
            lost += value
        choice.estimate = gain - lost
        choice.estimated_cost = extra_cost

    # ----------------------------------------------------------------- re-solving

    def settle(self, choices: list[Choice], limit: int, executor: Executor | None) -> int:
        """Re-solve the `limit` best-estimated open questions with the pin; returns how many were solved."""
        open_questions = [c for c in choices if not c.ruled_out and not c.on_slot and not c.pinned]
        chosen = ranked(open_questions)[:limit]
        requests = [self._pinned(c) for c in chosen]
        if executor is None:
            plans = [self.solve(r) for r in requests]
        else:
            futures = [executor.submit(solve_json, r.model_dump_json()) for r in requests]
            plans = [Plan.model_validate_json(f.result()) for f in futures]
        for choice, plan in zip(chosen, plans, strict=True):
            choice.plan = plan
            choice.exact = plan.status == "optimal" and self.baseline.status == "optimal"
            if plan.status in ("optimal", "feasible"):
                choice.changes = self.slot_changes(plan)
                choice.lead_change = self.lead_change(choice, plan)
            if plan.status == "infeasible":
                # The solve that found the pin infeasible also found which rules are to blame (on the
                # solver process when run on the pool): nothing is solved here.
                blamed = plan.explanation.broken_rules if plan.explanation else []
                choice.reasons.extend(blamed or ["pins"])
                choice.details.append(
                    plan.explanation.detail if plan.explanation else "the pins break several rules at once"
                )
        for choice in choices:
            if (choice.on_slot or choice.pinned) and not choice.reasons:
                choice.exact = self.baseline.status == "optimal"
        return len(chosen)

    def slot_changes(self, plan: Plan) -> list[SlotChange]:
        """The demands `plan` fills with a different number of people than the baseline, losses first:
        covered value is the sum of the filled slots' values, so these add up to the plan's delta."""
        before = Counter((a.opportunity_id, a.demand_id) for a in self.baseline.assignments)
        after = Counter((a.opportunity_id, a.demand_id) for a in plan.assignments)
        changes = [
            SlotChange(
                opportunity_id=key[0],
                demand_id=key[1],
                filled_in_baseline=before[key],
                filled_with_choice=after[key],
                delta_covered_value=round((after[key] - before[key]) * self.values[self.slot_index[key]], 2),
            )
            for key in sorted(set(before) | set(after))
            if before[key] != after[key]
        ]
        return sorted(changes, key=lambda c: (c.delta_covered_value >= 0, -abs(c.delta_covered_value)))

    def lead_change(self, choice: Choice, plan: Plan) -> str:
        """A sentence when the pin makes someone else lead the deal (H5): their own work moves too."""
        opportunity = self.request.opportunities[choice.opportunity]
        person = self.request.staff[choice.staff]
        before = next((lead.staff_id for lead in self.baseline.leads if lead.opportunity_id == opportunity.id), None)
        after = next((lead.staff_id for lead in plan.leads if lead.opportunity_id == opportunity.id), None)
        if after is None or after == before or after == person.id:
            return ""
        names = {p.id: who(p) for p in self.request.staff}
        work = [a.demand_id for a in plan.assignments if a.opportunity_id == opportunity.id and a.staff_id == after]
        was = f" instead of {names[before]}" if before is not None else ""
        return (
            f"{opportunity.id} needs a lead who works on it (H5): {names[after]} leads it{was}"
            + (f" and works on {', '.join(work)}" if work else "")
            + "."
        )

    def _pinned(self, choice: Choice) -> AllocationRequest:
        opportunity = self.request.opportunities[choice.opportunity]
        return pinned_request(self.request, opportunity.id, choice.demand.id, self.request.staff[choice.staff].id)


def pinned_request(request: AllocationRequest, opportunity_id: str, demand_id: str, staff_id: str) -> AllocationRequest:
    """The request with `staff_id` pinned to the slot (a copy; unchanged if already pinned there)."""
    changed = request.model_copy(deep=True)
    opportunity = next(o for o in changed.opportunities if o.id == opportunity_id)
    if not any(p.demand_id == demand_id and p.staff_id == staff_id for p in opportunity.pinned):
        opportunity.pinned.append(Pin(demand_id=demand_id, staff_id=staff_id))
    return changed
