"""Large-neighbourhood search (LNS): one objective level of a large problem, improved step by step.

Each step frees part of the best plan, keeps every other assignment and lead in place, and re-solves the
freed part exactly with the configuration that proves medium problems fastest (one CP-SAT worker, full LP).
Four kinds of neighbourhood (service/solver/neighbourhoods.py) take turns:

- region: deals of one sales region; local offices serve one region, so its deals compete for the same people;
- cluster: a random connected set of deals that share people;
- people: every decision of a few people who could fill the same slots, across all deals: someone at their
  focus limit can only move from one deal to another when both are free, which deal steps rarely give;
- relaxation-induced (level 1 only): the decisions on which the LP relaxation's optimum and the plan
  disagree, hundreds of people and deals at once, a move the other kinds make only step by step.

Where CP-SAT presolves the whole model in a fraction of a second (up to L), a step is the whole model with
every decision outside the neighbourhood fixed (FixedModel), and the second core first solves the LP
relaxation (LpSchedule), then searches the whole model for a bound at a lowered priority (BoundSearch), so
that the plan reports an honest gap. Above that (XL), a step's model holds only the freed deals
(DealModels), and only region and cluster steps run. Why each choice: benchmarks/RESULTS.md, section 2.
Pure: no I/O (the LP relaxation runs in a process of its own, service/solver/relaxation.py).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.ledger import Ledger
from service.solver.model import Terms, Variables, add_solution_hint, build_model
from service.solver.neighbourhoods import (
    Freed,
    Neighbourhood,
    NeighbourhoodTurns,
    RelaxationNeighbourhood,
)
from service.solver.problem import Pair, Problem
from service.solver.relaxation import LpRelaxation, Relaxation

# The bound search: lb_tree_search raises the bound fastest on this model (L-0: 519.5M at 6 s against
# 540.1M for the default search). Nice 10 leaves the steps and other solves most of a shared core; the
# idle scheduling class starved it under load (the plan reported the trivial bound).
BOUND_SUBSOLVER = "lb_tree_search"
BOUND_NICENESS = 10
# The LP gets at most LP_SHARE of the level's time; in deterministic mode the steps wait for it once they
# have spent LP_DETERMINISTIC_SHARE of their time budget, so that the step it comes in is the same on any machine.
LP_SHARE = 0.5
LP_DETERMINISTIC_SHARE = 0.25
# The LP's expected time, to skip it where it would not come in time: fitted to the L instances (about
# 19,000 pairs: 5.4-7.0 s beside the steps), growing with the square of the pairs (M: 0.05 s).
LP_SECONDS_AT_L = 7.0
LP_PAIRS_AT_L = 19_000


def expected_lp_seconds(problem: Problem) -> float:
    return LP_SECONDS_AT_L * (len(problem.pairs) / LP_PAIRS_AT_L) ** 2


@dataclass(frozen=True)
class LnsParams:
    """How one level is searched. `time_budget_s` is wall-clock seconds or, with `deterministic`, CP-SAT's
    deterministic seconds: the same input then gives the same plan whatever the machine load (only the
    reported bound may vary), and a wall-clock guard of 4 x time_budget_s + 10 s only stops a runaway.
    `whole_model`: CP-SAT presolves the whole model in a fraction of a second (up to L), so steps fix the
    rest of it rather than build models of their own, people steps run, and the bound is searched for.
    `lp_guide` (level 1, covered value, which the LP relaxation maximizes): relaxation-induced steps, where
    the whole model is used and the LP is expected in time; its optimum then also bounds the value."""

    time_budget_s: float
    seed: int = 0
    deterministic: bool = False
    whole_model: bool = True
    lp_guide: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_budget_s) and self.time_budget_s > 0):
            raise ValueError(f"time_budget_s must be a positive number of seconds, got {self.time_budget_s}")
        if not 0 <= self.seed < 2**31:
            raise ValueError(f"seed must be in [0, 2**31), got {self.seed}")


@dataclass(frozen=True)
class FixedLevel:
    """An earlier objective level held at its optimum: `at_least <= terms <= at_most` (either may be None)."""

    terms: Terms
    at_least: int | None = None
    at_most: int | None = None


@dataclass(frozen=True)
class LnsLevel:
    """The level to improve. The model searched must already optimize `terms` in this direction with every
    earlier level held by a constraint; `held` repeats those levels for the step models of their own
    (DealModels). `trivial_bound` is reported when the bound search proves nothing."""

    terms: Terms
    maximize: bool
    trivial_bound: int
    held: Sequence[FixedLevel] = ()

    def better(self, candidate: int, incumbent: int) -> bool:
        return candidate > incumbent if self.maximize else candidate < incumbent


@dataclass(frozen=True)
class LnsOutcome:
    solution: Solution
    value: int  # objective of `solution` (scaled covered value, or cost in cents)
    bound: int  # best bound proven by the whole-model search or the LP relaxation
    proven: bool  # the whole-model search proved `value` optimal
    steps: int
    improvements: int
    relaxation_steps: int = 0  # steps that freed where the LP relaxation and the plan disagree
    relaxation_bound: int | None = None  # the LP relaxation's bound, when it was solved


class PlanTerms:
    """A level's terms as coefficients per pair and per lead option, so that their value on a plan (or on
    its fixed part) and their restriction to a step's decisions are cheap."""

    def __init__(self, terms: Terms, variables: Variables) -> None:
        pair_of = {var.index: p for p, var in enumerate(variables.assign)}
        lead_of = {var.index: q for q, var in enumerate(variables.lead)}
        self.pair: dict[int, int] = defaultdict(int)
        self.lead: dict[int, int] = defaultdict(int)
        for var, coefficient in zip(*terms, strict=True):
            if var.index in pair_of:
                self.pair[pair_of[var.index]] += coefficient
            elif var.index in lead_of:
                self.lead[lead_of[var.index]] += coefficient
            else:
                raise ValueError(f"objective term {var} is neither an assignment nor a lead")

    def value(self, pairs: Sequence[int], leads: Sequence[int]) -> int:
        return sum(self.pair.get(p, 0) for p in pairs) + sum(self.lead.get(q, 0) for q in leads)

    def restricted(self, pairs: Sequence[int], leads: Sequence[int], v: Variables) -> cp_model.LinearExprT:
        """The expression on a step's model whose variable i stands for pairs[i] (leads likewise)."""
        variables = [v.assign[i] for i, p in enumerate(pairs) if p in self.pair]
        coefficients = [self.pair[p] for p in pairs if p in self.pair]
        variables += [v.lead[i] for i, q in enumerate(leads) if q in self.lead]
        coefficients += [self.lead[q] for q in leads if q in self.lead]
        return cp_model.LinearExpr.weighted_sum(variables, coefficients)


