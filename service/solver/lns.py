"""Large-neighbourhood search for the objective levels on large problems.

Local offices serve one region, so a region's deals form a natural neighbourhood: each step frees a set
of deals, keeps every other assignment and lead of the best plan in place, and re-solves the freed deals
exactly with the configuration that proves medium problems fastest (one worker, full LP). Where CP-SAT
presolves the whole model in a fraction of a second (up to L), a step is the whole model with every
decision outside the neighbourhood fixed (see PeopleSteps); above that (XL), the step's model holds only
the freed deals (see SubModels): the fixed plan's hours come off each person's capacity and its deals
off their focus limits, and every earlier objective level becomes a floor on the freed part. Random
clusters of deals sharing people are tried in between, and every other step frees people instead of
deals (see PeopleSteps): a person at their focus limit can only move from one deal to another when both
are free, which deal steps rarely give. A second thread runs CP-SAT on the whole
model for the bound at a lowered priority (nice 10): it has the second core to itself while this solve
is alone on the machine, and takes little from anything else (the steps, or a small request solved by
another solver process of the service), so the plan reports an honest gap at little expense.
Before its bound search, that second thread solves the LP relaxation of level 1 (`lp_guide`,
service/solver/relaxation.py); from then on every few steps is a relaxation-induced one, freeing every
decision on which the LP optimum and the plan disagree: hundreds of people and deals move at once, the
move the other neighbourhoods make only step by step.
Steps can also run in two threads (`step_threads`, a lever): a step that ends after the other thread
improved the plan is merged into it piece by piece by service/solver/merge.py.
Pure: no I/O.
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
from typing import Literal

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.merge import merge
from service.solver.model import Terms, Variables, add_solution_hint, build_model
from service.solver.problem import Pair, Problem
from service.solver.relaxation import LpRelaxation, Relaxation


@dataclass(frozen=True)
class LnsOutcome:
    solution: Solution
    value: int  # objective of `solution` (scaled covered value, or cost in cents)
    bound: int  # best bound proven by the whole-model search
    proven: bool  # the whole-model search proved `value` optimal
    steps: int
    improvements: int
    merged_pieces: int = 0  # with two step threads: pieces of late steps merged into a moved-on plan
    left_out_pieces: int = 0  # ... and left out (a rule or a floor would break, or no gain)
    relaxation_steps: int = 0  # steps that freed where the LP relaxation and the plan disagree
    relaxation_bound: int | None = None  # the LP relaxation's bound, when it was solved


@dataclass(frozen=True)
class FixedLevel:
    """An earlier objective level held at its optimum: `at_least <= terms <= at_most` (either may be None)."""

    terms: Terms
    at_least: int | None = None
    at_most: int | None = None


class _Neighbourhoods:
    """Sets of opportunities to free, by turns: part of one region (the regions in turn), then a random
    cluster of deals that share people. Each kind keeps its own size, grown while its steps are proven
    quickly and shrunk when they time out: a region's deals compete for the same people, so it needs
    smaller sets than a cluster to be solved exactly within a step."""

    KINDS = ("region", "staff", "cluster", "staff")

    def __init__(
        self, problem: Problem, rng: random.Random, first_pairs: int = 2_500, staff_steps: bool = True
    ) -> None:
        self.problem = problem
        self.kinds = self.KINDS if staff_steps else tuple(kind for kind in self.KINDS if kind != "staff")
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
        # Start where a step's model has about `first_pairs` assignment variables: what one worker solves
        # exactly in a fraction of a second (L: about 1/8 of the deals; XL: 1/200).
        first = max(8, len(self.staffable) * first_pairs // max(len(problem.pairs), 1))
        self.sizes = dict.fromkeys(self.KINDS, first)
        # A staff step frees every assignment of a few people: about as many variables as a deal step.
        self.sizes["staff"] = max(4, len(problem.staff_ids) * first_pairs // max(len(problem.pairs), 1))
        competitors: list[set[int]] = [set() for _ in problem.staff_ids]
        if staff_steps:  # quadratic in the people per slot: only when staff steps are taken
            for slot_pairs in problem.pairs_by_slot:
                people = {problem.pairs[p].staff for p in slot_pairs}
                for staff in people:
                    competitors[staff] |= people
        self.competitors = [sorted(c) for c in competitors]
        self.workers = [s for s, c in enumerate(self.competitors) if c]
        self.turn = 0

    def next(self) -> tuple[str, set[int]]:
        self.turn += 1
        kind = self.kinds[self.turn % len(self.kinds)]
        if kind == "region" and self.regions:
            region = self.regions[(self.turn // len(self.kinds)) % len(self.regions)]
            size = self.sizes["region"]
            return "region", set(region) if len(region) <= size else set(self.rng.sample(region, size))
        if kind == "staff" and self.workers:
            return "staff", self._people()
        return "cluster", self._cluster()

    def _grow(self, start: int, size: int, around: Callable[[int], list[int]]) -> set[int]:
        """A random connected set of up to `size` items: from `start`, through `around` each chosen one."""
        chosen: set[int] = set()
        frontier = [start]
        while frontier and len(chosen) < size:
            item = frontier.pop(self.rng.randrange(len(frontier)))
            if item in chosen:
                continue
            chosen.add(item)
            frontier.extend(around(item))
        return chosen

    def _people(self) -> set[int]:
        """Grow from a random person through the people who could fill the same slots."""

        def rivals(staff: int) -> list[int]:
            return self.rng.sample(self.competitors[staff], min(4, len(self.competitors[staff])))

        return self._grow(self.rng.choice(self.workers), self.sizes["staff"], rivals)

    def _cluster(self) -> set[int]:
        """Grow from a random deal through the people who could work on it."""

        def neighbours(o: int) -> list[int]:
            people = list(self.staff_of_opportunity[o])
            self.rng.shuffle(people)
            deals: list[int] = []
            for staff in people[:3]:
                theirs = sorted(self.opportunities_of_staff[staff])
                deals.extend(self.rng.sample(theirs, min(3, len(theirs))))
            return deals

        return self._grow(self.rng.choice(self.staffable), self.sizes["cluster"], neighbours)

    def feedback(self, kind: str, solved_fast: bool, timed_out: bool) -> None:
        if solved_fast:
            most = len(self.workers) if kind == "staff" else len(self.staffable)
            self.sizes[kind] = min(most, int(self.sizes[kind] * 1.25) + 1)
        elif timed_out:
            self.sizes[kind] = max(4, int(self.sizes[kind] * 0.8))


class _Linear:
    """A linear expression over the whole model's assignment and lead variables, as coefficients per pair
    and per lead option, so that its value on fixed deals and its restriction to freed deals are cheap."""

    def __init__(self, terms: Terms, pair_of: dict[int, int], lead_of: dict[int, int]) -> None:
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


@dataclass
class _Step:
    model: cp_model.CpModel
    variables: Variables
    pairs: list[int]  # step pair index -> problem pair index
    leads: list[int]  # step lead index -> problem lead option index
    kept: Solution  # the part of the incumbent outside the freed deals
    incumbent: int  # objective of the incumbent on the freed deals


class SubModels:
    """Builds each step's model: the freed deals only, on what the rest of the plan leaves free."""

    def __init__(
        self,
        problem: Problem,
        objective: Terms,
        maximize: bool,
        fixed_levels: Sequence[FixedLevel],
        variables: Variables,
    ) -> None:
        self.problem = problem
        self.maximize = maximize
        pair_of = {var.index: p for p, var in enumerate(variables.assign)}
        lead_of = {var.index: q for q, var in enumerate(variables.lead)}
        self.objective = _Linear(objective, pair_of, lead_of)
        self.floors = [(_Linear(f.terms, pair_of, lead_of), f.at_least, f.at_most) for f in fixed_levels]
        self.owner = [problem.slots[pair.slot].opportunity for pair in problem.pairs]
        self.pairs_of: list[list[int]] = [[] for _ in problem.opportunity_ids]
        for p, o in enumerate(self.owner):
            self.pairs_of[o].append(p)

    def build(self, free: set[int], solution: Solution) -> _Step:
        problem = self.problem
        freed = sorted(free)
        pairs = [p for o in freed for p in self.pairs_of[o]]
        leads = [q for o in freed for q in problem.leads_by_opportunity[o]]
        kept = Solution(
            assigned=tuple(p for p in solution.assigned if self.owner[p] not in free),
            leads=tuple(q for q in solution.leads if problem.lead_options[q].opportunity not in free),
        )
        touched = {problem.pairs[p].staff for p in pairs}
        capacity = list(problem.capacity)
        for staff in touched:
            capacity[staff] = list(capacity[staff])
        focus: dict[int, set[int]] = defaultdict(set)
        for p in kept.assigned:
            pair = problem.pairs[p]
            if pair.staff in touched:
                slot = problem.slots[pair.slot]
                row = capacity[pair.staff]
                for week in range(slot.start_week, slot.end_week + 1):
                    row[week] -= slot.hours_per_week
                focus[pair.staff].add(slot.opportunity)
        for q in kept.leads:
            option = problem.lead_options[q]
            window = problem.windows[option.opportunity]
            if option.staff in touched and window is not None:
                row = capacity[option.staff]
                for week in range(window[0], window[1] + 1):
                    row[week] -= problem.lead_hours_per_week
        max_opportunities = list(problem.max_opportunities)
        for staff, opportunities in focus.items():
            limit = max_opportunities[staff]
            if limit is not None:
                max_opportunities[staff] = limit - len(opportunities)
        # Pairs and leads that cannot fit what the rest of the plan leaves (a person without the hours in
        # some week of the slot, or with no deal left under the focus limit) would only be removed again
        # by CP-SAT's presolve: leave them out. The incumbent's own ones always fit.
        pairs = [p for p in pairs if self._fits(p, capacity, max_opportunities)]
        working = {(problem.pairs[p].staff, self.owner[p]) for p in pairs}
        leads = [q for q in leads if self._leads_fit(q, capacity, working)]
        # Only the freed deals' slots, renumbered: the problem's per-slot work then scales with the step.
        slots = [s for o in freed for s in problem.slots_by_opportunity[o]]
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
        for linear, at_least, at_most in self.floors:
            rest = linear.value(kept.assigned, kept.leads)
            expression = linear.restricted(pairs, leads, v)
            if at_least is not None:
                model.add(expression >= at_least - rest)
            if at_most is not None:
                model.add(expression <= at_most - rest)
        objective = self.objective.restricted(pairs, leads, v)
        if self.maximize:
            model.maximize(objective)
        else:
            model.minimize(objective)
        chosen = set(solution.assigned)
        chosen_leads = set(solution.leads)
        hint = Solution(
            assigned=tuple(i for i, p in enumerate(pairs) if p in chosen),
            leads=tuple(i for i, q in enumerate(leads) if q in chosen_leads),
        )
        add_solution_hint(model, sub, v, hint)
        incumbent = self.objective.value([pairs[i] for i in hint.assigned], [leads[i] for i in hint.leads])
        return _Step(model, v, pairs, leads, kept, incumbent)

    def _fits(self, p: int, capacity: list[list[int]], max_opportunities: list[int | None]) -> bool:
        pair = self.problem.pairs[p]
        limit = max_opportunities[pair.staff]
        if limit is not None and limit <= 0:
            return False
        slot = self.problem.slots[pair.slot]
        row = capacity[pair.staff]
        return all(row[week] >= slot.hours_per_week for week in range(slot.start_week, slot.end_week + 1))

    def _leads_fit(self, q: int, capacity: list[list[int]], working: set[tuple[int, int]]) -> bool:
        option = self.problem.lead_options[q]
        if (option.staff, option.opportunity) not in working:
            return False
        window = self.problem.windows[option.opportunity]
        if window is None:
            return True
        row = capacity[option.staff]
        return all(row[week] >= self.problem.lead_hours_per_week for week in range(window[0], window[1] + 1))

    def decisions_of_deals(self, deals: set[int]) -> tuple[set[int], set[int]]:
        """The pairs and lead options a deal step frees."""
        pairs = {p for o in deals for p in self.pairs_of[o]}
        return pairs, {q for o in deals for q in self.problem.leads_by_opportunity[o]}

    def decisions_of_people(self, people: set[int]) -> tuple[set[int], set[int]]:
        """The pairs and lead options a staff step frees."""
        pairs = {p for staff in people for p in self.problem.pairs_by_staff[staff]}
        return pairs, {q for staff in people for q in self.problem.leads_by_staff[staff]}

    @staticmethod
    def read(step: _Step, solver: cp_model.CpSolver) -> Solution:
        """The step's solution on the freed deals, as problem indexes."""
        return Solution(
            assigned=tuple(step.pairs[i] for i, var in enumerate(step.variables.assign) if solver.boolean_value(var)),
            leads=tuple(step.leads[i] for i, var in enumerate(step.variables.lead) if solver.boolean_value(var)),
        )

    @staticmethod
    def merge(step: _Step, part: Solution) -> Solution:
        """The plan the step was built from, with its freed deals replaced by `part`."""
        return Solution(
            assigned=tuple(sorted((*step.kept.assigned, *part.assigned))),
            leads=tuple(sorted((*step.kept.leads, *part.leads))),
        )


