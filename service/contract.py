"""Pydantic models of CONTRACT.md v1: the allocation request, the plan, and their validation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from service.eligibility import fixed_lead_refusal, serve_refusals

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


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _date_text(value: Any) -> Any:
    if isinstance(value, str | dt.date):
        return value
    raise PydanticCustomError("date_type", "Input should be a valid date in the format YYYY-MM-DD")


# Request models are strict (RequestModel): `false` or "5" for a number, 0 or "yes" for a boolean are refused
# with their paths, as the schema says. Two JSON types need a rule of their own. An integer may be sent as
# 4.0, which JSON Schema counts as an integer too (a fraction is still refused), but not as true or "4".
# A date is a "YYYY-MM-DD" string (strict mode would take only a date object from Python callers), never a
# number of seconds. Their constraints come before the validator, or the schema loses minimum/maximum.
_WHOLE_NUMBER = (Strict(False), BeforeValidator(_whole_number))
Integer = Annotated[int, *_WHOLE_NUMBER]
IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_date_text)]

Id = Annotated[str, Field(min_length=1, max_length=200)]
FreeText = Annotated[str, Field(max_length=500)]
Level = Annotated[int, Field(ge=1, le=5), *_WHOLE_NUMBER]
Hours = Annotated[float, Field(ge=0, le=168, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]


class ContractModel(BaseModel):
    """Base of every wire model: unknown fields are rejected so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class RequestModel(ContractModel):
    """Base of the models a client sends: strict JSON types (see Integer and IsoDate for the two exceptions)."""

    model_config = ConfigDict(strict=True)


# --------------------------------------------------------------------------- request


class Horizon(RequestModel):
    start: IsoDate
    weeks: Integer = Field(ge=1, le=MAX_WEEKS)


class Unit(RequestModel):
    kind: UnitKind
    id: Id
    region: Id


class Staff(RequestModel):
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
    max_opportunities: Annotated[int, Field(ge=0), *_WHOLE_NUMBER] | None = None

    def capacity(self, week: int) -> float:
        """Hours this person can give in `week` (0-based)."""
        if isinstance(self.capacity_hours, list):
            return self.capacity_hours[week]
        return self.capacity_hours


class Demand(RequestModel):
    id: Id
    skill: Annotated[str, Field(min_length=1, max_length=200)]
    min_level: Level
    hours_per_week: Annotated[float, Field(gt=0, le=168, allow_inf_nan=False)]
    start_week: Integer = Field(ge=0)
    end_week: Integer = Field(ge=0)
    headcount: Integer = Field(default=1, ge=1, le=MAX_HEADCOUNT)
    remote_ok: bool = False


class Pin(RequestModel):
    demand_id: Id
    staff_id: Id


class Opportunity(RequestModel):
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


class Policy(RequestModel):
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


class PlannedAssignment(RequestModel):
    """One assignment of an earlier plan, used to keep changes small."""

    opportunity_id: Id
    demand_id: Id
    staff_id: Id


class LeadChoice(RequestModel):
    """The lead of one opportunity in an earlier plan."""

    opportunity_id: Id
    staff_id: Id


class WarmStart(RequestModel):
    """A plan to start from (an extension of the contract; scenario variants get their base plan here).

    It changes no objective level: the solver uses it as its first hint and, among the plans equal on all
    three levels (covered value, changes, cost), returns one that keeps as many of these assignments and
    leads as it can find in the time limit. Entries that do not fit this request (a person or demand that
    is not in it, a pair that breaks a rule) are ignored, since the plan may come from another request.
    """

    assignments: list[PlannedAssignment] = Field(default_factory=list, max_length=MAX_OPPORTUNITIES * 10)
    leads: list[LeadChoice] = Field(default_factory=list, max_length=MAX_OPPORTUNITIES)


class Options(RequestModel):
    time_limit_s: float = Field(default=10.0, gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)
    deterministic: bool = False
    num_workers: Annotated[int, Field(ge=1, le=16), *_WHOLE_NUMBER] | None = Field(
        default=None, description="CP-SAT workers; by default chosen from the instance size."
    )
    seed: Integer = Field(default=0, ge=0, le=2**31 - 1)
    warm_start: WarmStart | None = Field(
        default=None,
        description="A plan to start from, e.g. a scenario's base plan: a hint and the final tie-break "
        "among equally good plans; it changes no objective level.",
    )


