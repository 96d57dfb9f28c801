"""Slot recommendations: every qualified person ranked, deltas equal to re-solving with the pin, and the
reasons why a choice cannot hold; the reverse question (slots for a person) likewise."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.contract import InvalidRequest, Plan, parse_request
from service.planning import make_plan
from service.recommendations import (
    answer,
    best_slots_for,
    parse_recommendation_request,
    recommend,
)
from tests.requests import demand, opportunity, person, request

Json = dict[str, Any]


def body() -> Json:
    """o1/d1 and o2/d1 want 10 h/week of erp in weeks 0-1; o3 is a C deal with a remote demand."""
    return request(
        [
            person("a", rate=100),  # cheapest: fills both A deals in the optimum
            person("b", rate=150),  # feasible elsewhere, dearer
            person("b2", rate=160),  # dearer still
            person("c", rate=100, capacity=5),  # H3: 5 h a week < 10
            person("d", rate=1000),  # H6: 20 000 > the budget of 10 000
            person("e", rate=100, max_opportunities=0),  # H7
            person("x", rate=50, skills={"erp": 1}),  # H1: not a candidate at all
            person("g", kind="local_office", rate=80, capacity=11),  # o3's only possible lead: 10 + 2 h > 11
            person("h", kind="hotline", rate=40, can_lead=False),
        ],
        [
            opportunity("o1", budget=10_000, excluded_staff=["b2"]),
            opportunity("o2", budget=10_000),
            opportunity("o3", grade="C", budget=10_000, demands=[demand(remote_ok=True)]),
        ],
    )


def pinned_plan(data: Json, opportunity_id: str, demand_id: str, staff_id: str) -> Plan:
    """Re-solve with the pin, building the pinned request independently of the module under test."""
    changed = copy.deepcopy(data)
    target = next(o for o in changed["opportunities"] if o["id"] == opportunity_id)
    target.setdefault("pinned", []).append({"demand_id": demand_id, "staff_id": staff_id})
    return make_plan(parse_request(changed))


def test_every_qualified_person_is_ranked_with_exact_deltas() -> None:
    data = body()
    result = recommend(parse_request(data), "o1", "d1", limit=5)
    baseline = make_plan(parse_request(data))

    assert result.baseline.covered_value == baseline.objective.covered_value
    assert result.on_slot == ["a"]
    # H1, H2, H9 decide who is a candidate: x lacks the skill, h is on the hotline, b2 is excluded.
    assert [c.staff_id for c in result.candidates][:2] == ["a", "b"]
    assert {c.staff_id for c in result.candidates} == {"a", "b", "c", "d", "e", "g"}
    top = result.candidates[0]
    assert (top.staff_id, top.on_slot, top.feasible, top.delta_covered_value, top.delta_total_cost, top.exact) == (
        "a",
        True,
        True,
        0.0,
        0.0,
        True,
    )
    for candidate in result.candidates:
        if candidate.feasible:
            again = pinned_plan(data, "o1", "d1", candidate.staff_id)
            assert candidate.delta_covered_value == round(
                again.objective.covered_value - baseline.objective.covered_value, 2
            )
            assert candidate.delta_total_cost == round(again.objective.total_cost - baseline.objective.total_cost, 2)
    b = result.candidates[1]
    assert b.resolved
    assert b.delta_covered_value == 0.0
    assert b.delta_total_cost == pytest.approx(3000 + 600 - 2000 - 400)  # b works and leads instead of a
    # Only b needed a solve: a is on the slot; c, d, e and g are ruled out by the rules alone (g, a local
    # office member, may not lead an A deal, and nobody else could work on it to lead it).
    assert result.resolved == 1
    g = next(c for c in result.candidates if c.staff_id == "g")
    assert (g.feasible, g.reasons, g.resolved) == (False, ["lead"], False)


@pytest.mark.parametrize(
    ("staff_id", "reason", "words"),
    [("c", "capacity", "5 h in week W48 · 23 Nov"), ("d", "budget", "10,000.00"), ("e", "focus", "0 opportunities")],
)
def test_infeasible_candidates_say_why_without_a_solve(staff_id: str, reason: str, words: str) -> None:
    result = recommend(parse_request(body()), "o1", "d1", limit=5)
    candidate = next(c for c in result.candidates if c.staff_id == staff_id)
    assert candidate.feasible is False
    assert candidate.status == "infeasible"
    assert candidate.reasons == [reason]
    assert words in candidate.detail
    assert not candidate.resolved
    assert result.candidates.index(candidate) >= 2  # after the feasible ones


def test_a_pin_that_only_a_solve_finds_infeasible_is_diagnosed() -> None:
    # o3 (grade C) can only be led by g, a local office member, and g lacks the 2 lead hours on top of
    # 10 h of work: only a solve finds that. h (hotline) cannot lead, and pinning h leaves no demand
    # for a lead to work on: the rules alone say so.
    result = recommend(parse_request(body()), "o3", "d1", limit=5)
    by_id = {c.staff_id: c for c in result.candidates}
    assert set(by_id) == {"g", "h"}
    assert by_id["g"].resolved
    assert by_id["g"].feasible is False
    assert set(by_id["g"].reasons) == {"capacity", "lead"}
    assert "cannot hold together" in by_id["g"].detail
    assert by_id["h"].feasible is False
    assert by_id["h"].reasons == ["lead"]
    assert "could also work on it" in by_id["h"].detail


def test_only_the_top_limit_are_resolved_and_they_come_first() -> None:
    data = body()
    data["opportunities"][0]["excluded_staff"] = []
    result = recommend(parse_request(data), "o1", "d1", limit=1)
    ranked = [(c.staff_id, c.resolved, c.feasible) for c in result.candidates]
    assert ranked[:3] == [("a", False, True), ("b", True, True), ("b2", False, None)]
    assert result.resolved == 1
    b2 = result.candidates[2]
    assert b2.delta_covered_value is None
    assert b2.estimated_delta_covered_value == 0.0


def test_best_slots_for_a_person() -> None:
    data = body()
    result = best_slots_for(parse_request(data), "b", limit=5, open_only=False)
    baseline = make_plan(parse_request(data))
    assert [(s.opportunity_id, s.demand_id) for s in result.slots] == [("o1", "d1"), ("o2", "d1")]
    top = result.slots[0]
    again = pinned_plan(data, top.opportunity_id, top.demand_id, "b")
    assert top.resolved
    assert top.delta_covered_value == round(again.objective.covered_value - baseline.objective.covered_value, 2)
    assert top.delta_total_cost == round(again.objective.total_cost - baseline.objective.total_cost, 2)
    # With open_only, b has nothing: a fills both A slots in the optimum.
    assert best_slots_for(parse_request(data), "b", limit=5).slots == []


def test_best_slots_for_an_idle_person_with_open_slots() -> None:
    data = body()
    data["opportunities"][2]["demands"][0]["headcount"] = 2  # o3 needs two; nobody can lead it
    result = best_slots_for(parse_request(data), "h", limit=3)
    assert [(s.opportunity_id, s.open_slots, s.feasible, s.reasons) for s in result.slots] == [
        ("o3", 2, False, ["capacity", "lead"])
    ]


def test_request_validation_names_the_field() -> None:
    good = {"request": body(), "opportunity_id": "o1", "demand_id": "d1", "limit": 2}
    parsed = parse_recommendation_request(good)
    result = answer(parsed)
    assert result.model_dump()["candidates"][0]["staff_id"] == "a"
    cases = [
        ({**good, "opportunity_id": "nope"}, "opportunity_id"),
        ({**good, "demand_id": "nope"}, "demand_id"),
        ({**good, "limit": 0}, "limit"),
        ({"request": body(), "opportunity_id": "o1"}, "demand_id"),
        ({"request": body(), "staff_id": "ghost"}, "staff_id"),
        ({**good, "request": {**body(), "staff": "many"}}, "request.staff"),
    ]
    for case, path in cases:
        with pytest.raises(InvalidRequest) as caught:
            parse_recommendation_request(case)
        assert path in [e.path for e in caught.value.errors], case
    staff = answer(parse_recommendation_request({"request": body(), "staff_id": "b", "open_only": False}))
    assert json.loads(staff.model_dump_json())["slots"][0]["opportunity_id"] == "o1"


def test_a_slot_and_a_person_in_one_question_are_refused_naming_the_fields() -> None:
    slot = {"request": body(), "opportunity_id": "o1", "demand_id": "d1"}
    for question, paths in [
        ({**slot, "staff_id": "b"}, {"opportunity_id", "demand_id", "staff_id"}),
        ({"request": body(), "demand_id": "d1", "staff_id": "b"}, {"demand_id", "staff_id"}),
    ]:
        with pytest.raises(InvalidRequest) as caught:
            parse_recommendation_request(question)
        assert {e.path for e in caught.value.errors} == paths
        assert all(e.type == "conflict" for e in caught.value.errors)
        assert "staff_id cannot be combined with" in caught.value.errors[0].message
    with pytest.raises(InvalidRequest) as neither:
        parse_recommendation_request({"request": body(), "limit": 2})
    assert [(e.path, e.type) for e in neither.value.errors] == [("opportunity_id", "missing")]
    assert "or staff_id (a person)" in neither.value.errors[0].message


def opening_needs_a_busy_lead() -> Json:
    """`new` (grade A) is open in the optimum: only L may lead it, and L is busy leading and working `big`.
    Pinning p (a local office member, who may not lead an A deal) to new/crm makes L lead `new` and work
    its erp demand instead, so `big` loses its only person: 2.5 M gained, 25 M displaced. p's own work in
    the baseline is nothing, so the estimate sees only the slot's value: +1.25 M."""
    return request(
        [
            person("p", kind="local_office", skills={"crm": 4}, can_lead=False),
            person("L", skills={"erp": 4}),
        ],
        [
            opportunity("big", value=10_000_000, demands=[demand("erp", hours=30)]),
            opportunity("new", demands=[demand("crm", skill="crm"), demand("erp")]),
        ],
    )