# --------------------------------------------------------------------------- step models


@dataclass
class Step:
    """One step's model, ready to solve, and how to read the whole plan from its solution."""

    model: cp_model.CpModel
    incumbent: int  # the step objective's value on the plan it was built from
    read: Callable[[cp_model.CpSolver], Solution]
    close: Callable[[], None] = lambda: None


class FixedModel:
    """The whole model with every decision fixed to the plan except those a step frees: one clone, kept,
    whose domains are re-fixed by difference, so a step costs the domains it frees rather than a model
    build (L-2, a cluster of 250 deals: 0.04 s against 0.14-0.33 s as a model of its own), and CP-SAT's
    presolve removes the fixed part."""

    def __init__(self, model: cp_model.CpModel, problem: Problem, variables: Variables) -> None:
        self.model = model.clone()
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        self.problem = problem
        self.variables = variables
        # Each variable's domain, looked up once: through the proto on every change, re-fixing took five
        # times as long (0.9 s of an L solve's level 1).
        self.domains = [var.domain for var in self.model.proto.variables]
        self.assigned: set[int] = set()
        self.leads: set[int] = set()
        self.freed: tuple[Sequence[int], Sequence[int]] = ((), ())
        for var in (*variables.assign, *variables.lead):
            self._set(var.index, 0)

    def _set(self, index: int, value: int | None) -> None:
        domain = self.domains[index]
        domain[0] = 0 if value is None else value
        domain[1] = 1 if value is None else value

    def sync(self, plan: Solution) -> None:
        """Fix every decision to its value in `plan` (only those that differ are touched)."""
        assigned, leads = set(plan.assigned), set(plan.leads)
        for p in self.assigned ^ assigned:
            self._set(self.variables.assign[p].index, int(p in assigned))
        for q in self.leads ^ leads:
            self._set(self.variables.lead[q].index, int(q in leads))
        self.assigned, self.leads = assigned, leads

    def free(self, pairs: Sequence[int], leads: Sequence[int], plan: Solution) -> cp_model.CpModel:
        """The whole model with only these pairs and lead options free, hinted with `plan`. Valid until the
        next call: `release` after solving it."""
        self.sync(plan)
        self.freed = (pairs, leads)
        for p in pairs:
            self._set(self.variables.assign[p].index, None)
        for q in leads:
            self._set(self.variables.lead[q].index, None)
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        add_solution_hint(self.model, self.problem, self.variables, plan)
        return self.model

    def read(self, solver: cp_model.CpSolver) -> Solution:
        """The plan the last step found: the plan it was built from, with the freed decisions read from
        `solver` (only those: reading every variable took longer than some steps). Before `release`."""
        pairs, leads = self.freed
        freed_pairs, freed_leads = set(pairs), set(leads)
        assign, lead = self.variables.assign, self.variables.lead
        return Solution(
            assigned=tuple(
                sorted(
                    [p for p in self.assigned if p not in freed_pairs]
                    + [p for p in pairs if solver.boolean_value(assign[p])]
                )
            ),
            leads=tuple(
                sorted(
                    [q for q in self.leads if q not in freed_leads]
                    + [q for q in leads if solver.boolean_value(lead[q])]
                )
            ),
        )

    def release(self) -> None:
        """Fix the freed decisions again, to the plan the step was built from."""
        for p in self.freed[0]:
            self._set(self.variables.assign[p].index, int(p in self.assigned))
        for q in self.freed[1]:
            self._set(self.variables.lead[q].index, int(q in self.leads))

    def step(self, freed: Freed, plan: Solution, value: int) -> Step:
        if freed.deals:
            problem = self.problem
            pairs = sorted(
                p for o in freed.deals for s in problem.slots_by_opportunity[o] for p in problem.pairs_by_slot[s]
            )
            leads = sorted(q for o in freed.deals for q in problem.leads_by_opportunity[o])
        else:
            pairs, leads = list(freed.pairs), list(freed.leads)
        return Step(self.free(pairs, leads, plan), value, self.read, self.release)


