"""The large-neighbourhood search (service/solver/lns.py): its steps, neighbourhoods, second core and
LP relaxation keep every rule and every earlier level, and never claim more than they prove."""

from __future__ import annotations

import math
import os
import random
import threading
from typing import Any

import pytest
from ortools.sat.python import cp_model

from benchmarks.generator import generate
from service.contract import parse_request
from service.planning import make_greedy_plan, make_plan
from service.solver.greedy import Solution, evaluate, greedy, warm_start
from service.solver.lns import (
    BOUND_NICENESS,
    LP_SHARE,
    DealModels,
    FixedLevel,
    FixedModel,
    LnsLevel,
    LnsOutcome,
    LnsParams,
    LnsSearch,
    PlanTerms,
    _lower_priority,
    expected_lp_seconds,
)
from service.solver.model import build_model, cost_terms, covered_value_terms
from service.solver.neighbourhoods import (
    RINS_EVERY,
    RINS_EVERY_AFTER_GAIN,
    ClusterNeighbourhood,
    NeighbourhoodTurns,
    PeopleNeighbourhood,
    RegionNeighbourhood,
    RelaxationNeighbourhood,
    StepSize,
)
from service.solver.problem import Problem, compile_problem
from service.solver.relaxation import LpRelaxation, Relaxation
from service.solver.solve import SolveParams, solve, upper_bound
from tests.solver.plans import assert_solution_valid, assert_valid


def search_level_1(problem: Problem, start: Solution, seconds: float, **params: Any) -> LnsOutcome:
    """Level 1 alone by the LNS from `start` on the whole model, guided by the LP relaxation unless told."""
    model, variables = build_model(problem)
    terms = covered_value_terms(problem, variables)
    model.maximize(cp_model.LinearExpr.weighted_sum(*terms))
    level = LnsLevel(terms, maximize=True, trivial_bound=upper_bound(problem))
    params.setdefault("lp_guide", True)
    return LnsSearch(problem, model, variables, level, LnsParams(seconds, **params)).run(start)


def m_problem(seed: int) -> tuple[dict[str, Any], Problem, Solution]:
    body = generate("M", seed)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    return body, problem, start


# --------------------------------------------------------------------------- the search through solve()


def test_large_neighbourhood_search_is_deterministic_and_valid() -> None:
    """The LNS used for large problems, forced on a small one: same plan twice, every rule kept."""
    body = generate("M", 2)
    request = parse_request(body)
    params = SolveParams(time_limit_s=1.0, deterministic=True, use_lns=True)
    first = make_plan(request, params=params)
    second = make_plan(request, params=params)
    assert first.assignments == second.assignments
    assert first.leads == second.leads
    assert "lns" in first.solver.levels[0]["name"]
    assert_valid(body, first.model_dump(mode="json"))
    baseline = make_greedy_plan(request)
    assert first.objective.covered_value >= baseline.objective.covered_value - 0.01


def test_lns_keeps_every_earlier_level_through_changes_and_cost() -> None:
    """With a previous plan all three levels run by LNS on an M instance: the final plan keeps the covered
    value level 1 found and the kept count level 2 found, and passes the independent checker."""
    body = generate("M", 3)
    first = make_plan(parse_request(body), params=SolveParams(time_limit_s=2.0, deterministic=True, use_lns=True))
    body["previous_plan"] = [
        {"opportunity_id": a.opportunity_id, "demand_id": a.demand_id, "staff_id": a.staff_id}
        for a in first.assignments[::2]
    ]
    request = parse_request(body)
    problem = compile_problem(request)
    result = solve(problem, SolveParams(time_limit_s=3.0, deterministic=True, use_lns=True))
    names = [level.name for level in result.levels]
    assert [name.split(" ")[0] for name in names] == ["covered_value", "changes", "total_cost"]
    assert "lns" in names[0]
    assert "lns" in names[2]
    assert result.covered_value == result.levels[0].objective
    assert result.kept_previous >= result.levels[1].objective
    plan = make_plan(request, params=SolveParams(time_limit_s=3.0, deterministic=True, use_lns=True))
    assert plan.objective.covered_value == pytest.approx(first.objective.covered_value, rel=0.05)
    assert_valid(body, plan.model_dump(mode="json"))