class PeopleSteps:
    """Steps that free every assignment and lead option of a few people, across all deals: a deal step
    cannot move someone at their focus limit from a kept deal to a freed one, this one can. Each step is
    the whole model with every other decision fixed to the incumbent. One clone of the whole model is
    kept with all decisions fixed, and only what changed is re-fixed, so a step costs the domains it
    frees rather than a model build; CP-SAT's presolve removes the fixed part.

    Deal and relaxation-induced steps are built the same way (`build_decisions`) wherever this clone
    exists: L-2, a cluster of 250 deals (about 6,000 pairs) took 0.04 s to free and hint here against
    0.14-0.33 s to build as a model of its own (SubModels.build), and reached the same plan in its 1 s
    in 11 of 12 steps."""

    def __init__(self, model: cp_model.CpModel, problem: Problem, variables: Variables, solution: Solution) -> None:
        self.model = model.clone()
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        self.problem = problem
        self.variables = variables
        # Each variable's domain, looked up once: through the proto every time, re-fixing took 3.6 us a
        # variable (0.9 s of an L solve's level 1); through these, a fifth of that.
        self.domains = [var.domain for var in self.model.proto.variables]
        self.assigned: set[int] = set()
        self.leads: set[int] = set()
        for p in range(len(variables.assign)):
            self._set(variables.assign[p].index, 0)
        for q in range(len(variables.lead)):
            self._set(variables.lead[q].index, 0)
        self.sync(solution)

    def _set(self, index: int, value: int | None) -> None:
        domain = self.domains[index]
        domain[0] = 0 if value is None else value
        domain[1] = 1 if value is None else value

    def sync(self, solution: Solution) -> None:
        """Fix every decision to its value in `solution` (only those that differ are touched)."""
        assigned, leads = set(solution.assigned), set(solution.leads)
        for p in self.assigned ^ assigned:
            self._set(self.variables.assign[p].index, int(p in assigned))
        for q in self.leads ^ leads:
            self._set(self.variables.lead[q].index, int(q in leads))
        self.assigned, self.leads = assigned, leads

    def build(self, people: set[int], solution: Solution) -> cp_model.CpModel:
        """The whole model with only `people`'s decisions free, hinted with `solution`. Valid until the
        next build: call `release` after solving it."""
        return self.build_decisions(
            [p for staff in people for p in self.problem.pairs_by_staff[staff]],
            [q for staff in people for q in self.problem.leads_by_staff[staff]],
            solution,
        )

    def build_decisions(self, pairs: list[int], leads: list[int], solution: Solution) -> cp_model.CpModel:
        """The whole model with only these pairs and lead options free (a relaxation-induced step)."""
        self.sync(solution)
        self.freed = (pairs, leads)
        for p in self.freed[0]:
            self._set(self.variables.assign[p].index, None)
        for q in self.freed[1]:
            self._set(self.variables.lead[q].index, None)
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        add_solution_hint(self.model, self.problem, self.variables, solution)
        return self.model

    def read(self, solver: cp_model.CpSolver) -> Solution:
        """The plan the last step found: the incumbent it was built from, with the freed decisions read
        from `solver` (only those: reading every variable took longer than some steps). Call before
        `release`."""
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
        """Fix the freed decisions again, to the incumbent the step was built from."""
        for p in self.freed[0]:
            self._set(self.variables.assign[p].index, int(p in self.assigned))
        for q in self.freed[1]:
            self._set(self.variables.lead[q].index, int(q in self.leads))


