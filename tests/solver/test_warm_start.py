"""options.warm_start: a hint and the tie-break among equally good plans; it changes no objective level."""

from __future__ import annotations

from typing import Any

from ortools.sat.python import cp_model

from service.contract import parse_request
from service.planning import make_plan
from service.solver.greedy import Solution, evaluate
from service.solver.model import build_model, cost_terms, covered_value_terms
from service.solver.problem import compile_problem
from service.solver.tie_break import closest_to_warm_start, disagreement
from tests.requests import demand, opportunity, person, request


def twins() -> dict[str, Any]:
    """Two people equal in every way: either fills the one slot at the same value and cost."""
    return request([person("s1"), person("s2")], [opportunity(demands=[demand()])])


def with_warm_start(body: dict[str, Any], staff_id: str) -> dict[str, Any]:
    body["options"] = {
        "deterministic": True,
        "warm_start": {
            "assignments": [{"opportunity_id": "o1", "demand_id": "d1", "staff_id": staff_id}],
            "leads": [{"opportunity_id": "o1", "staff_id": staff_id}],
        },
    }
    return body


def test_among_equal_plans_the_warm_start_is_kept() -> None:
    plain = make_plan(parse_request(twins()))
    chosen = plain.assignments[0].staff_id
    other = "s2" if chosen == "s1" else "s1"
    warm = make_plan(parse_request(with_warm_start(twins(), other)))
    assert [(a.staff_id) for a in warm.assignments] == [other]
    assert [lead.staff_id for lead in warm.leads] == [other]
    assert warm.status == plain.status == "optimal"
    assert warm.objective.covered_value == plain.objective.covered_value
    assert warm.objective.total_cost == plain.objective.total_cost
    assert [level["name"] for level in warm.solver.levels][-1] == "kept_warm_start"


def test_a_warm_start_never_buys_a_worse_plan() -> None:
    # s2 is dearer: keeping the warm start would cost more, so the cheaper s1 is chosen anyway.
    body = request([person("s1", rate=80), person("s2", rate=120)], [opportunity(demands=[demand()])])
    plan = make_plan(parse_request(with_warm_start(body, "s2")))
    assert [a.staff_id for a in plan.assignments] == ["s1"]
    assert (
        plan.objective.total_cost
        == make_plan(
            parse_request(request([person("s1", rate=80), person("s2", rate=120)], [opportunity(demands=[demand()])]))
        ).objective.total_cost
    )


def test_warm_start_entries_that_do_not_fit_the_request_are_ignored() -> None:
    body = with_warm_start(twins(), "s9")  # nobody called s9: a plan of another request
    body["options"]["warm_start"]["assignments"].append({"opportunity_id": "o7", "demand_id": "d1", "staff_id": "s1"})
    plan = make_plan(parse_request(body))
    assert plan.status == "optimal"
    assert len(plan.assignments) == 1


def west_pair() -> dict[str, Any]:
    """Two people of different rates on two one-slot deals: either way round costs the same in total."""
    return request(
        [person("s1", rate=90), person("s2", rate=95)],
        [opportunity("o1", demands=[demand()]), opportunity("o2", demands=[demand(remote_ok=True)])],
    )


def test_an_equal_cost_swap_is_undone_among_the_people_it_concerns() -> None:
    # The situation of the fast-growth "hire two architects in east" variant, in miniature: a plan that
    # swaps two people against the warm start at the same value and cost. The first step of the tie-break
    # frees only those two and the leads of their deals, and returns the warm start's plan.
    body = west_pair()
    body["options"]["warm_start"] = {
        "assignments": [
            {"opportunity_id": "o1", "demand_id": "d1", "staff_id": "s1"},
            {"opportunity_id": "o2", "demand_id": "d1", "staff_id": "s2"},
        ],
        "leads": [{"opportunity_id": "o1", "staff_id": "s1"}, {"opportunity_id": "o2", "staff_id": "s2"}],
    }
    problem = compile_problem(parse_request(body))

    def plan(o1: str, o2: str) -> Solution:
        def pair(staff: str, deal: str) -> int:
            return next(
                p
                for p, candidate in enumerate(problem.pairs)
                if problem.staff_ids[candidate.staff] == staff
                and problem.opportunity_ids[problem.slots[candidate.slot].opportunity] == deal
            )

        def lead(staff: str, deal: str) -> int:
            return next(
                q
                for q, option in enumerate(problem.lead_options)
                if problem.staff_ids[option.staff] == staff and problem.opportunity_ids[option.opportunity] == deal
            )

        return Solution(
            tuple(sorted([pair(o1, "o1"), pair(o2, "o2")])), tuple(sorted([lead(o1, "o1"), lead(o2, "o2")]))
        )

    swapped, kept = plan("s2", "s1"), plan("s1", "s2")
    assert evaluate(problem, swapped) == evaluate(problem, kept)  # same covered value and cost
    model, variables = build_model(problem)
    value, _, cost = evaluate(problem, swapped)
    model.add(cp_model.LinearExpr.weighted_sum(*covered_value_terms(problem, variables)) >= value)
    model.add(cp_model.LinearExpr.weighted_sum(*cost_terms(problem, variables)) <= cost)
    pairs, options = disagreement(problem, swapped)
    assert {problem.staff_ids[problem.pairs[p].staff] for p in pairs} == {"s1", "s2"}
    assert {problem.opportunity_ids[problem.lead_options[q].opportunity] for q in options} == {"o1", "o2"}
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert closest_to_warm_start(problem, model, variables, swapped, solver) == kept
    assert disagreement(problem, kept) == ([], [])
    assert closest_to_warm_start(problem, model, variables, kept, solver) == kept