class DealModels:
    """Each step's model holds the freed deals only, on what the rest of the plan leaves free: its hours
    come off each person's capacity and its deals off their focus limits, and every earlier level becomes
    a floor on the freed part. For problems whose whole model is too large to presolve at every step."""

    def __init__(self, problem: Problem, level: LnsLevel, variables: Variables) -> None:
        self.problem = problem
        self.maximize = level.maximize
        self.objective = PlanTerms(level.terms, variables)
        self.floors = [(PlanTerms(f.terms, variables), f.at_least, f.at_most) for f in level.held]
        self.owner = [problem.slots[pair.slot].opportunity for pair in problem.pairs]
        self.pairs_of: list[list[int]] = [[] for _ in problem.opportunity_ids]
        for p, o in enumerate(self.owner):
            self.pairs_of[o].append(p)

    def step(self, freed: Freed, plan: Solution, value: int) -> Step:
        return self.build(set(freed.deals), plan)

    def build(self, free: set[int], plan: Solution) -> Step:
        problem = self.problem
        deals = sorted(free)
        pairs = [p for o in deals for p in self.pairs_of[o]]
        leads = [q for o in deals for q in problem.leads_by_opportunity[o]]
        kept = Solution(
            assigned=tuple(p for p in plan.assigned if self.owner[p] not in free),
            leads=tuple(q for q in plan.leads if problem.lead_options[q].opportunity not in free),
        )
        touched = {problem.pairs[p].staff for p in pairs}
        # What the kept plan books for the people the freed deals could take (the others are not asked).
        booked = Ledger.of(
            problem,
            (p for p in kept.assigned if problem.pairs[p].staff in touched),
            (q for q in kept.leads if problem.lead_options[q].staff in touched),
        )
        # Pairs and leads that cannot fit what the rest of the plan leaves would only be removed again by
        # CP-SAT's presolve: left out. The plan's own ones always fit.
        pairs = [
            p
            for p in pairs
            if booked.focus_allows(problem.pairs[p].staff, self.owner[p])
            and booked.slot_has_hours(problem.pairs[p].staff, problem.pairs[p].slot)
        ]
        working = {(problem.pairs[p].staff, self.owner[p]) for p in pairs}
        leads = [
            q
            for q in leads
            if (problem.lead_options[q].staff, problem.lead_options[q].opportunity) in working
            and booked.lead_has_hours(problem.lead_options[q].staff, problem.lead_options[q].opportunity)
        ]
        capacity = list(problem.capacity)
        max_opportunities = list(problem.max_opportunities)
        for staff in touched:
            capacity[staff] = booked.hours_left(staff)
            max_opportunities[staff] = booked.focus_left(staff)
        # Only the freed deals' slots, renumbered: the problem's per-slot work then scales with the step.
        slots = [s for o in deals for s in problem.slots_by_opportunity[o]]
        renumbered = {s: i for i, s in enumerate(slots)}
        sub = replace(
            problem,
            slots=[problem.slots[s] for s in slots],
            pairs=[Pair(pair.staff, renumbered[pair.slot], pair.cost) for pair in (problem.pairs[p] for p in pairs)],
            lead_options=[problem.lead_options[q] for q in leads],
            capacity=capacity,
            max_opportunities=max_opportunities,
            pinned_pairs=[],
            fixed_leads={o: s for o, s in problem.fixed_leads.items() if o in free},
            previous_pairs=[],
            previous_total=0,
            warm_pairs=[],
            warm_leads=[],
        )
        model, v = build_model(sub)
        for terms, at_least, at_most in self.floors:
            rest = terms.value(kept.assigned, kept.leads)
            expression = terms.restricted(pairs, leads, v)
            if at_least is not None:
                model.add(expression >= at_least - rest)
            if at_most is not None:
                model.add(expression <= at_most - rest)
        objective = self.objective.restricted(pairs, leads, v)
        if self.maximize:
            model.maximize(objective)
        else:
            model.minimize(objective)
        chosen, chosen_leads = set(plan.assigned), set(plan.leads)
        hint = Solution(
            assigned=tuple(i for i, p in enumerate(pairs) if p in chosen),
            leads=tuple(i for i, q in enumerate(leads) if q in chosen_leads),
        )
        add_solution_hint(model, sub, v, hint)
        incumbent = self.objective.value([pairs[i] for i in hint.assigned], [leads[i] for i in hint.leads])

        def read(solver: cp_model.CpSolver) -> Solution:
            """The plan the step was built from, with its freed deals as `solver` found them."""
            return Solution(
                assigned=tuple(
                    sorted((*kept.assigned, *(pairs[i] for i, x in enumerate(v.assign) if solver.boolean_value(x))))
                ),
                leads=tuple(
                    sorted((*kept.leads, *(leads[i] for i, x in enumerate(v.lead) if solver.boolean_value(x))))
                ),
            )

        return Step(model, incumbent, read)


