"""The use case: a validated request becomes a plan (assignments, leads, reasons, KPIs)."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from service import costing
from service.contract import (
    GRADES,
    RULE_LABELS,
    AllocationRequest,
    Assignment,
    Explanation,
    Kpis,
    Lead,
    Objective,
    OpportunitySummary,
    PinConflict,
    Plan,
    SolverInfo,
    StaffSummary,
    Timing,
    Unfilled,
)
from service.progress import Found, PlanSoFar, ProgressSink
from service.solver.explain import explain_unfilled
from service.solver.greedy import Solution, evaluate, greedy
from service.solver.problem import Problem, compile_problem
from service.solver.solve import (
    Conflict,
    ProgressHook,
    Result,
    SolveParams,
    StopCheck,
    default_linearization,
    default_workers,
    solve,
)

# Building the plan from the solution (explanations of unfilled work, KPIs) takes about half as long as
# compiling the request (XL: 6 s against 11-17 s); that much of the time limit is kept for it.
PLAN_SHARE_OF_COMPILE = 0.5
# CP-SAT always gets at least this much, even when the compile took all the time: a model too large to
# build in it is skipped and the greedy plan answers (service/solver/solve.py).
MIN_SOLVE_S = 0.05


def solve_params(request: AllocationRequest, compile_s: float = 0.0) -> SolveParams:
    """The solver's settings from the request. `time_limit_s` covers the whole answer, so the solve gets
    what the compile (`compile_s`) and the plan's building leave of it; in deterministic mode the limit is
    the solve's own deterministic time, as before."""
    options = request.options
    limit = options.time_limit_s
    if not options.deterministic:
        limit = max(limit - compile_s * (1 + PLAN_SHARE_OF_COMPILE), MIN_SOLVE_S)
    return SolveParams(
        time_limit_s=limit,
        num_workers=options.num_workers,
        seed=options.seed,
        deterministic=options.deterministic,
    )


def make_plan(
    request: AllocationRequest,
    *,
    should_stop: StopCheck | None = None,
    on_solution: ProgressHook | None = None,
    on_progress: ProgressSink | None = None,
    params: SolveParams | None = None,
) -> Plan:
    """Solve a validated request. `should_stop` is polled during the solve: when it turns true the
    best plan found so far is returned (status feasible). `on_progress` gets the plan so far while the
    search runs, about once a second (service/progress.py), from a thread of its own."""
    started = time.perf_counter()
    problem = compile_problem(request)
    compile_s = time.perf_counter() - started
    compile_ms = round(compile_s * 1000)
    params = params or solve_params(request, compile_s)
    so_far = None
    if on_progress is not None:
        so_far = PlanSoFar(
            _plan_so_far(request, problem, params, compile_ms, started),
            on_progress,
            started=started,
            value=lambda solution: evaluate(problem, solution)[0],
            # In deterministic mode the limit is CP-SAT's deterministic time, which says nothing of the clock.
            deadline=math.inf if params.deterministic else started + compile_s + params.time_limit_s,
            first_build_s=compile_s * PLAN_SHARE_OF_COMPILE,
        )
    try:
        result = solve(
            problem,
            params,
            should_stop=should_stop,
            on_solution=on_solution,
            on_incumbent=so_far.found if so_far is not None else None,
        )
    finally:
        if so_far is not None:
            so_far.close()
    if result.conflict is not None and result.conflict.fixed_lead_opportunities:
        result = replace(result, conflict=_without_innocent_leads(request, problem, result.conflict))
    return build_plan(request, problem, result, compile_ms=compile_ms, started=started)


# A planner: make_plan, or a stand-in with its keywords (tests that need a solver to hang or crash).
Planner = Callable[..., Plan]


