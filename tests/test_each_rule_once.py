"""Each rule once: everything that decides eligibility (H1, H2, H9, the lead part of H5) or partial-plan
feasibility (H3-H8) agrees with the one place that decides it, on seeded instances.

- service/eligibility.py against the contract's words (written out here as the oracle), and every reader
  of it against it: the pin and fixed-lead 422 messages, the compile's qualified lists and lead candidates,
  the recommendations' not-qualified breakdown.
- service/solver/ledger.py against the CP-SAT model on random plans near a valid one: the model accepts a
  plan exactly when the ledger finds no broken rule, and a pair added to a valid plan fits by the ledger's
  rule methods exactly when the model accepts the larger plan.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from benchmarks.generator import generate
from service.contract import AllocationRequest, Demand, Opportunity, Pin, Policy, Staff, request_rules
from service.eligibility import fixed_lead_refusal, is_qualified, may_lead, serve_refusal, serve_refusals
from service.recommendations import _not_qualified
from service.solver.greedy import Solution, warm_start
from service.solver.ledger import Ledger
from service.solver.model import build_model
from service.solver.problem import Problem, compile_problem

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ["S-0", "S-1", "S-3", "M-0", "scenarios/new-market.json"]


@cache
def instance(name: str) -> AllocationRequest:
    if name.endswith(".json"):
        return AllocationRequest.model_validate(json.loads((ROOT / name).read_text()))
    size, seed = name.split("-")
    return AllocationRequest.model_validate(generate(size, int(seed)))  # type: ignore[arg-type]


def contract_says(person: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> list[str]:
    """CONTRACT.md's H1, H2 and H9, read literally: the ids of the rules the pair breaks."""
    broken = []
    if person.skills.get(demand.skill, 0) < demand.min_level:
        broken.append("H1")
    kind = person.unit.kind
    if (
        kind not in policy.tiers[opportunity.grade]
        or (kind == "local_office" and person.unit.region != opportunity.region)
        or (kind == "hotline" and not demand.remote_ok)
    ):
        broken.append("H2")
    if person.id in opportunity.excluded_staff:
        broken.append("H9")
    return broken


@pytest.mark.parametrize("name", INSTANCES)
def test_eligibility_is_decided_once(name: str) -> None:
    request = instance(name)
    policy = request.policy
    problem = compile_problem(request)
    slot = 0
    for opportunity in request.opportunities:
        # Every person pinned to every demand: the 422 messages of each pin, in one pass of the rules.
        pins = [Pin(demand_id=d.id, staff_id=s.id) for d in opportunity.demands for s in request.staff]
        pinned = opportunity.model_copy(update={"pinned": pins, "lead_staff_id": None})
        everyone = request.model_copy(update={"opportunities": [pinned]})
        messages: dict[int, list[str]] = {}
        for broken in request_rules(everyone, None):
            assert broken.kind == "pin_conflict", broken
            assert broken.loc[:3] == ("opportunities", 0, "pinned"), broken
            assert isinstance(broken.loc[3], int)
            messages.setdefault(broken.loc[3], []).append(broken.message)
        j = 0
        for demand in opportunity.demands:
            qualified = set()
            first_broken: Counter[str] = Counter()
            for person in request.staff:
                oracle = contract_says(person, opportunity, demand, policy)
                refusals = serve_refusals(person, opportunity, demand, policy)
                assert [r.rule for r in refusals] == oracle
                assert is_qualified(person, opportunity, demand, policy) == (not oracle)
                assert serve_refusal(person, opportunity, demand, policy) == (refusals[0] if refusals else None)
                assert messages.get(j, []) == [str(r) for r in refusals]
                if oracle:
                    first_broken[oracle[0]] += 1
                else:
                    qualified.add(person.id)
                j += 1
            assert {problem.staff_ids[c.staff] for c in problem.qualified[slot]} == qualified
            breakdown = _not_qualified(request, opportunity, demand)
            assert (breakdown.skill, breakdown.unit, breakdown.excluded) == (
                first_broken["H1"],
                first_broken["H2"],
                first_broken["H9"],
            )
            slot += 1


@pytest.mark.parametrize("name", INSTANCES)
def test_lead_eligibility_is_decided_once(name: str) -> None:
    request = instance(name)
    policy = request.policy
    problem = compile_problem(request)
    for o, opportunity in enumerate(request.opportunities):
        if opportunity.lead_staff_id is not None:
            continue  # the compile keeps only the fixed lead
        may = {
            person.id
            for person in request.staff
            if person.can_lead
            and person.unit.kind in policy.lead_units[opportunity.grade]
            and any(not contract_says(person, opportunity, d, policy) for d in opportunity.demands)
        }
        assert {problem.staff_ids[s] for s, _ in problem.lead_candidates[o]} == may
        for person in request.staff:
            refusal = fixed_lead_refusal(person, opportunity, policy)
            assert (refusal is None) == (person.id in may)
            assert may_lead(person, opportunity, policy) == (
                person.can_lead and person.unit.kind in policy.lead_units[opportunity.grade]
            )
            # The request's validation words the same refusal for a lead_staff_id naming this person.
            fixed = request.model_copy(
                update={"opportunities": [opportunity.model_copy(update={"lead_staff_id": person.id, "pinned": []})]}
            )
            words = [b.message for b in request_rules(fixed, None) if b.kind == "lead_conflict"]
            assert words == ([] if refusal is None else [str(refusal)])