def test_a_negative_exact_delta_beside_a_positive_estimate_is_explained() -> None:
    data = opening_needs_a_busy_lead()
    result = recommend(parse_request(data), "new", "crm", limit=3)
    [p] = result.candidates
    assert (p.staff_id, p.resolved, p.exact, p.feasible) == ("p", True, True, True)
    assert p.estimated_delta_covered_value == pytest.approx(1_250_000)
    # The exact figure is the whole plan with the pin minus the baseline plan, under an explicit name too.
    assert p.delta_covered_value_vs_baseline == p.delta_covered_value == pytest.approx(2_500_000 - 25_000_000)
    assert p.delta_covered_value_vs_baseline == pytest.approx(p.covered_value - result.baseline.covered_value)
    assert p.delta_total_cost_vs_baseline == p.delta_total_cost
    # changed_slots splits it into what the plan gains and the work it displaces; they add up to the delta.
    changes = [(c.opportunity_id, c.demand_id, c.filled_in_baseline, c.filled_with_choice) for c in p.changed_slots]
    assert changes[0] == ("big", "erp", 1, 0)  # losses first
    assert set(changes[1:]) == {("new", "crm", 0, 1), ("new", "erp", 0, 1)}
    assert p.changed_slots[0].delta_covered_value == pytest.approx(-25_000_000)
    assert sum(c.delta_covered_value for c in p.changed_slots) == pytest.approx(p.delta_covered_value_vs_baseline)
    # The note says it in words: the sign, its reference, the displaced work, the lead, and the estimate.
    assert p.note.startswith("Covered value -22,500,000.00 against the baseline plan.")
    assert "displaces from the baseline plan, big/erp 1->0 (-25,000,000.00)" in p.note
    assert "L leads it and works on erp" in p.note
    assert "The estimate +1,250,000.00 counted only new/crm's value" in p.note