class AllocationRequest(RequestModel):
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

    @model_validator(mode="wrap")
    @classmethod
    def _cross_field_rules(cls, data: Any, handler: ModelWrapValidatorHandler[AllocationRequest]) -> AllocationRequest:
        """The rules across fields (request_rules), in the same pass as the fields: every error in one answer."""
        return validate_with_rules(data, handler, request_rules)


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
    workspace_revision: int | None = Field(
        default=None,
        description="A workspace proposal (POST /v1/workspace/plans): the workspace revision it was made from. "
        "Absent on a plan of a v1 request.",
    )


# --------------------------------------------------------------------------- recommendations
# POST /v1/recommendations: the question (a slot or a person) and the ranked answers. Every delta is the
# plan re-solved with the choice pinned minus the baseline plan; service/recommendations.py computes them.

MAX_RECOMMENDATION_LIMIT = 25
# Why a choice cannot be made: a rule its pin breaks, or "pins" when no one rule is to blame (the pins break
# several at once, or the request has no plan even without this choice).
ChoiceReason = BrokenRule | Literal["pins"]

# A question names a slot or a person, not both: the server refuses the rest with a 422, so the schema says
# so too (a slot's ids, or a person's; the others absent or null).
_ONE_QUESTION: dict[str, Any] = {
    "oneOf": [
        {
            "title": "SlotQuestion",
            "description": "Who could fill this slot: `opportunity_id` and `demand_id`, without `staff_id`.",
            "required": ["opportunity_id", "demand_id"],
            "properties": {
                "opportunity_id": {"type": "string"},
                "demand_id": {"type": "string"},
                "staff_id": {"type": "null"},
            },
        },
        {
            "title": "StaffQuestion",
            "description": "Which slots suit this person: `staff_id`, without `opportunity_id` and `demand_id`.",
            "required": ["staff_id"],
            "properties": {
                "staff_id": {"type": "string"},
                "opportunity_id": {"type": "null"},
                "demand_id": {"type": "null"},
            },
        },
    ]
}


class RecommendationRequest(RequestModel):
    """`{"request", "opportunity_id", "demand_id", "limit"}` for a slot's candidates, or
    `{"request", "staff_id", "limit"}` for the slots that suit a person (`open_only`: only slots
    the baseline plan leaves open). Naming both a slot and a person, or neither, is a 422."""

    model_config = ConfigDict(json_schema_extra=_ONE_QUESTION)

    request: AllocationRequest
    opportunity_id: Id | None = Field(
        default=None, description="With `demand_id`: the slot to rank candidates for. Not with `staff_id`."
    )
    demand_id: Id | None = Field(default=None, description="A demand of `opportunity_id`. Not with `staff_id`.")
    staff_id: Id | None = Field(
        default=None,
        description="Instead of a slot: the person to find slots for. Not with `opportunity_id` or `demand_id`.",
    )
    limit: Integer = Field(
        default=5,
        ge=1,
        le=MAX_RECOMMENDATION_LIMIT,
        description="How many choices get a full re-solve. Every qualified choice is listed whatever the limit; "
        "beyond it they carry the estimate only.",
    )
    open_only: bool = Field(
        default=True, description="With `staff_id`: only slots the baseline plan leaves at least partly open."
    )

    @model_validator(mode="wrap")
    @classmethod
    def _one_question(
        cls, data: Any, handler: ModelWrapValidatorHandler[RecommendationRequest]
    ) -> RecommendationRequest:
        """A slot or a person, named by ids of the request (question_rules), checked with the fields."""
        return validate_with_rules(data, handler, question_rules)


class Baseline(ContractModel):
    """The request solved as given: the plan every `..._vs_baseline` delta is measured against."""

    status: PlanStatus
    covered_value: float
    total_cost: float


