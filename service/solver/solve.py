"""solve(problem, params) -> Result: the lexicographic objective solved level by level, each level exact.

Level 1 maximizes covered value; its optimum is then fixed as a constraint while level 2 minimizes
changes against the previous plan, whose optimum is fixed in turn while level 3 minimizes cost. No
weights mix the levels, so no amount of cost can ever buy back a cent of covered value. Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as _package_version
from typing import Any, Literal

from ortools.sat.python import cp_model

from service.contract import BrokenRule
from service.solver.greedy import Solution, evaluate, greedy, warm_start
from service.solver.lns import FixedLevel, LnsLevel, LnsParams, LnsSearch
from service.solver.model import (
    HARD_RULES,
    BuildStopped,
    Terms,
    Variables,
    add_budget,
    add_capacity,
    add_focus,
    add_one_lead,
    add_pins,
    add_slots,
    add_solution_hint,
    build_model,
    cost_terms,
    covered_value_terms,
    kept_previous_terms,
    kept_warm_start_terms,
)
from service.solver.problem import Problem
from service.solver.tie_break import closest_to_warm_start

Status = Literal["optimal", "feasible", "infeasible", "unknown"]
StopCheck = Callable[[], bool]
ProgressHook = Callable[[float, float], None]  # (seconds since start, covered value scaled) per solution


@dataclass(frozen=True)
class Incumbent:
    """A plan better than any before it, found while the search runs: what progress reports are made of.

    `level` is the objective level it was found on (`first_plan` for the greedy plan the search starts
    from), `value_bound` the best bound on covered value known then (scaled). `read()` gives the plan: it is
    valid only during the hook's call (inside CP-SAT's solution callback it reads the solver's values) and
    costs a pass over the variables, so a hook not interested in this one does not call it.
    """

    level: str
    value_bound: int
    read: Callable[[], Solution]


IncumbentHook = Callable[[Incumbent], None]
UNKNOWN_BOUND = -1  # a search that has no finite bound yet reports this one


@dataclass(frozen=True)
class SolveParams:
    """CP-SAT settings. None means: chosen from the instance size (see default_workers and friends)."""

    time_limit_s: float = 10.0
    num_workers: int | None = None
    linearization_level: int | None = None
    seed: int = 0
    deterministic: bool = False
    use_greedy_hint: bool = True
    use_lns: bool | None = None  # None: on for large problems when num_workers is not forced
    log_search: bool = False

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be positive, got {self.time_limit_s}")
        if self.num_workers is not None and self.num_workers < 1:
            raise ValueError(f"num_workers must be at least 1, got {self.num_workers}")
        if self.linearization_level is not None and self.linearization_level not in (0, 1, 2):
            raise ValueError(f"linearization_level must be 0, 1 or 2, got {self.linearization_level}")


@dataclass(frozen=True)
class LevelReport:
    """What one objective level achieved."""

    name: str
    status: str
    objective: int
    bound: int
    wall_ms: int


@dataclass(frozen=True)
class Conflict:
    """Pins (pair indexes) and fixed leads (opportunity indexes) that cannot hold together, and the rules
    among H3-H7 that, lifted alone, would let them hold (empty when no single rule is to blame)."""

    pinned_pairs: tuple[int, ...]
    fixed_lead_opportunities: tuple[int, ...]
    broken_rules: tuple[BrokenRule, ...] = ()


@dataclass(frozen=True)
class Result:
    status: Status
    solution: Solution | None
    covered_value: int  # scaled by problem.value_scale
    value_bound: int
    kept_previous: int
    cost: int  # cents
    build_ms: int
    solve_ms: int
    workers: int
    linearization_level: int
    seed: int
    version: str = field(default_factory=lambda: _package_version("ortools"))
    levels: tuple[LevelReport, ...] = ()
    stopped: bool = False
    conflict: Conflict | None = None
    source: str = "cp-sat"
    progress: tuple[tuple[float, float], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.status in ("optimal", "feasible") and self.solution is None:
            raise ValueError(f"a {self.status} result needs a solution")
        if self.status == "optimal" and self.value_bound != self.covered_value:
            raise ValueError("an optimal result has its bound equal to its covered value")
        if self.value_bound < self.covered_value:
            raise ValueError("the bound of covered value cannot be below the covered value")


# Below this many eligible pairs the proof of optimality is what takes time, and one worker running the
# full LP relaxation with cuts (linearization_level 2) proves M instances in seconds where the default
# portfolio times out. Above it, finding good plans matters more: two workers with the lighter LP find
# better plans in 30 s at L. Figures: benchmarks/RESULTS.md.
LARGE_PROBLEM_PAIRS = 4_000
# Above this many pairs the LNS does without the whole model (LnsParams.whole_model): at XL (475,000 pairs)
# the bound search's presolve made the level overrun its time by seconds for a bound no better than the
# trivial one, and a step on the fixed whole model took 0.7 s for five people. The trivial bound is then
# reported.
BOUND_SEARCH_MAX_PAIRS = 100_000
# Level 1's share of the time on large problems (the LNS); the cost level and any tie-break share the rest.
# Covered value comes first in the objective, and at L it is still rising at the end of level 1 (about
# 0.5M/s), while the cost level cut cost by only 0.2 % in the 3 s that a 90 % share left it.
LNS_LEVEL_1_SHARE = 0.95
# Building the CP-SAT model costs about 30 microseconds a pair on a 2-core machine (L: 0.5 s for 18,500
# pairs; 475,000 pairs: 15-23 s); with less time left than that, the greedy plan is the answer.
MODEL_SECONDS_PER_PAIR = 4e-5


def default_workers(problem: Problem) -> int:
    return 1 if len(problem.pairs) <= LARGE_PROBLEM_PAIRS else 2


def default_linearization(problem: Problem) -> int:
    return 2 if len(problem.pairs) <= LARGE_PROBLEM_PAIRS else 1


class _Recorder(cp_model.CpSolverSolutionCallback):
    """Notes each solution's time and objective, and hands it to the incumbent hook (`report`) with a reader
    of the plan and the level's objective bound."""

    def __init__(
        self,
        start: float,
        hook: ProgressHook | None,
        variables: Variables,
        report: Callable[[Callable[[], Solution], int], None] | None = None,
    ) -> None:
        super().__init__()
        self.start = start
        self.hook = hook
        self.variables = variables
        self.report = report
        self.points: list[tuple[float, float]] = []

    def on_solution_callback(self) -> None:
        point = (time.perf_counter() - self.start, self.objective_value)
        self.points.append(point)
        if self.hook is not None:
            self.hook(*point)
        if self.report is not None:
            bound = self.best_objective_bound
            self.report(self.read, round(bound) if math.isfinite(bound) else UNKNOWN_BOUND)

    def read(self) -> Solution:
        """The solution this callback is called for (only during the call)."""
        return Solution(
            assigned=tuple(p for p, var in enumerate(self.variables.assign) if self.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(self.variables.lead) if self.boolean_value(var)),
        )


