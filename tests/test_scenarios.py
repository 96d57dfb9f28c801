"""What-if scenarios: each change op, validation paths naming the variant and op, the comparison's moves,
and the invariant that a variant's plan is exactly the direct solve of its changed request."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.contract import (
    AllocationRequest,
    Assignment,
    InvalidRequest,
    Lead,
    Objective,
    Plan,
    SolverInfo,
    Timing,
    parse_request,
)
from service.planning import make_plan, solve_json
from service.whatif import (
    MAX_VARIANTS,
    ScenarioRequest,
    apply_changes,
    compare,
    parse_scenario,
    run_scenario,
    variant_requests,
    warm_started,
)
from tests.requests import demand, opportunity, person, request

SCENARIOS = Path(__file__).parents[1] / "scenarios"
Json = dict[str, Any]


def base_body() -> Json:
    """Three people, two deals; a pin, a fixed lead, an exclusion and a previous plan to clean up."""
    return request(
        [
            person("s1", rate=100, can_lead=True),
            person("s2", rate=120, can_lead=True),
            person("s3", kind="local_office", rate=80, can_lead=True),
        ],
        [
            opportunity(
                "o1",
                demands=[demand("d1"), demand("d2", hours=5)],
                pinned=[{"demand_id": "d1", "staff_id": "s1"}],
                lead_staff_id="s1",
            ),
            opportunity("o2", grade="B", excluded_staff=["s1"]),
        ],
        previous_plan=[
            {"opportunity_id": "o1", "demand_id": "d1", "staff_id": "s1"},
            {"opportunity_id": "o2", "demand_id": "d1", "staff_id": "s2"},
        ],
    )


def base() -> AllocationRequest:
    return parse_request(base_body())


def scenario(*variants: list[Json], body: Json | None = None) -> Json:
    return {
        "name": "test",
        "base": body or base_body(),
        "variants": [{"name": f"v{i}", "changes": changes} for i, changes in enumerate(variants)],
    }


def changed(*changes: Json) -> AllocationRequest:
    parsed = parse_scenario(scenario(list(changes)))
    return apply_changes(parsed.base, parsed.variants[0].changes)


# --------------------------------------------------------------------------- each op


def staff_of(r: AllocationRequest, staff_id: str) -> Any:
    return next(p for p in r.staff if p.id == staff_id)


def opportunity_of(r: AllocationRequest, opportunity_id: str) -> Any:
    return next(o for o in r.opportunities if o.id == opportunity_id)


OPS: list[tuple[Json, Callable[[AllocationRequest], bool]]] = [
    (
        {"op": "add_staff", "staff": person("s9", rate=90)},
        lambda r: [p.id for p in r.staff] == ["s1", "s2", "s3", "s9"] and staff_of(r, "s9").hourly_rate == 90,
    ),
    (
        {"op": "remove_staff", "staff_id": "s1"},
        lambda r: (
            [p.id for p in r.staff] == ["s2", "s3"]
            and opportunity_of(r, "o1").pinned == []
            and opportunity_of(r, "o1").lead_staff_id is None
            and opportunity_of(r, "o2").excluded_staff == []
            and [p.staff_id for p in r.previous_plan] == ["s2"]
        ),
    ),
    ({"op": "set_capacity", "staff_id": "s2", "capacity_hours": 8}, lambda r: staff_of(r, "s2").capacity_hours == 8),
    (
        {"op": "set_capacity", "staff_id": "s2", "capacity_hours": [8, 0]},
        lambda r: staff_of(r, "s2").capacity_hours == [8, 0],
    ),
    (
        {"op": "scale_rates", "factor": 1.1},
        lambda r: [p.hourly_rate for p in r.staff] == pytest.approx([110, 132, 88]),
    ),
    (
        {"op": "scale_rates", "factor": 2, "unit_kind": "local_office"},
        lambda r: [p.hourly_rate for p in r.staff] == [100, 120, 160],
    ),
    (
        {"op": "scale_rates", "factor": 0.5, "role": "presales_engineer", "unit_kind": "delivery_center"},
        lambda r: [p.hourly_rate for p in r.staff] == [50, 60, 80],
    ),
    (
        {"op": "add_opportunity", "opportunity": opportunity("o3", grade="C")},
        lambda r: [o.id for o in r.opportunities] == ["o1", "o2", "o3"] and opportunity_of(r, "o3").grade == "C",
    ),
    (
        {"op": "remove_opportunity", "opportunity_id": "o2"},
        lambda r: [o.id for o in r.opportunities] == ["o1"] and [p.opportunity_id for p in r.previous_plan] == ["o1"],
    ),
    ({"op": "set_grade", "opportunity_id": "o2", "grade": "A"}, lambda r: opportunity_of(r, "o2").grade == "A"),
    (
        {"op": "set_budget", "opportunity_id": "o1", "presales_budget": 1234.5},
        lambda r: opportunity_of(r, "o1").presales_budget == 1234.5,
    ),
    (
        {"op": "set_budget", "opportunity_id": "o1", "presales_budget": None},
        lambda r: opportunity_of(r, "o1").presales_budget is None,
    ),
    (
        {"op": "set_win_probability", "opportunity_id": "o2", "win_probability": 0.9},
        lambda r: opportunity_of(r, "o2").win_probability == 0.9,
    ),
    (
        {"op": "set_policy", "policy": {"tiers": {"C": ["delivery_center"]}, "travel_surcharge": 0.5}},
        lambda r: (
            r.policy.tiers["C"] == ["delivery_center"]
            and r.policy.tiers["A"] == ["delivery_center", "local_office"]
            and r.policy.travel_surcharge == 0.5
            and r.policy.budget_ratio["A"] == 0.03
        ),
    ),
    (
        {"op": "set_policy", "policy": {"grade_weights": {"E": 7}}},
        lambda r: r.policy.grade_weights == {"A": 5, "B": 4, "C": 3, "D": 2, "E": 7},
    ),
]


@pytest.mark.parametrize(("op", "check"), OPS, ids=[f"{i}-{op['op']}" for i, (op, _) in enumerate(OPS)])
def test_each_op_is_applied(op: Json, check: Callable[[AllocationRequest], bool]) -> None:
    original = base()
    before = original.model_dump()
    result = changed(op)
    assert check(result)
    assert original.model_dump() == before  # apply_changes is pure
    assert base().model_dump() == before


def test_ops_apply_in_order_and_leave_the_base_untouched() -> None:
    parsed = parse_scenario(
        scenario(
            [
                {"op": "add_staff", "staff": person("s9")},
                {"op": "set_capacity", "staff_id": "s9", "capacity_hours": 12},
                {"op": "remove_staff", "staff_id": "s2"},
            ]
        )
    )
    before = parsed.base.model_dump()
    (result,) = variant_requests(parsed)
    assert [p.id for p in result.staff] == ["s1", "s3", "s9"]
    assert staff_of(result, "s9").capacity_hours == 12
    assert parsed.base.model_dump() == before


# --------------------------------------------------------------------------- validation


def error_paths(body: Json) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        parse_scenario(body)
    return [(e.path, e.message) for e in caught.value.errors]


def paths(body: Json) -> list[str]:
    return [path for path, _ in error_paths(body)]


@pytest.mark.parametrize(
    ("op", "path"),
    [
        ({"op": "remove_staff", "staff_id": "nobody"}, "variants[1].changes[0].staff_id"),
        ({"op": "set_capacity", "staff_id": "nobody", "capacity_hours": 4}, "variants[1].changes[0].staff_id"),
        (
            {"op": "set_capacity", "staff_id": "s1", "capacity_hours": [4, 4, 4]},
            "variants[1].changes[0].capacity_hours",
        ),
        ({"op": "set_capacity", "staff_id": "s1", "capacity_hours": -1}, "variants[1].changes[0].capacity_hours"),
        ({"op": "remove_opportunity", "opportunity_id": "nope"}, "variants[1].changes[0].opportunity_id"),
        ({"op": "set_grade", "opportunity_id": "nope", "grade": "A"}, "variants[1].changes[0].opportunity_id"),
        ({"op": "set_grade", "opportunity_id": "o1", "grade": "F"}, "variants[1].changes[0].grade"),
        ({"op": "set_budget", "opportunity_id": "nope", "presales_budget": 1}, "variants[1].changes[0].opportunity_id"),
        ({"op": "set_budget", "opportunity_id": "o1", "presales_budget": -5}, "variants[1].changes[0].presales_budget"),
        ({"op": "set_budget", "opportunity_id": "o1"}, "variants[1].changes[0].presales_budget"),
        (
            {"op": "set_win_probability", "opportunity_id": "o1", "win_probability": 1.5},
            "variants[1].changes[0].win_probability",
        ),
        ({"op": "scale_rates", "factor": 0}, "variants[1].changes[0].factor"),
        ({"op": "scale_rates", "factor": 1.1, "role": "wizard"}, "variants[1].changes[0].role"),
        ({"op": "scale_rates", "factor": 1.1, "unit_kind": "hotline"}, "variants[1].changes[0].unit_kind"),
        ({"op": "add_staff", "staff": person("s1")}, "variants[1].changes[0].staff.id"),
        (
            {"op": "add_staff", "staff": {**person("s9"), "capacity_hours": [1, 2, 3]}},
            "variants[1].changes[0].staff.capacity_hours",
        ),
        ({"op": "add_opportunity", "opportunity": opportunity("o1")}, "variants[1].changes[0].opportunity.id"),
        (
            {"op": "add_opportunity", "opportunity": opportunity("o3", pinned=[{"demand_id": "d1", "staff_id": "x"}])},
            "variants[1].changes[0].opportunity.pinned[0].staff_id",
        ),
        (
            {"op": "add_opportunity", "opportunity": opportunity("o3", demands=[demand(end=5)])},
            "variants[1].changes[0].opportunity.demands[0].end_week",
        ),
        ({"op": "set_policy", "policy": {}}, "variants[1].changes[0].policy"),
        ({"op": "set_policy", "policy": {"tiers": {"Z": []}}}, "variants[1].changes[0].policy.tiers.Z"),
        ({"op": "set_policy", "policy": {"surcharge": 1}}, "variants[1].changes[0].policy.surcharge"),
        ({"op": "hire", "staff": person("s9")}, "variants[1].changes[0].op"),
        ({"staff_id": "s1"}, "variants[1].changes[0].op"),
        ({"op": "remove_staff"}, "variants[1].changes[0].staff_id"),
        ({"op": "remove_staff", "staff_id": "s1", "extra": 1}, "variants[1].changes[0].extra"),
    ],
)
def test_bad_ops_name_the_variant_and_op(op: Json, path: str) -> None:
    body = scenario([{"op": "scale_rates", "factor": 1.1}], [op])
    assert path in paths(body)


def test_a_change_that_breaks_a_pin_is_blamed_on_its_field() -> None:
    # Grade C may not be served or led by the delivery center, so s1's pin and fixed lead break (H2, H5).
    errors = error_paths(scenario([{"op": "set_grade", "opportunity_id": "o1", "grade": "C"}]))
    assert {path for path, _ in errors} == {"variants[0].changes[0].grade"}
    messages = " | ".join(message for _, message in errors)
    assert "opportunities[0].pinned[0]" in messages
    assert "opportunities[0].lead_staff_id" in messages


def test_an_id_removed_by_an_earlier_change_says_so() -> None:
    errors = error_paths(
        scenario(
            [
                {"op": "remove_staff", "staff_id": "s2"},
                {"op": "set_capacity", "staff_id": "s2", "capacity_hours": 1},
            ]
        )
    )
    assert errors == [("variants[0].changes[1].staff_id", "unknown staff id 's2' (removed by an earlier change)")]


def test_every_variant_is_checked_and_the_base_too() -> None:
    body = scenario(
        [{"op": "remove_staff", "staff_id": "x"}],
        [{"op": "set_grade", "opportunity_id": "y", "grade": "A"}],
    )
    assert paths(body) == ["variants[0].changes[0].staff_id", "variants[1].changes[0].opportunity_id"]
    broken = base_body()
    broken["opportunities"][0]["demands"][0]["end_week"] = 9
    assert "base.opportunities[0].demands[0].end_week" in paths(scenario([], body=broken))


def test_variant_count_names_and_limits() -> None:
    assert paths(scenario(*([[]] * (MAX_VARIANTS + 1)))) == ["variants"]
    assert paths({"name": "x", "base": base_body(), "variants": []}) == ["variants"]
    body = scenario([], [])
    body["variants"][1]["name"] = "v0"
    assert paths(body) == ["variants[1].name"]
    assert "name" in paths({"base": base_body(), "variants": [{"name": "a", "changes": []}]})


# --------------------------------------------------------------------------- compare


def plan_of(assignments: list[tuple[str, str, str]], leads: dict[str, str]) -> Plan:
    return Plan(
        status="optimal",
        objective=Objective(covered_value=0, total_cost=0, changes=0, bound=0, gap=0),
        assignments=[
            Assignment(opportunity_id=o, demand_id=d, staff_id=s, start_week=0, end_week=1, hours=20, cost=1)
            for o, d, s in assignments
        ],
        leads=[Lead(opportunity_id=o, staff_id=s, hours=4, cost=1) for o, s in leads.items()],
        unfilled=[],
        opportunities=[],
        staff=[],
        timing=Timing(build_ms=0, solve_ms=0, total_ms=0),
        solver=SolverInfo(name="hand", version="0", workers=1, seed=0),
    )


def test_compare_moves_on_a_hand_built_case() -> None:
    base_request = parse_request(
        request(
            [person(f"s{i}") for i in range(1, 5)],
            [opportunity("o1", demands=[demand("d1"), demand("d2", headcount=2)]), opportunity("o2")],
        )
    )
    variant_request = apply_changes(base_request, [_remove("s1")])
    base_plan = plan_of(
        [("o1", "d1", "s1"), ("o1", "d2", "s2"), ("o1", "d2", "s3"), ("o2", "d1", "s4")], {"o1": "s1", "o2": "s4"}
    )
    # s1 is gone: s2 moves up to d1, d2 keeps only s3, o2 is untouched.
    variant_plan = plan_of([("o1", "d1", "s2"), ("o1", "d2", "s3"), ("o2", "d1", "s4")], {"o1": "s2", "o2": "s4"})

    c = compare(base_request, base_plan, variant_request, variant_plan)

    assert [(m.opportunity_id, m.demand_id, m.from_staff, m.to_staff, m.kind) for m in c.moves] == [
        ("o1", "d1", "s1", "s2", "replaced"),
        ("o1", "d2", "s2", None, "unfilled"),
    ]
    assert [
        (
            m.staff_id,
            [(r.opportunity_id, r.demand_id) for r in m.left],
            [(r.opportunity_id, r.demand_id) for r in m.joined],
        )
        for m in c.staff_moves
    ] == [
        ("s1", [("o1", "d1")], []),
        ("s2", [("o1", "d2")], [("o1", "d1")]),
    ]
    assert [(s.staff_id, s.opportunities, s.gone) for s in c.dropped_out] == [("s1", ["o1"], True)]
    assert c.joined == []
    assert [(s.opportunity_id, s.demand_id, s.base_filled, s.variant_filled, s.headcount) for s in c.unfilled] == [
        ("o1", "d2", 2, 1, 2)
    ]
    assert c.filled == []
    assert [(x.opportunity_id, x.from_staff, x.to_staff) for x in c.lead_changes] == [("o1", "s1", "s2")]
    assert c.staffed == []
    assert c.unstaffed == []

    # And back: the slot becomes filled again (from nobody).
    back = compare(variant_request, variant_plan, base_request, base_plan)
    assert ("o1", "d2", None, "s2", "filled") in [
        (m.opportunity_id, m.demand_id, m.from_staff, m.to_staff, m.kind) for m in back.moves
    ]
    assert [(s.staff_id, s.new) for s in back.joined] == [("s1", True)]


def test_compare_removed_and_added_opportunities() -> None:
    base_request = parse_request(request([person("s1"), person("s2")], [opportunity("o1"), opportunity("o2")]))
    variant_request = apply_changes(
        base_request,
        [
            _op({"op": "remove_opportunity", "opportunity_id": "o2"}),
            _op({"op": "add_opportunity", "opportunity": opportunity("o3")}),
        ],
    )
    c = compare(
        base_request,
        plan_of([("o1", "d1", "s1"), ("o2", "d1", "s2")], {"o1": "s1", "o2": "s2"}),
        variant_request,
        plan_of([("o1", "d1", "s1"), ("o3", "d1", "s2")], {"o1": "s1", "o3": "s2"}),
    )
    assert [(m.opportunity_id, m.from_staff, m.to_staff, m.kind) for m in c.moves] == [
        ("o2", "s2", None, "slot_removed"),
        ("o3", None, "s2", "slot_added"),
    ]
    assert c.staffed == ["o3"]
    assert c.unstaffed == ["o2"]
    assert c.dropped_out == []
    assert c.filled == []
    assert c.unfilled == []


def _op(body: Json) -> Any:
    return (
        ScenarioRequest.model_validate(
            {"name": "x", "base": base_body(), "variants": [{"name": "x", "changes": [body]}]}
        )
        .variants[0]
        .changes[0]
    )


def _remove(staff_id: str) -> Any:
    return _op({"op": "remove_staff", "staff_id": staff_id})


def test_removing_a_person_moves_their_slot_or_leaves_it_unfilled() -> None:
    # s1 is the cheapest and fills d1; s2 can take over d1; nobody else can do d2 (skill crm).
    body = request(
        [
            person("s1", rate=50, skills={"erp": 4, "crm": 4}),
            person("s2", rate=90, skills={"erp": 4}),
        ],
        [opportunity("o1", demands=[demand("d1"), demand("d2", skill="crm", start=0, end=0)])],
    )
    result = run_scenario(
        parse_scenario(
            {
                "name": "lose s1",
                "base": body,
                "variants": [{"name": "no s1", "changes": [{"op": "remove_staff", "staff_id": "s1"}]}],
            }
        )
    )
    assert {(a.demand_id, a.staff_id) for a in result.base_plan.assignments} == {("d1", "s1"), ("d2", "s1")}
    c = result.variants[0].comparison
    assert [(m.demand_id, m.from_staff, m.to_staff, m.kind) for m in c.moves] == [
        ("d1", "s1", "s2", "replaced"),
        ("d2", "s1", None, "unfilled"),
    ]
    assert [s.staff_id for s in c.dropped_out] == ["s1"]
    assert c.deltas.covered_value < 0
    assert c.deltas.unfilled_slots == 1
    assert c.variant.covered_value == result.variants[0].plan.objective.covered_value
    assert c.base.covered_value == result.base_plan.objective.covered_value


# --------------------------------------------------------------------------- run_scenario


def comparable(plan: Plan) -> Json:
    return plan.model_dump(exclude={"id", "timing", "solver"})


def two_variants() -> Json:
    return scenario(
        [{"op": "remove_staff", "staff_id": "s1"}, {"op": "scale_rates", "factor": 1.1}],
        [
            {"op": "add_staff", "staff": person("s9", rate=60, skills={"erp": 5})},
            {"op": "set_grade", "opportunity_id": "o2", "grade": "A"},
            {"op": "set_win_probability", "opportunity_id": "o1", "win_probability": 0.9},
        ],
    )


def test_each_variant_plan_is_the_direct_solve_of_its_changed_request() -> None:
    body = two_variants()
    result = run_scenario(parse_scenario(body))
    assert comparable(result.base_plan) == comparable(make_plan(parse_request(body["base"])))

    # The changed requests written by hand, independently of apply_changes.
    first = copy.deepcopy(body["base"])
    first["staff"] = [dict(p, hourly_rate=p["hourly_rate"] * 1.1) for p in first["staff"] if p["id"] != "s1"]
    first["opportunities"][0]["pinned"] = []
    first["opportunities"][0]["lead_staff_id"] = None
    first["opportunities"][1]["excluded_staff"] = []
    first["previous_plan"] = [p for p in first["previous_plan"] if p["staff_id"] != "s1"]
    second = copy.deepcopy(body["base"])
    second["staff"].append(person("s9", rate=60, skills={"erp": 5}))
    second["opportunities"][1]["grade"] = "A"
    second["opportunities"][0]["win_probability"] = 0.9

    for outcome, direct in zip(result.variants, [first, second], strict=True):
        # Solved as the changed request with the base plan as its warm start: exactly that solve's plan,
        # and on every objective level exactly as good as the changed request solved without it.
        warm = warm_started(parse_request(direct), result.base_plan)
        assert warm.options.warm_start is not None
        assert comparable(outcome.plan) == comparable(make_plan(warm))
        plain = make_plan(parse_request(direct))
        assert outcome.plan.status == plain.status
        assert outcome.plan.objective == plain.objective
    assert result.variants[1].comparison.joined[0].staff_id == "s9"


def test_solve_json_is_picklable_and_a_pool_gives_the_same_result() -> None:
    pickle.dumps(solve_json)
    parsed = parse_scenario(two_variants())
    plain = run_scenario(parsed)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = run_scenario(parsed, executor=pool)
    assert comparable(pooled.base_plan) == comparable(plain.base_plan)
    for a, b in zip(pooled.variants, plain.variants, strict=True):
        assert comparable(a.plan) == comparable(b.plan)
        assert a.comparison == b.comparison
    plan = Plan.model_validate_json(solve_json(parsed.base.model_dump_json()))
    assert comparable(plan) == comparable(plain.base_plan)


def test_hiring_in_east_moves_nobody_in_west() -> None:
    # Fast growth, "hire two architects in east": Zhang Chunmei (west-001) and Ye Xin (west-002) each fill
    # and lead a grade-E deal in west, at the same total cost either way round (on either deal Zhang
    # costs 360 + 180 as member and lead, Ye 380 + 190). The tie-break's whole-model search ran out of
    # time at 230 of 238 warm-start terms kept and the variant swapped them; undone now by its first step
    # (tie_break.py).
    body = json.loads((SCENARIOS / "whatif-fast-growth.json").read_text())
    body["variants"] = body["variants"][:1]
    result = run_scenario(parse_scenario(body))
    comparison = result.variants[0].comparison
    west = {"west-001", "west-002"}
    moved = {m.from_staff for m in comparison.moves} | {m.to_staff for m in comparison.moves}
    moved |= {c.from_staff for c in comparison.lead_changes} | {c.to_staff for c in comparison.lead_changes}
    assert not moved & west, comparison.moves
    assert {m.opportunity_id for m in comparison.moves} == {"opp-0044", "opp-0053", "opp-0097", "opp-0100"}


def test_result_serializes_to_json() -> None:
    result = run_scenario(parse_scenario(two_variants()))
    document = json.loads(result.model_dump_json())
    assert [v["name"] for v in document["variants"]] == ["v0", "v1"]
    assert set(document["variants"][0]["comparison"]) >= {"base", "variant", "deltas", "moves", "dropped_out"}
    assert document["variants"][0]["changes"][0] == {"op": "remove_staff", "staff_id": "s1"}


# --------------------------------------------------------------------------- files and CLI


def test_whatif_files_are_valid_small_and_deterministic() -> None:
    files = sorted(SCENARIOS.glob("whatif-*.json"))
    assert {f.name for f in files} >= {
        "whatif-hire-two-architects.json",
        "whatif-lose-dc-lead.json",
        "whatif-raise-rates-10.json",
        "whatif-regrade-to-A.json",
        "whatif-move-budget.json",
        "whatif-fast-growth.json",
    }
    for path in files:
        parsed = parse_scenario(json.loads(path.read_text()))
        assert parsed.base.options.deterministic, path.name
        assert parsed.base.options.time_limit_s <= 10, path.name
        assert 1 <= len(parsed.variants) <= MAX_VARIANTS
    assert len(parse_scenario(json.loads((SCENARIOS / "whatif-fast-growth.json").read_text())).variants) == 2


runner = CliRunner()


def test_cli_prints_the_table_and_the_moves(tmp_path: Path) -> None:
    target = tmp_path / "scenario.json"
    target.write_text(json.dumps(two_variants()))
    result = runner.invoke(app, ["scenario", str(target)])
    assert result.exit_code == 0, result.output
    assert "covered value" in result.output
    assert "total cost" in result.output
    assert "v0" in result.output
    assert "v1" in result.output
    assert "dropped out: s1 (s1) [removed]" in result.output
    as_json = runner.invoke(app, ["scenario", str(target), "--json"])
    assert as_json.exit_code == 0
    assert len(json.loads(as_json.output)["variants"]) == 2


def test_cli_names_the_bad_field_without_a_traceback(tmp_path: Path) -> None:
    target = tmp_path / "scenario.json"
    target.write_text(json.dumps(scenario([], [{"op": "remove_staff", "staff_id": "ghost"}])))
    result = runner.invoke(app, ["scenario", str(target)])
    assert result.exit_code == 2
    assert "variants[1].changes[0].staff_id: unknown staff id 'ghost'" in result.output
    assert "Traceback" not in result.output
