"""One test per hard rule (CONTRACT.md H1-H9) on tiny hand-built requests: once kept, once broken."""

from __future__ import annotations

from typing import Any

import pytest

from service.contract import InvalidRequest, Plan, parse_request
from service.planning import make_plan
from tests.requests import demand, opportunity, person, request


def solve(body: dict[str, Any]) -> Plan:
    plan = make_plan(parse_request(body))
    assert plan.status == "optimal", plan.status
    return plan


def staffed(plan: Plan) -> set[tuple[str, str, str]]:
    return {(a.opportunity_id, a.demand_id, a.staff_id) for a in plan.assignments}


def reasons(plan: Plan) -> dict[tuple[str, str], str]:
    return {(u.opportunity_id, u.demand_id): u.reason for u in plan.unfilled}


# H1 skill ---------------------------------------------------------------------------------------------


def test_h1_skill_level_met_is_staffed() -> None:
    plan = solve(request([person("s1", skills={"erp": 4})], [opportunity(demands=[demand(level=4)])]))
    assert staffed(plan) == {("o1", "d1", "s1")}


def test_h1_skill_level_below_minimum_is_never_assigned() -> None:
    plan = solve(request([person("s1", skills={"erp": 3})], [opportunity(demands=[demand(level=4)])]))
    assert plan.assignments == []
    assert reasons(plan) == {("o1", "d1"): "no_qualified_staff"}


# H2 tier, region, remote ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "region", "grade", "remote_ok", "allowed"),
    [
        ("delivery_center", "west", "A", False, True),  # delivery center serves any region
        ("delivery_center", "east", "C", False, False),  # C deals are local office or hotline
        ("local_office", "east", "C", False, True),
        ("local_office", "west", "C", False, False),  # a local office serves its own region only
        ("hotline", "east", "C", True, True),
        ("hotline", "east", "C", False, False),  # the hotline serves remote_ok demands only
    ],
)
def test_h2_tier_region_and_remote(kind: str, region: str, grade: str, remote_ok: bool, allowed: bool) -> None:
    member = person("s1", kind=kind, region=region, can_lead=False)
    lead_unit = "delivery_center" if grade in "AB" else "local_office"
    lead = person("lead", kind=lead_unit, region="east", skills={"crm": 4})
    body = request(
        [member, lead],
        [opportunity(grade=grade, demands=[demand("lead-work", skill="crm"), demand(remote_ok=remote_ok)])],
    )
    plan = solve(body)
    assert (("o1", "d1", "s1") in staffed(plan)) is allowed
    if not allowed:
        assert reasons(plan)[("o1", "d1")] == "no_qualified_staff"


# H3 capacity, lead hours included ------------------------------------------------------------------------


def test_h3_capacity_keeps_the_more_valuable_demand() -> None:
    body = request(
        [person("s1", capacity=40)],
        [
            opportunity("big", value=2_000_000, demands=[demand(hours=30)]),
            opportunity("small", value=1_000_000, demands=[demand(hours=30)]),
        ],
    )
    plan = solve(body)
    assert staffed(plan) == {("big", "d1", "s1")}
    assert reasons(plan) == {("small", "d1"): "outranked"}
    assert max(plan.staff[0].hours_by_week) <= 40


def test_h3_capacity_counts_lead_hours() -> None:
    fits = solve(request([person("s1", capacity=12)], [opportunity(demands=[demand(hours=10)])]))
    assert staffed(fits) == {("o1", "d1", "s1")}
    assert fits.staff[0].hours_by_week == [12, 12]
    too_tight = solve(request([person("s1", capacity=11)], [opportunity(demands=[demand(hours=10)])]))
    assert too_tight.assignments == []


# H4 slots ----------------------------------------------------------------------------------------------


def test_h4_headcount_caps_distinct_people() -> None:
    people = [person(f"s{i}", rate=100 + i) for i in range(3)]
    plan = solve(request(people, [opportunity(demands=[demand(headcount=2)])]))
    assert len(plan.assignments) == 2
    assert len({a.staff_id for a in plan.assignments}) == 2
    assert plan.unfilled == []


def test_h4_fewer_people_than_headcount_reports_the_rest() -> None:
    plan = solve(request([person("s1")], [opportunity(demands=[demand(headcount=3)])]))
    assert len(plan.assignments) == 1
    assert [(u.slots, u.reason) for u in plan.unfilled] == [(2, "no_qualified_staff")]


# H5 one lead --------------------------------------------------------------------------------------------


def test_h5_exactly_one_lead_who_works_on_the_deal() -> None:
    people = [person("s1", skills={"erp": 4}), person("s2", skills={"crm": 4})]
    plan = solve(request(people, [opportunity(demands=[demand("a"), demand("b", skill="crm")])]))
    assert len(plan.leads) == 1
    assert plan.leads[0].staff_id in {a.staff_id for a in plan.assignments}


def test_h5_nobody_may_lead_means_nothing_staffed() -> None:
    plan = solve(request([person("s1", can_lead=False)], [opportunity()]))
    assert plan.assignments == []
    assert plan.leads == []
    assert reasons(plan) == {("o1", "d1"): "no_lead"}


def test_h5_lead_unit_kind_follows_policy() -> None:
    body = request([person("s1", kind="local_office")], [opportunity(grade="A")])
    assert solve(body).assignments == []  # A deals are led by the delivery center
    body["policy"] = {"lead_units": {"A": ["local_office"]}}
    assert staffed(solve(body)) == {("o1", "d1", "s1")}


