"""Plans and solutions of the solver tests checked by the independent checker (tests/checker.py)."""

from __future__ import annotations

import time
from typing import Any

from service.contract import parse_request
from service.planning import build_plan
from service.solver.greedy import Solution, evaluate
from service.solver.problem import compile_problem
from service.solver.solve import Result, upper_bound
from tests.checker import check_plan


def assert_valid(request: dict[str, Any], plan: dict[str, Any]) -> None:
    report = check_plan(request, plan)
    assert report.violations == [], "\n".join(report.violations[:20])


def assert_solution_valid(body: dict[str, Any], solution: Solution) -> None:
    """The plan made from a solution of `body`'s problem passes the independent checker."""
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
