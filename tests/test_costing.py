"""Costing against figures computed by hand from shared/examples/small-request.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service import costing
from service.contract import AllocationRequest, parse_request

EXAMPLE = json.loads((Path(__file__).parents[2] / "shared" / "examples" / "small-request.json").read_text())


@pytest.fixture
def example() -> AllocationRequest:
    return parse_request(EXAMPLE)


def test_hours_and_windows(example: AllocationRequest) -> None:
    a1, c1, _ = example.opportunities
    assert costing.demand_hours(a1.demands[0]) == 64  # 16 h x 4 weeks
    assert costing.demand_hours(a1.demands[1]) == 24  # 8 h x weeks 1-3
    assert costing.active_window(a1) == (0, 3)
    assert costing.opportunity_weeks(c1) == 2


def test_expected_value_and_budgets(example: AllocationRequest) -> None:
    a1, c1, e1 = example.opportunities
    assert costing.expected_value(a1) == pytest.approx(2_000_000)
    assert costing.budget(a1, example.policy) == pytest.approx(60_000)  # 3% of EV
    assert costing.budget(c1, example.policy) == 6_000  # explicit presales_budget
    assert costing.budget(e1, example.policy) == pytest.approx(150)  # 1% of 15,000


def test_member_cost_with_and_without_travel(example: AllocationRequest) -> None:
    staff = {s.id: s for s in example.staff}
    a1, c1, _ = example.opportunities
    # dc-01 is in the east, A1 in the south, on site: 64 h x 150 x 1.25
    assert costing.member_cost(staff["dc-01"], a1.demands[0], a1, example.policy) == pytest.approx(12_000)
    # the hotline never pays travel: 4 h x 50
    assert costing.member_cost(staff["hot-01"], c1.demands[1], c1, example.policy) == pytest.approx(200)
    # south-01 is local to C1: 16 h x 70
    assert costing.member_cost(staff["south-01"], c1.demands[0], c1, example.policy) == pytest.approx(1_120)


def test_lead_cost(example: AllocationRequest) -> None:
    staff = {s.id: s for s in example.staff}
    a1, c1, _ = example.opportunities
    assert costing.lead_cost(staff["dc-01"], a1, example.policy) == pytest.approx(1_200)  # 2 h x 4 weeks x 150
    assert costing.lead_cost(staff["south-01"], c1, example.policy) == pytest.approx(280)  # 2 h x 2 weeks x 70


def test_slot_values(example: AllocationRequest) -> None:
    a1, c1, e1 = example.opportunities
    policy = example.policy
    # A: weight 5 x EV 2,000,000 shared over 64 + 24 slot-hours
    assert costing.slot_value(a1.demands[0], a1, policy) == pytest.approx(10_000_000 * 64 / 88)
    assert costing.slot_value(a1.demands[1], a1, policy) == pytest.approx(10_000_000 * 24 / 88)
    # C: weight 3 x EV 300,000 over 16 + 4
    assert costing.slot_value(c1.demands[0], c1, policy) == pytest.approx(720_000)
    assert costing.slot_value(c1.demands[1], c1, policy) == pytest.approx(180_000)
    assert costing.slot_value(e1.demands[0], e1, policy) == pytest.approx(15_000)


def test_example_optimum_by_hand(example: AllocationRequest) -> None:
    """The optimal plan: dc-01 on A1/arch (+ lead), south-01 on C1/erp (+ lead), hot-01 on C1/crm-demo."""
    a1, c1, _ = example.opportunities
    policy = example.policy
    value = (
        costing.slot_value(a1.demands[0], a1, policy)
        + costing.slot_value(c1.demands[0], c1, policy)
        + costing.slot_value(c1.demands[1], c1, policy)
    )
    assert round(value, 2) == 8_172_727.27
    assert 12_000 + 1_200 + 1_120 + 200 + 280 == 14_800


def test_the_solver_finds_that_optimum(example: AllocationRequest) -> None:
    from service.planning import make_plan

    plan = make_plan(example)
    assert plan.status == "optimal"
    assert plan.objective.covered_value == pytest.approx(8_172_727.27, abs=0.01)
    assert plan.objective.total_cost == pytest.approx(14_800.00, abs=0.01)
    assert plan.objective.gap == 0