def test_h5_lead_staff_id_is_honoured_even_when_dearer() -> None:
    people = [person("cheap", rate=50), person("dear", rate=150, skills={"erp": 4, "crm": 4})]
    opp = opportunity(demands=[demand("a"), demand("b", skill="crm")], lead_staff_id="dear")
    plan = solve(request(people, [opp]))
    assert [lead.staff_id for lead in plan.leads] == ["dear"]


def test_h5_lead_staff_id_that_cannot_lead_is_rejected() -> None:
    body = request([person("s1", can_lead=False)], [opportunity(lead_staff_id="s1")])
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body)
    assert [e.path for e in caught.value.errors] == ["opportunities[0].lead_staff_id"]


# H6 budget ---------------------------------------------------------------------------------------------


def test_h6_budget_exactly_met_is_staffed_and_one_cent_less_is_not() -> None:
    # member 10 h x 2 weeks x 100 = 2000, lead 2 h x 2 weeks x 100 = 400
    exact = solve(request([person("s1")], [opportunity(budget=2400)]))
    assert exact.objective.total_cost == 2400
    short = solve(request([person("s1")], [opportunity(budget=2399.99)]))
    assert short.assignments == []
    assert reasons(short) == {("o1", "d1"): "over_budget"}


def test_h6_travel_surcharge_counts_against_the_budget() -> None:
    far = person("s1", region="west")  # 2000 x 1.25 = 2500 plus lead 400
    assert solve(request([far], [opportunity(budget=2900)])).objective.total_cost == 2900
    assert solve(request([far], [opportunity(budget=2899)])).assignments == []
    remote = opportunity(budget=2400, demands=[demand(remote_ok=True)])
    assert solve(request([far], [remote])).objective.total_cost == 2400


# H7 focus ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "expected"), [(1, 1), (2, 2), (None, 2), (0, 0)])
def test_h7_max_opportunities(limit: int | None, expected: int) -> None:
    body = request([person("s1", max_opportunities=limit)], [opportunity("o1"), opportunity("o2", value=900_000)])
    plan = solve(body)
    assert len({a.opportunity_id for a in plan.assignments}) == expected


# H8 pins -----------------------------------------------------------------------------------------------


def test_h8_pin_holds_even_when_a_cheaper_person_exists() -> None:
    people = [person("cheap", rate=50), person("pinned", rate=150)]
    unpinned = solve(request(people, [opportunity()]))
    assert staffed(unpinned) == {("o1", "d1", "cheap")}
    pinned = solve(request(people, [opportunity(pinned=[{"demand_id": "d1", "staff_id": "pinned"}])]))
    assert staffed(pinned) == {("o1", "d1", "pinned")}


def test_h8_pins_that_cannot_hold_together_are_infeasible_and_named() -> None:
    people = [person("s1", capacity=30), person("s2")]
    opportunities = [
        opportunity("o1", demands=[demand(hours=20)], pinned=[{"demand_id": "d1", "staff_id": "s1"}]),
        opportunity("o2", demands=[demand(hours=20)], pinned=[{"demand_id": "d1", "staff_id": "s1"}]),
    ]
    plan = make_plan(parse_request(request(people, opportunities)))
    assert plan.status == "infeasible"
    assert plan.explanation is not None
    named = {(c.opportunity_id, c.staff_id) for c in plan.explanation.conflicting}
    assert named == {("o1", "s1"), ("o2", "s1")}
    assert plan.assignments == []


def test_h8_pin_breaking_a_rule_on_its_own_is_rejected() -> None:
    body = request([person("s1", skills={"erp": 2})], [opportunity(pinned=[{"demand_id": "d1", "staff_id": "s1"}])])
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body)
    assert [e.path for e in caught.value.errors] == ["opportunities[0].pinned[0]"]
    assert "H1" in caught.value.errors[0].message


# H9 exclusions -----------------------------------------------------------------------------------------


def test_h9_excluded_person_never_works_on_the_deal() -> None:
    people = [person("cheap", rate=50), person("other", rate=150)]
    assert staffed(solve(request(people, [opportunity()]))) == {("o1", "d1", "cheap")}
    plan = solve(request(people, [opportunity(excluded_staff=["cheap"])]))
    assert staffed(plan) == {("o1", "d1", "other")}


# Objective order -----------------------------------------------------------------------------------------


def test_covered_value_comes_before_any_cost() -> None:
    # Staffing the second demand costs far more than it is worth in money, but value is level 1.
    people = [person("s1", rate=10), person("s2", rate=5000, skills={"crm": 4})]
    body = request(people, [opportunity(budget=1e9, demands=[demand("a"), demand("b", skill="crm")])])
    plan = solve(body)
    assert len(plan.assignments) == 2


def test_changes_come_before_cost() -> None:
    people = [person("cheap", rate=50), person("kept", rate=150)]
    previous = [{"opportunity_id": "o1", "demand_id": "d1", "staff_id": "kept"}]
    plan = solve(request(people, [opportunity()], previous_plan=previous))
    assert staffed(plan) == {("o1", "d1", "kept")}
    assert plan.objective.changes == 0


def test_cost_breaks_ties_of_value() -> None:
    people = [person("dear", rate=150), person("cheap", rate=50)]
    plan = solve(request(people, [opportunity()]))
    assert staffed(plan) == {("o1", "d1", "cheap")}
    assert plan.objective.total_cost == 50 * 20 + 50 * 4