# --------------------------------------------------------------------------- the second core


class LpSchedule:
    """When the LP relaxation runs and when the steps get its optimum. It runs first on the second core
    (BoundSearch), at most LP_SHARE of the level's time, and only where it is expected in time. Without
    `deterministic` the steps use it as soon as it is in; with it they wait for it once they have spent
    LP_DETERMINISTIC_SHARE of their time budget and ignore it before, whatever the machine's speed."""

    def __init__(self, problem: Problem, params: LnsParams, level: LnsLevel) -> None:
        self.problem = problem
        self.params = params
        in_time = expected_lp_seconds(problem) <= params.time_budget_s * LP_SHARE
        self.runs = params.lp_guide and params.whole_model and level.maximize and in_time
        self.waited = not (self.runs and params.deterministic)
        self.done = threading.Event()
        self.relaxation: LpRelaxation | None = None
        self.optimum: Relaxation | None = None

    def solve(self, deadline: float, finished: threading.Event) -> None:
        if not self.runs:
            return
        try:
            self.relaxation = LpRelaxation(self.problem)
            if not finished.is_set():
                if self.params.deterministic:  # the steps wait for it: only the runaway guard limits it
                    limit_s = self.params.time_budget_s * 4 + 10.0
                else:
                    limit_s = (deadline - time.perf_counter()) * LP_SHARE
                self.optimum = self.relaxation.solve(limit_s)
        finally:
            self.done.set()

    def for_steps(self, spent: float) -> Relaxation | None:
        """The optimum, as far as the steps may use it after `spent` deterministic seconds."""
        if not self.waited and spent >= self.params.time_budget_s * LP_DETERMINISTIC_SHARE:
            self.done.wait()
            self.waited = True
        return self.optimum if self.waited else None

    def stop(self) -> None:
        """Kill the LP's process, if it is being solved."""
        if self.relaxation is not None:
            self.relaxation.stop()


