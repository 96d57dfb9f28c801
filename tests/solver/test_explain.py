"""The reasons for unfilled work name weeks by their dates (`W48 · 23 Nov`), not by 0-based indexes."""

from __future__ import annotations

from typing import Any

from service.contract import parse_request
from service.planning import make_plan
from tests.requests import demand, opportunity, person, request


def details(body: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    plan = make_plan(parse_request(body))
    return {(u.opportunity_id, u.demand_id): (u.reason, u.detail) for u in plan.unfilled}


def test_no_capacity_names_every_week_of_the_demand_by_its_date() -> None:
    body = request(
        [person("a", capacity=5)],
        [
            opportunity("o1", demands=[demand("d1", start=1, end=2)]),
            opportunity("o2", demands=[demand("d1", start=2, end=2)]),
        ],
        weeks=3,
    )
    found = details(body)
    assert found[("o1", "d1")] == (
        "no_capacity",
        "no qualified person has 10 h free in each of weeks W49 · 30 Nov – W50 · 7 Dec, "
        "even before any other work (H3)",
    )
    assert found[("o2", "d1")] == (
        "no_capacity",
        "no qualified person has 10 h free in week W50 · 7 Dec, even before any other work (H3)",
    )


def test_outranked_work_names_the_weeks_the_hours_went_to_other_work() -> None:
    body = request(
        [person("a", capacity=12)],
        [opportunity("o1", value=2_000_000), opportunity("o2", value=1_000_000)],
    )
    body["horizon"]["start"] = "2026-12-28"  # the weeks cross into the next ISO year
    reason, detail = details(body)[("o2", "d1")]
    assert reason == "outranked"
    assert "in weeks W53 · 28 Dec – W1 · 4 Jan: a on o1" in detail
    assert "weeks 0-1" not in detail
