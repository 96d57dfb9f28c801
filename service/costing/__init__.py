"""Cost accounting of presales work: internal rates, travel surcharge, budgets, slot values."""

from service.costing.accounting import (
    active_window,
    budget,
    demand_hours,
    demand_weeks,
    expected_value,
    lead_cost,
    lead_hours,
    member_cost,
    opportunity_weeks,
    slot_value,
    travels,
)

__all__ = [
    "active_window",
    "budget",
    "demand_hours",
    "demand_weeks",
    "expected_value",
    "lead_cost",
    "lead_hours",
    "member_cost",
    "opportunity_weeks",
    "slot_value",
    "travels",
]
