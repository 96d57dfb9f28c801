"""Validation names the offending field path for every kind of bad input the contract rules out."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from service.contract import InvalidRequest, parse_request

EXAMPLE = json.loads((Path(__file__).parents[2] / "shared" / "examples" / "small-request.json").read_text())


def errors_of(body: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body)
    return [e.path for e in caught.value.errors]


def mutated(change: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    change(body)
    return body


def test_the_example_request_is_valid() -> None:
    request = parse_request(EXAMPLE)
    assert request.policy.lead_hours_per_week == 2
    assert request.policy.tiers["C"] == ["local_office", "hotline"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b["staff"].append(copy.deepcopy(b["staff"][0])), "staff[5].id"),
        (lambda b: b["opportunities"][1].update(id="opp-A1"), "opportunities[1].id"),
        (lambda b: b["opportunities"][0]["demands"][1].update(id="arch"), "opportunities[0].demands[1].id"),
        (lambda b: b["opportunities"][0]["demands"][0].update(end_week=4), "opportunities[0].demands[0].end_week"),
        (lambda b: b["opportunities"][0]["demands"][0].update(start_week=9), "opportunities[0].demands[0].start_week"),
        (
            lambda b: b["opportunities"][0]["demands"][1].update(start_week=3, end_week=2),
            "opportunities[0].demands[1].end_week",
        ),
        (lambda b: b["staff"][1].update(capacity_hours=[40, 40]), "staff[1].capacity_hours"),
        (lambda b: b["staff"][0].update(capacity_hours=-1), "staff[0].capacity_hours"),
        (lambda b: b["staff"][0].update(hourly_rate=-5), "staff[0].hourly_rate"),
        (lambda b: b["opportunities"][2].update(deal_value=-1), "opportunities[2].deal_value"),
        (lambda b: b["opportunities"][1].update(presales_budget=-1), "opportunities[1].presales_budget"),
        (lambda b: b["opportunities"][1].update(win_probability=1.5), "opportunities[1].win_probability"),
        (lambda b: b["staff"][2]["skills"].update(erp=6), "staff[2].skills.erp"),
        (lambda b: b["opportunities"][0]["demands"][0].update(min_level=0), "opportunities[0].demands[0].min_level"),
        (
            lambda b: b["opportunities"][0]["demands"][0].update(hours_per_week=-4),
            "opportunities[0].demands[0].hours_per_week",
        ),
        (lambda b: b.update(policy={"grade_weights": {"F": 1}}), "policy.grade_weights.F"),
        (lambda b: b.update(policy={"tiers": {"A": ["embassy"]}}), "policy.tiers.A[0]"),
        (
            lambda b: b["opportunities"][0].update(pinned=[{"demand_id": "nope", "staff_id": "dc-01"}]),
            "opportunities[0].pinned[0].demand_id",
        ),
        (
            lambda b: b["opportunities"][0].update(pinned=[{"demand_id": "arch", "staff_id": "ghost"}]),
            "opportunities[0].pinned[0].staff_id",
        ),
        (lambda b: b["opportunities"][0].update(lead_staff_id="ghost"), "opportunities[0].lead_staff_id"),
        (lambda b: b["opportunities"][0].update(excluded_staff=["ghost"]), "opportunities[0].excluded_staff[0]"),
        (
            lambda b: b.update(previous_plan=[{"opportunity_id": "opp-A1", "demand_id": "arch", "staff_id": "x"}]),
            "previous_plan[0].staff_id",
        ),
        (
            lambda b: b.update(previous_plan=[{"opportunity_id": "nope", "demand_id": "arch", "staff_id": "dc-01"}]),
            "previous_plan[0].opportunity_id",
        ),
        (lambda b: b["opportunities"][0].update(grade="F"), "opportunities[0].grade"),
        (lambda b: b["staff"][0]["unit"].update(kind="embassy"), "staff[0].unit.kind"),
        (lambda b: b["staff"][0].update(favourite_colour="red"), "staff[0].favourite_colour"),
    ],
)
def test_bad_input_names_the_field(change: Any, path: str) -> None:
    assert path in errors_of(mutated(change))


@pytest.mark.parametrize(
    ("pin", "rule"),
    [
        ({"demand_id": "arch", "staff_id": "dc-02"}, "H1"),  # core-banking 3 < 4
        ({"demand_id": "arch", "staff_id": "east-01"}, "H1"),
        ({"demand_id": "test", "staff_id": "hot-01"}, "H1"),
    ],
)
def test_pins_breaking_rules_on_their_own_are_rejected(pin: dict[str, str], rule: str) -> None:
    body = mutated(lambda b: b["opportunities"][0].update(pinned=[pin]))
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body)
    messages = [e.message for e in caught.value.errors if e.path == "opportunities[0].pinned[0]"]
    assert any(rule in m for m in messages)


def test_pin_breaking_tier_region_and_exclusion_is_rejected_with_each_rule() -> None:
    def change(b: dict[str, Any]) -> None:
        b["opportunities"][1]["pinned"] = [{"demand_id": "erp", "staff_id": "east-01"}]  # east office on a south deal
        b["opportunities"][1]["excluded_staff"] = ["east-01"]

    with pytest.raises(InvalidRequest) as caught:
        parse_request(mutated(change))
    messages = " ".join(e.message for e in caught.value.errors)
    assert "(H2)" in messages
    assert "(H9)" in messages


def test_partial_policy_keeps_other_defaults() -> None:
    request = parse_request(mutated(lambda b: b.update(policy={"tiers": {"A": ["delivery_center"]}})))
    assert request.policy.tiers["A"] == ["delivery_center"]
    assert request.policy.tiers["B"] == ["delivery_center", "local_office"]
    assert request.policy.budget_ratio["E"] == 0.01


def test_every_problem_is_reported_at_once() -> None:
    def change(b: dict[str, Any]) -> None:
        b["opportunities"][0]["demands"][0]["end_week"] = 7
        b["staff"][1]["capacity_hours"] = [1]

    assert set(errors_of(mutated(change))) == {"opportunities[0].demands[0].end_week", "staff[1].capacity_hours"}


def test_a_wrong_type_and_a_broken_cross_field_rule_come_in_one_answer() -> None:
    def change(b: dict[str, Any]) -> None:
        b["staff"][1]["hourly_rate"] = "120"
        b["opportunities"][2]["id"] = b["opportunities"][0]["id"]

    with pytest.raises(InvalidRequest) as caught:
        parse_request(mutated(change))
    found = {e.path: e.type for e in caught.value.errors}
    assert found == {"staff[1].hourly_rate": "float_type", "opportunities[2].id": "duplicate_id"}


def test_an_invalid_entry_still_counts_as_sent_for_the_rules_that_name_it() -> None:
    # dc-01's rate is wrong: a pin on dc-01 and a lead dc-01 are not "unknown"; the ghost still is.
    def change(b: dict[str, Any]) -> None:
        b["staff"][0]["hourly_rate"] = None
        b["opportunities"][0]["pinned"] = [
            {"demand_id": "arch", "staff_id": "dc-01"},
            {"demand_id": "arch", "staff_id": "ghost"},
        ]
        b["opportunities"][0]["lead_staff_id"] = "dc-01"

    assert sorted(errors_of(mutated(change))) == ["opportunities[0].pinned[1].staff_id", "staff[0].hourly_rate"]


def test_rules_that_need_an_invalid_part_wait_for_it() -> None:
    # With the horizon invalid, no week can be called outside it; a start after the end is still wrong.
    def change(b: dict[str, Any]) -> None:
        b["horizon"]["weeks"] = "4"
        b["opportunities"][0]["demands"][0].update(start_week=9, end_week=12)
        b["opportunities"][0]["demands"][1].update(start_week=3, end_week=2)

    assert sorted(errors_of(mutated(change))) == ["horizon.weeks", "opportunities[0].demands[1].end_week"]


@pytest.mark.parametrize(
    ("change", "path", "kind"),
    [
        (lambda b: b["staff"][0].update(hourly_rate=False), "staff[0].hourly_rate", "float_type"),
        (lambda b: b["staff"][0].update(hourly_rate="150"), "staff[0].hourly_rate", "float_type"),
        (lambda b: b["staff"][0].update(can_lead=1), "staff[0].can_lead", "bool_type"),
        (lambda b: b["staff"][0].update(can_lead="yes"), "staff[0].can_lead", "bool_type"),
        (lambda b: b["horizon"].update(start=0), "horizon.start", "date_type"),
        (lambda b: b["horizon"].update(weeks=True), "horizon.weeks", "int_type"),
        (lambda b: b["horizon"].update(weeks="4"), "horizon.weeks", "int_type"),
        (lambda b: b["horizon"].update(weeks=4.5), "horizon.weeks", "int_from_float"),
        (lambda b: b["staff"][0]["skills"].update({"erp": True}), "staff[0].skills.erp", "int_type"),
        (lambda b: b["staff"][0].update(capacity_hours=True), "staff[0].capacity_hours", "float_type"),
        (lambda b: b["staff"][0].update(capacity_hours=[40, "40", 40, 40]), "staff[0].capacity_hours[1]", "float_type"),
    ],
)
def test_a_scalar_of_the_wrong_json_type_is_refused_once_at_its_path(change: Any, path: str, kind: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(mutated(change))
    assert [(e.path, e.type) for e in caught.value.errors] == [(path, kind)]


def test_json_numbers_and_dates_are_read_as_the_schema_says() -> None:
    def change(b: dict[str, Any]) -> None:
        b["horizon"]["weeks"] = 4.0  # an integer to JSON Schema
        b["staff"][0]["hourly_rate"] = 150  # an integer is a number
        b["opportunities"][0]["demands"][0]["min_level"] = 4.0

    request = parse_request(mutated(change))
    assert request.horizon.weeks == 4
    assert isinstance(request.horizon.weeks, int)
    assert request.horizon.start.isoformat() == EXAMPLE["horizon"]["start"]
    assert request.staff[0].hourly_rate == 150.0


def test_a_value_no_member_of_a_union_takes_is_one_error_naming_both() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(mutated(lambda b: b["staff"][0].update(capacity_hours="40")))
    (error,) = caught.value.errors
    assert error.message == "Input should be a valid number or a valid list"
