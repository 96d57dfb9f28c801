"""Engine promises beyond single rules: determinism, the greedy baseline, and realistic files end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.generator import generate
from service.cli import app
from service.contract import parse_request
from service.planning import make_greedy_plan, make_plan
from service.solver.problem import compile_problem
from service.solver.solve import SolveParams, solve
from tests.checker import check_plan

SCENARIO_DIR = Path(__file__).parents[2] / "scenarios"
SCENARIOS = [SCENARIO_DIR / name for name in ("new-market.json", "fast-growth.json", "mature-market.json")]


def assert_valid(request: dict[str, Any], plan: dict[str, Any]) -> None:
    report = check_plan(request, plan)
    assert report.violations == [], "\n".join(report.violations[:20])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deterministic_option_gives_the_same_plan_every_time(seed: int) -> None:
    body = generate("S", seed)
    body["options"] = {"time_limit_s": 5, "deterministic": True}
    first = make_plan(parse_request(body))
    second = make_plan(parse_request(body))
    assert first.assignments == second.assignments
    assert first.leads == second.leads
    assert first.objective == second.objective


@pytest.mark.parametrize("seed", range(6))
def test_greedy_plans_keep_every_hard_rule(seed: int) -> None:
    body = generate("S", seed)
    plan = make_greedy_plan(parse_request(body))
    assert plan.status == "feasible"
    assert_valid(body, plan.model_dump(mode="json"))


@pytest.mark.parametrize("seed", range(4))
def test_cp_sat_never_covers_less_than_greedy(seed: int) -> None:
    body = generate("S", seed)
    request = parse_request(body)
    exact = make_plan(request)
    baseline = make_greedy_plan(request)
    assert exact.status == "optimal"
    assert exact.objective.covered_value >= baseline.objective.covered_value - 0.01
    assert_valid(body, exact.model_dump(mode="json"))


def test_time_limit_reaches_cp_sat_and_a_valid_plan_comes_back() -> None:
    body = generate("M", 1)
    problem = compile_problem(parse_request(body))
    result = solve(problem, SolveParams(time_limit_s=0.2, num_workers=1))
    # The plan is valid whatever happened; with 0.2 s CP-SAT may or may not prove it.
    assert result.status in ("optimal", "feasible")
    assert result.solution is not None
    assert sum(level.wall_ms for level in result.levels) < 1000 * 30  # never the default 10 s per level


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_files_solve_from_the_cli_and_pass_the_checker(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(app, ["solve", str(path), "-o", str(out), "--time-limit", "5", "--deterministic"])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    assert plan["status"] in ("optimal", "feasible")
    assert plan["assignments"], "a realistic market should staff something"
    assert_valid(json.loads(path.read_text()), plan)


def test_infeasible_pins_are_explained_minimally() -> None:
    from tests.requests import demand, opportunity, person, request

    pins = [{"demand_id": "d1", "staff_id": "s1"}]
    body = request(
        [person("s1", capacity=30), person("s2")],
        [
            opportunity("o1", demands=[demand(hours=20)], pinned=pins),
            opportunity("o2", demands=[demand(hours=20)], pinned=pins),
            opportunity("o3", demands=[demand(hours=5)], pinned=[{"demand_id": "d1", "staff_id": "s2"}]),
        ],
    )
    plan = make_plan(parse_request(body))
    assert plan.status == "infeasible"
    assert plan.explanation is not None
    assert {c.opportunity_id for c in plan.explanation.conflicting} == {"o1", "o2"}  # o3's pin is innocent


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


def test_lns_never_claims_a_proof_the_whole_model_search_did_not_make() -> None:
    """Regression: a bound search stopped before any status (UNKNOWN, bound 0.0) once made plans 'optimal'."""
    from service.solver.greedy import greedy
    from service.solver.solve import search_covered_value

    problem = compile_problem(parse_request(generate("M", 1)))
    start = greedy(problem)
    assert start is not None
    outcome = search_covered_value(problem, start, 0.02)
    assert not outcome.proven  # proving M takes CP-SAT about a second, never 20 ms
    assert outcome.bound >= outcome.value


@pytest.mark.parametrize("seed", [1, 4])
def test_an_lns_step_model_holds_the_incumbent_and_its_optimum_merges_into_a_valid_plan(seed: int) -> None:
    """A step's model has only the freed deals, on the hours and focus the fixed rest of the plan leaves,
    with the earlier level (covered value) as a floor. The incumbent must fit it exactly, and the step's
    optimum put back into the plan must keep every hard rule and the floor, and not cost more."""
    import random

    from ortools.sat.python import cp_model

    from service.solver.greedy import greedy
    from service.solver.lns import FixedLevel, SubModels
    from service.solver.model import build_model, cost_terms, covered_value_terms
    from service.solver.solve import evaluate

    body = generate("M", seed)
    request = parse_request(body)
    problem = compile_problem(request)
    _, variables = build_model(problem)
    start = greedy(problem)
    assert start is not None
    value, _, cost = evaluate(problem, start)
    steps = SubModels(
        problem,
        cost_terms(problem, variables),
        False,
        [FixedLevel(covered_value_terms(problem, variables), at_least=value)],
        variables,
    )
    staffed = sorted({problem.lead_options[q].opportunity for q in start.leads})
    free = set(random.Random(seed).sample(staffed, len(staffed) // 3))
    step = steps.build(free, start)

    pinned = cp_model.CpSolver()
    pinned.parameters.fix_variables_to_their_hinted_value = True
    pinned.parameters.num_workers = 1
    assert pinned.solve(step.model) == cp_model.OPTIMAL, "the incumbent does not fit its own step model"
    assert round(pinned.objective_value) == step.incumbent

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20
    assert solver.solve(step.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    merged = SubModels.merge(step, SubModels.read(step, solver))
    merged_value, _, merged_cost = evaluate(problem, merged)
    assert merged_value >= value
    assert merged_cost <= cost
    _assert_solution_valid(body, merged)


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


def test_staff_steps_free_only_their_people_and_chain_into_valid_plans() -> None:
    """A staff step frees every decision of a few people on the kept clone of the whole model: the
    incumbent fits it exactly, nobody else's assignments change, reading only the freed decisions gives
    the whole solution, and two steps in a row (the second built from the first one's plan after
    `release`) still give a plan the independent checker accepts."""
    import random

    from ortools.sat.python import cp_model

    from service.solver.greedy import Solution, greedy
    from service.solver.lns import PeopleSteps
    from service.solver.model import build_model, covered_value_terms
    from service.solver.solve import evaluate

    body = generate("M", 2)
    request = parse_request(body)
    problem = compile_problem(request)
    model, variables = build_model(problem)
    model.maximize(cp_model.LinearExpr.weighted_sum(*covered_value_terms(problem, variables)))
    plan = greedy(problem)
    assert plan is not None
    steps = PeopleSteps(model, problem, variables, plan)
    rng = random.Random(7)
    for _ in range(2):
        value, _, _ = evaluate(problem, plan)
        people = set(rng.sample(range(len(problem.staff_ids)), 12))
        step_model = steps.build(people, plan)

        pinned = cp_model.CpSolver()
        pinned.parameters.fix_variables_to_their_hinted_value = True
        pinned.parameters.num_workers = 1
        assert pinned.solve(step_model) == cp_model.OPTIMAL, "the incumbent does not fit its own staff step"
        assert round(pinned.objective_value) == value

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 20
        assert solver.solve(step_model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        read = steps.read(solver)  # the freed decisions only, on the incumbent
        steps.release()
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

    _assert_solution_valid(body, plan)


def _assert_solution_valid(body: dict[str, Any], solution: Any) -> None:
    """The plan made from a solution of `body`'s problem passes the independent checker."""
    import time

    from service.planning import build_plan
    from service.solver.solve import Result, evaluate, upper_bound

    request = parse_request(body)
    problem = compile_problem(request)
    value, kept, cost = evaluate(problem, solution)
    result = Result(
        status="feasible",
        solution=solution,
        covered_value=value,
        value_bound=max(upper_bound(problem), value),
        kept_previous=kept,
        cost=cost,
        build_ms=0,
        solve_ms=0,
        workers=1,
        linearization_level=2,
        seed=0,
    )
    plan = build_plan(request, problem, result, compile_ms=0, started=time.perf_counter())
    assert_valid(body, plan.model_dump(mode="json"))


