"""The neighbourhoods of the large-neighbourhood search (service/solver/lns.py): what each step frees.

Four kinds: part of a sales region's deals, a cluster of deals that share people, every decision of a few
people who compete for the same slots, and the decisions on which the LP relaxation's optimum and the plan
disagree (relaxation-induced). The first three take turns (NeighbourhoodTurns) and draw from the search's
random stream; each keeps a size of its own, grown while its steps are proven quickly and shrunk when they
time out. Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from service.solver.greedy import Solution
from service.solver.problem import Problem
from service.solver.relaxation import Relaxation

# A step's time limit: long enough to prove most steps, short enough for many (L-0 at 30 s: 471.7M with
# 1 s steps against 460.0M with 3 s).
STEP_TIME_LIMIT_S = 1.0
# The first neighbourhoods free about this many assignment variables: what one worker solves exactly in a
# fraction of a second (L: about 1/8 of the deals; XL: 1/200).
FIRST_STEP_PAIRS = 2_500
# Relaxation-induced steps: a decision is freed where the LP optimum and the plan differ by more than
# RINS_AGREEMENT; the step gets RINS_LIMIT_FACTOR times a step's time limit and first frees up to
# RINS_FIRST_PAIRS pairs (all disagreements at once can be too many: L-2's 1,855 gained 0.4M in 3 s). It
# comes again RINS_EVERY_AFTER_GAIN steps after one that gained, RINS_EVERY steps after one that did not.
RINS_AGREEMENT = 0.01
RINS_LIMIT_FACTOR = 3.0
RINS_EVERY = 8
RINS_EVERY_AFTER_GAIN = 2
RINS_FIRST_PAIRS = 2_500


@dataclass(frozen=True)
class Freed:
    """What a step frees: every decision of some deals, or single decisions (pairs and lead options)."""

    deals: frozenset[int] = frozenset()
    pairs: tuple[int, ...] = ()
    leads: tuple[int, ...] = ()


class StepSize:
    """A neighbourhood's size, grown while its steps are proven quickly and shrunk when they time out: a
    neighbourhood too large to solve exactly within a step gains little, and so does one too small."""

    def __init__(self, first: int, least: int, most: int | None = None) -> None:
        self.value = first
        self.least = least
        self.most = most

    def feedback(self, proven_quickly: bool, timed_out: bool) -> None:
        if proven_quickly:
            grown = int(self.value * 1.25) + 1
            self.value = grown if self.most is None else min(self.most, grown)
        elif timed_out:
            self.value = max(self.least, int(self.value * 0.8))


def _grow(rng: random.Random, start: int, size: int, around: Callable[[int], list[int]]) -> set[int]:
    """A random connected set of up to `size` items: from `start`, through `around` each chosen one."""
    chosen: set[int] = set()
    frontier = [start]
    while frontier and len(chosen) < size:
        item = frontier.pop(rng.randrange(len(frontier)))
        if item in chosen:
            continue
        chosen.add(item)
        frontier.extend(around(item))
    return chosen


def _staffable(problem: Problem) -> list[int]:
    return [o for o in range(len(problem.opportunity_ids)) if problem.leads_by_opportunity[o]]


def _first_deals(problem: Problem) -> int:
    return max(8, len(_staffable(problem)) * FIRST_STEP_PAIRS // max(len(problem.pairs), 1))


class DrawnNeighbourhood:
    """A neighbourhood drawn from the search's random stream, with its own size. It counts as proven
    quickly when proven within a quarter of STEP_TIME_LIMIT_S."""

    time_limit_s = STEP_TIME_LIMIT_S
    size: StepSize

    def available(self) -> bool:
        return True

    def draw(self) -> Freed:
        raise NotImplementedError

    def feedback(self, status: cp_model.CpSolverStatus, elapsed: float, limit: float, gained: bool) -> None:
        optimal = status == cp_model.OPTIMAL
        self.size.feedback(proven_quickly=optimal and elapsed < STEP_TIME_LIMIT_S / 4, timed_out=not optimal)


class RegionNeighbourhood(DrawnNeighbourhood):
    """Part of one sales region's deals, the regions in turn. A region's deals compete for the same people,
    so it keeps a size of its own, smaller than a cluster's."""

    def __init__(self, problem: Problem, rng: random.Random) -> None:
        self.rng = rng
        by_region: dict[str, list[int]] = defaultdict(list)
        for o, region in enumerate(problem.regions):
            if problem.leads_by_opportunity[o]:
                by_region[region].append(o)
        self.regions = [sorted(opps) for _, opps in sorted(by_region.items())]
        self.size = StepSize(_first_deals(problem), least=4, most=len(_staffable(problem)))
        self.turns = 0

    def available(self) -> bool:
        return bool(self.regions)

    def draw(self) -> Freed:
        self.turns += 1
        region = self.regions[self.turns % len(self.regions)]
        size = self.size.value
        return Freed(deals=frozenset(region if len(region) <= size else self.rng.sample(region, size)))


