"""The CP-SAT model: one function per hard rule of CONTRACT.md, and the objective terms of each level."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.problem import Problem


@dataclass
class Variables:
    """Decision variables keyed like the problem: one per eligible pair and per lead option."""

    assign: list[cp_model.IntVar]  # per problem.pairs
    lead: list[cp_model.IntVar]  # per problem.lead_options
    staffed: dict[int, cp_model.IntVar]  # per opportunity that has at least one eligible pair
    works: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # (staff, opportunity), H7 only


Terms = tuple[list[cp_model.IntVar], list[int]]

# H1 (skill), H2 (tier, region, remote) and H9 (exclusions) need no constraint: problem.compile_problem
# creates a variable only for a (staff, demand) pair that passes them (service/eligibility.py), so no plan
# can break them. linear.py writes the rules below as rows, under the same names and in the same order;
# ledger.py checks them for a plan built one piece at a time.


def add_capacity(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H3 capacity: member hours plus lead hours of each person fit each week's capacity."""
    weeks = range(problem.weeks)
    for staff, pairs in enumerate(problem.pairs_by_staff):
        if not pairs:
            continue
        active: list[list[int]] = [[] for _ in weeks]
        active_leads: list[list[int]] = [[] for _ in weeks]
        load = [0] * problem.weeks
        for p in pairs:
            slot = problem.slots[problem.pairs[p].slot]
            for week in range(slot.start_week, slot.end_week + 1):
                active[week].append(p)
                load[week] += slot.hours_per_week
        for q in problem.leads_by_staff[staff]:
            window = problem.windows[problem.lead_options[q].opportunity]
            if window is not None:
                for week in range(window[0], window[1] + 1):
                    active_leads[week].append(q)
                    load[week] += problem.lead_hours_per_week
        # Weeks with the same active variables need only the tightest capacity among them.
        tightest: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        capacity = problem.capacity[staff]
        for week in weeks:
            if load[week] <= capacity[week]:
                continue
            key = (tuple(active[week]), tuple(active_leads[week]))
            if key not in tightest or capacity[week] < tightest[key]:
                tightest[key] = capacity[week]
        for (week_pairs, week_leads), hours in tightest.items():
            variables = [v.assign[p] for p in week_pairs] + [v.lead[q] for q in week_leads]
            coefficients = [problem.slots[problem.pairs[p].slot].hours_per_week for p in week_pairs]
            coefficients += [problem.lead_hours_per_week] * len(week_leads)
            model.add(cp_model.LinearExpr.weighted_sum(variables, coefficients) <= hours)