class SlotChange(ContractModel):
    """One slot that the plan with the choice fills with a different number of people than the baseline."""

    # The what-if comparison has a SlotChange too, so the published schema tells them apart by module:
    # clients know this one as `service__recommendations__SlotChange`, its home before it moved here.
    __module__ = "service.recommendations"

    opportunity_id: str
    demand_id: str
    filled_in_baseline: int = Field(description="People on this demand in the baseline plan.")
    filled_with_choice: int = Field(description="People on this demand in the plan re-solved with the choice.")
    delta_covered_value: float = Field(
        description="(filled_with_choice - filled_in_baseline) x the slot's value: what this demand adds (+) "
        "or loses (-); the changed slots add up to the choice's delta_covered_value_vs_baseline."
    )


class PinOutcome(ContractModel):
    """What pinning one person to one slot does. Every delta is the plan with this choice minus the baseline
    plan, both whole plans (a pin moves other people too)."""

    rank: int
    member_cost: float = Field(description="This person's cost on this slot, travel surcharge included.")
    on_slot: bool = Field(description="Already on this slot in the baseline plan (delta 0 without a re-solve).")
    pinned: bool = Field(default=False, description="Already pinned there by the request.")
    resolved: bool = Field(description="Re-solved with the pin; false: the figures are estimates or a verdict.")
    feasible: bool | None = Field(description="null when not re-solved and no rule rules it out.")
    status: PlanStatus | None = Field(default=None, description="Status of the plan re-solved with this choice.")
    covered_value: float | None = Field(
        default=None, description="Covered value of the whole plan re-solved with this choice pinned."
    )
    total_cost: float | None = Field(
        default=None, description="Total cost of the whole plan re-solved with this choice pinned."
    )
    delta_covered_value: float | None = Field(
        default=None,
        description="The same figure as delta_covered_value_vs_baseline (its first name, kept for clients).",
    )
    delta_total_cost: float | None = Field(
        default=None, description="The same figure as delta_total_cost_vs_baseline (its first name, kept for clients)."
    )
    delta_covered_value_vs_baseline: float | None = Field(
        default=None,
        description="Exact: covered_value - baseline.covered_value, the plan re-solved with this choice pinned "
        "minus the baseline plan. At most 0 against an optimal baseline (a pin only narrows the choice); "
        "negative when the choice displaces more valuable work than it adds (see changed_slots and note). "
        "0 for someone already on the slot; null when not re-solved or infeasible.",
    )
    delta_total_cost_vs_baseline: float | None = Field(
        default=None,
        description="total_cost - baseline.total_cost for the same two plans; negative: the plan with this "
        "choice costs less (often because it staffs less).",
    )
    exact: bool = Field(default=False, description="Both solves proven optimal, so the deltas are exact.")
    estimated_delta_covered_value: float = Field(
        description="The pre-ranking's guess of delta_covered_value_vs_baseline, made without a solve: this "
        "slot's value if the baseline leaves it open, minus the value of this person's own baseline work that "
        "would no longer fit (H3 hours, H7 focus), minus the slot's value again if the deal's budget would "
        "break (H6). It ignores what other people must change (a deal that opens needs a lead, whose own work "
        "then moves), so it can be far from the exact delta, even of the other sign. It only orders the "
        "re-solves; when resolved, the exact delta is the answer."
    )
    changed_slots: list[SlotChange] = Field(
        default_factory=list,
        description="When re-solved: every demand the plan with this choice fills with a different number of "
        "people than the baseline plan, losses first; their delta_covered_value add up to "
        "delta_covered_value_vs_baseline. The losses are the work this choice displaces.",
    )
    note: str = Field(
        default="",
        description="What the figures mean for this choice, in words: the work it displaces when "
        "delta_covered_value_vs_baseline is negative, why it was not re-solved, or why it cannot be chosen.",
    )
    reasons: list[ChoiceReason] = Field(default_factory=list, description="Why infeasible: the rules the pin breaks.")
    detail: str = ""


class Candidate(PinOutcome):
    staff_id: str
    name: str
    role: str
    unit_kind: UnitKind
    unit_id: str
    region: str
    skill_level: int


class NotQualified(ContractModel):
    """People who fail H1, H2 or H9 for a slot, counted under the first rule they fail."""

    skill: int = Field(description="Lack the demand's skill at its min_level (H1).")
    unit: int = Field(description="Their unit may not serve this deal: tier, region or remote_ok (H2).")
    excluded: int = Field(description="In the opportunity's excluded_staff (H9).")


