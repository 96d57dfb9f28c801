"""options.warm_start: a hint and the tie-break among equally good plans; it changes no objective level."""

from __future__ import annotations

from typing import Any

from service.contract import parse_request
from service.planning import make_plan
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