# When a step is given two workers (a lever, not the default): one full search with the complete LP
# relaxation (max_lp) and, on the second, CP-SAT's own neighbourhood searches and RINS inside the step. On
# one timed-out region step it reached 45.3M in 1 s against 43.9M for one worker, but over whole runs it
# gained nothing measurable (benchmarks/lns_levers.py), so steps keep one worker and the second core
# goes to the bound search.
STEP_SUBSOLVERS: tuple[str, ...] = ("max_lp",)
# Steps solved at once, each in its own thread; a step that ends after the other thread moved the plan on
# is merged into it piece by piece (service/solver/merge.py). A lever, not the default: on this 2-core
# machine the second thread takes the bound search's core. At L (mean of six, 27 s, results/
# lns-threads-L.md) two threads beside the bound search at nice 10 gained 0.5 % of covered value but left
# a bound of 548M instead of 504M; without the bound search they gained 0.2 %, with only the trivial bound
# to report; stopping the bound search after 6 s to make room left 523M where 27 s gives 508M (L-0). At
# XL, where no bound search runs, two threads took 40 % more steps in 10 s of level 1 but ended +0.04,
# +0.37 and -0.43 % against one: no measurable gain at the time level 1 gets there.
STEP_THREADS = 1
# The whole-model bound search: lb_tree_search raises the bound fastest on this model (L-0: 519.5M at 6 s
# and 514.1M at 12 s, against 540.1M and 523.7M for the default search; both about 511M at 27 s).
BOUND_SUBSOLVER = "lb_tree_search"