def test_fewer_candidates_than_the_limit_are_explained() -> None:
    result = recommend(parse_request(opening_needs_a_busy_lead()), "new", "crm", limit=3)
    assert (result.qualified, len(result.candidates), result.limit) == (1, 1, 3)
    assert result.not_qualified.model_dump() == {"skill": 1, "unit": 0, "excluded": 0}
    assert result.note.startswith("Only 1 of 2 people pass H1, H2 and H9 for new/crm; of the others, 1 lacks crm")
    assert "1 re-solved with the pin (limit 3)" in result.note
    # With more qualified people than the limit, every one is still listed, the rest by estimate.
    data = body()
    data["opportunities"][0]["excluded_staff"] = []
    wide = recommend(parse_request(data), "o1", "d1", limit=1)
    assert wide.qualified == len(wide.candidates) == 7
    assert wide.not_qualified.model_dump() == {"skill": 1, "unit": 1, "excluded": 0}
    assert "1 re-solved with the pin (limit 1)" in wide.note
    assert "ranked by the estimate only" in wide.note
    b2 = next(c for c in wide.candidates if c.staff_id == "b2")
    assert b2.note.startswith("Not re-solved: only the first 1 of the pre-ranking are")
    on_slot = next(c for c in wide.candidates if c.on_slot)
    assert "changes nothing" in on_slot.note
    ruled_out = next(c for c in wide.candidates if c.staff_id == "c")
    assert ruled_out.note.startswith("Cannot be chosen: ")


