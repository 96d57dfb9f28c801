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
    [("c", "capacity", "5 h in week 0"), ("d", "budget", "10,000.00"), ("e", "focus", "0 opportunities")],
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