def solve_json(
    request_json: str,
    *,
    planner: Planner = make_plan,
    should_stop: StopCheck | None = None,
    on_progress: ProgressSink | None = None,
) -> str:
    """Request JSON in, plan JSON out: how every solve of the service runs, whatever runs it (a solver
    process of the local pool, a Celery worker, a process pool of the engine). A picklable top-level
    function; raises what validation or the planner raise."""
    request = AllocationRequest.model_validate_json(request_json)
    keywords: dict[str, Any] = {}
    if should_stop is not None:
        keywords["should_stop"] = should_stop
    if on_progress is not None:
        keywords["on_progress"] = on_progress
    return planner(request, **keywords).model_dump_json()


def _plan_so_far(
    request: AllocationRequest, problem: Problem, params: SolveParams, compile_ms: int, started: float
) -> Callable[[Found], Plan]:
    """How a plan found during the search becomes a v1 plan: status feasible (nothing is proven until the
    search ends), with the bound on covered value known when it was found."""

    def build(found: Found) -> Plan:
        value, kept, cost = evaluate(problem, found.solution)
        result = Result(
            status="feasible",
            solution=found.solution,
            covered_value=value,
            value_bound=max(found.value_bound, value),
            kept_previous=kept,
            cost=cost,
            build_ms=0,
            solve_ms=max(round(found.found_s * 1000) - compile_ms, 0),
            workers=params.num_workers or default_workers(problem),
            linearization_level=(
                params.linearization_level if params.linearization_level is not None else default_linearization(problem)
            ),
            seed=params.seed,
            source="greedy" if found.level == "first_plan" else "cp-sat",
        )
        return build_plan(request, problem, result, compile_ms=compile_ms, started=started)

    return build


def _without_innocent_leads(request: AllocationRequest, problem: Problem, conflict: Conflict) -> Conflict:
    """Keep a fixed lead in the explanation only if the conflicting pins can hold once it is lifted."""
    core = {
        (
            problem.opportunity_ids[problem.slots[problem.pairs[p].slot].opportunity],
            problem.slots[problem.pairs[p].slot].demand_id,
            problem.staff_ids[problem.pairs[p].staff],
        )
        for p in conflict.pinned_pairs
    }
    relaxed = request.model_copy(deep=True)
    relaxed.previous_plan = []
    for opportunity in relaxed.opportunities:
        opportunity.pinned = [
            pin for pin in opportunity.pinned if (opportunity.id, pin.demand_id, pin.staff_id) in core
        ]
        opportunity.lead_staff_id = None
    check = solve(compile_problem(relaxed), SolveParams(time_limit_s=2.0, num_workers=1, use_greedy_hint=False))
    if check.status == "infeasible":
        return replace(conflict, fixed_lead_opportunities=())
    return conflict


def make_greedy_plan(request: AllocationRequest) -> Plan:
    """The dispatcher's baseline plan, without CP-SAT (benchmarks compare against it)."""
    started = time.perf_counter()
    problem = compile_problem(request)
    compile_ms = round((time.perf_counter() - started) * 1000)
    solution = greedy(problem)
    value, kept, cost = evaluate(problem, solution) if solution else (0, 0, 0)
    result = Result(
        status="feasible" if solution else "unknown",
        solution=solution,
        covered_value=value,
        value_bound=value,
        kept_previous=kept,
        cost=cost,
        build_ms=0,
        solve_ms=round((time.perf_counter() - started) * 1000) - compile_ms,
        workers=1,
        linearization_level=0,
        seed=0,
        source="greedy",
    )
    return build_plan(request, problem, result, compile_ms=compile_ms, started=started)