def add_slots(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H4 slots: at most `headcount` distinct people per demand (one variable per person: one slot each).

    Written as Σ x ≤ headcount × staffed(opportunity) rather than Σ x ≤ headcount: the same integer plans
    (a person on a demand makes its opportunity staffed, H5), but a much tighter LP relaxation. With the
    plain form the LP filled a demand with two half-people while paying for only half a lead (staffed =
    max of the assignments, not their sum); at M its bound of covered value was 10.6 % above the optimum
    against 6.8 % (median of ten; benchmarks/RESULTS.md, section 1b)."""
    for slot_index, slot in enumerate(problem.slots):
        pairs = problem.pairs_by_slot[slot_index]
        if len(pairs) <= slot.headcount:
            continue  # each pair already implies staffed, which is as tight
        staffed = v.staffed[slot.opportunity]
        model.add(cp_model.LinearExpr.sum([v.assign[p] for p in pairs]) <= slot.headcount * staffed)


def add_one_lead(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H5 one lead: a staffed opportunity has exactly one eligible lead, who also works on it; an
    unstaffed one has none. `lead_staff_id` is honoured by compiling only that lead option."""
    for opportunity, staffed in v.staffed.items():
        options = problem.leads_by_opportunity[opportunity]
        model.add(cp_model.LinearExpr.sum([v.lead[q] for q in options]) == staffed)
        for slot in problem.slots_by_opportunity[opportunity]:
            for p in problem.pairs_by_slot[slot]:
                model.add_implication(v.assign[p], staffed)
        for q in options:
            own = problem.pairs_by_staff_and_opportunity[(problem.lead_options[q].staff, opportunity)]
            if len(own) == 1:
                model.add_implication(v.lead[q], v.assign[own[0]])
            else:
                model.add_bool_or([v.assign[p] for p in own]).only_enforce_if(v.lead[q])


def spend(problem: Problem, v: Variables, opportunity: int) -> cp_model.LinearExprT | None:
    """What an opportunity spends (member costs plus its lead's cost), or None where H6 needs no row
    (Problem.budget_row)."""
    row = problem.budget_row(opportunity)
    if row is None:
        return None
    pairs, options = row
    variables = [v.assign[p] for p in pairs] + [v.lead[q] for q in options]
    coefficients = [problem.pairs[p].cost for p in pairs] + [problem.lead_options[q].cost for q in options]
    return cp_model.LinearExpr.weighted_sum(variables, coefficients)


def add_budget(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H6 budget: member costs plus the lead cost of an opportunity stay within its budget."""
    for opportunity in v.staffed:
        spent = spend(problem, v, opportunity)
        if spent is not None:
            # × staffed: the same plans (nothing is spent on an unstaffed opportunity), a tighter LP.
            model.add(spent <= problem.budgets[opportunity] * v.staffed[opportunity])


def add_focus(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H7 focus: a person works on at most `max_opportunities` distinct opportunities."""
    for staff, limit, by_opportunity in problem.focus_rows():
        works_on = []
        for opportunity, pairs in by_opportunity.items():
            if len(pairs) == 1:
                works_on.append(v.assign[pairs[0]])
                continue
            works = model.new_bool_var(f"works_s{staff}_o{opportunity}")
            v.works[(staff, opportunity)] = works
            for p in pairs:
                model.add_implication(v.assign[p], works)
            works_on.append(works)
        model.add(cp_model.LinearExpr.sum(works_on) <= limit)


def add_pins(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H8 pins: every pinned assignment is in the plan."""
    for p in problem.pinned_pairs:
        model.add(v.assign[p] == 1)


HARD_RULES: tuple[Callable[[cp_model.CpModel, Problem, Variables], None], ...] = (
    add_capacity,  # H3
    add_slots,  # H4
    add_one_lead,  # H5
    add_budget,  # H6
    add_focus,  # H7
    add_pins,  # H8
)


def create_variables(model: cp_model.CpModel, problem: Problem) -> Variables:
    assign = [model.new_bool_var(f"x_s{pair.staff}_d{pair.slot}") for pair in problem.pairs]
    lead = [model.new_bool_var(f"lead_s{o.staff}_o{o.opportunity}") for o in problem.lead_options]
    staffed: dict[int, cp_model.IntVar] = {}
    for opportunity, slots in enumerate(problem.slots_by_opportunity):
        if any(problem.pairs_by_slot[s] for s in slots):
            staffed[opportunity] = model.new_bool_var(f"staffed_o{opportunity}")
    return Variables(assign=assign, lead=lead, staffed=staffed)


class BuildStopped(Exception):
    """A cancel came while the model was being built."""


def build_model(
    problem: Problem,
    rules: tuple[Callable[..., None], ...] = HARD_RULES,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[cp_model.CpModel, Variables]:
    """A model whose feasible solutions are exactly the plans satisfying H1-H9. `should_stop` is asked
    between rules (at 500,000 pairs the model takes seconds to build); BuildStopped when it says so."""
    model = cp_model.CpModel()
    variables = create_variables(model, problem)
    for rule in rules:
        if should_stop is not None and should_stop():
            raise BuildStopped
        rule(model, problem, variables)
    return model, variables


def add_solution_hint(model: cp_model.CpModel, problem: Problem, v: Variables, solution: Solution) -> None:
    """Hint every variable of `model` (built from `problem`) with its value in `solution`. Written to the
    proto in bulk: on large problems one add_hint call per variable costs more than the step it hints."""
    chosen = set(solution.assigned)
    leads = set(solution.leads)
    staffed = {problem.lead_options[q].opportunity for q in solution.leads}
    working = {(problem.pairs[p].staff, problem.slots[problem.pairs[p].slot].opportunity) for p in chosen}
    indexes = [var.index for var in v.assign] + [var.index for var in v.lead]
    values = [int(p in chosen) for p in range(len(v.assign))] + [int(q in leads) for q in range(len(v.lead))]
    for opportunity, var in v.staffed.items():
        indexes.append(var.index)
        values.append(int(opportunity in staffed))
    for key, var in v.works.items():
        indexes.append(var.index)
        values.append(int(key in working))
    hint = model.proto.solution_hint
    hint.vars.extend(indexes)
    hint.values.extend(values)


# --------------------------------------------------------------------------- objective terms


def covered_value_terms(problem: Problem, v: Variables) -> Terms:
    """Level 1 (maximize): Σ value(d) over assignments, scaled."""
    return v.assign, [problem.slots[pair.slot].value for pair in problem.pairs]


def kept_previous_terms(problem: Problem, v: Variables) -> Terms:
    """Level 2 (maximize kept = previous_total − changes): previous-plan assignments still in the plan."""
    return [v.assign[p] for p in problem.previous_pairs], [1] * len(problem.previous_pairs)


def kept_warm_start_terms(problem: Problem, v: Variables) -> Terms:
    """Tie-break after level 3 (maximize): assignments and leads of options.warm_start kept in the plan."""
    variables = [v.assign[p] for p in problem.warm_pairs] + [v.lead[q] for q in problem.warm_leads]
    return variables, [1] * len(variables)


def cost_terms(problem: Problem, v: Variables) -> Terms:
    """Level 3 (minimize): member costs plus lead costs, in cents."""
    variables = list(v.assign) + list(v.lead)
    coefficients = [pair.cost for pair in problem.pairs] + [option.cost for option in problem.lead_options]
    return variables, coefficients
