"""A cancel stops every phase of a solve at once and keeps the best plan found so far: the LP relaxation
(its process is killed), the large-neighbourhood search's step and bound search, and the model's building,
after which the greedy plan answers."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from benchmarks.generator import generate
from service.contract import AllocationRequest
from service.planning import make_plan
from service.solver.greedy import greedy
from service.solver.problem import compile_problem
from service.solver.relaxation import LpRelaxation
from service.solver.solve import SolveParams, evaluate, solve
from tests.api.workload import wait_for
from tests.processes import solving_lp_under


def l_request(time_limit_s: float = 30.0) -> AllocationRequest:
    document = generate("L", 0)
    document["options"] = {"time_limit_s": time_limit_s}
    return AllocationRequest.model_validate(document)


def test_a_stopped_lp_relaxation_is_killed_not_waited_for() -> None:
    lp = LpRelaxation(compile_problem(l_request()))
    outcome: list[object] = []
    solving = threading.Thread(target=lambda: outcome.append(lp.solve(60.0)))
    solving.start()
    wait_for(lambda: lp._process, timeout_s=60, what="the LP's process to start")
    lp.stop()
    solving.join(60.0)
    assert outcome == [None]
    assert lp._process.returncode == -signal.SIGKILL


@pytest.mark.alone  # compares two wall-clock spans of this run: a test running beside it would skew one
def test_a_cancel_during_the_lp_keeps_the_search_s_plan_without_waiting_for_the_lp() -> None:
    # Stopped while the LP (about 5 s at L) is being solved: the answer comes from the search at once, not
    # when the LP ends. Measured against the LP's own time in the same run, not the clock.
    request = l_request()
    problem = compile_problem(request)
    lp_started = time.perf_counter()
    assert LpRelaxation(problem).solve(60.0) is not None
    lp_seconds = time.perf_counter() - lp_started
    stopped_at: list[float] = []

    def should_stop() -> bool:
        if not stopped_at:
            if not solving_lp_under(os.getpid()):
                return False
            stopped_at.append(time.perf_counter())
        return True

    result = solve(problem, SolveParams(time_limit_s=30.0), should_stop=should_stop)
    answered_after = time.perf_counter() - stopped_at[0]
    assert result.status == "feasible"
    assert result.stopped
    assert result.covered_value >= evaluate(problem, greedy(problem))[0]  # type: ignore[arg-type]
    assert answered_after < lp_seconds / 2


def test_a_cancel_before_the_model_is_built_keeps_the_greedy_plan() -> None:
    plan = make_plan(l_request(), should_stop=lambda: True)
    assert plan.status == "feasible"
    assert plan.solver.name == "cp-sat (greedy plan)"
    assert plan.solver.levels == []  # no model was built
    assert plan.kpis.covered_value > 0
