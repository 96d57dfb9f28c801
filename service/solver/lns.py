"""Large-neighbourhood search for the objective levels on large problems.

Local offices serve one region, so a region's deals form a natural neighbourhood: everything outside it
is fixed in place (variable domains set in the model proto) and the inside is re-solved exactly by the
configuration that proves medium problems fastest (one worker, full LP). Random clusters of deals sharing
people are tried in between. A second thread runs CP-SAT on the whole model for the bound, so both cores
work and the plan still reports an honest gap. Pure: no I/O.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.model import Terms, Variables
from service.solver.problem import Problem


@dataclass(frozen=True)
class LnsOutcome:
    solution: Solution
    value: int  # objective of `solution` (scaled covered value, or cost in cents)
    bound: int  # best bound proven by the whole-model search
    proven: bool  # the whole-model search proved `value` optimal
    steps: int
    improvements: int


def _score(terms: Terms, solution_values: dict[int, int]) -> int:
    variables, coefficients = terms
    return sum(c * solution_values[var.index] for var, c in zip(variables, coefficients, strict=True))


class _Neighbourhoods:
    """Sets of opportunities to free: each region in turn, then random clusters that share people."""

    def __init__(self, problem: Problem, rng: random.Random, size_divisor: int = 8) -> None:
        self.problem = problem
        self.rng = rng
        by_region: dict[str, list[int]] = defaultdict(list)
        for o, region in enumerate(problem.regions):
            if problem.leads_by_opportunity[o]:
                by_region[region].append(o)
        self.regions = [sorted(opps) for _, opps in sorted(by_region.items())]
        self.staffable = [o for o in range(len(problem.opportunity_ids)) if problem.leads_by_opportunity[o]]
        self.opportunities_of_staff: list[set[int]] = [set() for _ in problem.staff_ids]
        for pair in problem.pairs:
            self.opportunities_of_staff[pair.staff].add(problem.slots[pair.slot].opportunity)
        self.staff_of_opportunity: list[set[int]] = [set() for _ in problem.opportunity_ids]
        for pair in problem.pairs:
            self.staff_of_opportunity[problem.slots[pair.slot].opportunity].add(pair.staff)
        self.size = max(8, len(self.staffable) // size_divisor)
        self.turn = 0

    def next(self) -> set[int]:
        self.turn += 1
        if self.regions and self.turn % 2 == 1:
            region = self.regions[(self.turn // 2) % len(self.regions)]
            if len(region) <= self.size * 2:
                return set(region)
            return set(self.rng.sample(region, self.size * 2))
        return self._cluster()

    def _cluster(self) -> set[int]:
        """Grow from a random deal through the people who could work on it."""
        chosen: set[int] = set()
        frontier = [self.rng.choice(self.staffable)]
        while frontier and len(chosen) < self.size:
            o = frontier.pop(self.rng.randrange(len(frontier)))
            if o in chosen:
                continue
            chosen.add(o)
            people = list(self.staff_of_opportunity[o])
            self.rng.shuffle(people)
            for staff in people[:3]:
                frontier.extend(
                    self.rng.sample(
                        sorted(self.opportunities_of_staff[staff]), min(3, len(self.opportunities_of_staff[staff]))
                    )
                )
        return chosen

    def feedback(self, solved_fast: bool, timed_out: bool) -> None:
        if solved_fast:
            self.size = min(len(self.staffable), int(self.size * 1.25) + 1)
        elif timed_out:
            self.size = max(4, int(self.size * 0.8))


def improve(
    problem: Problem,
    model: cp_model.CpModel,
    variables: Variables,
    start: Solution,
    deadline: float,
    *,
    objective: Terms,
    maximize: bool,
    budget: float,
    trivial_bound: int,
    seed: int,
    step_limit_s: float = 1.0,
    step_workers: int = 1,
    step_linearization: int = 2,
    size_divisor: int = 8,
    bound_search: bool = True,
    deterministic: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_solution: Callable[[float, float], None] | None = None,
) -> LnsOutcome:
    """Improve `start` until `deadline` on `objective`, which `model` must already optimize in the same
    direction (with any earlier level fixed as a constraint). The model is not changed.

    With `deterministic`, steps are bounded by CP-SAT's deterministic time and the search ends when
    `budget` seconds of deterministic time are spent; `trivial_bound` is reported when the whole-model
    search ends without a bound of its own (`deadline` then only guards against a runaway), so the same
    input gives the same plan whatever the machine load; only the reported bound may vary.

    Levers (benchmarks/RESULTS.md, session 2 at L-0, 30 s): a step limit of 1 s gave 471.7M against 460.0M
    for 3 s, 467.7M for 0.7 s and 455.7M for 0.5 s; two workers per step without the bound thread 430.4M;
    linearization 1 in steps 431.1M; the bound thread costs the steps nothing (459.7M without it)."""
    started = time.perf_counter()
    rng = random.Random(seed)

    def better(candidate: int, incumbent: int) -> bool:
        return candidate > incumbent if maximize else candidate < incumbent

    # The bound thread solves the whole model; the LNS works on a clone whose domains it rewrites.
    bound_solver = cp_model.CpSolver()
    bound_solver.parameters.num_workers = 1
    bound_solver.parameters.linearization_level = 2
    if deterministic:
        # Its bound decides the reported status, so it too runs on deterministic time and is not cut short.
        bound_solver.parameters.max_deterministic_time = max(budget, 0.05)
    else:
        bound_solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 0.05)
    bound_solver.parameters.random_seed = seed
    whole: dict[str, cp_model.CpSolverStatus] = {}

    def run_bound() -> None:
        whole["status"] = bound_solver.solve(model)

    local = model.clone()
    bound_thread = threading.Thread(target=run_bound, daemon=True)

    index_of = [var.index for var in variables.assign] + [var.index for var in variables.lead]
    owner: list[int] = [problem.slots[pair.slot].opportunity for pair in problem.pairs]
    owner += [option.opportunity for option in problem.lead_options]
    extra = [(var.index, o) for o, var in variables.staffed.items()]
    extra += [(var.index, o) for (_, o), var in variables.works.items()]
    neighbourhoods = _Neighbourhoods(problem, rng, size_divisor)
    steps = improvements = 0
    spent = 0.0  # deterministic time, when deterministic

    def current_values(solution: Solution) -> dict[int, int]:
        chosen = set(solution.assigned)
        leads = set(solution.leads)
        values = {index_of[p]: int(p in chosen) for p in range(len(problem.pairs))}
        offset = len(problem.pairs)
        for q in range(len(problem.lead_options)):
            values[index_of[offset + q]] = int(q in leads)
        staffed = {problem.lead_options[q].opportunity for q in solution.leads}
        working = {(problem.pairs[p].staff, owner[p]) for p in solution.assigned}
        for o, var in variables.staffed.items():
            values[var.index] = int(o in staffed)
        for key, var in variables.works.items():
            values[var.index] = int(key in working)
        return values

    def read(solver: cp_model.CpSolver) -> Solution:
        return Solution(
            assigned=tuple(p for p, var in enumerate(variables.assign) if solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(variables.lead) if solver.boolean_value(var)),
        )

    best = start
    start_values = current_values(start)
    best_value = _score(objective, start_values)
    # The whole-model search starts from the plan we have: with a solution its status is at least
    # FEASIBLE, so the bound it proves can be reported even if it never finds a better plan.
    model.clear_hints()  # type: ignore[no-untyped-call]
    for index, value in start_values.items():
        model.proto.solution_hint.vars.append(index)
        model.proto.solution_hint.values.append(value)
    if bound_search:
        bound_thread.start()
    if on_solution is not None:
        on_solution(time.perf_counter() - started, float(best_value))

    def time_left() -> float:
        if deterministic:
            return budget - spent if time.perf_counter() < deadline + budget * 3 + 10.0 else 0.0
        return deadline - time.perf_counter()

    while time_left() > 0.05 and not (should_stop and should_stop()):
        if whole.get("status") == cp_model.OPTIMAL and not deterministic:
            break
        steps += 1
        free = neighbourhoods.next()
        values = current_values(best)
        domains = local.proto.variables
        for position, index in enumerate(index_of):
            fixed = owner[position] not in free
            domain = domains[index].domain
            domain[0], domain[1] = (values[index], values[index]) if fixed else (0, 1)
        for index, o in extra:
            domain = domains[index].domain
            domain[0], domain[1] = (values[index], values[index]) if o not in free else (0, 1)
        local.clear_hints()  # type: ignore[no-untyped-call]
        for index, value in values.items():
            local.proto.solution_hint.vars.append(index)
            local.proto.solution_hint.values.append(value)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = step_workers
        solver.parameters.linearization_level = step_linearization
        solver.parameters.random_seed = rng.randrange(2**31)
        limit = max(min(step_limit_s, time_left()), 0.05)
        if deterministic:
            solver.parameters.max_deterministic_time = limit
        else:
            solver.parameters.max_time_in_seconds = limit
        step_started = time.perf_counter()
        status = solver.solve(local)
        elapsed = solver.deterministic_time if deterministic else time.perf_counter() - step_started
        spent += solver.deterministic_time
        neighbourhoods.feedback(
            solved_fast=status == cp_model.OPTIMAL and elapsed < step_limit_s / 4,
            timed_out=status != cp_model.OPTIMAL,
        )
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and better(round(solver.objective_value), best_value):
            best = read(solver)
            best_value = _score(objective, current_values(best))
            improvements += 1
            if on_solution is not None:
                on_solution(time.perf_counter() - started, float(best_value))

    if not deterministic:
        bound_solver.stop_search()
    if bound_search:
        bound_thread.join()
    whole_status = whole.get("status")
    proven = False
    # CP-SAT reports a bound only with a status of OPTIMAL or FEASIBLE; after UNKNOWN the number it returns
    # (0.0) means nothing, and taking it would declare an unproven plan optimal.
    has_bound = whole_status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if not deterministic and has_bound and better(round(bound_solver.objective_value), best_value):
        best = read(bound_solver)
        best_value = _score(objective, current_values(best))
    if has_bound:
        whole_bound = round(bound_solver.best_objective_bound)
        bound = max(whole_bound, best_value) if maximize else min(whole_bound, best_value)
    else:
        bound = trivial_bound
    proven = has_bound and bound == best_value
    return LnsOutcome(best, best_value, bound, proven, steps, improvements)