@pytest.mark.parametrize(("size", "seed"), [("S", 1), ("S", 5), ("M", 0), ("M", 6)])
def test_both_greedy_orders_keep_every_hard_rule_and_the_warm_start_is_the_better(size: str, seed: int) -> None:
    """The second deal order (value over the root of the hours asked) gives a valid plan too, and CP-SAT's
    first plan is whichever of the two covers more."""
    from service.solver.greedy import greedy, warm_start
    from service.solver.solve import evaluate

    body = generate(size, seed)  # type: ignore[arg-type]
    problem = compile_problem(parse_request(body))
    by_value = greedy(problem, order="value")
    by_value_for_hours = greedy(problem, order="value_for_hours")
    start = warm_start(problem)
    assert by_value is not None
    assert by_value_for_hours is not None
    assert start is not None
    _assert_solution_valid(body, by_value_for_hours)
    best = max(evaluate(problem, by_value)[0], evaluate(problem, by_value_for_hours)[0])
    assert evaluate(problem, start)[0] == best


def test_the_value_for_hours_order_puts_the_cheaper_deal_of_nearly_equal_value_first() -> None:
    """Two deals want the same person's only free weeks: the dispatcher's order takes the slightly more
    valuable one that eats all the hours; the value-for-hours order takes the one worth nearly as much for
    a quarter of the hours and still has room for a third deal."""
    from service.solver.greedy import greedy
    from service.solver.solve import evaluate

    def deal(opportunity_id: str, value: float, hours_per_week: float, weeks: int) -> dict[str, Any]:
        return {
            "id": opportunity_id,
            "name": opportunity_id,
            "customer": "c",
            "grade": "C",
            "stage": "s",
            "region": "east",
            "industry": "i",
            "deal_value": value,
            "win_probability": 1.0,
            "presales_budget": 1_000_000,
            "demands": [
                {
                    "id": "d",
                    "skill": "x",
                    "min_level": 1,
                    "hours_per_week": hours_per_week,
                    "start_week": 0,
                    "end_week": weeks - 1,
                }
            ],
        }

    body = {
        "horizon": {"start": "2026-11-23", "weeks": 4},
        "staff": [
            {
                "id": "s",
                "name": "s",
                "role": "r",
                "unit": {"kind": "local_office", "id": "u", "region": "east"},
                "skills": {"x": 3},
                "hourly_rate": 10,
                "capacity_hours": 40,
                "can_lead": True,
            }
        ],
        "opportunities": [
            deal("big", 1_000_000, 38, 4),  # 152 hours, with 8 lead hours all of the person's 160
            deal("small", 900_000, 8, 4),
            deal("third", 500_000, 8, 4),
        ],
    }
    problem = compile_problem(parse_request(body))
    by_value = greedy(problem, order="value")
    by_value_for_hours = greedy(problem, order="value_for_hours")
    assert by_value is not None
    assert by_value_for_hours is not None
    assert evaluate(problem, by_value_for_hours)[0] > evaluate(problem, by_value)[0]
    _assert_solution_valid(body, by_value_for_hours)


