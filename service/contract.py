"""Pydantic models of CONTRACT.md v1: the allocation request, the plan, and their validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

UnitKind = Literal["delivery_center", "local_office", "hotline"]
Grade = Literal["A", "B", "C", "D", "E"]
GRADES: tuple[Grade, ...] = ("A", "B", "C", "D", "E")
UNIT_KINDS: tuple[UnitKind, ...] = ("delivery_center", "local_office", "hotline")

# List-length limits: large enough for the XL benchmark (5000 deals x 1500 staff), small enough
# that one request cannot exhaust the server.
MAX_STAFF = 5_000
MAX_OPPORTUNITIES = 20_000
MAX_DEMANDS_PER_OPPORTUNITY = 50
MAX_WEEKS = 104
MAX_HEADCOUNT = 50
MAX_TIME_LIMIT_S = 600.0

Id = Annotated[str, Field(min_length=1, max_length=200)]
FreeText = Annotated[str, Field(max_length=500)]
Level = Annotated[int, Field(ge=1, le=5)]
Hours = Annotated[float, Field(ge=0, le=168, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]


class ContractModel(BaseModel):
    """Base of every wire model: unknown fields are rejected so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)


# --------------------------------------------------------------------------- request


class Horizon(ContractModel):
    start: dt.date
    weeks: int = Field(ge=1, le=MAX_WEEKS)


class Unit(ContractModel):
    kind: UnitKind
    id: Id
    region: Id


class Staff(ContractModel):
    id: Id
    name: FreeText = ""
    role: FreeText = ""
    unit: Unit
    skills: dict[Annotated[str, Field(min_length=1, max_length=200)], Level] = Field(max_length=200)
    hourly_rate: Money
    capacity_hours: Hours | list[Hours] = Field(
        description="Hours available per week: one number for every week, or one per horizon week."
    )
    can_lead: bool = False
    max_opportunities: int | None = Field(default=None, ge=0)

    def capacity(self, week: int) -> float:
        """Hours this person can give in `week` (0-based)."""
        if isinstance(self.capacity_hours, list):
            return self.capacity_hours[week]
        return self.capacity_hours


class Demand(ContractModel):
    id: Id
    skill: Annotated[str, Field(min_length=1, max_length=200)]
    min_level: Level
    hours_per_week: Annotated[float, Field(gt=0, le=168, allow_inf_nan=False)]
    start_week: int = Field(ge=0)
    end_week: int = Field(ge=0)
    headcount: int = Field(default=1, ge=1, le=MAX_HEADCOUNT)
    remote_ok: bool = False


class Pin(ContractModel):
    demand_id: Id
    staff_id: Id


class Opportunity(ContractModel):
    id: Id
    name: FreeText = ""
    customer: FreeText = ""
    grade: Grade
    stage: FreeText = ""
    region: Id
    industry: FreeText = ""
    deal_value: Money
    win_probability: float = Field(ge=0, le=1, allow_inf_nan=False)
    presales_budget: Money | None = None
    demands: list[Demand] = Field(max_length=MAX_DEMANDS_PER_OPPORTUNITY)
    pinned: list[Pin] = Field(default_factory=list, max_length=MAX_DEMANDS_PER_OPPORTUNITY * MAX_HEADCOUNT)
    lead_staff_id: Id | None = None
    excluded_staff: list[Id] = Field(default_factory=list, max_length=MAX_STAFF)


def _default_tiers() -> dict[Grade, list[UnitKind]]:
    return {
        "A": ["delivery_center", "local_office"],
        "B": ["delivery_center", "local_office"],
        "C": ["local_office", "hotline"],
        "D": ["local_office", "hotline"],
        "E": ["local_office", "hotline"],
    }


def _default_lead_units() -> dict[Grade, list[UnitKind]]:
    return {
        "A": ["delivery_center"],
        "B": ["delivery_center"],
        "C": ["local_office"],
        "D": ["local_office"],
        "E": ["local_office"],
    }


def _default_grade_weights() -> dict[Grade, float]:
    return {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1}


def _default_budget_ratio() -> dict[Grade, float]:
    return {"A": 0.03, "B": 0.03, "C": 0.02, "D": 0.02, "E": 0.01}


