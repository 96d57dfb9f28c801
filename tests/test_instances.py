"""Seeded instances and market scenarios: valid, reproducible, shaped as promised, with real contention."""

from __future__ import annotations

import json
import time
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generator import SIZES, STAGES, Size, Stage, contention, generate, market, to_json
from benchmarks.generator.cli import main
from benchmarks.generator.csvpair import csv_pair, csv_paths
from service.contract import AllocationRequest, Demand, Opportunity, Staff, parse_request
from service.eligibility import is_qualified, may_lead

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SCENARIO_FILES: dict[Stage, str] = {
    "new_market": "new-market.json",
    "fast_growth": "fast-growth.json",
    "mature_market": "mature-market.json",
}
# opportunities, staff, weeks
COUNTS: dict[Size, tuple[int, int, int]] = {
    "S": (20, 15, 4),
    "M": (200, 80, 8),
    "L": (1000, 300, 12),
    "XL": (5000, 1500, 12),
}
IRON_TRIANGLE = ("customer-lead", "solution-manager", "solution-architect")


@cache
def sized(size: Size, seed: int = 0) -> dict[str, Any]:
    return generate(size, seed)


@cache
def staged(stage: Stage) -> dict[str, Any]:
    return market(stage)


def travels(person: Staff, opportunity: Opportunity, demand: Demand) -> bool:
    """Whether the travel surcharge applies (CONTRACT.md, member cost)."""
    return not demand.remote_ok and person.unit.kind != "hotline" and person.unit.region != opportunity.region


def structural_reasons(request: AllocationRequest) -> Counter[str]:
    """The unfilled reason each demand gets even before any contention, from the rules alone."""
    policy = request.policy
    found: Counter[str] = Counter()
    for opportunity in request.opportunities:
        if opportunity.presales_budget is not None:
            budget = opportunity.presales_budget
        else:
            budget = policy.budget_ratio[opportunity.grade] * opportunity.deal_value * opportunity.win_probability
        weeks = max(d.end_week for d in opportunity.demands) - min(d.start_week for d in opportunity.demands) + 1
        qualified = {
            d.id: [s for s in request.staff if is_qualified(s, opportunity, d, policy)] for d in opportunity.demands
        }
        leads = [s for people in qualified.values() for s in people if may_lead(s, opportunity, policy)]
        for demand in opportunity.demands:
            people = qualified[demand.id]
            if not people:
                found["no_qualified_staff"] += 1
                continue
            if not leads:
                found["no_lead"] += 1
                continue
            lead_cost = min(policy.lead_hours_per_week * weeks * s.hourly_rate for s in leads)
            hours = demand.hours_per_week * (demand.end_week - demand.start_week + 1)

            cheapest = min(
                hours * s.hourly_rate * (1 + policy.travel_surcharge if travels(s, opportunity, demand) else 1)
                for s in people
            )
            if cheapest + lead_cost > budget:
                found["over_budget"] += 1
                continue
            window = range(demand.start_week, demand.end_week + 1)
            if not any(all(s.capacity(w) >= demand.hours_per_week for w in window) for s in people):
                found["no_capacity"] += 1
                continue
            found["possible"] += 1
    return found


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("size", SIZES)
def test_size_is_valid_and_has_the_promised_counts(size: Size) -> None:
    request = parse_request(sized(size))
    opportunities, staff, weeks = COUNTS[size]
    assert len(request.opportunities) == opportunities
    assert len(request.staff) == staff
    assert request.horizon.weeks == weeks
    assert request.options.time_limit_s == (30 if size in ("L", "XL") else 10)


@pytest.mark.parametrize("size", SIZES)
def test_same_seed_gives_identical_bytes_and_another_seed_does_not(size: Size) -> None:
    first = to_json(generate(size, 11))
    assert to_json(generate(size, 11)) == first
    assert json.dumps(generate(size, 11), sort_keys=True) == json.dumps(json.loads(first), sort_keys=True)
    assert to_json(generate(size, 12)) != first


@pytest.mark.alone  # wall-clock bound: a test running beside it would share its core
def test_xl_generates_well_under_five_seconds() -> None:
    started = time.perf_counter()
    generate("XL", 3)
    assert time.perf_counter() - started < 2.5