def build_plan(
    request: AllocationRequest, problem: Problem, result: Result, *, compile_ms: int, started: float
) -> Plan:
    """Turn solver indexes back into the contract's plan, with floats recomputed from the costing."""
    policy = request.policy
    weeks = request.horizon.weeks
    opportunities = request.opportunities
    staff = request.staff
    demand_of = {}
    for o_index, opportunity in enumerate(opportunities):
        for demand in opportunity.demands:
            demand_of[(o_index, demand.id)] = demand
    solution = result.solution or Solution((), ())

    assignments: list[Assignment] = []
    hours_by_week = [[0.0] * weeks for _ in staff]
    works_on: list[list[int]] = [[] for _ in staff]
    cost_by_opportunity: dict[int, float] = defaultdict(float)
    value_by_opportunity: dict[int, float] = defaultdict(float)
    for p in solution.assigned:
        pair = problem.pairs[p]
        slot = problem.slots[pair.slot]
        opportunity = opportunities[slot.opportunity]
        demand = demand_of[(slot.opportunity, slot.demand_id)]
        person = staff[pair.staff]
        cost = costing.member_cost(person, demand, opportunity, policy)
        assignments.append(
            Assignment(
                opportunity_id=opportunity.id,
                demand_id=demand.id,
                staff_id=person.id,
                start_week=demand.start_week,
                end_week=demand.end_week,
                hours=costing.demand_hours(demand),
                cost=round(cost, 2),
            )
        )
        for w in range(demand.start_week, demand.end_week + 1):
            hours_by_week[pair.staff][w] += demand.hours_per_week
        if slot.opportunity not in works_on[pair.staff]:
            works_on[pair.staff].append(slot.opportunity)
        cost_by_opportunity[slot.opportunity] += cost
        value_by_opportunity[slot.opportunity] += costing.slot_value(demand, opportunity, policy)

    leads: list[Lead] = []
    lead_of: dict[int, str] = {}
    for q in solution.leads:
        option = problem.lead_options[q]
        opportunity = opportunities[option.opportunity]
        person = staff[option.staff]
        cost = costing.lead_cost(person, opportunity, policy)
        leads.append(
            Lead(
                opportunity_id=opportunity.id,
                staff_id=person.id,
                hours=costing.lead_hours(opportunity, policy),
                cost=round(cost, 2),
            )
        )
        lead_of[option.opportunity] = person.id
        window = costing.active_window(opportunity)
        assert window is not None
        for w in range(window[0], window[1] + 1):
            hours_by_week[option.staff][w] += policy.lead_hours_per_week
        cost_by_opportunity[option.opportunity] += cost

    unfilled = [
        Unfilled(
            opportunity_id=opportunities[problem.slots[u.slot].opportunity].id,
            demand_id=problem.slots[u.slot].demand_id,
            slots=u.slots,
            reason=u.reason,
            detail=u.detail,
        )
        for u in explain_unfilled(problem, result.solution)
    ]

    summaries = []
    possible_by_grade: dict[str, float] = defaultdict(float)
    covered_by_grade: dict[str, float] = defaultdict(float)
    for o_index, opportunity in enumerate(opportunities):
        possible = sum(costing.slot_value(d, opportunity, policy) * d.headcount for d in opportunity.demands)
        covered = value_by_opportunity.get(o_index, 0.0)
        possible_by_grade[opportunity.grade] += possible
        covered_by_grade[opportunity.grade] += covered
        summaries.append(
            OpportunitySummary(
                opportunity_id=opportunity.id,
                grade=opportunity.grade,
                budget=round(costing.budget(opportunity, policy), 2),
                cost=round(cost_by_opportunity.get(o_index, 0.0), 2),
                covered_value=round(covered, 2),
                coverage=round(covered / possible, 6) if possible > 0 else 0.0,
                expected_value=round(costing.expected_value(opportunity), 2),
                lead_staff_id=lead_of.get(o_index),
            )
        )

    staff_summaries = []
    total_capacity = 0.0
    total_hours = 0.0
    for i, person in enumerate(staff):
        capacity = sum(person.capacity(w) for w in range(weeks))
        worked = sum(hours_by_week[i])
        total_capacity += capacity
        total_hours += worked
        staff_summaries.append(
            StaffSummary(
                staff_id=person.id,
                hours_by_week=[round(h, 4) for h in hours_by_week[i]],
                utilization=round(worked / capacity, 6) if capacity > 0 else 0.0,
                opportunities=[opportunities[o].id for o in works_on[i]],
                credited_value=round(sum(costing.expected_value(opportunities[o]) for o in works_on[i]), 2),
            )
        )

    covered_value = sum(value_by_opportunity.values())
    total_cost = sum(cost_by_opportunity.values())
    if result.status == "optimal":
        bound = covered_value
    else:
        bound = max(result.value_bound / problem.value_scale, covered_value)
    gap = (bound - covered_value) / bound if bound > 0 else 0.0
    changes = problem.previous_total - result.kept_previous
    possible_value = sum(possible_by_grade.values())
    filled_slots = len(assignments)

    explanation = None
    if result.conflict is not None:
        conflicting = [
            PinConflict(
                opportunity_id=opportunities[problem.slots[problem.pairs[p].slot].opportunity].id,
                demand_id=problem.slots[problem.pairs[p].slot].demand_id,
                staff_id=problem.staff_ids[problem.pairs[p].staff],
                kind="pin",
            )
            for p in result.conflict.pinned_pairs
        ]
        conflicting += [
            PinConflict(
                opportunity_id=opportunities[o].id,
                staff_id=problem.staff_ids[problem.fixed_leads[o]],
                kind="lead",
            )
            for o in result.conflict.fixed_lead_opportunities
        ]
        named = ", ".join(
            f"{c.staff_id} on {c.opportunity_id}/{c.demand_id}"
            if c.kind == "pin"
            else f"{c.staff_id} as lead of {c.opportunity_id}"
            for c in conflicting
        )
        blamed = result.conflict.broken_rules
        rules = " or ".join(RULE_LABELS[r] for r in blamed) if blamed else "several of H3-H7 at once"
        explanation = Explanation(
            detail=f"these pins cannot hold together: {named}; they break {rules}",
            conflicting=conflicting,
            broken_rules=list(blamed),
        )

    total_ms = round((time.perf_counter() - started) * 1000)
    return Plan(
        id="",
        status=result.status,
        objective=Objective(
            covered_value=round(covered_value, 2),
            total_cost=round(total_cost, 2),
            changes=changes,
            bound=round(bound, 2),
            gap=round(gap, 6),
        ),
        assignments=assignments,
        leads=leads,
        unfilled=unfilled,
        opportunities=summaries,
        staff=staff_summaries,
        timing=Timing(build_ms=compile_ms + result.build_ms, solve_ms=result.solve_ms, total_ms=total_ms),
        solver=SolverInfo(
            name="cp-sat" if result.source == "cp-sat" else f"cp-sat ({result.source} plan)",
            version=result.version,
            workers=result.workers,
            seed=result.seed,
            linearization_level=result.linearization_level,
            levels=[
                {
                    "name": r.name,
                    "status": r.status,
                    "objective": r.objective,
                    "bound": r.bound,
                    "wall_ms": r.wall_ms,
                }
                for r in result.levels
            ],
        ),
        kpis=Kpis(
            covered_value=round(covered_value, 2),
            total_cost=round(total_cost, 2),
            possible_value=round(possible_value, 2),
            coverage=round(covered_value / possible_value, 6) if possible_value > 0 else 0.0,
            coverage_by_grade={
                g: round(covered_by_grade[g] / possible_by_grade[g], 6) if possible_by_grade[g] > 0 else 0.0
                for g in GRADES
                if g in possible_by_grade
            },
            staffed_opportunities=len(leads),
            opportunities=len(opportunities),
            filled_slots=filled_slots,
            unfilled_slots=sum(u.slots for u in unfilled),
            utilization=round(total_hours / total_capacity, 6) if total_capacity > 0 else 0.0,
        ),
        explanation=explanation,
        cancelled=False,
    )