def test_default_lns_with_the_bound_search_at_low_priority_gives_a_valid_plan() -> None:
    """The default (not deterministic) LNS, its bound search at a lowered priority: every level still
    runs, the plan passes the checker, covers at least the warm start and reports a bound no lower than
    what it covers."""
    body, problem, start = m_problem(3)
    result = solve(problem, SolveParams(time_limit_s=3.0, use_lns=True))
    assert "lns" in result.levels[0].name
    assert result.solution is not None
    assert result.covered_value >= evaluate(problem, start)[0]
    assert result.value_bound >= result.covered_value
    plan = make_plan(parse_request(body), params=SolveParams(time_limit_s=3.0, use_lns=True))
    assert_valid(body, plan.model_dump(mode="json"))


# --------------------------------------------------------------------------- the search alone


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_budget_s", 0.0),
        ("time_budget_s", -1.0),
        ("time_budget_s", math.nan),
        ("time_budget_s", math.inf),
        ("seed", -1),
        ("seed", 2**31),
    ],
)
def test_lns_params_refuse_what_the_search_cannot_run_on(field: str, value: float) -> None:
    params: dict[str, Any] = {"time_budget_s": 1.0, field: value}
    with pytest.raises(ValueError, match=field):
        LnsParams(**params)


def test_lns_never_claims_a_proof_the_whole_model_search_did_not_make() -> None:
    """Regression: a bound search stopped before any status (UNKNOWN, bound 0.0) once made plans 'optimal'."""
    problem = compile_problem(parse_request(generate("M", 1)))
    start = greedy(problem)
    assert start is not None
    outcome = search_level_1(problem, start, 0.02)
    assert not outcome.proven  # proving M takes CP-SAT about a second, never 20 ms
    assert outcome.bound >= outcome.value


def test_level_1_on_wall_time_with_the_lp_guide_gives_a_valid_plan_within_its_bounds() -> None:
    """On wall time the LP relaxation is solved in its own process beside the steps, which use it once it
    is in: the plan keeps every rule, never falls below its start, and the bound lies between the plan
    and the LP's (when the LP came in time: on a loaded machine its process may not)."""
    body, problem, start = m_problem(5)
    outcome = search_level_1(problem, start, 4.0)
    assert outcome.steps > 0
    assert evaluate(problem, start)[0] <= outcome.value <= outcome.bound
    if outcome.relaxation_bound is not None:
        assert outcome.bound <= outcome.relaxation_bound
    assert_solution_valid(body, outcome.solution)


def test_lns_without_the_whole_model_as_at_xl_builds_deal_models_and_gives_valid_plans() -> None:
    """Above solve.BOUND_SEARCH_MAX_PAIRS (XL) there is no fixed clone of the whole model: every step is a
    model of its freed deals alone (DealModels). That path must still improve on the start and keep
    every rule."""
    body, problem, start = m_problem(4)
    outcome = search_level_1(problem, start, 2.0, whole_model=False, seed=3)
    assert outcome.steps > 0
    assert outcome.relaxation_steps == 0  # the LP guides only where the whole model is used
    assert outcome.value >= evaluate(problem, start)[0]
    assert_solution_valid(body, outcome.solution)


@pytest.mark.parametrize("whole_model", [True, False])
def test_the_cost_level_keeps_the_covered_value_floor(whole_model: bool) -> None:
    """On a later level the steps keep the earlier levels: lowering cost with covered value held at the
    start plan's never trades covered value for cost, whether a step fixes the rest of the whole model
    (whose constraint holds the level) or is a model of its own deals (where the level is a floor)."""
    body, problem, start = m_problem(2)
    value, _, cost = evaluate(problem, start)
    model, variables = build_model(problem)
    value_terms = covered_value_terms(problem, variables)
    model.add(cp_model.LinearExpr.weighted_sum(*value_terms) >= value)
    terms = cost_terms(problem, variables)
    model.minimize(cp_model.LinearExpr.weighted_sum(*terms))
    level = LnsLevel(terms, maximize=False, trivial_bound=0, held=[FixedLevel(value_terms, at_least=value)])
    params = LnsParams(2.0, deterministic=True, whole_model=whole_model)
    outcome = LnsSearch(problem, model, variables, level, params).run(start)
    new_value, _, new_cost = evaluate(problem, outcome.solution)
    assert new_value >= value
    assert new_cost <= cost
    assert outcome.value == new_cost
    assert outcome.steps > 1
    assert_solution_valid(body, outcome.solution)


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="thread priorities checked on Linux only")
def test_the_bound_search_thread_runs_at_the_lowered_priority() -> None:
    """The whole-model bound search must take little from the steps and from other solves: its thread is
    reniced to BOUND_NICENESS, and the caller's own thread is left as it was."""
    seen: dict[str, int] = {}

    def lowered() -> None:
        _lower_priority()
        tid = threading.get_native_id()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["policy"] = os.sched_getscheduler(tid)

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == {"nice": BOUND_NICENESS, "policy": os.SCHED_OTHER}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < BOUND_NICENESS