def _stop_watch(solver: cp_model.CpSolver, should_stop: StopCheck, done: threading.Event, stopped: list[bool]) -> None:
    while not done.wait(0.02):
        if should_stop():
            stopped.append(True)
            solver.stop_search()
            return


class _Levels:
    """Runs the objective levels on one model, fixing each optimum before the next."""

    def __init__(
        self,
        problem: Problem,
        params: SolveParams,
        should_stop: StopCheck | None,
        deadline: float,
        on_incumbent: IncumbentHook | None = None,
    ) -> None:
        self.problem = problem
        self.params = params
        self.should_stop = should_stop
        self.deadline = deadline
        self.on_incumbent = on_incumbent
        # The best bound on covered value known: level 1 raises it as it goes, later levels keep its last.
        self.value_bound = upper_bound(problem)
        self.model, self.vars = build_model(problem, should_stop=should_stop)
        self.workers = params.num_workers or default_workers(problem)
        self.linearization = (
            params.linearization_level if params.linearization_level is not None else default_linearization(problem)
        )
        self.reports: list[LevelReport] = []
        self.fixed: list[FixedLevel] = []  # earlier levels held at their optimum, for the LNS steps' models
        self.stopped = False
        self.progress: list[tuple[float, float]] = []

    @contextlib.contextmanager
    def watching(self, solver: cp_model.CpSolver) -> Iterator[None]:
        """While in the block, a cancel (should_stop) stops `solver`'s search and marks the result stopped."""
        if self.should_stop is None:
            yield
            return
        done = threading.Event()
        stopped: list[bool] = []
        watcher = threading.Thread(target=_stop_watch, args=(solver, self.should_stop, done, stopped), daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            self.stopped = self.stopped or bool(stopped)

    def solver(self, time_limit: float) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        parameters = solver.parameters
        parameters.num_workers = self.workers
        parameters.linearization_level = self.linearization
        parameters.random_seed = self.params.seed
        parameters.log_search_progress = self.params.log_search
        if self.params.deterministic:
            # Deterministic time makes the result independent of machine load; interleaving makes
            # several workers reproducible.
            parameters.max_deterministic_time = max(time_limit, 0.01)
            # Wall time only guards against a runaway: hitting it would make the result load-dependent.
            parameters.max_time_in_seconds = time_limit * 4 + 10.0
            if self.workers > 1:
                parameters.interleave_search = True
        else:
            parameters.max_time_in_seconds = max(time_limit, 0.01)
        return solver

    def run(
        self,
        name: str,
        terms: Terms,
        maximize: bool,
        hint: Solution | None,
        time_limit: float,
        hook: ProgressHook | None,
    ) -> tuple[cp_model.CpSolverStatus, Solution | None, int, int]:
        """Optimize one level; returns (cp status, solution, objective, bound)."""
        expression = cp_model.LinearExpr.weighted_sum(*terms)
        if maximize:
            self.model.maximize(expression)
        else:
            self.model.minimize(expression)
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        if hint is not None:
            add_solution_hint(self.model, self.problem, self.vars, hint)
        solver = self.solver(time_limit)
        started = time.perf_counter()
        recorder = _Recorder(started, hook, self.vars, self.reporter(name))
        with self.watching(solver):
            status = solver.solve(self.model, recorder)
        if name == "covered_value":
            self.progress.extend(recorder.points)
        wall_ms = round((time.perf_counter() - started) * 1000)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.reports.append(LevelReport(name, solver.status_name(status), 0, 0, wall_ms))
            return status, None, 0, 0
        objective = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
        self.reports.append(LevelReport(name, solver.status_name(status), objective, bound, wall_ms))
        solution = Solution(
            assigned=tuple(p for p, var in enumerate(self.vars.assign) if solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(self.vars.lead) if solver.boolean_value(var)),
        )
        return status, solution, objective, bound

    def reporter(self, level: str) -> Callable[[Callable[[], Solution], int], None] | None:
        """What a level's search calls with each better plan (a reader of it) and its objective's bound; the
        bound is of covered value on level 1 only, later levels report level 1's."""
        hook = self.on_incumbent
        if hook is None:
            return None

        trivial = upper_bound(self.problem)

        def report(read: Callable[[], Solution], objective_bound: int) -> None:
            known = objective_bound != UNKNOWN_BOUND and level == "covered_value"
            hook(Incumbent(level, min(objective_bound, trivial) if known else self.value_bound, read))

        return report

    def run_lns(
        self, name: str, terms: Terms, maximize: bool, start: Solution, time_limit: float, hook: ProgressHook | None
    ) -> tuple[cp_model.CpSolverStatus, Solution | None, int, int]:
        """One level by large-neighbourhood search (service/solver/lns.py), for large problems."""
        expression = cp_model.LinearExpr.weighted_sum(*terms)
        if maximize:
            self.model.maximize(expression)
        else:
            self.model.minimize(expression)
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        level = LnsLevel(terms, maximize, trivial_bound=upper_bound(self.problem) if maximize else 0, held=self.fixed)
        params = LnsParams(
            time_budget_s=time_limit,
            seed=self.params.seed,
            deterministic=self.params.deterministic,
            whole_model=len(self.problem.pairs) <= BOUND_SEARCH_MAX_PAIRS,
            # The LP relaxation is of covered value: it guides (and bounds) level 1 only.
            lp_guide=name == "covered_value",
        )
        search = LnsSearch(
            self.problem, self.model, self.vars, level, params, self.should_stop, hook, self.reporter(name)
        )
        outcome = search.run(start)
        status = cp_model.OPTIMAL if outcome.proven else cp_model.FEASIBLE
        wall_ms = round((time.perf_counter() - started) * 1000)
        self.reports.append(
            LevelReport(
                f"{name} (lns: {outcome.steps} steps, {outcome.improvements} improvements"
                + (f", {outcome.relaxation_steps} from the LP relaxation" if outcome.relaxation_steps else "")
                + ")",
                "OPTIMAL" if outcome.proven else "FEASIBLE",
                outcome.value,
                outcome.bound,
                wall_ms,
            )
        )
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
        return status, outcome.solution, outcome.value, outcome.bound

    def fix(self, terms: Terms, at_least: int | None = None, at_most: int | None = None) -> None:
        self.fixed.append(FixedLevel(terms, at_least, at_most))
        expression = cp_model.LinearExpr.weighted_sum(*terms)
        if at_least is not None:
            self.model.add(expression >= at_least)
        if at_most is not None:
            self.model.add(expression <= at_most)

    def same_fill_warm_start(self, solution: Solution, time_limit: float) -> Solution | None:
        """The cheapest plan filling as many slots of each value as `solution` does. Slots of equal value
        can trade places, so this is no proof, only a strong hint: in practice the exact cost level then
        starts from (or next to) its optimum and spends its time on the bound."""
        problem = self.problem
        restricted = self.model.clone()
        filled: dict[int, int] = defaultdict(int)
        for p in solution.assigned:
            filled[problem.pairs[p].slot] += 1
        classes: dict[int, list[int]] = defaultdict(list)
        for s, slot in enumerate(problem.slots):
            if problem.pairs_by_slot[s]:
                classes[slot.value].append(s)
        for slots in classes.values():
            variables = [self.vars.assign[p] for s in slots for p in problem.pairs_by_slot[s]]
            # Clone keeps variable indexes, so the same variables address the restricted model.
            restricted.add(cp_model.LinearExpr.sum(variables) == sum(filled[s] for s in slots))
        restricted.minimize(cp_model.LinearExpr.weighted_sum(*cost_terms(problem, self.vars)))
        restricted.clear_hints()  # type: ignore[no-untyped-call]
        chosen = set(solution.assigned)
        for p, var in enumerate(self.vars.assign):
            restricted.add_hint(var, p in chosen)
        solver = self.solver(time_limit)
        with self.watching(solver):
            status = solver.solve(restricted)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return Solution(
            assigned=tuple(p for p, var in enumerate(self.vars.assign) if solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(self.vars.lead) if solver.boolean_value(var)),
        )

    def time_budget_s(self, share: float, deterministic_share: float | None = None) -> float:
        """Time for the next step: a share of the wall time left or, in deterministic mode, a fixed share
        of the time limit (counted in deterministic time), so that no step depends on machine load."""
        if self.params.deterministic:
            return max(self.params.time_limit_s * (share if deterministic_share is None else deterministic_share), 0.05)
        return max(self.remaining() * share, 0.05)

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def may_continue(self) -> bool:
        """Whether a later level may run: not stopped and, unless deterministic, time left. On the largest
        problems a level's presolve alone takes seconds, so a level started after the deadline would
        overrun it by that much (XL: 6 s); the plan is then reported feasible, not optimal."""
        if self.stopped:
            return False
        return self.params.deterministic or self.remaining() > 0


def upper_bound(problem: Problem) -> int:
    """Covered value if every slot with a candidate were filled: a trivial bound."""
    return sum(
        problem.slots[s].value * min(problem.slots[s].headcount, len(problem.pairs_by_slot[s]))
        for s in range(len(problem.slots))
    )


def solve(
    problem: Problem,
    params: SolveParams | None = None,
    should_stop: StopCheck | None = None,
    on_solution: ProgressHook | None = None,
    on_incumbent: IncumbentHook | None = None,
) -> Result:
    """Solve the three levels within params.time_limit_s (CP-SAT limits are soft: a little over is normal).

    `on_incumbent` hears of every better plan as it is found, on any level, from the search's own threads
    (it must be quick: the search waits for it); the greedy plan the search starts from comes first."""
    params = params or SolveParams()
    start = time.perf_counter()
    deadline = start + params.time_limit_s
    hint = warm_start(problem) if params.use_greedy_hint else None
    tie_break = bool(problem.warm_pairs or problem.warm_leads)
    if tie_break and params.use_greedy_hint:
        # A plan to start from (a scenario's base plan): repaired greedily onto this problem, it is usually a
        # better first hint than the plain greedy plan, and it is where the final tie-break level aims.
        start_plan = greedy(problem, prefer=Solution(tuple(problem.warm_pairs), tuple(problem.warm_leads)))
        if start_plan is not None and (hint is None or evaluate(problem, start_plan)[0] >= evaluate(problem, hint)[0]):
            hint = start_plan
    if on_incumbent is not None and hint is not None:
        first = hint
        on_incumbent(Incumbent("first_plan", upper_bound(problem), lambda: first))
    if (should_stop is not None and should_stop()) or not _time_for_model(problem, params, deadline):
        return _greedy_result(problem, hint, start, stopped=should_stop is not None and should_stop())
    try:
        levels = _Levels(problem, params, should_stop, deadline, on_incumbent)
    except BuildStopped:
        return _greedy_result(problem, hint, start, stopped=True)
    build_ms = round((time.perf_counter() - start) * 1000)
    more_levels = 2 if problem.previous_pairs else 1

    use_lns = params.use_lns
    if use_lns is None:
        use_lns = len(problem.pairs) > LARGE_PROBLEM_PAIRS and params.num_workers is None
    # Level 1: covered value. Later levels need a little time; keep a share for them.
    level_limit = levels.time_budget_s(LNS_LEVEL_1_SHARE if use_lns else 0.8)
    if use_lns and hint is not None and not problem.pinned_pairs:
        status, solution, value, bound = levels.run_lns(
            "covered_value", covered_value_terms(problem, levels.vars), True, hint, level_limit, on_solution
        )
    else:
        status, solution, value, bound = levels.run(
            "covered_value", covered_value_terms(problem, levels.vars), True, hint, level_limit, on_solution
        )

    def finish(**outcome: Any) -> Result:
        return Result(
            build_ms=build_ms,
            solve_ms=_since(start) - build_ms,
            levels=tuple(levels.reports),
            stopped=levels.stopped,
            workers=levels.workers,
            linearization_level=levels.linearization,
            seed=params.seed,
            **outcome,
        )

    if status == cp_model.INFEASIBLE:
        conflict = explain_infeasible(problem, params)
        return finish(
            status="infeasible",
            solution=None,
            covered_value=0,
            value_bound=0,
            kept_previous=0,
            cost=0,
            conflict=conflict,
        )
    if solution is None:
        # No CP-SAT solution in time (or stopped first): fall back to the greedy plan if it exists.
        return finish(**_greedy_outcome(problem, hint))

    proven = status == cp_model.OPTIMAL
    levels.value_bound = value if proven else max(bound, value)
    value_terms = covered_value_terms(problem, levels.vars)
    # ">= value" alone holds the optimum (nothing exceeds it); an equality on these large coefficients
    # would only make propagation harder.
    levels.fix(value_terms, at_least=value)

    # Level 2: changes against the previous plan (maximize what is kept).
    if problem.previous_pairs and levels.may_continue():
        kept_terms = kept_previous_terms(problem, levels.vars)
        limit = levels.time_budget_s(0.5 if more_levels == 2 else 1.0, deterministic_share=0.1)
        status2, better, kept, _ = levels.run("changes", kept_terms, True, solution, limit, None)
        if better is not None:
            solution = better
            levels.fix(kept_terms, at_least=kept)
        proven = proven and status2 == cp_model.OPTIMAL
    elif problem.previous_pairs:
        proven = False

    # Level 3: cost, warm-started from the cheapest plan that fills the same value classes.
    if levels.may_continue():
        hint3 = levels.same_fill_warm_start(solution, levels.time_budget_s(0.2, deterministic_share=0.04)) or solution
        limit = levels.time_budget_s(0.75 if tie_break else 1.0, deterministic_share=0.16)
        if use_lns and not problem.pinned_pairs:
            status3, better, _, _ = levels.run_lns(
                "total_cost", cost_terms(problem, levels.vars), False, hint3, limit, None
            )
        else:
            status3, better, _, _ = levels.run(
                "total_cost", cost_terms(problem, levels.vars), False, hint3, limit, None
            )
        if better is not None:
            solution = better
        proven = proven and status3 == cp_model.OPTIMAL
    else:
        proven = False

    # Tie-break: among plans equal on all three levels, keep as much of options.warm_start as possible.
    # Each level's optimum is fixed first, so this changes no objective value and not the status.
    if tie_break and levels.may_continue():
        levels.fix(cost_terms(problem, levels.vars), at_most=evaluate(problem, solution)[2])
        # Equal-cost swaps first, searched among the people the plan and the warm start disagree on
        # (tie_break.py): the whole-model search can run out of time before it finds them.
        step = levels.solver(levels.time_budget_s(0.25, deterministic_share=0.05))
        with levels.watching(step):
            solution = closest_to_warm_start(problem, levels.model, levels.vars, solution, step)
        warm_terms = kept_warm_start_terms(problem, levels.vars)
        limit = levels.time_budget_s(1.0, deterministic_share=0.25)
        if use_lns and not problem.pinned_pairs:
            _, better, _, _ = levels.run_lns("kept_warm_start", warm_terms, True, solution, limit, None)
        else:
            _, better, _, _ = levels.run("kept_warm_start", warm_terms, True, solution, limit, None)
        if better is not None:
            solution = better

    value, kept, cost = evaluate(problem, solution)
    return finish(
        status="optimal" if proven else "feasible",
        solution=solution,
        covered_value=value,
        value_bound=value if status == cp_model.OPTIMAL else max(bound, value),
        kept_previous=kept,
        cost=cost,
        progress=tuple(levels.progress),
    )


def _time_for_model(problem: Problem, params: SolveParams, deadline: float) -> bool:
    """Whether CP-SAT's model can be built and searched before the deadline; if not, the greedy plan is the
    answer (a request at the edge of what service/admission.py serves for its time limit)."""
    if params.deterministic:
        return True
    return deadline - time.perf_counter() > len(problem.pairs) * MODEL_SECONDS_PER_PAIR


def _greedy_outcome(problem: Problem, hint: Solution | None) -> dict[str, Any]:
    """The greedy plan as the answer (`hint`, or greedy anew; none with pins it cannot honour): the
    outcome fields of a Result."""
    solution = hint if hint is not None else (greedy(problem) if not problem.pinned_pairs else None)
    if solution is None:
        return {
            "status": "unknown",
            "solution": None,
            "covered_value": 0,
            "value_bound": upper_bound(problem),
            "kept_previous": 0,
            "cost": 0,
        }
    value, kept, cost = evaluate(problem, solution)
    return {
        "status": "feasible",
        "solution": solution,
        "covered_value": value,
        "value_bound": max(upper_bound(problem), value),
        "kept_previous": kept,
        "cost": cost,
        "source": "greedy",
    }


def _greedy_result(problem: Problem, hint: Solution | None, start: float, *, stopped: bool) -> Result:
    """The greedy plan as the answer, without CP-SAT: stopped before the model, or no time to build it."""
    return Result(
        **_greedy_outcome(problem, hint),
        build_ms=0,
        solve_ms=_since(start),
        workers=1,
        linearization_level=0,
        seed=0,
        stopped=stopped,
    )


def _since(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def explain_infeasible(problem: Problem, params: SolveParams) -> Conflict:
    """A small set of pins that cannot hold together, found with assumptions and shrunk by deletion."""
    model, variables = build_model(problem, rules=_rules_without_pins())
    literals = []
    for p in problem.pinned_pairs:
        literal = model.new_bool_var(f"pin_{p}")
        model.add(variables.assign[p] == 1).only_enforce_if(literal)
        literals.append(literal)
    index_of = {literal.index: p for literal, p in zip(literals, problem.pinned_pairs, strict=True)}

    last_core: list[int] = list(problem.pinned_pairs)

    def infeasible(subset: list[int]) -> bool | None:
        model.clear_assumptions()
        model.add_assumptions([literals[problem.pinned_pairs.index(p)] for p in subset])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = max(min(params.time_limit_s / 4, 5.0), 0.5)
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            core = [index_of[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in index_of]
            nonlocal last_core
            last_core = core or subset
            return True
        return False if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None

    if infeasible(list(problem.pinned_pairs)) is not True:
        core = list(problem.pinned_pairs)
    else:
        core = list(last_core)
        # Deletion filter: drop every pin whose removal keeps the rest infeasible.
        for p in list(core):
            if len(core) == 1:
                break
            trial = [other for other in core if other != p]
            if infeasible(trial) is True:
                core = [other for other in trial if other in last_core] or trial
    opportunities = {problem.slots[problem.pairs[p].slot].opportunity for p in core}
    return Conflict(
        pinned_pairs=tuple(sorted(core)),
        fixed_lead_opportunities=tuple(sorted(o for o in opportunities if o in problem.fixed_leads)),
        broken_rules=broken_rules(problem, max(min(params.time_limit_s / 10, 2.0), 0.2)),
    )


_LIFTABLE_RULES: tuple[tuple[BrokenRule, Callable[..., None]], ...] = (
    ("capacity", add_capacity),  # H3
    ("slots", add_slots),  # H4
    ("lead", add_one_lead),  # H5
    ("budget", add_budget),  # H6
    ("focus", add_focus),  # H7
)


def broken_rules(problem: Problem, time_limit_s: float) -> tuple[BrokenRule, ...]:
    """The rules among H3-H7 whose removal alone makes an infeasible problem feasible."""
    found: list[BrokenRule] = []
    for name, rule in _LIFTABLE_RULES:
        model, _ = build_model(problem, rules=tuple(r for r in HARD_RULES if r is not rule))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = time_limit_s
        if solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found.append(name)
    return tuple(found)


def _rules_without_pins() -> tuple[Callable[..., None], ...]:
    return tuple(rule for rule in HARD_RULES if rule is not add_pins)


__all__ = [
    "Conflict",
    "Incumbent",
    "IncumbentHook",
    "LevelReport",
    "Result",
    "Solution",
    "SolveParams",
    "Variables",
    "broken_rules",
    "evaluate",
    "solve",
]
