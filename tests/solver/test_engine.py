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
from tests.solver.plans import assert_solution_valid, assert_valid

SCENARIO_DIR = Path(__file__).parents[2] / "scenarios"
SCENARIOS = [SCENARIO_DIR / name for name in ("new-market.json", "fast-growth.json", "mature-market.json")]


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
    assert_solution_valid(body, by_value_for_hours)
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
    assert_solution_valid(body, by_value_for_hours)