# Relaxation-induced steps (lp_guide): the second core first solves the LP relaxation of level 1 (L: about
# 5-7 s into the level), then searches for the bound. A step then frees the decisions on which the LP
# optimum and the plan disagree by more than RINS_AGREEMENT, with RINS_LIMIT_FACTOR times a step's time
# limit. All of them at once can be too much for one step (L-0 from its 6 s plan: 1,453 pairs, +27M in
# 3 s, but 1 s gave +1.9M; L-2: 1,855 pairs, +0.4M in 3 s), so a step takes those of deals drawn by what
# the LP covers there beyond the plan until RINS_FIRST_PAIRS pairs, a size grown while such steps are
# proven quickly and shrunk when they time out, like the other kinds' (L-2 at 30 s, two runs each:
# 460.7 / 462.0M with all of them, 462.9 / 466.0M drawn at random, 464.4 / 465.7M drawn by value). The
# first size is 2,500 pairs since session 11: on the fixed whole model such a step is cheap to set up,
# and L-2 came within 0.71-1.63 % of its best known plan (mean 1.15, six runs) where 1,200 pairs gave
# 1.13-2.08 % (mean 1.76, seventeen runs), with L-1 unchanged (see improve's docstring). It is
# taken again RINS_EVERY_AFTER_GAIN steps after one that gained and RINS_EVERY steps after one that did
# not, and only on a plan that changed since. The LP gets at most LP_SHARE of the level's time; in
# deterministic mode the steps wait for it once they have spent LP_DETERMINISTIC_SHARE of their budget,
# so that the step it comes in does not depend on the machine.
RINS_AGREEMENT = 0.01
RINS_LIMIT_FACTOR = 3.0
RINS_EVERY = 8
RINS_EVERY_AFTER_GAIN = 2
RINS_FIRST_PAIRS = 2_500
LP_SHARE = 0.5
LP_DETERMINISTIC_SHARE = 0.25
# What the LP is expected to take, to skip it where it would not come in time: fitted to the L instances
# (about 19,000 pairs: 4.4-4.8 s alone on a core, 5.4-7.0 s after the start of level 1 beside the steps)
# and growing with the square of the pairs (M's LP takes 0.05 s); the LP runs only where this is at most
# LP_SHARE of the level's time.
LP_SECONDS_AT_L = 7.0
LP_PAIRS_AT_L = 19_000


def expected_lp_seconds(problem: Problem) -> float:
    return LP_SECONDS_AT_L * (len(problem.pairs) / LP_PAIRS_AT_L) ** 2


BoundPriority = Literal["normal", "low", "idle"]
# The bound search's scheduling: "low" (nice 10) by default. Alone on the machine every choice gives it the
# second core (the steps use one). Under load they differ: in the idle class (SCHED_IDLE) it got no cycles
# at all beside a busy test suite and the plan reported the trivial bound (gap 43 % on L-1), while at
# nice 10 it takes about a tenth of what a normal thread would and still reaches a bound.
BOUND_PRIORITY: BoundPriority = "low"
BOUND_NICENESS = 10


def _lower_priority(priority: BoundPriority) -> None:
    """Lower the calling thread: "low" by nice, "idle" to the idle scheduling class (Linux only; nice 19
    elsewhere). Where the platform refuses, the thread keeps its priority."""
    tid = threading.get_native_id()
    if priority == "normal":
        return
    if priority == "idle":
        try:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined,unused-ignore]
            return
        except (AttributeError, OSError):
            pass
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, tid, BOUND_NICENESS if priority == "low" else 19)