class ClusterNeighbourhood(DrawnNeighbourhood):
    """A random set of deals grown from one through the people who could work on them."""

    def __init__(self, problem: Problem, rng: random.Random) -> None:
        self.rng = rng
        self.staffable = _staffable(problem)
        self.opportunities_of_staff: list[set[int]] = [set() for _ in problem.staff_ids]
        self.staff_of_opportunity: list[set[int]] = [set() for _ in problem.opportunity_ids]
        for pair in problem.pairs:
            opportunity = problem.slots[pair.slot].opportunity
            self.opportunities_of_staff[pair.staff].add(opportunity)
            self.staff_of_opportunity[opportunity].add(pair.staff)
        self.size = StepSize(_first_deals(problem), least=4, most=len(self.staffable))

    def draw(self) -> Freed:
        def neighbours(o: int) -> list[int]:
            people = list(self.staff_of_opportunity[o])
            self.rng.shuffle(people)
            deals: list[int] = []
            for staff in people[:3]:
                theirs = sorted(self.opportunities_of_staff[staff])
                deals.extend(self.rng.sample(theirs, min(3, len(theirs))))
            return deals

        return Freed(deals=frozenset(_grow(self.rng, self.rng.choice(self.staffable), self.size.value, neighbours)))


class PeopleNeighbourhood(DrawnNeighbourhood):
    """Every decision of a few people grown from one through those who could fill the same slots. Needs the
    whole model (FixedModel): these decisions span all deals."""

    def __init__(self, problem: Problem, rng: random.Random) -> None:
        self.problem = problem
        self.rng = rng
        competitors: list[set[int]] = [set() for _ in problem.staff_ids]
        for slot_pairs in problem.pairs_by_slot:  # quadratic in the people per slot
            people = {problem.pairs[p].staff for p in slot_pairs}
            for staff in people:
                competitors[staff] |= people
        self.competitors = [sorted(c) for c in competitors]
        self.workers = [s for s, c in enumerate(self.competitors) if c]
        # About as many assignment variables as a deal step's first neighbourhood.
        first = max(4, len(problem.staff_ids) * FIRST_STEP_PAIRS // max(len(problem.pairs), 1))
        self.size = StepSize(first, least=4, most=len(self.workers))

    def available(self) -> bool:
        return bool(self.workers)

    def draw(self) -> Freed:
        def rivals(staff: int) -> list[int]:
            return self.rng.sample(self.competitors[staff], min(4, len(self.competitors[staff])))

        people = _grow(self.rng, self.rng.choice(self.workers), self.size.value, rivals)
        return Freed(
            pairs=tuple(p for staff in people for p in self.problem.pairs_by_staff[staff]),
            leads=tuple(q for staff in people for q in self.problem.leads_by_staff[staff]),
        )


class NeighbourhoodTurns:
    """Region, people, cluster and people steps in turn; region and cluster alone without the whole model.
    A kind with nothing to draw from gives its turn to a cluster."""

    def __init__(self, problem: Problem, rng: random.Random, whole_model: bool) -> None:
        region = RegionNeighbourhood(problem, rng)
        self.cluster = ClusterNeighbourhood(problem, rng)
        self.order: tuple[DrawnNeighbourhood, ...] = (region, self.cluster)
        if whole_model:
            people = PeopleNeighbourhood(problem, rng)
            self.order = (region, people, self.cluster, people)
        self.turn = 0

    def next(self) -> tuple[DrawnNeighbourhood, Freed]:
        self.turn += 1
        neighbourhood = self.order[self.turn % len(self.order)]
        if not neighbourhood.available():
            neighbourhood = self.cluster
        return neighbourhood, neighbourhood.draw()


class RelaxationNeighbourhood:
    """The decisions on which the LP relaxation's optimum and the plan disagree; where they are more than
    the size, those of deals drawn at random, weighted by what the LP covers there beyond the plan (a
    partial step goes where the LP sees value). Taken only on a plan that changed since the last one."""

    time_limit_s = STEP_TIME_LIMIT_S * RINS_LIMIT_FACTOR

    def __init__(self, problem: Problem, value_of_pair: Mapping[int, int]) -> None:
        self.problem = problem
        self.value_of_pair = value_of_pair
        self.owner = [problem.slots[pair.slot].opportunity for pair in problem.pairs]
        self.size = StepSize(RINS_FIRST_PAIRS, least=100)
        self.last_step = -RINS_EVERY
        self.last_plan: Solution | None = None
        self.gained = False
        self.taken = 0

    def due(self, step: int, plan: Solution) -> bool:
        every = RINS_EVERY_AFTER_GAIN if self.gained else RINS_EVERY
        return step >= self.last_step + every and plan is not self.last_plan

    def draw(self, lp: Relaxation, plan: Solution, step: int, seed: int) -> Freed:
        self.last_step, self.last_plan = step, plan
        self.taken += 1
        chosen, leads = set(plan.assigned), set(plan.leads)
        pairs = [p for p, x in enumerate(lp.assign) if abs(x - (p in chosen)) > RINS_AGREEMENT]
        options = [q for q, x in enumerate(lp.lead) if abs(x - (q in leads)) > RINS_AGREEMENT]
        if len(pairs) <= self.size.value:
            return Freed(pairs=tuple(pairs), leads=tuple(options))
        by_deal: dict[int, list[int]] = defaultdict(list)
        for p in pairs:
            by_deal[self.owner[p]].append(p)
        # A random order weighted by the LP's gain (Efraimidis and Spirakis: the largest log(u) / weight first).
        chooser = random.Random(seed)
        value = self.value_of_pair
        key: dict[int, float] = {}
        for deal in sorted(by_deal):
            gain = sum(value.get(p, 0) * (lp.assign[p] - (p in chosen)) for p in by_deal[deal])
            key[deal] = math.log(1.0 - chooser.random()) / (max(gain, 0.0) + 1.0)
        taken: set[int] = set()
        count = 0
        for deal in sorted(key, key=lambda deal: -key[deal]):
            if count >= self.size.value:
                break
            taken.add(deal)
            count += len(by_deal[deal])
        return Freed(
            pairs=tuple(p for p in pairs if self.owner[p] in taken),
            leads=tuple(q for q in options if self.problem.lead_options[q].opportunity in taken),
        )

    def feedback(self, status: cp_model.CpSolverStatus, elapsed: float, limit: float, gained: bool) -> None:
        self.gained = gained
        optimal = status == cp_model.OPTIMAL
        self.size.feedback(proven_quickly=optimal and elapsed < limit / 4, timed_out=not optimal)


Neighbourhood = DrawnNeighbourhood | RelaxationNeighbourhood