def test_staff_have_the_three_unit_kinds_in_realistic_proportions() -> None:
    request = parse_request(sized("L"))
    kinds = Counter(s.unit.kind for s in request.staff)
    assert kinds == {"delivery_center": 60, "local_office": 180, "hotline": 60}
    assert len({s.unit.region for s in request.staff if s.unit.kind == "local_office"}) == 6
    for person in request.staff:
        capacity = [person.capacity(w) for w in range(request.horizon.weeks)]
        assert set(capacity) <= {0, 20, 24, 32, 40}
        assert person.max_opportunities is None or 2 <= person.max_opportunities <= 6
        if person.unit.kind == "delivery_center":
            assert 110 <= person.hourly_rate <= 180
            assert min(person.skills.values()) >= 3
        elif person.unit.kind == "local_office":
            assert 60 <= person.hourly_rate <= 110
            assert 2 <= len(person.skills) <= 3
        else:
            assert 40 <= person.hourly_rate <= 60
            assert not person.can_lead
    dc = [s for s in request.staff if s.unit.kind == "delivery_center"]
    local = [s for s in request.staff if s.unit.kind == "local_office"]
    assert sum(s.can_lead for s in dc) > 0.6 * len(dc)
    assert 0.35 * len(local) < sum(s.can_lead for s in local) < 0.7 * len(local)
    assert any(isinstance(s.capacity_hours, list) for s in request.staff)
    assert any(s.capacity_hours in (20, 24, 32) for s in request.staff)


def test_opportunities_follow_the_grade_pyramid_and_ranges() -> None:
    request = parse_request(sized("L"))
    grades = Counter(o.grade for o in request.opportunities)
    assert grades == {"A": 50, "B": 150, "C": 300, "D": 300, "E": 200}
    values = {"A": (2e6, 1e7), "B": (5e5, 3e6), "C": (1e5, 8e5), "D": (3e4, 2e5), "E": (5e3, 6e4)}
    for opportunity in request.opportunities:
        low, high = values[opportunity.grade]
        assert low * 0.99 <= opportunity.deal_value <= high * 1.01
        assert 0.1 <= opportunity.win_probability <= 0.8
        assert 1 <= len(opportunity.demands) <= 4
        for demand in opportunity.demands:
            assert 4 <= demand.hours_per_week <= 24
            if opportunity.grade not in "AB":
                assert demand.headcount == 1
    explicit = sum(o.presales_budget is not None for o in request.opportunities)
    assert 0 < explicit < 0.3 * len(request.opportunities)
    assert max(d.headcount for o in request.opportunities for d in o.demands) == 3


@pytest.mark.parametrize("size", ["M", "L", "XL"])
def test_demanded_hours_exceed_capacity(size: Size) -> None:
    figures = contention(sized(size))
    assert 1.3 <= figures["ratio"] <= 2.0


@pytest.mark.parametrize(("size", "seed"), [("S", 0), ("S", 1), ("M", 0), ("M", 5)])
def test_every_structural_unfilled_reason_appears(size: Size, seed: int) -> None:
    reasons = structural_reasons(parse_request(sized(size, seed)))
    for reason in ("no_qualified_staff", "no_lead", "over_budget", "no_capacity", "possible"):
        assert reasons[reason] > 0, reasons
    if size != "S":  # fifteen people cannot cover a catalog of fifteen skills; larger benches can
        # Impossible work is the exception: most demands could be filled if the hours were there.
        assert reasons["possible"] > 0.6 * sum(reasons.values()), reasons


# --------------------------------------------------------------------------- market stages


@pytest.mark.parametrize("stage", STAGES)
def test_market_stage_is_valid_and_reproducible(stage: Stage) -> None:
    request = parse_request(staged(stage))
    assert request.opportunities
    assert request.staff
    assert to_json(market(stage)) == to_json(staged(stage))
    assert to_json(market(stage, seed=8)) != to_json(staged(stage))


@pytest.mark.parametrize("stage", STAGES)
def test_scenario_file_is_what_the_generator_produces(stage: Stage) -> None:
    text = (SCENARIOS / SCENARIO_FILES[stage]).read_text(encoding="utf-8")
    assert text == to_json(market(stage)), f"regenerate: python -m benchmarks.generator {stage} -o scenarios/..."