def _stop_on_request(
    should_stop: Callable[[], bool],
    finished: threading.Event,
    stepping: set[cp_model.CpSolver],
    lp_run: list[LpRelaxation],
    bound_solver: cp_model.CpSolver,
) -> None:
    """A cancel stops every part of the search within a poll: the step under way, the LP (its process is
    killed) and the bound search. Without it a step would run out its limit and the LP its whole solve."""
    while not finished.wait(0.02):
        if should_stop():
            # Again on every poll until the search ends: a step may start between two polls.
            for solver in stepping.copy():
                solver.stop_search()
            for run in lp_run:
                run.stop()
            bound_solver.stop_search()


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
    fixed_levels: Sequence[FixedLevel] = (),
    step_limit_s: float = 1.0,
    step_workers: int = 1,
    step_subsolvers: Sequence[str] = STEP_SUBSOLVERS,
    bound_subsolver: str | None = BOUND_SUBSOLVER,
    bound_priority: BoundPriority = BOUND_PRIORITY,
    step_linearization: int = 2,
    first_pairs: int = 2_500,
    bound_search: bool = True,
    staff_steps: bool = True,
    step_threads: int = STEP_THREADS,
    lp_guide: bool = False,
    deterministic: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_solution: Callable[[float, float], None] | None = None,
) -> LnsOutcome:
    """Improve `start` until `deadline` on `objective`. `model` must already optimize it in the same
    direction with every earlier level held by a constraint; the same levels are given as `fixed_levels`
    for the steps' models. `model` is only solved (by the bound thread) and cloned (for staff steps), not
    changed. `bound_search` and `staff_steps` are for problems whose whole model CP-SAT can presolve in a
    fraction of a second (at XL a staff step of five people took 0.2 s to hint and 0.5 s to solve).

    `lp_guide` is for level 1 (covered value) only, which is what the LP relaxation maximizes: it then
    runs where the whole-model search runs and the LP is expected in time (expected_lp_seconds), and its
    optimum also bounds the value reported.

    With `deterministic`, steps are bounded by CP-SAT's deterministic time and the search ends when
    `budget` seconds of deterministic time are spent; `trivial_bound` is reported when the whole-model
    search ends without a bound of its own (`deadline` then only guards against a runaway), so the same
    input gives the same plan whatever the machine load; only the reported bound may vary.

    Levers measured in session 3 (L, 30 s; run-to-run spread on one instance is about 4 %): the step's
    own model instead of a domain-fixed clone of the whole model lifted L from 7.3 % to 5.2 % below the
    best known plans (mean of 3) and XL-0 at 60 s from 1,552M (no step improved) to 2,019M; separate sizes per
    neighbourhood kind matter (regions need smaller sets); two step threads lost about 40 % of their
    steps to conflicts on shared people (5.8 %); a neighbourhood around unfilled slots gained a tenth of
    what the others gain per second. Step-parameter study on 20 saved step models: linearization 1,
    no presolve, probing 0, symmetry 0, fixed or hint search, repair_hint all gain less per second.

    Session 4 (L, 27 s of level 1, mean of L-0..L-2 below best known, one run each; spread between runs
    of one configuration about 0.3 points): the greedy trying every lead (start 397M instead of 341M)
    3.3 %; + staff steps in one turn of three 2.7 %, in two of four (the default) 2.5 %, in four of six
    2.55 %, only staff steps 2.8 %; first_pairs 4,000 2.5 %; step limit 1.5 s 2.4 %; without the bound
    thread 2.8 % (it still costs the steps nothing). Two step threads sharing out each person's spare
    hours lost: first come takes all 6.8 %, half each 18.6 % (a step gains mostly by filling spare
    hours); two CP-SAT workers per step 7.5 %.

    Session 7 (Intel Xeon machine, about 1 % slower at L than session 6's AMD EPYC; mean of L-0..L-5 at
    27 s, results/lns-threads-L.md): two step threads with late steps merged piece by piece took 80 steps
    instead of 45 and 57 improvements instead of 41; without the bound search +0.2 % (476.3M against
    475.2M) with only the trivial bound to report; beside the bound search at nice 10 +0.5 % (477.7M),
    but its bound 548M instead of 504M (see STEP_THREADS). Experiment runs, not kept: presolve of one
    iteration in the steps (their first solution 30 % sooner on saved step models, no gain over whole
    runs), a grow threshold of limit/2, LP, pseudo-cost or quick-restart branching in the steps.

    Session 8 (AMD EPYC again): `lp_guide` (relaxation-induced steps, see RINS_* above) took level 1 at
    27 s from 487.8 / 479.3 / 457.0M to 493.5 / 486.7 / 466.4M on L-0 .. L-2, and the mean of six
    instances from 479.0M to 486.0M, in one run of each (results/lns-relaxation-L.md). Tried first and
    dropped: a tie-break inside every step towards cheaper people (value x W - cost bucket, so that
    equal-value moves are taken), 480.2M against 481.2M, mean of twelve deterministic runs; first
    neighbourhoods of 1,200 pairs, 481.0M; CP-SAT parameters on 42 saved step models
    (exploit_best_solution, optimize_with_core, fewer or more cut rounds, no MIR/CG cuts,
    exploit_relaxation_solution, objective cut): none gained more per second than the default.

    Session 9 (AMD EPYC; full 30 s solves of L-0 .. L-2 with solver seeds 0-2, nine per configuration, mean below
    best known; this engine 1.22 %, L-2 2.03 %), experiment runs, not kept: relaxation-induced steps limited to 1 s
    1.21 % (L-2 1.99), and then taken only every 16 steps after one without gain 1.31 % (1.96); taken again soon
    only when their gain per second beat the other kinds' moving average 1.40 % (2.42: at 15 s L-2 was at 453.5M
    against 458.4M, so their slow steps pay later, through the steps after them), and otherwise every 16 steps 1.54
    % (2.52); taken back to back while they gain 1.45 % (2.03), and every 4 steps otherwise 1.49 % (2.22); a deal's
    weight halved (or cut to a fifth) each time such a step took it 1.32 % (2.04) / 1.27 % (1.58); clusters grown
    from a deal drawn by what the LP covers there beyond the plan 1.46 % (2.01), or deal sets drawn that way instead
    of clusters 1.35 % (2.15); the second core running a second step thread after the LP instead of the bound search
    1.34 % (1.79), with only the LP's bound to report. A gap limit in the steps of about half a median slot's value
    (absolute_gap_limit 5e6 scaled, so that a step stops once it can gain little more) 1.22 % (1.93). Without the
    bound search after the LP the steps were as many (L-1 47 against 45, L-2 36 against 40): it takes nothing from
    them. L-2 over all 39 such runs: 1.34-2.77 %, mean 2.05 %.

    Session 10, the same nine solves (this engine, with deal steps on the fixed whole model: 1.35 %, L-2
    1.93 %), not kept: neighbourhoods grown while proven within 0.6 s of their 1 s instead of 0.25 s
    1.49 %; two step threads beside the bound search 1.22 % (L-2 1.61), with only a fifth more steps;
    chain neighbourhoods (from an open slot's deal, through the people who could work there, to the deals
    they work on in the plan, which they may have to leave), twice the gain per second of clusters on 48
    steps from one 30 s plan of L-2, but 1.33 % over fifteen solves as one kind in six (L-2 2.10) and
    1.38 % as two in six. What does matter is when the LP comes, on L-2: its optimum handed in at the start
    of the level (cached from an earlier solve: a measurement, not an option) 1.07 % (L-2 1.23 / 1.33 /
    1.47 %), handed in after 5.5 s, about when it comes now, 1.22 % (L-2 2.33 / 2.05 / 1.36 %). It cannot
    come much sooner with the solvers OR-Tools bundles: a rougher guide is worse (PDLP at 1e-2, 2.5 s:
    1.73 %; the LP without the focus rows, 3.6 s instead of 4.9 s: 1.73 %, L-2 3.13 %), HiGHS's primal
    simplex takes 14 s, GLOP fails, and interior point without crossover returns no solution here.

    Session 11 (same machine; L-2 alone, whole 30 s solves with solver seeds 0-5 or more): this engine with
    relaxation-induced steps starting at 1,200 pairs 1.76 % (seventeen runs, 1.13-2.08 %). Starting at 2,500 pairs
    1.15 % (0.71-1.63 %), L-1 unchanged (1.07 % against 1.01 %, four and six runs): kept. Taken back to back while
    they gain 1.60 % (twelve runs); with a first size of 1,800 1.41 % (twelve), 2,500 1.19 %, 3,500 1.31 %, but back
    to back cost L-1 0.4 points (1.35-1.45 % in three runs): slow steps that gain a little keep the others out. Also
    back to back, every 4 steps after one without gain: 1.66 %. The LP itself cannot come sooner: HiGHS's interior
    point spends its 4.8 s in 55 iterations (crossover 0.15 s; without it, or at a tolerance of 1e-4, 4.3-4.8 s),
    CLP's primal simplex takes 9 s and its dual 50 s, GLOP's primal 6.8 s on the LP read back from MPS (session 10's
    run ended abnormally), and the sparse interior point solvers Clarabel and PIQP over 120 s; of the rows, the lead
    rows (a lead works on the deal) cost half the time, but without them the bound is 544.6M instead of 503.3M."""
    started = time.perf_counter()
    rng = random.Random(seed)

    def better(candidate: int, incumbent: int) -> bool:
        return candidate > incumbent if maximize else candidate < incumbent

    bound_solver = cp_model.CpSolver()
    bound_solver.parameters.num_workers = 1
    bound_solver.parameters.linearization_level = 2
    if bound_subsolver is not None:
        bound_solver.parameters.subsolvers.append(bound_subsolver)
    if deterministic:
        # Its bound decides the reported status, so it too runs on deterministic time and is not cut short.
        bound_solver.parameters.max_deterministic_time = max(budget, 0.05)
    else:
        bound_solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 0.05)
    bound_solver.parameters.random_seed = seed
    whole: dict[str, cp_model.CpSolverStatus] = {}

    lp_guide = (
        lp_guide and bound_search and staff_steps and maximize and expected_lp_seconds(problem) <= budget * LP_SHARE
    )
    lp_run: list[LpRelaxation] = []  # the LP being solved on the second core, to stop it
    lp_result: list[Relaxation] = []  # its optimum, once proven
    lp_done = threading.Event()
    finished = threading.Event()

    def run_bound() -> None:
        # The second core: first the LP relaxation (at normal priority: it feeds the steps), then the bound.
        if lp_guide:
            try:
                lp = LpRelaxation(problem)
                lp_run.append(lp)
                if not finished.is_set():
                    left = budget * 4 + 10.0 if deterministic else (deadline - time.perf_counter()) * LP_SHARE
                    optimum = lp.solve(left)
                    if optimum is not None:
                        lp_result.append(optimum)
            finally:
                lp_done.set()
        if finished.is_set():
            return
        if not deterministic:
            _lower_priority(bound_priority)
            bound_solver.parameters.max_time_in_seconds = max(deadline - time.perf_counter(), 0.05)
        whole["status"] = bound_solver.solve(model)

    bound_thread = threading.Thread(target=run_bound, daemon=True)
    stepping: set[cp_model.CpSolver] = set()  # the step solves under way, for a cancel to stop them
    if should_stop is not None:
        threading.Thread(
            target=_stop_on_request,
            args=(should_stop, finished, stepping, lp_run, bound_solver),
            daemon=True,
            name="lns-cancel",
        ).start()
    sub_models = SubModels(problem, objective, maximize, fixed_levels, variables)
    neighbourhoods = _Neighbourhoods(problem, rng, first_pairs, staff_steps)
    steps = improvements = 0
    spent = 0.0  # deterministic time, when deterministic

    def read(solver: cp_model.CpSolver) -> Solution:
        return Solution(
            assigned=tuple(p for p, var in enumerate(variables.assign) if solver.boolean_value(var)),
            leads=tuple(q for q, var in enumerate(variables.lead) if solver.boolean_value(var)),
        )

    def score(solution: Solution) -> int:
        return sub_models.objective.value(solution.assigned, solution.leads)

    best = start
    best_value = score(start)
    threads = 1 if deterministic else step_threads  # threads interleave by wall time: not reproducible
    if bound_search:
        # The whole-model search starts from the plan we have: with a solution its status is at least
        # FEASIBLE, so the bound it proves can be reported even if it never finds a better plan.
        model.clear_hints()  # type: ignore[no-untyped-call]
        add_solution_hint(model, problem, variables, start)
        bound_thread.start()
    if on_solution is not None:
        on_solution(time.perf_counter() - started, float(best_value))

    def time_left() -> float:
        if deterministic:
            return budget - spent if time.perf_counter() < deadline + budget * 3 + 10.0 else 0.0
        return deadline - time.perf_counter()

    lock = threading.Lock()
    in_flight: dict[int, tuple[str, set[int]]] = {}  # thread -> the neighbourhood it is solving
    rins = {"step": -RINS_EVERY, "waited": not (lp_guide and deterministic), "size": RINS_FIRST_PAIRS}
    rins_base: list[Solution | None] = [None]

    def lp_solution() -> Relaxation | None:
        return lp_result[0] if lp_result else None

    def rins_decisions(lp: Relaxation, plan: Solution, size: int, seed: int) -> tuple[list[int], list[int]]:
        """The pairs and lead options on which the LP optimum and `plan` disagree; where they are more than
        `size` pairs, those of deals drawn at random, weighted by what the LP covers there beyond the plan,
        until `size` is reached."""
        chosen, leads = set(plan.assigned), set(plan.leads)
        pairs = [p for p, x in enumerate(lp.assign) if abs(x - (p in chosen)) > RINS_AGREEMENT]
        options = [q for q, x in enumerate(lp.lead) if abs(x - (q in leads)) > RINS_AGREEMENT]
        if len(pairs) <= size:
            return pairs, options
        by_deal: dict[int, list[int]] = defaultdict(list)
        for p in pairs:
            by_deal[sub_models.owner[p]].append(p)
        # Deals in a random order weighted by what the LP covers there beyond the plan (Efraimidis and
        # Spirakis: the largest log(u) / weight first), so that a partial step goes where the LP sees value.
        chooser = random.Random(seed)
        value = sub_models.objective.pair
        key: dict[int, float] = {}
        for deal in sorted(by_deal):
            gain = sum(value.get(p, 0) * (lp.assign[p] - (p in chosen)) for p in by_deal[deal])
            key[deal] = math.log(1.0 - chooser.random()) / (max(gain, 0.0) + 1.0)
        deals = sorted(key, key=lambda deal: -key[deal])
        taken: set[int] = set()
        count = 0
        for deal in deals:
            if count >= size:
                break
            taken.add(deal)
            count += len(by_deal[deal])
        return (
            [p for p in pairs if sub_models.owner[p] in taken],
            [q for q in options if problem.lead_options[q].opportunity in taken],
        )

    merges = {"kept": 0, "left_out": 0}

    def choose(thread: int) -> tuple[str, set[int]]:
        """The next neighbourhood, not overlapping one of the same kind that the other thread is solving
        (a few tries, then whatever comes: overlaps only make merges leave more out). Under the lock."""
        kind, free = neighbourhoods.next()
        for _ in range(5):
            if not any(k == kind and free & f for t, (k, f) in in_flight.items() if t != thread):
                break
            kind, free = neighbourhoods.next()
        in_flight[thread] = (kind, free)
        return kind, free

    def work(thread: int) -> None:
        nonlocal best, best_value, steps, improvements, spent
        people_steps = PeopleSteps(model, problem, variables, start) if staff_steps else None
        while True:
            if not rins["waited"] and spent >= budget * LP_DETERMINISTIC_SHARE:
                lp_done.wait()  # deterministic mode: the LP comes in at the same step whatever the load
                rins["waited"] = True
            with lock:
                if time_left() <= 0.05 or (should_stop and should_stop()):
                    return
                if whole.get("status") == cp_model.OPTIMAL and not deterministic:
                    return
                steps += 1
                lp = lp_solution() if rins["waited"] else None
                every = RINS_EVERY_AFTER_GAIN if rins.get("gained") else RINS_EVERY
                if lp is not None and steps >= rins["step"] + every and best is not rins_base[0]:
                    kind, free = "rins", set[int]()
                    in_flight[thread] = (kind, free)
                    rins["step"] = steps
                    rins["taken"] = rins.get("taken", 0) + 1
                    rins_base[0] = best
                else:
                    kind, free = choose(thread)
                base, base_value = best, best_value
                step_seed = rng.randrange(2**31)
            # Building and solving run outside the lock: CP-SAT releases the GIL while it solves, so the
            # other thread builds or solves its own step meanwhile.
            freed: tuple[list[int], list[int]] | None = None
            if kind == "rins":
                assert people_steps is not None
                assert lp is not None
                freed = rins_decisions(lp, base, rins["size"], step_seed)
                step_model = people_steps.build_decisions(*freed, base)
                incumbent = base_value
            elif kind == "staff":
                assert people_steps is not None
                step_model = people_steps.build(free, base)
                incumbent = base_value
            elif people_steps is not None:
                # A deal step on the fixed whole model where there is one (see PeopleSteps): the same
                # step as a model of the freed deals alone, built in a fifth of the time.
                deal_pairs, deal_leads = sub_models.decisions_of_deals(free)
                step_model = people_steps.build_decisions(sorted(deal_pairs), sorted(deal_leads), base)
                incumbent = base_value
            else:
                step = sub_models.build(free, base)
                step_model, incumbent = step.model, step.incumbent
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = step_workers
            if step_workers > 1:
                solver.parameters.subsolvers.extend(step_subsolvers)
            solver.parameters.linearization_level = step_linearization
            solver.parameters.random_seed = step_seed
            limit = max(min(step_limit_s * (RINS_LIMIT_FACTOR if kind == "rins" else 1.0), time_left()), 0.05)
            if deterministic:
                solver.parameters.max_deterministic_time = limit
            else:
                solver.parameters.max_time_in_seconds = limit
            step_started = time.perf_counter()
            with lock:
                stepping.add(solver)
            status = solver.solve(step_model)
            with lock:
                stepping.discard(solver)
            elapsed = solver.deterministic_time if deterministic else time.perf_counter() - step_started
            improved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and better(
                round(solver.objective_value), incumbent
            )
            result: Solution | None = None
            if people_steps is not None:
                if improved:
                    result = people_steps.read(solver)
                people_steps.release()
            elif improved:
                result = SubModels.merge(step, SubModels.read(step, solver))
            with lock:
                spent += solver.deterministic_time
                del in_flight[thread]
                if kind != "rins":
                    neighbourhoods.feedback(
                        kind,
                        solved_fast=status == cp_model.OPTIMAL and elapsed < step_limit_s / 4,
                        timed_out=status != cp_model.OPTIMAL,
                    )
                if kind == "rins":
                    rins["gained"] = result is not None
                    # Its own size, like the other kinds: grown while proven quickly, shrunk on time-outs.
                    if status == cp_model.OPTIMAL and elapsed < limit / 4:
                        rins["size"] = int(rins["size"] * 1.25) + 1
                    elif status != cp_model.OPTIMAL:
                        rins["size"] = max(100, int(rins["size"] * 0.8))
                if result is None:
                    continue
                if best is not base:
                    # The other thread improved the plan meanwhile: keep what of this step still fits.
                    if freed is not None:
                        decisions = (set(freed[0]), set(freed[1]))
                    elif kind == "staff":
                        decisions = sub_models.decisions_of_people(free)
                    else:
                        decisions = sub_models.decisions_of_deals(free)
                    merged = merge(problem, best, *decisions, result, sub_models.objective, maximize, sub_models.floors)
                    merges["kept"] += merged.kept
                    merges["left_out"] += merged.left_out
                    result = merged.plan
                value = score(result)
                if not better(value, best_value):
                    continue
                best, best_value = result, value
                improvements += 1
                if on_solution is not None:
                    on_solution(time.perf_counter() - started, float(best_value))

    if threads == 1:
        work(0)
    else:
        workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    finished.set()
    for run in lp_run:
        run.stop()
    if not deterministic:
        bound_solver.stop_search()
    if bound_search:
        bound_thread.join()
    whole_status = whole.get("status")
    # CP-SAT reports a bound only with a status of OPTIMAL or FEASIBLE; after UNKNOWN the number it returns
    # (0.0) means nothing, and taking it would declare an unproven plan optimal.
    has_bound = whole_status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    if not deterministic and has_bound and better(round(bound_solver.objective_value), best_value):
        best = read(bound_solver)
        best_value = score(best)
    if has_bound:
        whole_bound = round(bound_solver.best_objective_bound)
        bound = max(whole_bound, best_value) if maximize else min(whole_bound, best_value)
    else:
        bound = trivial_bound
    lp = lp_solution()
    if lp is not None:
        # The LP optimum bounds covered value too; the whole-model search usually proves a tighter bound,
        # but when it had little time (or none), the LP's is the better one.
        bound = max(min(bound, lp.bound), best_value)
    proven = has_bound and bound == best_value
    return LnsOutcome(
        best,
        best_value,
        bound,
        proven,
        steps,
        improvements,
        merges["kept"],
        merges["left_out"],
        rins.get("taken", 0),
        None if lp is None else lp.bound,
    )