def test_the_readme_example_says_why_its_figures_differ_and_why_it_lists_two() -> None:
    """`recommend scenarios/fast-growth.json --opportunity opp-0017 --demand crm --limit 3`."""
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "fast-growth.json"
    result = recommend(parse_request(json.loads(scenario.read_text())), "opp-0017", "crm", limit=3)
    assert len(result.candidates) == result.qualified == 2
    assert result.note.startswith("Only 2 of 80 people pass H1, H2 and H9 for opp-0017/crm")
    top = result.candidates[0]
    assert top.delta_covered_value_vs_baseline is not None
    assert top.delta_covered_value_vs_baseline < 0 < top.estimated_delta_covered_value
    assert sum(c.delta_covered_value for c in top.changed_slots) == pytest.approx(
        top.delta_covered_value_vs_baseline, abs=0.05
    )
    assert "displaces from the baseline plan" in top.note
    assert "opp-0017 needs a lead who works on it (H5)" in top.note


runner = CliRunner()


def test_cli_recommend(tmp_path: Path) -> None:
    target = tmp_path / "request.json"
    target.write_text(json.dumps(body()))
    result = runner.invoke(app, ["recommend", str(target), "--opportunity", "o1", "--demand", "d1", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "a (a)" in result.output
    assert "no: capacity" in result.output
    assert "Re-solved with the pin: 1 of 6" in result.output
    reverse = runner.invoke(app, ["recommend", str(target), "--staff", "b", "--all-slots", "--json"])
    assert reverse.exit_code == 0, reverse.output
    assert json.loads(reverse.output)["staff_id"] == "b"
    bad = runner.invoke(app, ["recommend", str(target), "--opportunity", "zz", "--demand", "d1"])
    assert bad.exit_code == 2
    assert "--opportunity: unknown opportunity id 'zz'" in bad.output
    assert "Traceback" not in bad.output
    neither = runner.invoke(app, ["recommend", str(target)])
    assert neither.exit_code == 2
    both = runner.invoke(app, ["recommend", str(target), "--opportunity", "o1", "--demand", "d1", "--staff", "b"])
    assert both.exit_code == 2
    assert "not both" in both.output


def test_cli_recommend_explains_a_drop_in_covered_value(tmp_path: Path) -> None:
    target = tmp_path / "request.json"
    target.write_text(json.dumps(opening_needs_a_busy_lead()))
    result = runner.invoke(app, ["recommend", str(target), "--opportunity", "new", "--demand", "crm", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "minus the baseline plan" in result.output
    assert "Only 1 of 2 people pass H1, H2 and H9 for new/crm" in result.output
    assert "Why the covered value drops:" in result.output
    assert "big/erp 1->0 (-25,000,000.00)" in result.output