NonNegative = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class Policy(ContractModel):
    """Dispatch and costing policy. Every key is optional; a partial per-grade map keeps the
    defaults of the grades it does not name."""

    tiers: dict[Grade, list[UnitKind]] = Field(default_factory=_default_tiers)
    lead_units: dict[Grade, list[UnitKind]] = Field(default_factory=_default_lead_units)
    lead_hours_per_week: Hours = 2
    grade_weights: dict[Grade, NonNegative] = Field(default_factory=_default_grade_weights)
    budget_ratio: dict[Grade, NonNegative] = Field(default_factory=_default_budget_ratio)
    travel_surcharge: NonNegative = 0.25

    @field_validator("tiers", mode="after")
    @classmethod
    def _merge_tiers(cls, value: dict[Grade, list[UnitKind]]) -> dict[Grade, list[UnitKind]]:
        return {**_default_tiers(), **value}

    @field_validator("lead_units", mode="after")
    @classmethod
    def _merge_lead_units(cls, value: dict[Grade, list[UnitKind]]) -> dict[Grade, list[UnitKind]]:
        return {**_default_lead_units(), **value}

    @field_validator("grade_weights", mode="after")
    @classmethod
    def _merge_weights(cls, value: dict[Grade, float]) -> dict[Grade, float]:
        return {**_default_grade_weights(), **value}

    @field_validator("budget_ratio", mode="after")
    @classmethod
    def _merge_ratio(cls, value: dict[Grade, float]) -> dict[Grade, float]:
        return {**_default_budget_ratio(), **value}


class PlannedAssignment(ContractModel):
    """One assignment of an earlier plan, used to keep changes small."""

    opportunity_id: Id
    demand_id: Id
    staff_id: Id


class LeadChoice(ContractModel):
    """The lead of one opportunity in an earlier plan."""

    opportunity_id: Id
    staff_id: Id


class WarmStart(ContractModel):
    """A plan to start from (an extension of the contract; scenario variants get their base plan here).

    It changes no objective level: the solver uses it as its first hint and, among the plans equal on all
    three levels (covered value, changes, cost), returns one that keeps as many of these assignments and
    leads as it can find in the time limit. Entries that do not fit this request (a person or demand that
    is not in it, a pair that breaks a rule) are ignored, since the plan may come from another request.
    """

    assignments: list[PlannedAssignment] = Field(default_factory=list, max_length=MAX_OPPORTUNITIES * 10)
    leads: list[LeadChoice] = Field(default_factory=list, max_length=MAX_OPPORTUNITIES)