def test_default_lns_with_the_bound_search_at_low_priority_gives_a_valid_plan() -> None:
    """The default (not deterministic) LNS, its bound search at a lowered priority: every level still
    runs, the plan passes the checker, covers at least the warm start and reports a bound no lower than
    what it covers."""
    from service.solver.greedy import warm_start
    from service.solver.solve import evaluate

    body = generate("M", 3)
    request = parse_request(body)
    problem = compile_problem(request)
    result = solve(problem, SolveParams(time_limit_s=3.0, use_lns=True))
    assert "lns" in result.levels[0].name
    assert result.solution is not None
    start = warm_start(problem)
    assert start is not None
    assert result.covered_value >= evaluate(problem, start)[0]
    assert result.value_bound >= result.covered_value
    plan = make_plan(request, params=SolveParams(time_limit_s=3.0, use_lns=True))
    assert_valid(body, plan.model_dump(mode="json"))


def test_two_worker_steps_a_benchmark_lever_still_give_valid_plans() -> None:
    """benchmarks/lns_levers.py runs steps on two CP-SAT workers (max_lp and CP-SAT's own neighbourhood
    searches): the plan they give must keep every hard rule and never fall below its start."""
    from service.solver.greedy import warm_start
    from service.solver.solve import evaluate, search_covered_value

    body = generate("M", 5)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    outcome = search_covered_value(problem, start, 2.0, step_workers=2, bound_search=False)
    assert outcome.steps > 0
    assert outcome.value >= evaluate(problem, start)[0]
    _assert_solution_valid(body, outcome.solution)