class SlotRecommendations(ContractModel):
    opportunity_id: str
    demand_id: str
    headcount: int
    slot_value: float
    baseline: Baseline
    on_slot: list[str] = Field(description="Who fills the slot in the baseline plan.")
    resolved: int = Field(description="How many candidates were re-solved (the first ones of the ranking).")
    candidates: list[Candidate] = Field(
        description="Every person who passes H1, H2 and H9 for the slot, ranked; there may be fewer than `limit`."
    )
    qualified: int = Field(default=0, description="How many people pass H1, H2 and H9: the number of candidates.")
    not_qualified: NotQualified = Field(
        default_factory=lambda: NotQualified(skill=0, unit=0, excluded=0),
        description="The other people of the request, by the first rule they fail.",
    )
    limit: int = Field(
        default=MAX_RECOMMENDATION_LIMIT, description="The request's limit: how many re-solves were allowed."
    )
    note: str = Field(default="", description="How many people qualify and why, and how many were re-solved.")


class SlotOption(PinOutcome):
    opportunity_id: str
    opportunity_name: str
    demand_id: str
    grade: Grade
    slot_value: float
    open_slots: int = Field(description="Slots of this demand the baseline plan leaves unfilled.")


class StaffRecommendations(ContractModel):
    staff_id: str
    baseline: Baseline
    resolved: int
    slots: list[SlotOption]
    qualified: int = Field(default=0, description="How many slots this person passes H1, H2 and H9 for.")
    limit: int = Field(
        default=MAX_RECOMMENDATION_LIMIT, description="The request's limit: how many re-solves were allowed."
    )
    note: str = Field(default="", description="How many slots qualify, which were left out and why.")


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
    # A field typed as a union (capacity_hours: number or list) fails once per member. When one member's error
    # is about the value (or about an item: `capacity_hours[2]`), the others' "wrong type" errors only confuse;
    # when every member refuses the type, one error says what would do: "a valid number or a valid list".
    by_path: dict[str, list[FieldError]] = {}
    for item in found:
        by_path.setdefault(item.path, []).append(item)
    above_others = {item.path[:end] for item in found for end, char in enumerate(item.path) if char in "[."}
    kept: list[FieldError] = []
    for item in found:
        if not item.type.endswith("_type"):
            kept.append(item)
            continue
        siblings = by_path[item.path]
        if item.path in above_others or any(not other.type.endswith("_type") for other in siblings):
            continue
        if item is siblings[0]:
            kept.append(_either(siblings))
    return kept


def _either(type_errors: list[FieldError]) -> FieldError:
    """One error for a value that no member of a union accepts."""
    first, *others = type_errors
    wanted = [e.message.removeprefix("Input should be ") for e in others if e.message.startswith("Input should be ")]
    if not wanted or not first.message.startswith("Input should be "):
        return first
    return FieldError(first.path, " or ".join([first.message, *wanted]), first.type)


def _is_union_tag(part: str) -> bool:
    # pydantic names union members in locations (e.g. 'float', 'list[float]'); they mean nothing to users.
    return part in {
        "float",
        "list[float]",
        "list[constrained-float]",
        "constrained-float",
        "function-after[]",
    } or (part.startswith(("list[", "function-")))


# --------------------------------------------------------------------------- cross-field rules

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RuleBreak:
    """A rule across fields that a request breaks at `loc`; `kind` is its error type (`duplicate_id`...)."""

    loc: Loc
    message: str
    kind: str = "value_error"


def validate_with_rules(data: Any, handler: Callable[[Any], M], rules: Callable[[M | None, Any], list[RuleBreak]]) -> M:
    """The body of a wrap model validator: the fields by `handler`, then `rules(model, data)`, every error in one
    ValidationError. When a field is invalid the rules still run, as `rules(None, data)` on the data as sent
    (they check what they can of it), so that a client gets every error in one answer, not one round each."""
    try:
        value = handler(data)
    except ValidationError as error:
        broken = rules(None, data)
        if not broken:
            raise
        raise _validation_error(error.title, [*_line_errors(error), *_rule_line_errors(broken)]) from None
    broken = rules(value, data)
    if broken:
        raise _validation_error(type(value).__name__, _rule_line_errors(broken))
    return value