class Options(ContractModel):
    time_limit_s: float = Field(default=10.0, gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)
    deterministic: bool = False
    num_workers: int | None = Field(
        default=None, ge=1, le=16, description="CP-SAT workers; by default chosen from the instance size."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    warm_start: WarmStart | None = Field(
        default=None,
        description="A plan to start from, e.g. a scenario's base plan: a hint and the final tie-break "
        "among equally good plans; it changes no objective level.",
    )


class AllocationRequest(ContractModel):
    horizon: Horizon
    staff: list[Staff] = Field(max_length=MAX_STAFF)
    opportunities: list[Opportunity] = Field(max_length=MAX_OPPORTUNITIES)
    policy: Policy = Field(default_factory=Policy)
    previous_plan: list[PlannedAssignment] = Field(
        default_factory=list,
        max_length=MAX_OPPORTUNITIES * 10,
        description="The plan of record, for the changes level of the objective. Each entry must name a "
        "`staff` id and an `opportunities` id of this request, and a demand id of that opportunity; an entry "
        "naming anything else is a 422 at `previous_plan[i].staff_id` / `.opportunity_id` / `.demand_id`.",
    )
    options: Options = Field(default_factory=Options)


# --------------------------------------------------------------------------- plan

PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown"]
UnfilledReason = Literal["no_qualified_staff", "no_lead", "over_budget", "no_capacity", "outranked"]


class Objective(ContractModel):
    covered_value: float
    total_cost: float
    changes: int
    bound: float
    gap: float


class Assignment(ContractModel):
    opportunity_id: str
    demand_id: str
    staff_id: str
    start_week: int
    end_week: int
    hours: float
    cost: float


class Lead(ContractModel):
    opportunity_id: str
    staff_id: str
    hours: float
    cost: float


class Unfilled(ContractModel):
    opportunity_id: str
    demand_id: str
    slots: int
    reason: UnfilledReason
    detail: str


class OpportunitySummary(ContractModel):
    opportunity_id: str
    grade: Grade
    budget: float
    cost: float
    covered_value: float
    coverage: float
    expected_value: float = 0.0
    lead_staff_id: str | None = None


class StaffSummary(ContractModel):
    staff_id: str
    hours_by_week: list[float]
    utilization: float
    opportunities: list[str]
    credited_value: float


class Timing(ContractModel):
    build_ms: int
    solve_ms: int
    total_ms: int


class SolverInfo(ContractModel):
    name: str
    version: str
    workers: int
    seed: int
    linearization_level: int | None = None
    levels: list[dict[str, Any]] = Field(default_factory=list)


class Kpis(ContractModel):
    covered_value: float
    total_cost: float
    possible_value: float
    coverage: float
    coverage_by_grade: dict[str, float]
    staffed_opportunities: int
    opportunities: int
    filled_slots: int
    unfilled_slots: int
    utilization: float


class PinConflict(ContractModel):
    opportunity_id: str
    demand_id: str | None = None
    staff_id: str
    kind: Literal["pin", "lead"]


BrokenRule = Literal["capacity", "slots", "lead", "budget", "focus"]
RULE_LABELS: dict[BrokenRule, str] = {
    "capacity": "H3 capacity",
    "slots": "H4 slots",
    "lead": "H5 lead",
    "budget": "H6 budget",
    "focus": "H7 focus",
}


class Explanation(ContractModel):
    """Why a plan is infeasible: the smallest set of pins and fixed leads found that cannot hold together,
    and which rules are to blame."""

    detail: str
    conflicting: list[PinConflict]
    broken_rules: list[BrokenRule] = Field(
        default_factory=list,
        description="Each rule (H3 capacity, H4 slots, H5 lead, H6 budget, H7 focus) that, lifted alone, would "
        "let the pins hold; empty when they break several rules at once.",
    )


class Plan(ContractModel):
    id: str = ""
    status: PlanStatus
    objective: Objective
    assignments: list[Assignment]
    leads: list[Lead]
    unfilled: list[Unfilled]
    opportunities: list[OpportunitySummary]
    staff: list[StaffSummary]
    timing: Timing
    solver: SolverInfo
    kpis: Kpis | None = None
    explanation: Explanation | None = None
    cancelled: bool = False


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class FieldError:
    """One problem in a request, located by a path such as `opportunities[3].demands[0].end_week`."""

    path: str
    message: str
    type: str = "value_error"


class InvalidRequest(ValueError):
    """A request that breaks the contract; `errors` names every offending field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in self.errors))


def format_path(loc: Iterable[str | int]) -> str:
    """('opportunities', 3, 'demands', 0, 'end_week') -> 'opportunities[3].demands[0].end_week'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def errors_from_pydantic(error: ValidationError, prefix: Sequence[str | int] = ()) -> list[FieldError]:
    found: list[FieldError] = []
    for detail in error.errors(include_url=False):
        loc = [p for p in detail["loc"] if not (isinstance(p, str) and (_is_union_tag(p) or p == "[key]"))]
        message = detail["msg"]
        if detail["type"] == "model_type":
            message = "must be a JSON object"
        found.append(FieldError(format_path([*prefix, *loc]), message, detail["type"]))
    # A field typed as a union (capacity_hours: number or list) fails once per member; when one member's
    # error is about the value, the others' "wrong type" errors only confuse.
    by_path: dict[str, list[FieldError]] = {}
    for item in found:
        by_path.setdefault(item.path, []).append(item)
    kept: list[FieldError] = []
    for item in found:
        siblings = by_path[item.path]
        if item.type.endswith("_type") and any(not other.type.endswith("_type") for other in siblings):
            continue
        kept.append(item)
    return kept


def _is_union_tag(part: str) -> bool:
    # pydantic names union members in locations (e.g. 'float', 'list[float]'); they mean nothing to users.
    return part in {
        "float",
        "list[float]",
        "list[constrained-float]",
        "constrained-float",
        "function-after[]",
    } or (part.startswith(("list[", "function-")))


def unit_may_serve(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> bool:
    """H2: tier of the unit kind, region of a local office, remote-only hotline."""
    kind = staff.unit.kind
    if kind not in policy.tiers[opportunity.grade]:
        return False
    if kind == "local_office" and staff.unit.region != opportunity.region:
        return False
    return not (kind == "hotline" and not demand.remote_ok)


def is_qualified(staff: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> bool:
    """H1 + H2 + H9 for one (staff, demand) pair, regardless of capacity, budget and other work."""
    return (
        staff.skills.get(demand.skill, 0) >= demand.min_level
        and unit_may_serve(staff, opportunity, demand, policy)
        and staff.id not in opportunity.excluded_staff
    )


def may_lead(staff: Staff, opportunity: Opportunity, policy: Policy) -> bool:
    """The lead-specific part of H5: can_lead and a unit kind in lead_units[grade]."""
    return staff.can_lead and staff.unit.kind in policy.lead_units[opportunity.grade]


def semantic_errors(request: AllocationRequest) -> list[FieldError]:
    """Cross-field checks that a schema cannot express; an empty list means the request is valid."""
    errors: list[FieldError] = []
    weeks = request.horizon.weeks
    staff_by_id: dict[str, Staff] = {}
    for i, person in enumerate(request.staff):
        if person.id in staff_by_id:
            errors.append(FieldError(f"staff[{i}].id", f"duplicate staff id {person.id!r}", "duplicate_id"))
        staff_by_id.setdefault(person.id, person)
        if isinstance(person.capacity_hours, list) and len(person.capacity_hours) != weeks:
            errors.append(
                FieldError(
                    f"staff[{i}].capacity_hours",
                    f"has {len(person.capacity_hours)} weeks, the horizon has {weeks}",
                    "length_mismatch",
                )
            )

    seen_opportunities: set[str] = set()
    demand_ids: dict[str, set[str]] = {}
    for i, opportunity in enumerate(request.opportunities):
        where = f"opportunities[{i}]"
        if opportunity.id in seen_opportunities:
            errors.append(FieldError(f"{where}.id", f"duplicate opportunity id {opportunity.id!r}", "duplicate_id"))
        seen_opportunities.add(opportunity.id)
        ids: set[str] = set()
        for j, demand in enumerate(opportunity.demands):
            at = f"{where}.demands[{j}]"
            if demand.id in ids:
                errors.append(FieldError(f"{at}.id", f"duplicate demand id {demand.id!r}", "duplicate_id"))
            ids.add(demand.id)
            if demand.start_week >= weeks:
                errors.append(
                    FieldError(f"{at}.start_week", f"week {demand.start_week} is outside the horizon 0..{weeks - 1}")
                )
            if demand.end_week >= weeks:
                errors.append(
                    FieldError(f"{at}.end_week", f"week {demand.end_week} is outside the horizon 0..{weeks - 1}")
                )
            if demand.start_week > demand.end_week:
                errors.append(
                    FieldError(
                        f"{at}.end_week",
                        f"end_week {demand.end_week} is before start_week {demand.start_week}",
                    )
                )
        demand_ids.setdefault(opportunity.id, ids)
        demands = {d.id: d for d in opportunity.demands}

        for j, staff_id in enumerate(opportunity.excluded_staff):
            if staff_id not in staff_by_id:
                errors.append(
                    FieldError(f"{where}.excluded_staff[{j}]", f"unknown staff id {staff_id!r}", "unknown_id")
                )

        for j, pin in enumerate(opportunity.pinned):
            at = f"{where}.pinned[{j}]"
            pinned_demand = demands.get(pin.demand_id)
            pinned_person = staff_by_id.get(pin.staff_id)
            if pinned_demand is None:
                errors.append(FieldError(f"{at}.demand_id", f"unknown demand id {pin.demand_id!r}", "unknown_id"))
            if pinned_person is None:
                errors.append(FieldError(f"{at}.staff_id", f"unknown staff id {pin.staff_id!r}", "unknown_id"))
            if pinned_demand is None or pinned_person is None:
                continue
            errors.extend(_pin_conflicts(at, pinned_person, opportunity, pinned_demand, request.policy))

        if opportunity.lead_staff_id is not None:
            at = f"{where}.lead_staff_id"
            lead = staff_by_id.get(opportunity.lead_staff_id)
            if lead is None:
                errors.append(FieldError(at, f"unknown staff id {opportunity.lead_staff_id!r}", "unknown_id"))
            elif not lead.can_lead:
                errors.append(FieldError(at, f"{lead.id} has can_lead false (H5)", "lead_conflict"))
            elif not may_lead(lead, opportunity, request.policy):
                errors.append(
                    FieldError(
                        at,
                        f"{lead.id} is in a {lead.unit.kind}, which may not lead grade {opportunity.grade} "
                        f"(policy lead_units: {request.policy.lead_units[opportunity.grade]}) (H5)",
                        "lead_conflict",
                    )
                )
            elif lead.id in opportunity.excluded_staff:
                errors.append(FieldError(at, f"{lead.id} is in excluded_staff (H9)", "lead_conflict"))
            elif not any(is_qualified(lead, opportunity, d, request.policy) for d in opportunity.demands):
                errors.append(
                    FieldError(
                        at,
                        f"{lead.id} is qualified for none of the demands of {opportunity.id}, "
                        "and a lead must work on one (H5)",
                        "lead_conflict",
                    )
                )

    for i, planned in enumerate(request.previous_plan):
        at = f"previous_plan[{i}]"
        if planned.opportunity_id not in demand_ids:
            errors.append(
                FieldError(f"{at}.opportunity_id", f"unknown opportunity id {planned.opportunity_id!r}", "unknown_id")
            )
        elif planned.demand_id not in demand_ids[planned.opportunity_id]:
            errors.append(
                FieldError(
                    f"{at}.demand_id",
                    f"unknown demand id {planned.demand_id!r} in {planned.opportunity_id}",
                    "unknown_id",
                )
            )
        if planned.staff_id not in staff_by_id:
            errors.append(FieldError(f"{at}.staff_id", f"unknown staff id {planned.staff_id!r}", "unknown_id"))
    return errors


def _pin_conflicts(
    at: str, person: Staff, opportunity: Opportunity, demand: Demand, policy: Policy
) -> list[FieldError]:
    """Why a single pin breaks H1, H2 or H9 on its own."""
    found = []
    level = person.skills.get(demand.skill, 0)
    if level < demand.min_level:
        found.append(
            FieldError(
                at,
                f"{person.id} has {demand.skill} level {level}, demand {demand.id} needs {demand.min_level} (H1)",
                "pin_conflict",
            )
        )
    kind = person.unit.kind
    if kind not in policy.tiers[opportunity.grade]:
        found.append(
            FieldError(
                at,
                f"{person.id} is in a {kind}, which may not serve grade {opportunity.grade} "
                f"(policy tiers: {policy.tiers[opportunity.grade]}) (H2)",
                "pin_conflict",
            )
        )
    elif kind == "local_office" and person.unit.region != opportunity.region:
        found.append(
            FieldError(
                at,
                f"{person.id} is in the {person.unit.region} local office and may not serve "
                f"region {opportunity.region} (H2)",
                "pin_conflict",
            )
        )
    elif kind == "hotline" and not demand.remote_ok:
        found.append(
            FieldError(
                at,
                f"{person.id} is on the hotline and demand {demand.id} is not remote_ok (H2)",
                "pin_conflict",
            )
        )
    if person.id in opportunity.excluded_staff:
        found.append(FieldError(at, f"{person.id} is in excluded_staff of {opportunity.id} (H9)", "pin_conflict"))
    return found


def parse_request(data: Any) -> AllocationRequest:
    """Validate raw JSON data into a request, raising InvalidRequest with every field error found."""
    try:
        request = AllocationRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None
    errors = semantic_errors(request)
    if errors:
        raise InvalidRequest(errors)
    return request