# --------------------------------------------------------------------------- the ledger and the model


def model_accepts(problem: Problem, model: cp_model.CpModel, variables: object, plan: Solution) -> bool:
    fixed = model.clone()
    chosen, leads = set(plan.assigned), set(plan.leads)
    for p, var in enumerate(variables.assign):  # type: ignore[attr-defined]
        fixed.add(var == int(p in chosen))
    for q, var in enumerate(variables.lead):  # type: ignore[attr-defined]
        fixed.add(var == int(q in leads))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(fixed)
    assert status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE)
    return status != cp_model.INFEASIBLE


def nearby(rng: random.Random, problem: Problem, plan: Solution) -> Solution:
    """A plan a few random changes away: pairs and leads dropped and added."""
    assigned, leads = set(plan.assigned), set(plan.leads)
    for _ in range(rng.randint(1, 4)):
        move = rng.random()
        if move < 0.3 and assigned:
            assigned.discard(rng.choice(sorted(assigned)))
        elif move < 0.8:
            assigned.add(rng.randrange(len(problem.pairs)))
        elif move < 0.9 and leads:
            leads.discard(rng.choice(sorted(leads)))
        elif problem.lead_options:
            leads.add(rng.randrange(len(problem.lead_options)))
    return Solution(tuple(sorted(assigned)), tuple(sorted(leads)))


@pytest.mark.parametrize("name", ["S-0", "S-1", "S-2", "S-4", "scenarios/new-market.json"])
def test_ledger_agrees_with_the_model(name: str) -> None:
    problem = compile_problem(instance(name))
    model, variables = build_model(problem)
    start = warm_start(problem)
    assert start is not None
    assert Ledger.of(problem, start.assigned, start.leads).broken_rules() == []
    assert model_accepts(problem, model, variables, start)
    rng = random.Random(name)
    verdicts = Counter()
    for _ in range(40):
        plan = nearby(rng, problem, start)
        broken = Ledger.of(problem, plan.assigned, plan.leads).broken_rules()
        accepted = model_accepts(problem, model, variables, plan)
        assert accepted == (not broken), (plan, broken)
        verdicts[accepted] += 1
    # Both answers were put to the test.
    assert verdicts[True], verdicts
    assert verdicts[False], verdicts

    # One pair more on a deal the valid plan staffs (its lead stays): the ledger's rule methods decide.
    ledger = Ledger.of(problem, start.assigned, start.leads)
    staffed = {problem.lead_options[q].opportunity for q in start.leads}
    chosen = set(start.assigned)
    extra = [
        p
        for p in range(len(problem.pairs))
        if p not in chosen and problem.slots[problem.pairs[p].slot].opportunity in staffed
    ]
    fits = Counter()
    for p in rng.sample(extra, min(40, len(extra))):
        pair = problem.pairs[p]
        opportunity = problem.slots[pair.slot].opportunity
        allowed = (
            ledger.slot_has_room(pair.staff, pair.slot)
            and ledger.slot_has_hours(pair.staff, pair.slot)
            and ledger.budget_allows(opportunity, pair.cost)
            and ledger.focus_allows(pair.staff, opportunity)
        )
        larger = Solution(tuple(sorted((*start.assigned, p))), start.leads)
        assert model_accepts(problem, model, variables, larger) == allowed, p
        fits[allowed] += 1
    assert fits[False], fits


@pytest.mark.parametrize("name", INSTANCES)
def test_the_compile_drops_exactly_what_an_empty_ledger_refuses(name: str) -> None:
    """A qualified pair or lead the compile keeps is one the ledger of the empty plan lets in (H3, H6, H7),
    and one it drops is one that ledger refuses, pins and fixed leads apart (they must surface instead)."""
    problem = compile_problem(instance(name))
    empty = Ledger(problem)
    kept = {(pair.staff, pair.slot) for pair in problem.pairs}
    pinned = {(problem.pairs[p].staff, problem.pairs[p].slot) for p in problem.pinned_pairs}
    verdicts = Counter()
    for slot, candidates in enumerate(problem.qualified):
        opportunity = problem.slots[slot].opportunity
        for candidate in candidates:
            alone = (
                empty.slot_has_hours(candidate.staff, slot)
                and empty.focus_allows(candidate.staff, opportunity)
                and empty.budget_allows(opportunity, candidate.cost)
            )
            assert candidate.has_hours == (
                empty.slot_has_hours(candidate.staff, slot) and empty.focus_allows(candidate.staff, opportunity)
            )
            if (candidate.staff, slot) not in pinned:
                assert ((candidate.staff, slot) in kept) == alone, (candidate, slot)
            verdicts[alone] += 1
    assert verdicts[True], verdicts
    for option in problem.lead_options:
        if problem.fixed_leads.get(option.opportunity) != option.staff:
            assert empty.lead_has_hours(option.staff, option.opportunity)
            assert empty.budget_allows(option.opportunity, option.cost)