def _lower_priority() -> None:
    """Renice the calling thread to BOUND_NICENESS; where the platform refuses, it keeps its priority."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BOUND_NICENESS)


class BoundSearch:
    """The second core: the LP relaxation first (at normal priority: it feeds the steps), then CP-SAT on the
    whole model for a bound, at nice 10, started from the plan the search starts from so that its bound
    is reported even if it finds no better plan. With `deterministic` it runs on deterministic time and is
    not cut short: its bound decides the reported status."""

    def __init__(self, model: cp_model.CpModel, params: LnsParams, lp: LpSchedule, finished: threading.Event) -> None:
        self.model = model
        self.params = params
        self.lp = lp
        self.finished = finished
        self.deadline = 0.0
        self.solver = cp_model.CpSolver()
        self.solver.parameters.num_workers = 1
        self.solver.parameters.linearization_level = 2
        self.solver.parameters.subsolvers.append(BOUND_SUBSOLVER)
        self.solver.parameters.random_seed = params.seed
        if params.deterministic:
            self.solver.parameters.max_deterministic_time = max(params.time_budget_s, 0.05)
        self.status: cp_model.CpSolverStatus | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="lns-bound")

    def start(self, problem: Problem, variables: Variables, plan: Solution, deadline: float) -> None:
        self.deadline = deadline
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        add_solution_hint(self.model, problem, variables, plan)
        self.thread.start()

    def _run(self) -> None:
        self.lp.solve(self.deadline, self.finished)
        if self.finished.is_set():
            return
        if not self.params.deterministic:
            _lower_priority()
            self.solver.parameters.max_time_in_seconds = max(self.deadline - time.perf_counter(), 0.05)
        self.status = self.solver.solve(self.model)

    def stop(self) -> None:
        """Stop the LP (its process is killed) and the bound search."""
        self.lp.stop()
        self.solver.stop_search()

    def finish(self) -> None:
        """After the steps: the LP ends at once, the bound search too unless deterministic."""
        self.lp.stop()
        if not self.params.deterministic:
            self.solver.stop_search()
        self.thread.join()

    def proven_bound(self) -> int | None:
        # CP-SAT reports a bound only with OPTIMAL or FEASIBLE; after UNKNOWN its number (0.0) means nothing,
        # and taking it would declare an unproven plan optimal.
        if self.status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return round(self.solver.best_objective_bound)

    def value(self) -> int:
        return round(self.solver.objective_value)

    def plan(self, variables: Variables) -> Solution:
        return Solution(
            assigned=tuple(p for p, var in enumerate(variables.assign) if self.solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(variables.lead) if self.solver.boolean_value(var)),
        )


def _stop_on_request(should_stop: Callable[[], bool], finished: threading.Event, stop: Callable[[], None]) -> None:
    """A cancel stops every part of the search within a poll: the step under way, the LP (its process is
    killed) and the bound search. Without it a step would run out its limit and the LP its whole solve."""
    while not finished.wait(0.02):
        if should_stop():
            stop()  # again on every poll until the search ends: a step may start between two polls


# --------------------------------------------------------------------------- the search


class LnsSearch:
    """Improves a plan on one level until its time budget is spent (see the module docstring). The budget
    runs from construction, which clones the model and indexes the neighbourhoods, so that their time
    counts. `model` is only solved (by the bound search) and cloned (by FixedModel), not changed."""

    def __init__(
        self,
        problem: Problem,
        model: cp_model.CpModel,
        variables: Variables,
        level: LnsLevel,
        params: LnsParams,
        should_stop: Callable[[], bool] | None = None,
        on_solution: Callable[[float, float], None] | None = None,
        on_improvement: Callable[[Callable[[], Solution], int], None] | None = None,
    ) -> None:
        """`on_solution` hears (seconds, objective) of each better plan; `on_improvement` gets a reader of the
        plan itself and the best bound on the objective known then (service/solver/solve.py's incumbents)."""
        self.started = time.perf_counter()
        self.deadline = self.started + params.time_budget_s
        self.problem = problem
        self.variables = variables
        self.level = level
        self.params = params
        self.should_stop = should_stop
        self.on_solution = on_solution
        self.on_improvement = on_improvement
        self.objective = PlanTerms(level.terms, variables)
        self.rng = random.Random(params.seed)
        self.turns = NeighbourhoodTurns(problem, self.rng, params.whole_model)
        self.relaxation = RelaxationNeighbourhood(problem, self.objective.pair)
        self.lp = LpSchedule(problem, params, level)
        self.finished = threading.Event()  # set when the search ends, for the threads beside it
        self.bound = BoundSearch(model, params, self.lp, self.finished) if params.whole_model else None
        self.step_models = (
            FixedModel(model, problem, variables) if params.whole_model else DealModels(problem, level, variables)
        )
        self.lock = threading.Lock()
        self.under_way: cp_model.CpSolver | None = None  # the step being solved, for a cancel to stop it
        self.steps = self.improvements = 0
        self.spent = 0.0  # CP-SAT's deterministic time, summed over the steps
        self.best, self.best_value = Solution(assigned=(), leads=()), 0

    def run(self, start: Solution) -> LnsOutcome:
        if self.should_stop is not None:
            args = (self.should_stop, self.finished, self._stop)
            threading.Thread(target=_stop_on_request, args=args, daemon=True, name="lns-cancel").start()
        self.best, self.best_value = start, self._value(start)
        if self.bound is not None:
            self.bound.start(self.problem, self.variables, start, self.deadline)
        self._report()
        while True:
            lp_optimum = self.lp.for_steps(self.spent)
            if self._time_left() <= 0.05 or (self.should_stop is not None and self.should_stop()):
                break
            if self.bound is not None and self.bound.status == cp_model.OPTIMAL and not self.params.deterministic:
                break
            self._step(lp_optimum)
        self.finished.set()
        if self.bound is not None:
            self.bound.finish()
        return self._outcome()

    def _step(self, lp_optimum: Relaxation | None) -> None:
        self.steps += 1
        base, base_value = self.best, self.best_value
        neighbourhood: Neighbourhood
        freed: Freed | None = None
        if lp_optimum is not None and self.relaxation.due(self.steps, base):
            neighbourhood = self.relaxation
        else:
            neighbourhood, freed = self.turns.next()
        # The step's seed is drawn after a drawn neighbourhood and before a relaxation-induced one, which uses it.
        seed = self.rng.randrange(2**31)
        if freed is None:
            assert lp_optimum is not None
            freed = self.relaxation.draw(lp_optimum, base, self.steps, seed)
        step = self.step_models.step(freed, base, base_value)
        limit = max(min(neighbourhood.time_limit_s, self._time_left()), 0.05)
        status, elapsed, solver = self._solve(step.model, seed, limit)
        improved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and self.level.better(
            round(solver.objective_value), step.incumbent
        )
        plan = step.read(solver) if improved else None
        step.close()
        neighbourhood.feedback(status, elapsed, limit, gained=plan is not None)
        if plan is not None and self.level.better(value := self._value(plan), self.best_value):
            self.best, self.best_value = plan, value
            self.improvements += 1
            self._report()

    def _solve(
        self, model: cp_model.CpModel, seed: int, limit: float
    ) -> tuple[cp_model.CpSolverStatus, float, cp_model.CpSolver]:
        """One step by one worker with the full LP: its status, the time it took (deterministic time with
        `deterministic`) and the solver to read."""
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2
        solver.parameters.random_seed = seed
        if self.params.deterministic:
            solver.parameters.max_deterministic_time = limit
        else:
            solver.parameters.max_time_in_seconds = limit
        started = time.perf_counter()
        with self.lock:
            self.under_way = solver
        status = solver.solve(model)
        with self.lock:
            self.under_way = None
        self.spent += solver.deterministic_time
        elapsed = solver.deterministic_time if self.params.deterministic else time.perf_counter() - started
        return status, elapsed, solver

    def _stop(self) -> None:
        with self.lock:
            if self.under_way is not None:
                self.under_way.stop_search()
        if self.bound is not None:
            self.bound.stop()

    def _time_left(self) -> float:
        """Seconds left: deterministic ones with `deterministic`, until the wall-clock guard against a
        runaway (4 x time_budget_s + 10 s); a machine loaded enough to reach it changes the plan."""
        if self.params.deterministic:
            seconds = self.params.time_budget_s
            runaway = time.perf_counter() >= self.deadline + seconds * 3 + 10.0
            return 0.0 if runaway else seconds - self.spent
        return self.deadline - time.perf_counter()

    def _value(self, plan: Solution) -> int:
        return self.objective.value(plan.assigned, plan.leads)

    def _report(self) -> None:
        if self.on_solution is not None:
            self.on_solution(time.perf_counter() - self.started, float(self.best_value))
        if self.on_improvement is not None:
            best = self.best
            self.on_improvement(lambda: best, self._bound_so_far())

    def _bound_so_far(self) -> int:
        """The bound known while the search runs: the trivial one, or the LP relaxation's once solved (the
        bound search's proof comes only at the end)."""
        bound, lp = self.level.trivial_bound, self.lp.optimum
        if lp is not None and self.level.maximize:
            bound = min(bound, lp.bound)
        return max(bound, self.best_value) if self.level.maximize else min(bound, self.best_value)

    def _outcome(self) -> LnsOutcome:
        best, value, level = self.best, self.best_value, self.level
        proven_bound = None if self.bound is None else self.bound.proven_bound()
        if proven_bound is not None:
            assert self.bound is not None
            if not self.params.deterministic and level.better(self.bound.value(), value):
                best = self.bound.plan(self.variables)
                value = self._value(best)
            bound = max(proven_bound, value) if level.maximize else min(proven_bound, value)
        else:
            bound = level.trivial_bound
        lp = self.lp.optimum
        if lp is not None:
            # The LP optimum bounds covered value too: the better bound when the bound search had little time.
            bound = max(min(bound, lp.bound), value)
        return LnsOutcome(
            best,
            value,
            bound,
            proven_bound is not None and bound == value,
            self.steps,
            self.improvements,
            self.relaxation.taken,
            None if lp is None else lp.bound,
        )
