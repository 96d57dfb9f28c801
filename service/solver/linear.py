"""The hard rules as linear rows over the decisions, one function per rule, from the compiled Problem:
the CP-SAT model of service/solver/model.py written as a MIP. Used by the LP relaxation that guides the
large-neighbourhood search (service/solver/relaxation.py) and by the HiGHS peer of the benchmarks
(benchmarks/highs_model.py).

Columns, in order: one binary per eligible pair (assign), per lead option (lead), per opportunity that
has an eligible pair (staffed), and per (staff, opportunity) where H7 needs one (works), exactly the
variables service/solver/model.py creates. Rows are the same linear constraints; CP-SAT's logical ones
become their usual linear forms (implication a -> b: a - b <= 0; bool_or(B) if a: a - sum(B) <= 0).
H8 pins are column bounds (LinearModel.fixed_one). No solver is imported here: OR-Tools bundles its
own libhighs.so.1, and the benchmark's highspy must be able to import this module without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from service.solver.problem import Problem

INF = math.inf


@dataclass
class Columns:
    """Column indexes, keyed like service.solver.model.Variables."""

    assign: list[int]
    lead: list[int]
    staffed: dict[int, int]
    works: dict[tuple[int, int], int] = field(default_factory=dict)
    count: int = 0

    def new(self) -> int:
        self.count += 1
        return self.count - 1


class Rows:
    """Row-wise sparse matrix under construction."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.start: list[int] = [0]
        self.index: list[int] = []
        self.value: list[float] = []

    def add(self, columns: list[int], coefficients: list[float], lower: float, upper: float) -> None:
        self.index.extend(columns)
        self.value.extend(coefficients)
        self.start.append(len(self.index))
        self.lower.append(lower)
        self.upper.append(upper)

    def implication(self, a: int, b: int) -> None:
        """a -> b for binaries: a - b <= 0."""
        self.add([a, b], [1.0, -1.0], -INF, 0.0)

    def __len__(self) -> int:
        return len(self.lower)


# --------------------------------------------------------------------------- one function per rule


def add_capacity(rows: Rows, problem: Problem, c: Columns) -> None:
    """H3 capacity: member hours plus lead hours of each person fit each week's capacity (same week
    de-duplication as the CP-SAT model: weeks with the same active variables keep the tightest row)."""
    for staff in range(len(problem.staff_ids)):
        pairs = problem.pairs_by_staff[staff]
        leads = problem.leads_by_staff[staff]
        if not pairs:
            continue
        tightest: dict[tuple[int, ...], int] = {}
        for week in range(problem.weeks):
            active: list[int] = []
            load = 0
            for p in pairs:
                slot = problem.slots[problem.pairs[p].slot]
                if slot.start_week <= week <= slot.end_week:
                    active.append(p)
                    load += slot.hours_per_week
            active_leads: list[int] = []
            for q in leads:
                window = problem.windows[problem.lead_options[q].opportunity]
                if window is not None and window[0] <= week <= window[1]:
                    active_leads.append(q)
            load += problem.lead_hours_per_week * len(active_leads)
            capacity = problem.capacity[staff][week]
            if load <= capacity:
                continue
            key = (*active, -1, *active_leads)
            if key not in tightest or capacity < tightest[key]:
                tightest[key] = capacity
        for key, capacity in tightest.items():
            split = key.index(-1)
            week_pairs, week_leads = key[:split], key[split + 1 :]
            columns = [c.assign[p] for p in week_pairs] + [c.lead[q] for q in week_leads]
            coefficients = [float(problem.slots[problem.pairs[p].slot].hours_per_week) for p in week_pairs]
            coefficients += [float(problem.lead_hours_per_week)] * len(week_leads)
            rows.add(columns, coefficients, -INF, float(capacity))


def add_slots(rows: Rows, problem: Problem, c: Columns) -> None:
    """H4 slots: at most `headcount` people per demand, tied to staffed as in the CP-SAT model:
    Σ assign - headcount × staffed <= 0."""
    for slot_index, slot in enumerate(problem.slots):
        pairs = problem.pairs_by_slot[slot_index]
        if len(pairs) <= slot.headcount:
            continue
        columns = [c.assign[p] for p in pairs]
        rows.add([*columns, c.staffed[slot.opportunity]], [1.0] * len(pairs) + [-float(slot.headcount)], -INF, 0.0)