def test_lns_without_whole_model_steps_as_at_xl_builds_deal_models_and_gives_valid_plans() -> None:
    """Above BOUND_SEARCH_MAX_PAIRS (XL) there is no fixed clone of the whole model: every step is a model
    of its freed deals alone (SubModels). That path must still improve on the start and keep every rule."""
    from service.solver.greedy import warm_start
    from service.solver.solve import evaluate, search_covered_value

    body = generate("M", 4)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    outcome = search_covered_value(problem, start, 2.0, bound_search=False, staff_steps=False, seed=3)
    assert outcome.steps > 0
    assert outcome.value >= evaluate(problem, start)[0]
    _assert_solution_valid(body, outcome.solution)


@pytest.mark.skipif(not hasattr(__import__("os"), "SCHED_IDLE"), reason="thread priorities checked on Linux only")
def test_the_bound_search_thread_runs_at_the_lowered_priority_it_is_given() -> None:
    """The whole-model bound search must take little from the steps and from other solves: "low" (the
    default) renices its thread to 10, "idle" puts it in SCHED_IDLE, and the caller's own thread is left
    as it was."""
    import os
    import threading

    from service.solver.lns import BOUND_NICENESS, BOUND_PRIORITY, _lower_priority

    assert BOUND_PRIORITY == "low"
    seen: dict[str, int] = {}

    def lowered(priority: Any) -> None:
        _lower_priority(priority)
        tid = threading.get_native_id()
        seen[f"{priority} nice"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen[f"{priority} policy"] = os.sched_getscheduler(tid)

    for priority in ("low", "idle"):
        thread = threading.Thread(target=lowered, args=(priority,))
        thread.start()
        thread.join()
    assert seen["low nice"] == BOUND_NICENESS
    assert seen["low policy"] == os.SCHED_OTHER
    assert seen["idle policy"] == os.SCHED_IDLE
    own = threading.get_native_id()
    assert os.sched_getscheduler(own) == os.SCHED_OTHER
    assert os.getpriority(os.PRIO_PROCESS, own) < BOUND_NICENESS


def test_two_step_threads_give_valid_plans_and_merge_late_steps() -> None:
    """With two step threads (a lever of the search, benchmarks/lns_levers.py) a step often ends after the
    other thread moved the plan on; its change is then merged piece by piece. Every plan must still keep
    every hard rule and never fall below its start."""
    from service.solver.greedy import warm_start
    from service.solver.solve import evaluate, search_covered_value

    body = generate("M", 4)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    outcome = search_covered_value(problem, start, 3.0, step_threads=2, bound_search=False, first_pairs=600)
    assert outcome.steps > 1
    assert outcome.value >= evaluate(problem, start)[0]
    _assert_solution_valid(body, outcome.solution)


def _two_steps_from_one_plan(seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """Two deal steps solved from the same plan on disjoint deals that compete for the same people."""
    from ortools.sat.python import cp_model

    from service.solver.greedy import warm_start
    from service.solver.lns import SubModels
    from service.solver.model import build_model, covered_value_terms

    body = generate("M", seed)
    problem = compile_problem(parse_request(body))
    _, variables = build_model(problem)
    terms = covered_value_terms(problem, variables)
    sub_models = SubModels(problem, terms, True, [], variables)
    base = warm_start(problem)
    assert base is not None
    # Half the deals each, interleaved: most people can work on deals of both halves.
    deals = [o for o in range(len(problem.opportunity_ids)) if problem.leads_by_opportunity[o]]
    halves = (set(deals[0::2][:40]), set(deals[1::2][:40]))
    results = []
    for free in halves:
        step = sub_models.build(free, base)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 5.0
        assert solver.solve(step.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        results.append(SubModels.merge(step, SubModels.read(step, solver)))
    return body, problem, sub_models, base, (halves, results)


@pytest.mark.parametrize("seed", [0, 3])
def test_a_late_step_merges_into_the_moved_on_plan_without_breaking_a_rule(seed: int) -> None:
    """Both steps improve the same plan by filling people's spare hours; taken together whole they could
    overbook someone. The merge keeps only the pieces that still fit: the result keeps every hard rule
    (independent checker) and is worth more than the plan it was merged into."""
    from service.solver.greedy import Solution, evaluate
    from service.solver.merge import merge

    body, problem, sub_models, _, (halves, results) = _two_steps_from_one_plan(seed)
    first, second = results
    freed_pairs, freed_leads = sub_models.decisions_of_deals(halves[1])
    # Taking the second step whole on top of the first breaks a rule on these instances...
    union = Solution(
        tuple(sorted({p for p in first.assigned if p not in freed_pairs} | (set(second.assigned) & freed_pairs))),
        tuple(sorted({q for q in first.leads if q not in freed_leads} | (set(second.leads) & freed_leads))),
    )
    with pytest.raises(AssertionError):
        _assert_solution_valid(body, union)
    # ... the merge keeps what fits, and still gains.
    merged = merge(problem, first, freed_pairs, freed_leads, second, sub_models.objective, True)
    assert evaluate(problem, merged.plan)[0] > evaluate(problem, first)[0]
    assert merged.kept > 0
    assert merged.left_out > 0
    _assert_solution_valid(body, merged.plan)


def test_the_plan_ledger_sees_each_rule_a_change_would_break() -> None:
    """PlanLedger is what keeps merged plans valid: adding a pair to an overbooked person breaks H3,
    a second person beyond a demand's headcount H4, an assignment without a lead H5."""
    from service.solver.greedy import warm_start
    from service.solver.merge import Change, PlanLedger

    problem = compile_problem(parse_request(generate("M", 1)))
    plan = warm_start(problem)
    assert plan is not None
    ledger = PlanLedger(problem, plan)
    every_deal = range(len(problem.opportunity_ids))
    assert ledger.valid_for(range(len(problem.staff_ids)), every_deal)
    chosen = set(plan.assigned)
    staffed = {problem.lead_options[q].opportunity for q in plan.leads}

    def breaks(change: Change, deal: int) -> bool:
        ledger.apply(change)
        broken = not ledger.valid_for(change.people(problem), [deal])
        ledger.apply(change.reversed())
        assert ledger.valid_for(change.people(problem), [deal])
        return broken

    # H5: a person on a deal nobody leads.
    lone = next(p for p in range(len(problem.pairs)) if problem.slots[problem.pairs[p].slot].opportunity not in staffed)
    assert breaks(Change(added_pairs=[lone]), problem.slots[problem.pairs[lone].slot].opportunity)
    # H4: one more person on a full demand of a staffed deal.
    for p, pair in enumerate(problem.pairs):
        slot = problem.slots[pair.slot]
        holders = [x for x in problem.pairs_by_slot[pair.slot] if x in chosen]
        if p not in chosen and slot.opportunity in staffed and len(holders) == slot.headcount:
            assert breaks(Change(added_pairs=[p]), slot.opportunity)
            break
    else:
        pytest.fail("no full demand with a free candidate")
    # H3: a week's hours beyond capacity.
    overbooked = [
        p
        for p, pair in enumerate(problem.pairs)
        if p not in chosen
        and any(
            ledger.hours[pair.staff][w] + problem.slots[pair.slot].hours_per_week > problem.capacity[pair.staff][w]
            for w in range(problem.slots[pair.slot].start_week, problem.slots[pair.slot].end_week + 1)
        )
    ]
    assert overbooked
    p = overbooked[0]
    ledger.apply(Change(added_pairs=[p]))
    assert not ledger.valid_for([problem.pairs[p].staff], [])


def test_two_step_threads_on_the_cost_level_keep_the_covered_value_floor() -> None:
    """On a later level the merge must also keep the earlier levels' floors: two threads lowering cost
    with covered value held at the start plan's may never trade covered value for cost."""
    import time

    from ortools.sat.python import cp_model

    from service.solver.greedy import evaluate, warm_start
    from service.solver.lns import FixedLevel, improve
    from service.solver.model import build_model, cost_terms, covered_value_terms

    body = generate("M", 2)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    value, _, cost = evaluate(problem, start)
    model, variables = build_model(problem)
    value_terms = covered_value_terms(problem, variables)
    model.add(cp_model.LinearExpr.weighted_sum(*value_terms) >= value)
    terms = cost_terms(problem, variables)
    model.minimize(cp_model.LinearExpr.weighted_sum(*terms))
    outcome = improve(
        problem,
        model,
        variables,
        start,
        time.perf_counter() + 3.0,
        objective=terms,
        maximize=False,
        budget=3.0,
        trivial_bound=0,
        seed=0,
        fixed_levels=[FixedLevel(value_terms, at_least=value)],
        step_threads=2,
        bound_search=False,
        first_pairs=600,
    )
    new_value, _, new_cost = evaluate(problem, outcome.solution)
    assert new_value >= value
    assert new_cost <= cost
    assert outcome.steps > 1
    _assert_solution_valid(body, outcome.solution)


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_the_lp_relaxation_bounds_the_optimum_and_honours_pins(seed: int) -> None:
    """The LP relaxation that guides the LNS: values within [0, 1] per pair and lead option, an optimum no
    lower than CP-SAT's proven one, and a pinned pair at 1."""
    from dataclasses import replace

    from service.solver.relaxation import LpRelaxation

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
    from service.solver.greedy import warm_start
    from service.solver.solve import evaluate, search_covered_value

    body = generate("M", seed)
    problem = compile_problem(parse_request(body))
    start = warm_start(problem)
    assert start is not None
    outcome = search_covered_value(problem, start, 1.0, deterministic=True)
    again = search_covered_value(problem, start, 1.0, deterministic=True)
    assert outcome.relaxation_steps >= 1
    assert outcome.relaxation_bound is not None
    assert (outcome.solution, outcome.value, outcome.relaxation_steps) == (
        again.solution,
        again.value,
        again.relaxation_steps,
    )
    assert outcome.value >= evaluate(problem, start)[0]
    assert outcome.value <= outcome.bound <= outcome.relaxation_bound
    _assert_solution_valid(body, outcome.solution)


def test_the_lp_is_skipped_where_it_would_not_come_in_time() -> None:
    """The LP runs only where its expected time fits its share of the level's time: on a budget far below
    that: no LP and no relaxation-induced step."""
    from service.solver.greedy import warm_start
    from service.solver.lns import LP_SHARE, expected_lp_seconds
    from service.solver.solve import search_covered_value

    problem = compile_problem(parse_request(generate("M", 2)))
    start = warm_start(problem)
    assert start is not None
    budget = expected_lp_seconds(problem) / LP_SHARE / 2
    outcome = search_covered_value(problem, start, budget, deterministic=True)
    assert outcome.relaxation_bound is None
    assert outcome.relaxation_steps == 0


@pytest.mark.parametrize("seed", [0, 5])
def test_lean_rows_accept_the_engines_plans(seed: int) -> None:
    """The LP's lean rows leave out implications the tight H4 rows already make: every plan of the
    engine must still satisfy every row (they cut nothing off), and lean rows need the tight H4 rows."""
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
    with pytest.raises(ValueError, match="tight"):
        build_rows(problem, formulation="plain", lean=True)