# --------------------------------------------------------------------------- step models


@pytest.mark.parametrize("seed", [1, 4])
def test_a_deal_model_holds_the_incumbent_and_its_optimum_reads_into_a_valid_plan(seed: int) -> None:
    """A deal model has only the freed deals, on the hours and focus the fixed rest of the plan leaves,
    with the earlier level (covered value) as a floor. The incumbent must fit it exactly, and the step's
    optimum put back into the plan must keep every hard rule and the floor, and not cost more."""
    body = generate("M", seed)
    problem = compile_problem(parse_request(body))
    _, variables = build_model(problem)
    start = greedy(problem)
    assert start is not None
    value, _, cost = evaluate(problem, start)
    held = [FixedLevel(covered_value_terms(problem, variables), at_least=value)]
    models = DealModels(problem, LnsLevel(cost_terms(problem, variables), False, 0, held), variables)
    staffed = sorted({problem.lead_options[q].opportunity for q in start.leads})
    free = set(random.Random(seed).sample(staffed, len(staffed) // 3))
    step = models.build(free, start)

    pinned = cp_model.CpSolver()
    pinned.parameters.fix_variables_to_their_hinted_value = True
    pinned.parameters.num_workers = 1
    assert pinned.solve(step.model) == cp_model.OPTIMAL, "the incumbent does not fit its own step model"
    assert round(pinned.objective_value) == step.incumbent

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20
    assert solver.solve(step.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    merged = step.read(solver)
    merged_value, _, merged_cost = evaluate(problem, merged)
    assert merged_value >= value
    assert merged_cost <= cost
    assert_solution_valid(body, merged)


def test_people_steps_free_only_their_people_and_chain_into_valid_plans() -> None:
    """A people step frees every decision of a few people on the kept clone of the whole model: the
    incumbent fits it exactly, nobody else's assignments change, reading only the freed decisions gives
    the whole solution, and two steps in a row (the second built from the first one's plan after
    `release`) still give a plan the independent checker accepts."""
    body = generate("M", 2)
    problem = compile_problem(parse_request(body))
    model, variables = build_model(problem)
    model.maximize(cp_model.LinearExpr.weighted_sum(*covered_value_terms(problem, variables)))
    plan = greedy(problem)
    assert plan is not None
    fixed = FixedModel(model, problem, variables)
    rng = random.Random(7)
    for _ in range(2):
        value, _, _ = evaluate(problem, plan)
        people = set(rng.sample(range(len(problem.staff_ids)), 12))
        pairs = [p for staff in people for p in problem.pairs_by_staff[staff]]
        step_model = fixed.free(pairs, [q for staff in people for q in problem.leads_by_staff[staff]], plan)

        pinned = cp_model.CpSolver()
        pinned.parameters.fix_variables_to_their_hinted_value = True
        pinned.parameters.num_workers = 1
        assert pinned.solve(step_model) == cp_model.OPTIMAL, "the incumbent does not fit its own people step"
        assert round(pinned.objective_value) == value

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 20
        assert solver.solve(step_model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        read = fixed.read(solver)  # the freed decisions only, on the incumbent
        fixed.release()
        found = Solution(
            assigned=tuple(p for p, var in enumerate(variables.assign) if solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(variables.lead) if solver.boolean_value(var)),
        )
        assert read == found
        outside = [p for p in plan.assigned if problem.pairs[p].staff not in people]
        assert outside == [p for p in found.assigned if problem.pairs[p].staff not in people]
        found_value, _, _ = evaluate(problem, found)
        assert found_value >= value
        plan = found

    assert_solution_valid(body, plan)


# --------------------------------------------------------------------------- neighbourhoods


def test_step_sizes_grow_on_quick_proofs_and_shrink_on_time_outs_within_their_limits() -> None:
    size = StepSize(10, least=4, most=14)
    size.feedback(proven_quickly=True, timed_out=False)
    assert size.value == 13
    size.feedback(proven_quickly=True, timed_out=False)
    assert size.value == 14  # at most `most`
    size.feedback(proven_quickly=False, timed_out=False)  # proven, but not quickly: kept
    assert size.value == 14
    for _ in range(10):
        size.feedback(proven_quickly=False, timed_out=True)
    assert size.value == 4  # at least `least`


def test_neighbourhoods_take_turns_and_each_draws_what_it_names() -> None:
    """Region, people, cluster, people in turn: a region step frees deals of one region, a cluster step
    deals that share people, a people step every decision of a few people; without the whole model only
    region and cluster steps come."""
    _, problem, _ = m_problem(2)
    turns = NeighbourhoodTurns(problem, random.Random(0), whole_model=True)
    region, people, cluster, _ = turns.order
    assert isinstance(region, RegionNeighbourhood)
    assert isinstance(people, PeopleNeighbourhood)
    drawn = [turns.next() for _ in range(8)]
    assert [kind for kind, _ in drawn] == [people, cluster, people, region] * 2
    for kind, freed in drawn:
        if kind is people:
            assert not freed.deals
            owners = {problem.pairs[p].staff for p in freed.pairs}
            assert 0 < len(owners) <= people.size.value
            assert set(freed.pairs) == {p for staff in owners for p in problem.pairs_by_staff[staff]}
        else:
            assert not freed.pairs
            assert 0 < len(freed.deals) <= kind.size.value
            if kind is region:
                assert len({problem.regions[o] for o in freed.deals}) == 1
                assert all(problem.leads_by_opportunity[o] for o in freed.deals)
    deals_only = NeighbourhoodTurns(problem, random.Random(0), whole_model=False)
    assert [type(kind) for kind in deals_only.order] == [RegionNeighbourhood, ClusterNeighbourhood]


def test_relaxation_induced_steps_free_where_the_lp_and_the_plan_disagree() -> None:
    """All disagreements when they fit the size; otherwise whole deals' disagreements until the size is
    reached, the same for the same seed. Due at once, then RINS_EVERY steps later, or
    RINS_EVERY_AFTER_GAIN after a gain, and never twice on the same plan."""
    _, problem, start = m_problem(2)
    _, variables = build_model(problem)
    objective = PlanTerms(covered_value_terms(problem, variables), variables)
    chosen = set(start.assigned)
    # An LP optimum that leaves every chosen pair and takes every other one half.
    lp = Relaxation(
        assign=[0.0 if p in chosen else 0.5 for p in range(len(problem.pairs))],
        lead=[0.0] * len(problem.lead_options),
        bound=0,
        build_s=0.0,
        solve_s=0.0,
    )
    neighbourhood = RelaxationNeighbourhood(problem, objective.pair)
    assert neighbourhood.due(1, start)
    neighbourhood.size.value = len(problem.pairs)
    everything = neighbourhood.draw(lp, start, 1, seed=0)
    assert set(everything.pairs) == set(range(len(problem.pairs)))
    assert not neighbourhood.due(1 + RINS_EVERY, start)  # the same plan
    other = Solution(start.assigned, start.leads)
    assert not neighbourhood.due(RINS_EVERY, other)
    assert neighbourhood.due(1 + RINS_EVERY, other)
    neighbourhood.gained = True
    assert neighbourhood.due(1 + RINS_EVERY_AFTER_GAIN, other)

    neighbourhood.size.value = 300
    part = neighbourhood.draw(lp, other, 2, seed=5)
    assert part == neighbourhood.draw(lp, other, 3, seed=5)
    deals = {problem.slots[problem.pairs[p].slot].opportunity for p in part.pairs}
    assert all(problem.slots[problem.pairs[p].slot].opportunity in deals for p in part.pairs)
    whole_deals = [p for p in range(len(problem.pairs)) if problem.slots[problem.pairs[p].slot].opportunity in deals]
    assert sorted(part.pairs) == whole_deals  # every pair disagrees here, so whole deals are freed
    largest = max(sum(1 for p in whole_deals if problem.slots[problem.pairs[p].slot].opportunity == o) for o in deals)
    assert 300 <= len(part.pairs) < 300 + largest  # deals are taken until the size is reached


# --------------------------------------------------------------------------- the LP relaxation


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_the_lp_relaxation_bounds_the_optimum_and_honours_pins(seed: int) -> None:
    """The LP relaxation that guides the LNS: values within [0, 1] per pair and lead option, an optimum no
    lower than CP-SAT's proven one, and a pinned pair at 1."""
    from dataclasses import replace

    problem = compile_problem(parse_request(generate("S", seed)))
    result = solve(problem, SolveParams(time_limit_s=10, num_workers=1))
    assert result.status == "optimal"
    assert result.solution is not None
    relaxation = LpRelaxation(problem).solve(10)
    assert relaxation is not None
    assert len(relaxation.assign) == len(problem.pairs)
    assert len(relaxation.lead) == len(problem.lead_options)
    assert all(-1e-6 <= x <= 1 + 1e-6 for x in [*relaxation.assign, *relaxation.lead])
    assert relaxation.bound >= result.covered_value
    # Staffing nothing at all must not be what the LP finds worth doing.
    assert sum(relaxation.assign) > 0

    pinned = result.solution.assigned[0]
    with_pin = LpRelaxation(replace(problem, pinned_pairs=[pinned])).solve(10)
    assert with_pin is not None
    assert with_pin.assign[pinned] >= 1 - 1e-6


@pytest.mark.parametrize("seed", [2, 3])
def test_relaxation_induced_steps_keep_every_rule_and_the_lp_bound(seed: int) -> None:
    """Steps that free where the LP optimum and the plan disagree: they run (deterministically), the plan
    they give passes the independent checker and never falls below its start, and the reported bound
    lies between the plan and the LP's bound."""
    body, problem, start = m_problem(seed)
    outcome = search_level_1(problem, start, 1.0, deterministic=True)
    again = search_level_1(problem, start, 1.0, deterministic=True)
    assert outcome.relaxation_steps >= 1
    assert outcome.relaxation_bound is not None
    assert (outcome.solution, outcome.value, outcome.relaxation_steps) == (
        again.solution,
        again.value,
        again.relaxation_steps,
    )
    assert outcome.value >= evaluate(problem, start)[0]
    assert outcome.value <= outcome.bound <= outcome.relaxation_bound
    assert_solution_valid(body, outcome.solution)


def test_the_lp_is_skipped_where_it_would_not_come_in_time() -> None:
    """The LP runs only where its expected time fits its share of the level's time: on a budget far below
    that: no LP and no relaxation-induced step."""
    _, problem, start = m_problem(2)
    budget = expected_lp_seconds(problem) / LP_SHARE / 2
    outcome = search_level_1(problem, start, budget, deterministic=True)
    assert outcome.relaxation_bound is None
    assert outcome.relaxation_steps == 0


@pytest.mark.parametrize("seed", [0, 5])
def test_lean_rows_accept_the_engines_plans(seed: int) -> None:
    """The LP's lean rows leave out implications the tight H4 rows already make: every plan of the
    engine must still satisfy every row (they cut nothing off)."""
    from service.solver.linear import build_rows

    problem = compile_problem(parse_request(generate("S", seed)))
    result = solve(problem, SolveParams(time_limit_s=10, num_workers=1))
    assert result.solution is not None
    linear = build_rows(problem, lean=True)
    full = build_rows(problem)
    assert len(linear.rows) < len(full.rows)
    columns = linear.columns
    x = [0.0] * columns.count
    for p in result.solution.assigned:
        pair = problem.pairs[p]
        opportunity = problem.slots[pair.slot].opportunity
        x[columns.assign[p]] = 1.0
        x[columns.staffed[opportunity]] = 1.0
        works = columns.works.get((pair.staff, opportunity))
        if works is not None:
            x[works] = 1.0
    for q in result.solution.leads:
        x[columns.lead[q]] = 1.0
    rows = linear.rows
    for row in range(len(rows)):
        terms = range(rows.start[row], rows.start[row + 1])
        activity = sum(rows.value[k] * x[rows.index[k]] for k in terms)
        assert rows.lower[row] - 1e-9 <= activity <= rows.upper[row] + 1e-9, row