@pytest.mark.parametrize("stage", STAGES)
def test_scenario_csv_pair_is_what_the_generator_produces(stage: Stage) -> None:
    staff_path, opportunities_path = csv_paths(SCENARIOS / SCENARIO_FILES[stage])
    staff, opportunities = csv_pair(staged(stage))
    hint = f"regenerate: python -m benchmarks.generator {stage} -o scenarios/... --csv"
    # Bytes, not text: the files end their lines with CRLF, which text mode would translate.
    assert staff_path.read_bytes() == staff.encode("utf-8"), hint
    assert opportunities_path.read_bytes() == opportunities.encode("utf-8"), hint


def test_market_sizes_and_contention_differ_by_stage() -> None:
    sizes = {stage: (len(staged(stage)["staff"]), len(staged(stage)["opportunities"])) for stage in STAGES}
    assert sizes == {"new_market": (20, 30), "fast_growth": (80, 200), "mature_market": (150, 400)}
    ratio = {stage: contention(staged(stage))["ratio"] for stage in STAGES}
    assert ratio["new_market"] < 1.0 < ratio["mature_market"] < ratio["fast_growth"]
    assert ratio["fast_growth"] >= 1.5


def test_new_market_is_all_local_and_lets_local_offices_lead_key_deals() -> None:
    request = parse_request(staged("new_market"))
    assert {s.unit.kind for s in request.staff} == {"local_office"}
    for grade in "AB":
        assert "local_office" in request.policy.tiers[grade]
        assert "local_office" in request.policy.lead_units[grade]
    key_deals = [o for o in request.opportunities if o.grade in "AB"]
    assert key_deals
    assert any(
        may_lead(s, o, request.policy) and any(is_qualified(s, o, d, request.policy) for d in o.demands)
        for o in key_deals
        for s in request.staff
    )


def test_fast_growth_has_a_thin_delivery_center() -> None:
    request = parse_request(staged("fast_growth"))
    kinds = Counter(s.unit.kind for s in request.staff)
    assert 0 < kinds["delivery_center"] < kinds["local_office"]


def test_mature_market_works_a_deals_with_iron_triangles() -> None:
    request = parse_request(staged("mature_market"))
    weeks = request.horizon.weeks
    a_deals = [o for o in request.opportunities if o.grade == "A"]
    assert len(a_deals) >= 20
    for opportunity in a_deals:
        demands = {d.id: d for d in opportunity.demands}
        assert set(IRON_TRIANGLE) <= set(demands), opportunity.id
        triangle = [demands[i] for i in IRON_TRIANGLE]
        assert len({d.skill for d in triangle}) == 3
        assert triangle[1].skill == "solution-management"
        assert triangle[0].min_level == 5
        # Planned long ahead: the triangle spans at least three quarters of the horizon.
        assert triangle[0].end_week - triangle[0].start_week + 1 >= weeks * 3 // 4
        for demand in triangle:
            assert any(is_qualified(s, opportunity, demand, request.policy) for s in request.staff), demand.id
    spans = {
        key: [
            d.end_week - d.start_week + 1 for o in request.opportunities if (o.grade == "A") == key for d in o.demands
        ]
        for key in (True, False)
    }
    assert sum(spans[True]) / len(spans[True]) > 2 * sum(spans[False]) / len(spans[False])
    kinds = Counter(s.unit.kind for s in request.staff)
    growth = Counter(s["unit"]["kind"] for s in staged("fast_growth")["staff"])
    assert kinds["delivery_center"] > growth["delivery_center"]
    assert kinds["delivery_center"] >= 0.25 * len(request.staff)
    assert {"customer_lead_expert", "solution_manager", "solution_architect"} <= {s.role for s in request.staff}


# --------------------------------------------------------------------------- command line


def test_command_line_writes_the_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.json"
    assert main(["S", "--seed", "3", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == to_json(generate("S", 3))
    assert main(["new_market"]) == 0
    assert capsys.readouterr().out == to_json(market("new_market"))


def test_command_line_writes_the_csv_pair_beside_the_json(tmp_path: Path) -> None:
    out = tmp_path / "new-market.json"
    assert main(["new_market", "-o", str(out), "--csv"]) == 0
    staff, opportunities = csv_pair(market("new_market"))
    assert (tmp_path / "new-market.staff.csv").read_bytes() == staff.encode("utf-8")
    assert (tmp_path / "new-market.opportunities.csv").read_bytes() == opportunities.encode("utf-8")
    with pytest.raises(SystemExit):
        main(["new_market", "--csv"])  # to stdout: nowhere to put the CSV files
