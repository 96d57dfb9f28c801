"""Pure functions for the contract's derived quantities: hours, expected value, budget, costs, slot value."""

from __future__ import annotations

from service.contract import Demand, Opportunity, Policy, Staff


def demand_weeks(demand: Demand) -> int:
    """weeks(d) = end_week - start_week + 1."""
    return demand.end_week - demand.start_week + 1


def demand_hours(demand: Demand) -> float:
    """hours(d): the hours of one slot over the demand's whole window."""
    return demand.hours_per_week * demand_weeks(demand)


def active_window(opportunity: Opportunity) -> tuple[int, int] | None:
    """First and last week in which any demand of the opportunity is active (None without demands)."""
    if not opportunity.demands:
        return None
    return (
        min(d.start_week for d in opportunity.demands),
        max(d.end_week for d in opportunity.demands),
    )


def opportunity_weeks(opportunity: Opportunity) -> int:
    """weeks(o): length of the active window."""
    window = active_window(opportunity)
    return 0 if window is None else window[1] - window[0] + 1


def expected_value(opportunity: Opportunity) -> float:
    """EV(o) = deal_value x win_probability."""
    return opportunity.deal_value * opportunity.win_probability


def budget(opportunity: Opportunity, policy: Policy) -> float:
    """The presales budget: explicit, or budget_ratio[grade] x EV(o)."""
    if opportunity.presales_budget is not None:
        return opportunity.presales_budget
    return policy.budget_ratio[opportunity.grade] * expected_value(opportunity)


def travels(staff: Staff, demand: Demand, opportunity: Opportunity) -> bool:
    """Whether the travel surcharge applies: on-site work away from the person's own region."""
    return not demand.remote_ok and staff.unit.kind != "hotline" and staff.unit.region != opportunity.region


def member_cost(staff: Staff, demand: Demand, opportunity: Opportunity, policy: Policy) -> float:
    """Internal cost of `staff` filling one slot of `demand`."""
    cost = demand_hours(demand) * staff.hourly_rate
    if travels(staff, demand, opportunity):
        return cost * (1 + policy.travel_surcharge)
    return cost


def lead_hours(opportunity: Opportunity, policy: Policy) -> float:
    """Hours the lead spends on the opportunity: lead_hours_per_week over its active window."""
    return policy.lead_hours_per_week * opportunity_weeks(opportunity)


def lead_cost(staff: Staff, opportunity: Opportunity, policy: Policy) -> float:
    """Internal cost of `staff` leading the opportunity (no travel surcharge on lead hours)."""
    return lead_hours(opportunity, policy) * staff.hourly_rate


def slot_value(demand: Demand, opportunity: Opportunity, policy: Policy) -> float:
    """value(d): the grade-weighted expected value, shared among all slot-hours of the opportunity."""
    total = sum(demand_hours(d) * d.headcount for d in opportunity.demands)
    if total <= 0:
        return 0.0
    return policy.grade_weights[opportunity.grade] * expected_value(opportunity) * demand_hours(demand) / total