def add_one_lead(rows: Rows, problem: Problem, c: Columns, lean: bool = False) -> None:
    """H5 one lead: Σ lead options = staffed; assign -> staffed; a lead works on one of the demands.
    `lean` leaves out assign -> staffed where the tight H4 row of the slot (Σ assign <= headcount x
    staffed) already ties its assignments to staffed: the same integer plans and an LP bound barely
    weaker (L-2: 503.3M against 502.4M), for 14,000 rows instead of 33,000 and an LP solved in 5.1 s
    instead of 8.1 s. The LP that guides the search is lean; the peer model keeps every row."""
    for opportunity, staffed in c.staffed.items():
        options = problem.leads_by_opportunity[opportunity]
        rows.add([c.lead[q] for q in options] + [staffed], [1.0] * len(options) + [-1.0], 0.0, 0.0)
        for slot in problem.slots_by_opportunity[opportunity]:
            pairs = problem.pairs_by_slot[slot]
            if lean and len(pairs) > problem.slots[slot].headcount:
                continue  # add_slots wrote the tight H4 row for this slot
            for p in pairs:
                rows.implication(c.assign[p], staffed)
        for q in options:
            own = problem.pairs_by_staff_and_opportunity[(problem.lead_options[q].staff, opportunity)]
            rows.add([c.lead[q]] + [c.assign[p] for p in own], [1.0] + [-1.0] * len(own), -INF, 0.0)


def add_budget(rows: Rows, problem: Problem, c: Columns) -> None:
    """H6 budget: member costs plus the lead cost of an opportunity stay within its budget × staffed, as in
    the CP-SAT model."""
    for opportunity in c.staffed:
        row = problem.budget_row(opportunity)
        if row is None:
            continue
        pairs, options = row
        columns = [c.assign[p] for p in pairs] + [c.lead[q] for q in options]
        coefficients = [float(problem.pairs[p].cost) for p in pairs]
        coefficients += [float(problem.lead_options[q].cost) for q in options]
        budget = float(problem.budgets[opportunity])
        rows.add([*columns, c.staffed[opportunity]], [*coefficients, -budget], -INF, 0.0)


def add_focus(rows: Rows, problem: Problem, c: Columns) -> None:
    """H7 focus: a person works on at most `max_opportunities` distinct opportunities."""
    for staff, limit, by_opportunity in problem.focus_rows():
        works_on: list[int] = []
        for opportunity, pairs in by_opportunity.items():
            if len(pairs) == 1:
                works_on.append(c.assign[pairs[0]])
                continue
            works = c.new()
            c.works[(staff, opportunity)] = works
            for p in pairs:
                rows.implication(c.assign[p], works)
            works_on.append(works)
        rows.add(works_on, [1.0] * len(works_on), -INF, float(limit))


@dataclass
class LinearModel:
    """Level 1 (covered value) as rows and columns: what an LP or MIP solver is given."""

    columns: Columns
    rows: Rows
    objective: list[float]  # per column: the slot value (scaled like CP-SAT's) of assignment columns
    fixed_one: list[int]  # columns a pin fixes to 1 (H8)


def build_rows(problem: Problem, lean: bool = False) -> LinearModel:
    """Every hard rule as rows; the objective maximizes covered value. `lean`: see add_one_lead."""
    columns = Columns(assign=[], lead=[], staffed={})
    columns.assign = [columns.new() for _ in problem.pairs]
    columns.lead = [columns.new() for _ in problem.lead_options]
    for opportunity, slots in enumerate(problem.slots_by_opportunity):
        if any(problem.pairs_by_slot[s] for s in slots):
            columns.staffed[opportunity] = columns.new()
    rows = Rows()
    add_capacity(rows, problem, columns)
    add_slots(rows, problem, columns)
    add_one_lead(rows, problem, columns, lean)
    add_budget(rows, problem, columns)
    add_focus(rows, problem, columns)
    objective = [0.0] * columns.count
    for p, pair in enumerate(problem.pairs):
        objective[columns.assign[p]] = float(problem.slots[pair.slot].value)
    return LinearModel(columns, rows, objective, [columns.assign[p] for p in problem.pinned_pairs])
