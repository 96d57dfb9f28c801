"""Who may serve a demand (H1 skill, H2 tier, H9 exclusions) and who may lead a deal (the lead part of H5).

Every other part asks here: the compile keeps a pair only where `is_qualified` holds, the request's
validation words a pin or a fixed lead the rules refuse with `serve_refusals` and `fixed_lead_refusal`,
recommendations count the people refused by the first rule they break, admission counts the qualified
pairs by unit with `unit_breach`. A refusal names the rule's id in CONTRACT.md and says why in words a
client can act on; those words are part of the API (422 messages), so they change only with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # contract.py validates with these rules: imported for types only, no import cycle
    from service.contract import Demand, Opportunity, Policy, Staff

RuleId = Literal["H1", "H2", "H5", "H9"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule that keeps a person off a demand or a deal's lead: the rule's id and why, in words."""

    rule: RuleId
    message: str

    def __str__(self) -> str:
        return f"{self.message} ({self.rule})"


# --------------------------------------------------------------------------- serving a demand
# Each rule once, as a test: `is_qualified` (the compile's hot path, a million pairs at most) asks the
# tests alone; the refusals ask the same tests and word what failed.

UnitBreach = Literal["tier", "region", "remote"]


def has_skill(staff: Staff, demand: Demand) -> bool:
    """H1 skill: the person's level in the demand's skill is at least its min_level."""
    return staff.skills.get(demand.skill, 0) >= demand.min_level


def unit_breach(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> UnitBreach | None:
    """H2 tier: the unit kind serves the grade, a local office only its own region, the hotline only
    remote_ok demands. Decided by the person's unit alone (admission counts by unit)."""
    kind = staff.unit.kind
    if kind not in policy.tiers[opportunity.grade]:
        return "tier"
    if kind == "local_office" and staff.unit.region != opportunity.region:
        return "region"
    if kind == "hotline" and not demand.remote_ok:
        return "remote"
    return None


def is_excluded(staff: Staff, opportunity: Opportunity) -> bool:
    """H9 exclusions: nobody in the deal's excluded_staff works on it."""
    return staff.id in opportunity.excluded_staff


def is_qualified(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> bool:
    """H1 + H2 + H9 for one (staff, demand) pair, regardless of capacity, budget and other work."""
    return (
        has_skill(staff, demand)
        and unit_breach(staff, opportunity, demand, policy) is None
        and not is_excluded(staff, opportunity)
    )


def skill_refusal(staff: Staff, demand: Demand) -> Refusal | None:
    """H1, in words when it fails."""
    if has_skill(staff, demand):
        return None
    level = staff.skills.get(demand.skill, 0)
    return Refusal("H1", f"{staff.id} has {demand.skill} level {level}, demand {demand.id} needs {demand.min_level}")


def unit_refusal(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> Refusal | None:
    """H2, in words when it fails."""
    breach = unit_breach(staff, opportunity, demand, policy)
    if breach is None:
        return None
    if breach == "tier":
        message = (
            f"{staff.id} is in a {staff.unit.kind}, which may not serve grade {opportunity.grade} "
            f"(policy tiers: {policy.tiers[opportunity.grade]})"
        )
    elif breach == "region":
        message = f"{staff.id} is in the {staff.unit.region} local office and may not serve region {opportunity.region}"
    else:
        message = f"{staff.id} is on the hotline and demand {demand.id} is not remote_ok"
    return Refusal("H2", message)


def exclusion_refusal(staff: Staff, opportunity: Opportunity) -> Refusal | None:
    """H9, in words when it fails."""
    return (
        Refusal("H9", f"{staff.id} is in excluded_staff of {opportunity.id}")
        if is_excluded(staff, opportunity)
        else None
    )


def serve_refusals(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> list[Refusal]:
    """Every rule of H1, H2, H9 that keeps `staff` off `demand`, in the contract's order (empty: qualified)."""
    found = [
        skill_refusal(staff, demand),
        unit_refusal(staff, opportunity, demand, policy),
        exclusion_refusal(staff, opportunity),
    ]
    return [refusal for refusal in found if refusal is not None]


def serve_refusal(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> Refusal | None:
    """The first rule of H1, H2, H9 that keeps `staff` off `demand`, None exactly when `is_qualified`."""
    return (
        skill_refusal(staff, demand)
        or unit_refusal(staff, opportunity, demand, policy)
        or exclusion_refusal(staff, opportunity)
    )


# --------------------------------------------------------------------------- leading a deal


def may_lead(staff: Staff, opportunity: Opportunity, policy: Policy) -> bool:
    """The lead-specific part of H5: can_lead, and a unit kind in lead_units[grade] (the lead must also work
    on the deal: see fixed_lead_refusal)."""
    return staff.can_lead and staff.unit.kind in policy.lead_units[opportunity.grade]


def lead_refusal(staff: Staff, opportunity: Opportunity, policy: Policy) -> Refusal | None:
    """may_lead, in words when it fails."""
    if may_lead(staff, opportunity, policy):
        return None
    if not staff.can_lead:
        return Refusal("H5", f"{staff.id} has can_lead false")
    return Refusal(
        "H5",
        f"{staff.id} is in a {staff.unit.kind}, which may not lead grade {opportunity.grade} "
        f"(policy lead_units: {policy.lead_units[opportunity.grade]})",
    )


def fixed_lead_refusal(staff: Staff, opportunity: Opportunity, policy: Policy) -> Refusal | None:
    """Why `staff` can never be the deal's lead, whatever the plan (its `lead_staff_id` names them): the
    lead part of H5, then H9, then H5's "the lead works on the deal" (qualified for one of its demands)."""
    refusal = lead_refusal(staff, opportunity, policy)
    if refusal is not None:
        return refusal
    if is_excluded(staff, opportunity):
        return Refusal("H9", f"{staff.id} is in excluded_staff")
    if not any(is_qualified(staff, opportunity, demand, policy) for demand in opportunity.demands):
        return Refusal(
            "H5", f"{staff.id} is qualified for none of the demands of {opportunity.id}, and a lead must work on one"
        )
    return None
