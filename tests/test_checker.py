"""The independent checker on hand-built plans: valid plans pass, each broken rule H1-H9 is caught,
and derived fields, objective, summaries and unfilled reasons are verified. Needs no solver."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.checker import (
    Facts,
    check_plan,
    effective_policy,
    hard_rule_violations,
    reason_truths,
    recompute_objective,
    reference_plan,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "examples" / "small-request.json"


def example_request() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def rows(*triples: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"opportunity_id": o, "demand_id": d, "staff_id": s} for o, d, s in triples]


def leads(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"opportunity_id": o, "staff_id": s} for o, s in pairs]


def rule_ids(violations: list[str]) -> set[str]:
    return {v.split(":", 1)[0] for v in violations}


# --------------------------------------------------------------------------- the example request

EXAMPLE_ROWS = rows(
    ("opp-A1", "arch", "dc-01"),
    ("opp-C1", "erp", "south-01"),
    ("opp-C1", "crm-demo", "hot-01"),
)
EXAMPLE_LEADS = leads(("opp-A1", "dc-01"), ("opp-C1", "south-01"))


def example_plan() -> dict[str, Any]:
    """The optimal plan of the example, written out by hand with numbers worked from CONTRACT.md."""
    return {
        "id": "hand",
        "status": "optimal",
        "objective": {
            "covered_value": 8_172_727.27,
            "total_cost": 14_800.0,
            "changes": 0,
            "bound": 8_172_727.27,
            "gap": 0.0,
        },
        "assignments": [
            # dc-01 (east) travels to a south deal: 16h x 4 weeks x 150 x 1.25
            {
                "opportunity_id": "opp-A1",
                "demand_id": "arch",
                "staff_id": "dc-01",
                "start_week": 0,
                "end_week": 3,
                "hours": 64,
                "cost": 12_000.0,
            },
            {
                "opportunity_id": "opp-C1",
                "demand_id": "erp",
                "staff_id": "south-01",
                "start_week": 0,
                "end_week": 1,
                "hours": 16,
                "cost": 1_120.0,
            },
            {
                "opportunity_id": "opp-C1",
                "demand_id": "crm-demo",
                "staff_id": "hot-01",
                "start_week": 0,
                "end_week": 0,
                "hours": 4,
                "cost": 200.0,
            },
        ],
        "leads": [
            {"opportunity_id": "opp-A1", "staff_id": "dc-01", "hours": 8, "cost": 1_200.0},
            {"opportunity_id": "opp-C1", "staff_id": "south-01", "hours": 4, "cost": 280.0},
        ],
        "unfilled": [
            {
                "opportunity_id": "opp-A1",
                "demand_id": "test",
                "slots": 1,
                "reason": "no_capacity",
                "detail": "dc-02 has 0h in week 2",
            },
            {
                "opportunity_id": "opp-E1",
                "demand_id": "crm",
                "slots": 1,
                "reason": "no_lead",
                "detail": "no east local office member can lead",
            },
        ],
        "opportunities": [
            {
                "opportunity_id": "opp-A1",
                "grade": "A",
                "budget": 60_000.0,
                "cost": 13_200.0,
                "covered_value": 7_272_727.27,
                "coverage": 64 / 88,
            },
            {
                "opportunity_id": "opp-C1",
                "grade": "C",
                "budget": 6_000.0,
                "cost": 1_600.0,
                "covered_value": 900_000.0,
                "coverage": 1.0,
            },
            {
                "opportunity_id": "opp-E1",
                "grade": "E",
                "budget": 150.0,
                "cost": 0.0,
                "covered_value": 0.0,
                "coverage": 0.0,
            },
        ],
        "staff": [
            {
                "staff_id": "dc-01",
                "hours_by_week": [18, 18, 18, 18],
                "utilization": 0.45,
                "opportunities": ["opp-A1"],
                "credited_value": 2_000_000.0,
            },
            {
                "staff_id": "dc-02",
                "hours_by_week": [0, 0, 0, 0],
                "utilization": 0.0,
                "opportunities": [],
                "credited_value": 0.0,
            },
            {
                "staff_id": "east-01",
                "hours_by_week": [0, 0, 0, 0],
                "utilization": 0.0,
                "opportunities": [],
                "credited_value": 0.0,
            },
            {
                "staff_id": "south-01",
                "hours_by_week": [10, 10, 0, 0],
                "utilization": 20 / 128,
                "opportunities": ["opp-C1"],
                "credited_value": 300_000.0,
            },
            {
                "staff_id": "hot-01",
                "hours_by_week": [4, 0, 0, 0],
                "utilization": 0.025,
                "opportunities": ["opp-C1"],
                "credited_value": 300_000.0,
            },
        ],
        "timing": {"build_ms": 0, "solve_ms": 0, "total_ms": 0},
        "solver": {"name": "hand", "version": "0", "workers": 1, "seed": 0},
    }


def test_hand_written_example_plan_passes() -> None:
    report = check_plan(example_request(), example_plan())
    assert report.violations == []
    assert report.covered_value == pytest.approx(8_172_727.27, abs=0.01)
    assert report.total_cost == pytest.approx(14_800.0, abs=0.01)
    assert report.changes == 0


def test_reference_plan_of_example_matches_hand_written_numbers() -> None:
    request = example_request()
    plan = reference_plan(request, EXAMPLE_ROWS, EXAMPLE_LEADS)
    assert check_plan(request, plan).violations == []
    hand = example_plan()
    assert plan["objective"]["covered_value"] == pytest.approx(hand["objective"]["covered_value"], abs=0.01)
    assert [a["cost"] for a in plan["assignments"]] == pytest.approx([a["cost"] for a in hand["assignments"]])
    assert [a["cost"] for a in plan["leads"]] == pytest.approx([a["cost"] for a in hand["leads"]])
    assert {(u["demand_id"], u["reason"]) for u in plan["unfilled"]} == {("test", "no_capacity"), ("crm", "no_lead")}


def test_empty_plan_of_example_is_valid() -> None:
    request = example_request()
    plan = reference_plan(request, [], [])
    report = check_plan(request, plan)
    assert report.violations == []
    assert report.covered_value == 0
    reasons = {(u["opportunity_id"], u["demand_id"]): u["reason"] for u in plan["unfilled"]}
    # arch could be staffed alone; it is only "outranked" in the empty plan.
    assert reasons[("opp-A1", "arch")] == "outranked"


def test_example_reason_truths() -> None:
    facts = Facts(example_request())
    test = reason_truths(facts, ("opp-A1", "test"))
    assert test["no_capacity"][0]
    assert not test["no_lead"][0]
    assert not test["over_budget"][0]
    assert not test["outranked"][0]
    crm = reason_truths(facts, ("opp-E1", "crm"))
    assert crm["no_lead"][0]
    assert not crm["no_qualified_staff"][0]
    assert not crm["no_capacity"][0]


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("objective", "covered_value"), 8_172_727.27 + 100.0, "objective: covered_value"),
        (("objective", "total_cost"), 14_700.0, "objective: total_cost"),
        (("objective", "changes"), 1, "objective: changes"),
        (("objective", "bound"), 8_000_000.0, "objective: bound"),
        (("objective", "bound"), 9_000_000.0, "objective: status optimal but bound"),
        (("objective", "gap"), 0.1, "objective: status optimal but gap"),
        (("assignments", 0, "cost"), 9_600.0, "assignment: assignment opp-A1/arch/dc-01 cost"),
        (("assignments", 0, "hours"), 60, "assignment: assignment opp-A1/arch/dc-01 hours"),
        (("assignments", 1, "end_week"), 3, "assignment: assignment opp-C1/erp/south-01 weeks"),
        (("leads", 0, "cost"), 1_500.0, "lead: opp-A1/dc-01 cost"),
        (("leads", 1, "hours"), 8, "lead: opp-C1/south-01 hours"),
        (("opportunities", 0, "cost"), 12_000.0, "opportunities: opp-A1 cost"),
        (("opportunities", 1, "covered_value"), 720_000.0, "opportunities: opp-C1 covered_value"),
        (("opportunities", 2, "budget"), 0.0, "opportunities: opp-E1 budget"),
        (("staff", 0, "hours_by_week"), [16, 16, 16, 16], "staff: dc-01 hours_by_week"),
        (("staff", 3, "credited_value"), 600_000.0, "staff: south-01 credited_value"),
        (("staff", 4, "opportunities"), [], "staff: hot-01 opportunities"),
        (("unfilled", 0, "reason"), "outranked", "unfilled: unfilled opp-A1/test reason outranked"),
        (("unfilled", 1, "reason"), "no_capacity", "unfilled: unfilled opp-E1/crm reason no_capacity"),
        (("unfilled", 0, "slots"), 2, "unfilled: opp-A1/test reports 2"),
        (("status",), "done", "status:"),
    ],
)
def test_wrong_derived_field_is_caught(path: tuple[Any, ...], value: Any, fragment: str) -> None:
    plan = example_plan()
    target: Any = plan
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    violations = check_plan(example_request(), plan).violations
    assert any(v.startswith(fragment) for v in violations), violations


def test_missing_unfilled_entry_and_missing_summaries_are_caught() -> None:
    plan = example_plan()
    plan["unfilled"].pop()
    plan["opportunities"].pop()
    plan["staff"].pop(1)
    violations = check_plan(example_request(), plan).violations
    assert "unfilled: opp-E1/crm reports 0 unfilled slots, headcount 1 - assigned 0 = 1" in violations
    assert "opportunities: no summary for opp-E1" in violations
    assert "staff: no summary for dc-02" in violations


def test_changes_count_previous_assignments_absent_from_plan() -> None:
    request = example_request()
    request["previous_plan"] = rows(
        ("opp-A1", "arch", "dc-01"),  # kept
        ("opp-C1", "crm-demo", "south-01"),  # moved to hot-01: one change
        ("opp-E1", "crm", "hot-01"),  # dropped: one change
    )
    objective = recompute_objective(request, EXAMPLE_ROWS, EXAMPLE_LEADS, request["previous_plan"])
    assert objective.changes == 2
    plan = example_plan()
    assert "objective: changes 0 != recomputed 2" in check_plan(request, plan).violations
    plan["objective"]["changes"] = 2
    assert check_plan(request, plan).violations == []


# --------------------------------------------------------------------------- one rule at a time

TINY: dict[str, Any] = {
    "horizon": {"start": "2026-11-23", "weeks": 2},
    "staff": [
        {"id": "boss", "unit": {"kind": "delivery_center", "id": "dc", "region": "east"},
         "skills": {"cloud": 4}, "hourly_rate": 100.0, "capacity_hours": 40, "can_lead": True,
         "max_opportunities": 2},
        {"id": "mate", "unit": {"kind": "delivery_center", "id": "dc", "region": "east"},
         "skills": {"cloud": 3, "erp": 2}, "hourly_rate": 50.0, "capacity_hours": [20, 12]},
        {"id": "local", "unit": {"kind": "local_office", "id": "lo-south", "region": "south"},
         "skills": {"cloud": 5}, "hourly_rate": 60.0, "capacity_hours": 40, "can_lead": True},
        {"id": "desk", "unit": {"kind": "hotline", "id": "hotline", "region": "central"},
         "skills": {"cloud": 5}, "hourly_rate": 30.0, "capacity_hours": 40, "can_lead": False},
    ],
    "opportunities": [
        {"id": "o1", "grade": "A", "region": "east", "deal_value": 1_000_000, "win_probability": 0.5,
         "demands": [
             {"id": "d1", "skill": "cloud", "min_level": 3, "hours_per_week": 8, "start_week": 0,
              "end_week": 1, "headcount": 2},
             {"id": "d2", "skill": "erp", "min_level": 2, "hours_per_week": 4, "start_week": 1,
              "end_week": 1}]},
        {"id": "o2", "grade": "C", "region": "south", "deal_value": 400_000, "win_probability": 0.5,
         "presales_budget": 3_000,
         "demands": [
             {"id": "e1", "skill": "cloud", "min_level": 4, "hours_per_week": 8, "start_week": 0,
              "end_week": 0, "remote_ok": True}]},
    ],
}  # fmt: skip

TINY_ROWS = rows(("o1", "d1", "boss"), ("o1", "d1", "mate"), ("o1", "d2", "mate"), ("o2", "e1", "local"))
TINY_LEADS = leads(("o1", "boss"), ("o2", "local"))


def tiny() -> dict[str, Any]:
    return copy.deepcopy(TINY)


def hard_rules_of(violations: list[str]) -> set[str]:
    return {r for r in rule_ids(violations) if r.startswith("H")}


def test_tiny_valid_plan_passes_and_is_tight() -> None:
    request = tiny()
    plan = reference_plan(request, TINY_ROWS, TINY_LEADS)
    report = check_plan(request, plan)
    assert report.violations == []
    # o1: 16h x 100 + 16h x 50 + 4h x 50 + lead 2h x 2 weeks x 100; o2: 8h x 60 + lead 2h x 60
    assert report.total_cost == pytest.approx(1600 + 800 + 200 + 400 + 480 + 120)
    # o1 is fully covered (5 x 500k), o2 too (3 x 200k)
    assert report.covered_value == pytest.approx(5 * 500_000 + 3 * 200_000)
    # mate has exactly 12h in week 1 (8 + 4), its capacity
    mate = next(s for s in plan["staff"] if s["staff_id"] == "mate")
    assert mate["hours_by_week"] == [8, 12]


def broken(
    change_request: Any = None,
    assignments: list[dict[str, str]] | None = None,
    lead_rows: list[dict[str, str]] | None = None,
) -> set[str]:
    """The hard rules check_plan reports for the tiny plan after one change."""
    request = tiny()
    if change_request:
        change_request(request)
    plan = reference_plan(request, TINY_ROWS if assignments is None else assignments,
                          TINY_LEADS if lead_rows is None else lead_rows)  # fmt: skip
    violations = check_plan(request, plan).violations
    assert hard_rule_violations(request, plan["assignments"], plan["leads"]) == [
        v for v in violations if v.startswith(("H", "REF"))
    ]
    return hard_rules_of(violations)


def replace(old: tuple[str, str, str], new: tuple[str, str, str]) -> list[dict[str, str]]:
    return [r if (r["opportunity_id"], r["demand_id"], r["staff_id"]) != old else rows(new)[0] for r in TINY_ROWS]


def test_h1_skill() -> None:
    # boss has no erp
    assert broken(assignments=replace(("o1", "d2", "mate"), ("o1", "d2", "boss"))) == {"H1"}


def test_h1_skill_level() -> None:
    def harder(r: dict[str, Any]) -> None:
        r["opportunities"][0]["demands"][1]["min_level"] = 3

    assert broken(harder) == {"H1"}


def test_h2_tier_of_unit_kind() -> None:
    def allow_desk_skill(r: dict[str, Any]) -> None:
        r["opportunities"][0]["demands"][0]["remote_ok"] = True

    # a hotline member may not serve grade A even on a remote demand
    assert broken(allow_desk_skill, assignments=replace(("o1", "d1", "mate"), ("o1", "d1", "desk"))) == {"H2"}


def test_h2_local_office_region() -> None:
    def grade_c_east(r: dict[str, Any]) -> None:
        r["policy"] = {"tiers": {"A": ["delivery_center", "local_office"]}}

    # local is a south office, o1 is in the east
    assert broken(grade_c_east, assignments=replace(("o1", "d1", "mate"), ("o1", "d1", "local"))) == {"H2"}


def test_h2_hotline_needs_remote_ok() -> None:
    def not_remote(r: dict[str, Any]) -> None:
        r["opportunities"][1]["demands"][0]["remote_ok"] = False
        r["opportunities"][1]["demands"][0]["headcount"] = 2

    assignments = [*TINY_ROWS, *rows(("o2", "e1", "desk"))]
    assert broken(not_remote, assignments=assignments) == {"H2"}
    # and with remote_ok it is fine
    assert broken(lambda r: r["opportunities"][1]["demands"][0].update(headcount=2), assignments=assignments) == set()


def test_h3_capacity() -> None:
    def less_time(r: dict[str, Any]) -> None:
        r["staff"][1]["capacity_hours"] = [20, 11]

    assert broken(less_time) == {"H3"}


def test_h3_counts_lead_hours() -> None:
    def four_lead_hours(r: dict[str, Any]) -> None:
        r["staff"][0]["capacity_hours"] = [11, 11]
        r["policy"] = {"lead_hours_per_week": 4}

    # boss: 8h on d1 + 4 lead hours = 12 > 11 in both weeks
    assert broken(four_lead_hours) == {"H3"}
    assert broken(lambda r: r["staff"][0].update(capacity_hours=[10, 10])) == set()
    assert broken(lambda r: r["staff"][0].update(capacity_hours=[10, 9.5])) == {"H3"}


def test_h4_same_person_twice() -> None:
    assert broken(assignments=[*TINY_ROWS, *rows(("o1", "d2", "mate"))]) >= {"H4"}


def test_h4_more_people_than_headcount() -> None:
    def one_slot(r: dict[str, Any]) -> None:
        r["opportunities"][0]["demands"][0]["headcount"] = 1

    assert broken(one_slot) == {"H4"}


@pytest.mark.parametrize(
    ("lead_rows", "change"),
    [
        (leads(("o2", "local")), None),  # o1 staffed without a lead
        ([*TINY_LEADS, *leads(("o1", "mate"))], None),  # two leads
        (leads(("o1", "mate"), ("o2", "local")), None),  # can_lead false
        (leads(("o1", "boss"), ("o2", "local")), lambda r: r["staff"][0].update(can_lead=False)),
        (TINY_LEADS, lambda r: r.update(policy={"lead_units": {"C": ["delivery_center"]}})),  # unit kind
        (leads(("o1", "boss"), ("o2", "boss")), None),  # lead not assigned to o2 (H7 would follow too)
        (TINY_LEADS, lambda r: r["opportunities"][0].update(lead_staff_id="mate")),  # lead_staff_id
    ],
)
def test_h5_one_lead(lead_rows: list[dict[str, str]], change: Any) -> None:
    assert "H5" in broken(change, lead_rows=lead_rows)


def test_h5_no_lead_without_assignment() -> None:
    assignments = [r for r in TINY_ROWS if r["opportunity_id"] == "o1"]
    assert broken(assignments=assignments, lead_rows=TINY_LEADS) == {"H5"}
    assert broken(assignments=assignments, lead_rows=TINY_LEADS[:1]) == set()


def test_h5_lead_staff_id_does_not_force_staffing() -> None:
    def fixed_lead(r: dict[str, Any]) -> None:
        r["opportunities"][1]["lead_staff_id"] = "local"

    assert broken(fixed_lead, assignments=TINY_ROWS[:3], lead_rows=TINY_LEADS[:1]) == set()


def test_h6_budget() -> None:
    assert broken(lambda r: r["opportunities"][1].update(presales_budget=599.0)) == {"H6"}
    assert broken(lambda r: r["opportunities"][1].update(presales_budget=600.0)) == set()
    # within the 1e-6 relative tolerance
    assert broken(lambda r: r["opportunities"][1].update(presales_budget=600.0 * (1 - 1e-7))) == set()


def test_h6_budget_from_ratio_and_travel_surcharge() -> None:
    def south_deal(r: dict[str, Any]) -> None:
        r["opportunities"][0]["region"] = "south"
        # o1 now costs 1.25 x (1600 + 800 + 200) + 400 = 3650; EV 500k x ratio
        r["policy"] = {"budget_ratio": {"A": 3650 / 500_000}}

    assert broken(south_deal) == set()

    def tighter(r: dict[str, Any]) -> None:
        south_deal(r)
        r["policy"]["budget_ratio"]["A"] = 3649 / 500_000

    assert broken(tighter) == {"H6"}

    def no_surcharge(r: dict[str, Any]) -> None:
        tighter(r)
        r["policy"]["travel_surcharge"] = 0

    assert broken(no_surcharge) == set()


def test_h7_focus() -> None:
    def boss_helps_o2(r: dict[str, Any]) -> None:
        r["policy"] = {"tiers": {"C": ["delivery_center", "local_office"]}}
        r["opportunities"][1]["demands"][0]["headcount"] = 2

    assignments = [*TINY_ROWS, *rows(("o2", "e1", "boss"))]
    assert broken(boss_helps_o2, assignments=assignments) == set()

    def boss_focused(r: dict[str, Any]) -> None:
        boss_helps_o2(r)
        r["staff"][0]["max_opportunities"] = 1

    assert broken(boss_focused, assignments=assignments) == {"H7"}


def test_h7_zero_means_no_work() -> None:
    assert broken(lambda r: r["staff"][1].update(max_opportunities=0)) == {"H7"}
    assert broken(lambda r: r["staff"][1].update(max_opportunities=None)) == set()


def test_h8_pins() -> None:
    def pin_desk(r: dict[str, Any]) -> None:
        r["opportunities"][1]["pinned"] = [{"demand_id": "e1", "staff_id": "desk"}]

    assert broken(pin_desk) == {"H8"}
    assert broken(pin_desk, assignments=replace(("o2", "e1", "local"), ("o2", "e1", "desk"))) == {"H5"}


def test_h9_exclusions() -> None:
    assert broken(lambda r: r["opportunities"][0].update(excluded_staff=["mate"])) == {"H9"}


def test_unknown_ids_are_reported() -> None:
    violations = check_plan(tiny(), reference_plan(tiny(), TINY_ROWS, TINY_LEADS) | {
        "assignments": [*reference_plan(tiny(), TINY_ROWS, TINY_LEADS)["assignments"],
                        {"opportunity_id": "o9", "demand_id": "d1", "staff_id": "boss"}],
    }).violations  # fmt: skip
    assert "REF: assignment names unknown opportunity 'o9'" in violations


# --------------------------------------------------------------------------- policy and reasons


def test_partial_policy_keeps_other_defaults() -> None:
    policy = effective_policy({"tiers": {"A": ["delivery_center"]}, "lead_hours_per_week": 0})
    assert policy["tiers"]["A"] == ["delivery_center"]
    assert policy["tiers"]["C"] == ["local_office", "hotline"]
    assert policy["lead_units"]["B"] == ["delivery_center"]
    assert policy["lead_hours_per_week"] == 0
    assert policy["travel_surcharge"] == 0.25
    assert policy["grade_weights"]["E"] == 1


def test_reasons_on_tiny() -> None:
    request = tiny()
    # cheapest member: desk (hotline, remote demand) 8h x 30 = 240; cheapest lead: local 2h x 60 = 120
    request["opportunities"][1]["presales_budget"] = 359
    facts = Facts(request)
    truths = reason_truths(facts, ("o2", "e1"))
    assert truths["over_budget"][0]
    assert not truths["outranked"][0]
    # at 360 the contract's reading fits (240 + 120), so the slot is "outranked"; but local, the only
    # lead, must work on e1 too (one slot): the strict reading (480 + 120 = 600) still says over_budget
    request["opportunities"][1]["presales_budget"] = 360
    truths = reason_truths(Facts(request), ("o2", "e1"))
    assert truths["over_budget"][0]
    assert truths["outranked"][0]
    request["opportunities"][1]["presales_budget"] = 600
    truths = reason_truths(Facts(request), ("o2", "e1"))
    assert not truths["over_budget"][0]
    assert truths["outranked"][0]
    # no east local office may lead grade C in the east
    request["opportunities"][1]["region"] = "east"
    truths = reason_truths(Facts(request), ("o2", "e1"))
    assert truths["no_lead"][0]
    # a local office member lacking capacity in the demand's week
    request = tiny()
    request["staff"][2]["capacity_hours"] = [4, 40]
    request["staff"][3]["max_opportunities"] = 0
    truths = reason_truths(Facts(request), ("o2", "e1"))
    assert truths["no_capacity"][0]
    assert not truths["no_qualified_staff"][0]
    # headcount above the qualified count
    request["opportunities"][1]["demands"][0]["headcount"] = 3
    assert reason_truths(Facts(request), ("o2", "e1"))["no_qualified_staff"][0]
    # a fixed lead restricts who may lead
    request = tiny()
    request["opportunities"][0]["lead_staff_id"] = "boss"
    request["opportunities"][0]["excluded_staff"] = ["boss"]
    assert reason_truths(Facts(request), ("o1", "d1"))["no_lead"][0]


def test_opportunity_without_demands() -> None:
    request = tiny()
    request["opportunities"].append(
        {"id": "o3", "grade": "B", "region": "east", "deal_value": 10, "win_probability": 1.0, "demands": []}
    )
    plan = reference_plan(request, TINY_ROWS, TINY_LEADS)
    assert check_plan(request, plan).violations == []
    plan["leads"].append({"opportunity_id": "o3", "staff_id": "boss", "hours": 0, "cost": 0.0})
    assert "H5" in rule_ids(check_plan(request, plan).violations)


@pytest.mark.parametrize(
    ("reasons", "ok"),
    [
        ({"no_qualified_staff": 1, "outranked": 1}, True),
        ({"outranked": 2}, False),  # only desk is a further candidate: one slot has nobody qualified
        ({"no_qualified_staff": 2}, False),  # desk could take one of them
        ({"no_qualified_staff": 1}, False),  # one slot is not accounted for
    ],
)
def test_unfilled_slots_are_explained_slot_by_slot(reasons: dict[str, int], ok: bool) -> None:
    request = tiny()
    request["opportunities"][1]["demands"][0]["headcount"] = 3  # qualified: local and desk
    plan = reference_plan(request, TINY_ROWS, TINY_LEADS)
    assert [(u["slots"], u["reason"]) for u in plan["unfilled"] if u["demand_id"] == "e1"] == [
        (1, "no_qualified_staff"),
        (1, "outranked"),
    ]
    plan["unfilled"] = [u for u in plan["unfilled"] if u["demand_id"] != "e1"] + [
        {"opportunity_id": "o2", "demand_id": "e1", "slots": n, "reason": r, "detail": ""} for r, n in reasons.items()
    ]
    assert (check_plan(request, plan).violations == []) is ok


def test_no_lead_accepts_the_stricter_reading() -> None:
    request = tiny()
    request["staff"][2]["capacity_hours"] = [9, 40]  # local has 9h in week 0: 8h on e1 + 2 lead hours do not fit
    truths = reason_truths(Facts(request), ("o2", "e1"))
    # by the contract's definition local may lead, so "outranked" holds; a lead who fits is also missing
    assert truths["outranked"][0]
    assert truths["no_lead"][0]
    assert truths["over_budget"][0]  # no lead who fits: nothing can stay within budget
    request["staff"][2]["capacity_hours"] = [10, 40]
    truths = reason_truths(Facts(request), ("o2", "e1"))
    assert truths["outranked"][0]
    assert not truths["no_lead"][0]
    assert not truths["over_budget"][0]