def _line_errors(error: ValidationError) -> list[InitErrorDetails]:
    # Kept as they were reported (type, message, location), whichever validator raised them.
    return [
        InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"]), loc=e["loc"], input=e["input"])
        for e in error.errors(include_url=False)
    ]


def _rule_line_errors(broken: Sequence[RuleBreak]) -> list[InitErrorDetails]:
    return [InitErrorDetails(type=PydanticCustomError(b.kind, b.message), loc=b.loc, input=None) for b in broken]


def _validation_error(title: str, details: list[InitErrorDetails]) -> ValidationError:
    return ValidationError.from_exception_data(title, details)


def _sent_id(item: Any) -> str | None:
    """The `id` of a list entry as sent, if it is a string (whether or not the entry is valid)."""
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _valid(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


@dataclass(frozen=True)
class _Parts:
    """What the cross-field rules read: a whole valid request, or the valid parts of an invalid one.

    An entry that is invalid is None (lists keep their places, so that paths keep their indexes), but the ids
    it was sent with still count as known, so that a pin on a person with a bad field is not also called an
    unknown id. An id set is None when some entry's id could not be read: no reference is called unknown then.
    """

    weeks: int | None
    policy: Policy | None
    staff: list[tuple[str | None, Staff | None]]
    staff_ids: frozenset[str] | None
    opportunities: list[tuple[str | None, Opportunity | None]]
    demand_ids: dict[str, frozenset[str] | None] | None  # by opportunity id
    previous_plan: list[PlannedAssignment | None]
    # Weeks of each person's capacity list as sent (None: one number, or not a list), read even from an
    # invalid entry, so that a list of the wrong length is reported with that entry's other errors.
    capacity_weeks: list[int | None]

    @classmethod
    def of(cls, request: AllocationRequest) -> _Parts:
        demand_ids: dict[str, frozenset[str] | None] = {}
        for opportunity in request.opportunities:
            demand_ids.setdefault(opportunity.id, frozenset(d.id for d in opportunity.demands))
        return cls(
            weeks=request.horizon.weeks,
            policy=request.policy,
            staff=[(person.id, person) for person in request.staff],
            staff_ids=frozenset(person.id for person in request.staff),
            opportunities=[(opportunity.id, opportunity) for opportunity in request.opportunities],
            demand_ids=demand_ids,
            previous_plan=list(request.previous_plan),
            capacity_weeks=[_list_length(person.capacity_hours) for person in request.staff],
        )

    @classmethod
    def sent(cls, data: Any) -> _Parts:
        if not isinstance(data, dict):
            return cls(None, None, [], None, [], None, [], [])
        horizon = _valid(Horizon, data.get("horizon"))
        policy = _valid(Policy, data["policy"]) if "policy" in data else Policy()
        staff_sent = data.get("staff")
        staff = [(_sent_id(item), _valid(Staff, item)) for item in staff_sent] if isinstance(staff_sent, list) else []
        staff_ids = None
        if isinstance(staff_sent, list) and all(staff_id is not None for staff_id, _ in staff):
            staff_ids = frozenset(staff_id for staff_id, _ in staff if staff_id is not None)
        opportunities_sent = data.get("opportunities")
        opportunities: list[tuple[str | None, Opportunity | None]] = []
        demand_ids: dict[str, frozenset[str] | None] | None = None
        if isinstance(opportunities_sent, list):
            opportunities = [(_sent_id(item), _valid(Opportunity, item)) for item in opportunities_sent]
            demand_ids = {}
            for item, (opportunity_id, _) in zip(opportunities_sent, opportunities, strict=True):
                if opportunity_id is None:
                    demand_ids = None
                    break
                demands = item.get("demands")
                ids = [_sent_id(demand) for demand in demands] if isinstance(demands, list) else [None]
                known = None if None in ids else frozenset(i for i in ids if i is not None)
                demand_ids.setdefault(opportunity_id, known)
        planned = data.get("previous_plan", [])
        return cls(
            weeks=horizon.weeks if horizon is not None else None,
            policy=policy,
            staff=staff,
            staff_ids=staff_ids,
            opportunities=opportunities,
            demand_ids=demand_ids,
            previous_plan=[_valid(PlannedAssignment, p) for p in planned] if isinstance(planned, list) else [],
            capacity_weeks=[
                _list_length(item.get("capacity_hours")) if isinstance(item, dict) else None for item in staff_sent
            ]
            if isinstance(staff_sent, list)
            else [],
        )


def _list_length(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None


def request_rules(request: AllocationRequest | None, data: Any) -> list[RuleBreak]:
    """The rules across fields of an allocation request that a schema cannot state: ids unique and known,
    weeks within the horizon, pins that H1, H2 and H9 allow, leads that H5 and H9 allow."""
    parts = _Parts.of(request) if request is not None else _Parts.sent(data)
    found: list[RuleBreak] = []
    weeks = parts.weeks
    people: dict[str, Staff | None] = {}
    for i, (staff_id, person) in enumerate(parts.staff):
        if staff_id is not None:
            if staff_id in people:
                found.append(RuleBreak(("staff", i, "id"), f"duplicate staff id {staff_id!r}", "duplicate_id"))
            people.setdefault(staff_id, person)
        sent_weeks = parts.capacity_weeks[i]
        if sent_weeks is not None and weeks is not None and sent_weeks != weeks:
            found.append(
                RuleBreak(
                    ("staff", i, "capacity_hours"),
                    f"has {sent_weeks} weeks, the horizon has {weeks}",
                    "length_mismatch",
                )
            )

    def unknown_person(staff_id: str) -> bool:
        return parts.staff_ids is not None and staff_id not in parts.staff_ids

    seen_opportunities: set[str] = set()
    for i, (opportunity_id, opportunity) in enumerate(parts.opportunities):
        where: Loc = ("opportunities", i)
        if opportunity_id is not None:
            if opportunity_id in seen_opportunities:
                found.append(RuleBreak((*where, "id"), f"duplicate opportunity id {opportunity_id!r}", "duplicate_id"))
            seen_opportunities.add(opportunity_id)
        if opportunity is not None:
            found += _opportunity_rules(where, opportunity, weeks, people, unknown_person, parts.policy)

    demand_ids = parts.demand_ids
    for i, planned in enumerate(parts.previous_plan):
        if planned is None:
            continue
        at: Loc = ("previous_plan", i)
        if demand_ids is not None and planned.opportunity_id not in demand_ids:
            found.append(
                RuleBreak((*at, "opportunity_id"), f"unknown opportunity id {planned.opportunity_id!r}", "unknown_id")
            )
        elif demand_ids is not None:
            known = demand_ids[planned.opportunity_id]
            if known is not None and planned.demand_id not in known:
                found.append(
                    RuleBreak(
                        (*at, "demand_id"),
                        f"unknown demand id {planned.demand_id!r} in {planned.opportunity_id}",
                        "unknown_id",
                    )
                )
        if unknown_person(planned.staff_id):
            found.append(RuleBreak((*at, "staff_id"), f"unknown staff id {planned.staff_id!r}", "unknown_id"))
    return found


def _opportunity_rules(
    where: Loc,
    opportunity: Opportunity,
    weeks: int | None,
    people: dict[str, Staff | None],
    unknown_person: Callable[[str], bool],
    policy: Policy | None,
) -> list[RuleBreak]:
    """The rules within one valid opportunity: its demands, exclusions, pins and lead. `people` maps each staff id
    sent to the person (None when that entry is invalid); `policy` is None when the request's is invalid."""
    found: list[RuleBreak] = []
    ids: set[str] = set()
    for j, demand in enumerate(opportunity.demands):
        at: Loc = (*where, "demands", j)
        if demand.id in ids:
            found.append(RuleBreak((*at, "id"), f"duplicate demand id {demand.id!r}", "duplicate_id"))
        ids.add(demand.id)
        if weeks is not None and demand.start_week >= weeks:
            found.append(
                RuleBreak((*at, "start_week"), f"week {demand.start_week} is outside the horizon 0..{weeks - 1}")
            )
        if weeks is not None and demand.end_week >= weeks:
            found.append(RuleBreak((*at, "end_week"), f"week {demand.end_week} is outside the horizon 0..{weeks - 1}"))
        if demand.start_week > demand.end_week:
            found.append(
                RuleBreak((*at, "end_week"), f"end_week {demand.end_week} is before start_week {demand.start_week}")
            )
    demands = {d.id: d for d in opportunity.demands}

    for j, staff_id in enumerate(opportunity.excluded_staff):
        if unknown_person(staff_id):
            found.append(RuleBreak((*where, "excluded_staff", j), f"unknown staff id {staff_id!r}", "unknown_id"))

    for j, pin in enumerate(opportunity.pinned):
        at = (*where, "pinned", j)
        pinned_demand = demands.get(pin.demand_id)
        if pinned_demand is None:
            found.append(RuleBreak((*at, "demand_id"), f"unknown demand id {pin.demand_id!r}", "unknown_id"))
        if unknown_person(pin.staff_id):
            found.append(RuleBreak((*at, "staff_id"), f"unknown staff id {pin.staff_id!r}", "unknown_id"))
        pinned_person = people.get(pin.staff_id)
        if pinned_demand is not None and pinned_person is not None and policy is not None:
            found += _pin_conflicts(at, pinned_person, opportunity, pinned_demand, policy)

    if opportunity.lead_staff_id is not None:
        at = (*where, "lead_staff_id")
        lead = people.get(opportunity.lead_staff_id)
        if unknown_person(opportunity.lead_staff_id):
            found.append(RuleBreak(at, f"unknown staff id {opportunity.lead_staff_id!r}", "unknown_id"))
        elif lead is None or policy is None:
            pass  # that person's entry, or the policy, is invalid and reported on its own
        else:
            refusal = fixed_lead_refusal(lead, opportunity, policy)
            if refusal is not None:
                found.append(RuleBreak(at, str(refusal), "lead_conflict"))
    return found


def _pin_conflicts(at: Loc, person: Staff, opportunity: Opportunity, demand: Demand, policy: Policy) -> list[RuleBreak]:
    """Why a single pin breaks H1, H2 or H9 on its own: every one of them it breaks."""
    refusals = serve_refusals(person, opportunity, demand, policy)
    return [RuleBreak(at, str(refusal), "pin_conflict") for refusal in refusals]


_QUESTION_IDS = ("opportunity_id", "demand_id", "staff_id")


def question_rules(question: RecommendationRequest | None, data: Any) -> list[RuleBreak]:
    """A recommendation question names a slot (opportunity_id and demand_id) or a person (staff_id), exactly one
    of them, by ids its request has."""
    if question is not None:
        named = {name: getattr(question, name) for name in _QUESTION_IDS}
        parts = _Parts.of(question.request)
    else:
        sent = data if isinstance(data, dict) else {}
        named = {name: sent.get(name) for name in _QUESTION_IDS}
        parts = _Parts.sent(sent.get("request"))
    opportunity_id, demand_id, staff_id = (named[name] for name in _QUESTION_IDS)
    slot_fields = [name for name in ("opportunity_id", "demand_id") if named[name] is not None]
    if staff_id is not None and slot_fields:
        message = (
            f"staff_id cannot be combined with {' and '.join(slot_fields)}: ask either for a slot's candidates "
            "(opportunity_id and demand_id) or for a person's slots (staff_id)"
        )
        return [RuleBreak((name,), message, "conflict") for name in ["staff_id", *slot_fields]]
    if staff_id is None and len(slot_fields) < 2:
        missing = "opportunity_id" if opportunity_id is None else "demand_id"
        return [RuleBreak((missing,), "give opportunity_id and demand_id (a slot), or staff_id (a person)", "missing")]
    demands = parts.demand_ids
    if isinstance(opportunity_id, str) and isinstance(demand_id, str) and demands is not None:
        if opportunity_id not in demands:
            return [RuleBreak(("opportunity_id",), f"unknown opportunity id {opportunity_id!r}", "unknown_id")]
        known = demands[opportunity_id]
        if known is not None and demand_id not in known:
            return [RuleBreak(("demand_id",), f"unknown demand id {demand_id!r} in {opportunity_id}", "unknown_id")]
    if isinstance(staff_id, str) and parts.staff_ids is not None and staff_id not in parts.staff_ids:
        return [RuleBreak(("staff_id",), f"unknown staff id {staff_id!r}", "unknown_id")]
    return []


def parse_request(data: Any) -> AllocationRequest:
    """Validate raw JSON data into a request, raising InvalidRequest with every field error found."""
    try:
        return AllocationRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None
