"""The scenario request of CONTRACT.md (`POST /v1/scenarios`) and its ten change ops, applied purely to a base.

A variant is the base request with its changes applied in order; what a variant is solved as is exactly
what `apply_changes` returns, so solving that request directly gives the variant's plan.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ModelWrapValidatorHandler, ValidationError, model_validator

from service.admission import size_errors
from service.contract import (
    AllocationRequest,
    FieldError,
    FreeText,
    Grade,
    Hours,
    Id,
    InvalidRequest,
    Money,
    NonNegative,
    Opportunity,
    RequestModel,
    RuleBreak,
    Staff,
    UnitKind,
    errors_from_pydantic,
    validate_with_rules,
)

MAX_VARIANTS = 10
MAX_CHANGES_PER_VARIANT = 100
MAX_RATE_FACTOR = 100.0

Json = dict[str, Any]


class AddStaff(RequestModel):
    """Hire: a new person joins the bench."""

    op: Literal["add_staff"]
    staff: Staff


class RemoveStaff(RequestModel):
    """Lose a person. They also disappear from every pin, `lead_staff_id`, `excluded_staff` and
    `previous_plan` entry of the variant: a plan cannot keep someone who is gone."""

    op: Literal["remove_staff"]
    staff_id: Id


class SetCapacity(RequestModel):
    """Change the hours a person can give: one number for every week, or one per horizon week."""

    op: Literal["set_capacity"]
    staff_id: Id
    capacity_hours: Hours | list[Hours]


class ScaleRates(RequestModel):
    """Multiply internal hourly rates by `factor`, for everyone or only a unit kind and/or a role."""

    op: Literal["scale_rates"]
    factor: float = Field(gt=0, le=MAX_RATE_FACTOR, allow_inf_nan=False)
    unit_kind: UnitKind | None = None
    role: FreeText | None = None


class AddOpportunity(RequestModel):
    """A new deal enters the pipeline."""

    op: Literal["add_opportunity"]
    opportunity: Opportunity


class RemoveOpportunity(RequestModel):
    """A deal leaves the pipeline (won, lost, dropped). It also disappears from `previous_plan`."""

    op: Literal["remove_opportunity"]
    opportunity_id: Id


class SetGrade(RequestModel):
    """Regrade a deal (A-E): changes its tiers, lead units, weight and default budget ratio."""

    op: Literal["set_grade"]
    opportunity_id: Id
    grade: Grade


class SetBudget(RequestModel):
    """Set a deal's presales budget; null returns it to `budget_ratio[grade] x EV`."""

    op: Literal["set_budget"]
    opportunity_id: Id
    presales_budget: Money | None


class SetWinProbability(RequestModel):
    """Revise a deal's win probability (0-1), hence its expected value and slot values."""

    op: Literal["set_win_probability"]
    opportunity_id: Id
    win_probability: float = Field(ge=0, le=1, allow_inf_nan=False)


def _at_least_one_key(schema: dict[str, Any]) -> None:
    """The server's rule for a patch, said in its schema so that generated clients know it: at least one key,
    and at least one of them not null."""
    schema["minProperties"] = 1
    schema["anyOf"] = [
        {"required": [key], "properties": {key: {"not": {"type": "null"}}}} for key in schema.get("properties", {})
    ]


class PolicyPatch(RequestModel):
    """A partial policy: named keys replace the base's; per-grade maps are merged grade by grade. It must set
    at least one key to a value (an empty patch, or one of nulls only, is a 422: it would change nothing)."""

    model_config = ConfigDict(json_schema_extra=_at_least_one_key)

    tiers: dict[Grade, list[UnitKind]] | None = None
    lead_units: dict[Grade, list[UnitKind]] | None = None
    lead_hours_per_week: Hours | None = None
    grade_weights: dict[Grade, NonNegative] | None = None
    budget_ratio: dict[Grade, NonNegative] | None = None
    travel_surcharge: NonNegative | None = None


class SetPolicy(RequestModel):
    """Change the dispatch or costing policy, merged into the base policy per key and per grade."""

    op: Literal["set_policy"]
    policy: PolicyPatch


Change = Annotated[
    AddStaff
    | RemoveStaff
    | SetCapacity
    | ScaleRates
    | AddOpportunity
    | RemoveOpportunity
    | SetGrade
    | SetBudget
    | SetWinProbability
    | SetPolicy,
    Field(discriminator="op"),
]
OPS: tuple[str, ...] = (
    "add_staff",
    "remove_staff",
    "set_capacity",
    "scale_rates",
    "add_opportunity",
    "remove_opportunity",
    "set_grade",
    "set_budget",
    "set_win_probability",
    "set_policy",
)


class Variant(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    changes: list[Change] = Field(default_factory=list, max_length=MAX_CHANGES_PER_VARIANT)


class ScenarioRequest(RequestModel):
    """`{"name", "base": <request>, "variants": [{"name", "changes": [<op>]}]}`."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    base: AllocationRequest
    variants: list[Variant] = Field(min_length=1, max_length=MAX_VARIANTS)

    @model_validator(mode="wrap")
    @classmethod
    def _unique_variant_names(cls, data: Any, handler: ModelWrapValidatorHandler[ScenarioRequest]) -> ScenarioRequest:
        """Variant names are unique; checked with the fields (the base's rules are AllocationRequest's own)."""
        return validate_with_rules(data, handler, _duplicate_variant_names)


def _duplicate_variant_names(scenario: ScenarioRequest | None, data: Any) -> list[RuleBreak]:
    if scenario is not None:
        names: list[Any] = [variant.name for variant in scenario.variants]
    else:
        sent = data.get("variants") if isinstance(data, dict) else None
        names = [v.get("name") if isinstance(v, dict) else None for v in sent] if isinstance(sent, list) else []
    found = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not isinstance(name, str):
            continue
        if name in seen:
            found.append(RuleBreak(("variants", i, "name"), f"duplicate variant name {name!r}", "duplicate_id"))
        seen.add(name)
    return found


# --------------------------------------------------------------------------- parsing

_OP_IN_PATH = re.compile(r"(changes\[\d+\])\.(?:" + "|".join(OPS) + r")\b")


def _scenario_field_errors(error: ValidationError) -> list[FieldError]:
    found = []
    for item in errors_from_pydantic(error):
        # pydantic names the union member in the location (`changes[0].remove_staff.staff_id`): drop it.
        path = _OP_IN_PATH.sub(r"\1", item.path)
        if item.type in ("union_tag_invalid", "union_tag_not_found"):
            path += ".op"
        found.append(FieldError(path, item.message, item.type))
    return found


def parse_scenario(data: Any) -> ScenarioRequest:
    """Validate a scenario: the base request, the ops' own fields, variant names, and every variant's
    changed request. Raises InvalidRequest naming each field, e.g. `variants[1].changes[0].staff_id`."""
    try:
        scenario = ScenarioRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(_scenario_field_errors(error)) from None
    too_large = size_errors(scenario.base, at="base.")
    for i, changed in enumerate(variant_requests(scenario)):
        too_large += [FieldError(f"variants[{i}]", e.message, e.type) for e in size_errors(changed)]
    if too_large:
        raise InvalidRequest(too_large)
    return scenario


def variant_requests(scenario: ScenarioRequest) -> list[AllocationRequest]:
    """Each variant's changed request, in order. Raises InvalidRequest with every variant's errors."""
    requests: list[AllocationRequest] = []
    errors: list[FieldError] = []
    for i, variant in enumerate(scenario.variants):
        try:
            requests.append(apply_changes(scenario.base, variant.changes, at=f"variants[{i}].changes"))
        except InvalidRequest as invalid:
            errors.extend(invalid.errors)
    if errors:
        raise InvalidRequest(errors)
    return requests


# --------------------------------------------------------------------------- applying


def apply_changes(base: AllocationRequest, changes: Sequence[Change], *, at: str = "changes") -> AllocationRequest:
    """The base request with `changes` applied in order; `base` itself is never modified.

    A removed person also disappears from the pins, `lead_staff_id`, `excluded_staff` and `previous_plan`
    of the variant; a removed opportunity also disappears from `previous_plan`. Ops naming unknown ids,
    or whose result breaks the contract (a pin the new grade's tiers forbid, a rate over the limit...),
    raise InvalidRequest with paths `{at}[j].<field>` (`at` defaults to `changes`).
    """
    data = base.model_dump(mode="json")
    errors: list[FieldError] = []
    state = _State(base)
    for j, change in enumerate(changes):
        errors.extend(_apply(data, change, f"{at}[{j}]", state))
    if errors:
        raise InvalidRequest(errors)
    request, invalid = _validate(data)
    if request is not None:
        return request
    raise InvalidRequest(_attribute(base, changes, at, invalid))


class _State:
    """Ids removed so far, to tell a typo from an id an earlier change took away."""

    def __init__(self, base: AllocationRequest) -> None:
        self.base_staff = {person.id for person in base.staff}
        self.base_opportunities = {o.id for o in base.opportunities}


def _validate(data: Json) -> tuple[AllocationRequest | None, list[FieldError]]:
    try:
        return AllocationRequest.model_validate(data), []
    except ValidationError as error:
        return None, errors_from_pydantic(error)


def _attribute(
    base: AllocationRequest, changes: Sequence[Change], at: str, final_errors: list[FieldError]
) -> list[FieldError]:
    """Replay the changes one by one to find the first that breaks the request, and name its field."""
    data = base.model_dump(mode="json")
    state = _State(base)
    for j, change in enumerate(changes):
        where = f"{at}[{j}]"
        index = _appended_index(data, change)
        _apply(data, change, where, state)
        request, errors = _validate(data)
        if request is None:
            return [_blame(change, where, index, e) for e in errors]
    return [FieldError(at, f"the changed request is invalid: {e.path}: {e.message}", e.type) for e in final_errors]


def _appended_index(data: Json, change: Change) -> int | None:
    if isinstance(change, AddStaff):
        return len(data["staff"])
    if isinstance(change, AddOpportunity):
        return len(data["opportunities"])
    return None


_BLAMED_FIELD: dict[str, str] = {
    "remove_staff": "staff_id",
    "set_capacity": "capacity_hours",
    "scale_rates": "factor",
    "remove_opportunity": "opportunity_id",
    "set_grade": "grade",
    "set_budget": "presales_budget",
    "set_win_probability": "win_probability",
    "set_policy": "policy",
}


def _blame(change: Change, where: str, index: int | None, error: FieldError) -> FieldError:
    """Map an error of the changed request onto the op that caused it."""
    if isinstance(change, AddStaff | AddOpportunity):
        collection, field = ("staff", "staff") if isinstance(change, AddStaff) else ("opportunities", "opportunity")
        own = f"{collection}[{index}]"
        if error.path == own or error.path.startswith((own + ".", own + "[")):
            return FieldError(f"{where}.{field}{error.path[len(own) :]}", error.message, error.type)
        return FieldError(f"{where}.{field}", f"would make {error.path} invalid: {error.message}", error.type)
    field = _BLAMED_FIELD[change.op]
    return FieldError(f"{where}.{field}", f"would make {error.path} invalid: {error.message}", error.type)


def _unknown(kind: str, value: str, path: str, removed: bool) -> FieldError:
    note = " (removed by an earlier change)" if removed else ""
    return FieldError(path, f"unknown {kind} id {value!r}{note}", "unknown_id")


def _find(items: list[Json], item_id: str) -> Json | None:
    return next((item for item in items if item["id"] == item_id), None)


def _apply(data: Json, change: Change, where: str, state: _State) -> list[FieldError]:
    """Apply one op to the request data in place, or return why it cannot be applied (data untouched)."""
    staff: list[Json] = data["staff"]
    opportunities: list[Json] = data["opportunities"]

    if isinstance(change, AddStaff):
        if _find(staff, change.staff.id) is not None:
            return [FieldError(f"{where}.staff.id", f"staff id {change.staff.id!r} already exists", "duplicate_id")]
        staff.append(change.staff.model_dump(mode="json"))
        return []

    if isinstance(change, RemoveStaff | SetCapacity):
        person = _find(staff, change.staff_id)
        if person is None:
            removed = change.staff_id in state.base_staff
            return [_unknown("staff", change.staff_id, f"{where}.staff_id", removed)]
        if isinstance(change, SetCapacity):
            weeks = data["horizon"]["weeks"]
            if isinstance(change.capacity_hours, list) and len(change.capacity_hours) != weeks:
                return [
                    FieldError(
                        f"{where}.capacity_hours",
                        f"has {len(change.capacity_hours)} weeks, the horizon has {weeks}",
                        "length_mismatch",
                    )
                ]
            person["capacity_hours"] = change.capacity_hours
            return []
        _remove_staff(data, change.staff_id)
        return []

    if isinstance(change, ScaleRates):
        chosen = [
            p
            for p in staff
            if (change.unit_kind is None or p["unit"]["kind"] == change.unit_kind)
            and (change.role is None or p["role"] == change.role)
        ]
        if not chosen:
            roles = sorted(
                {p["role"] for p in staff if change.unit_kind is None or p["unit"]["kind"] == change.unit_kind}
            )
            if change.role is not None:
                scope = f" in a {change.unit_kind}" if change.unit_kind else ""
                return [
                    FieldError(
                        f"{where}.role",
                        f"no staff member{scope} has role {change.role!r} (roles: {', '.join(roles) or 'none'})",
                        "no_match",
                    )
                ]
            return [FieldError(f"{where}.unit_kind", f"no staff member is in a {change.unit_kind}", "no_match")]
        for person in chosen:
            person["hourly_rate"] = round(person["hourly_rate"] * change.factor, 6)
        return []

    if isinstance(change, AddOpportunity):
        if _find(opportunities, change.opportunity.id) is not None:
            return [
                FieldError(
                    f"{where}.opportunity.id",
                    f"opportunity id {change.opportunity.id!r} already exists",
                    "duplicate_id",
                )
            ]
        opportunities.append(change.opportunity.model_dump(mode="json"))
        return []

    if isinstance(change, SetPolicy):
        patch = change.policy.model_dump(exclude_none=True)
        if not patch:
            return [FieldError(f"{where}.policy", "names no policy key to change", "value_error")]
        policy: Json = data["policy"]
        for key, value in patch.items():
            policy[key] = {**policy[key], **value} if isinstance(value, dict) else value
        return []

    opportunity = _find(opportunities, change.opportunity_id)
    if opportunity is None:
        removed = change.opportunity_id in state.base_opportunities
        return [_unknown("opportunity", change.opportunity_id, f"{where}.opportunity_id", removed)]
    if isinstance(change, RemoveOpportunity):
        opportunities.remove(opportunity)
        data["previous_plan"] = [p for p in data["previous_plan"] if p["opportunity_id"] != change.opportunity_id]
    elif isinstance(change, SetGrade):
        opportunity["grade"] = change.grade
    elif isinstance(change, SetBudget):
        opportunity["presales_budget"] = change.presales_budget
    else:
        opportunity["win_probability"] = change.win_probability
    return []


def _remove_staff(data: Json, staff_id: str) -> None:
    data["staff"] = [p for p in data["staff"] if p["id"] != staff_id]
    for opportunity in data["opportunities"]:
        opportunity["pinned"] = [pin for pin in opportunity["pinned"] if pin["staff_id"] != staff_id]
        opportunity["excluded_staff"] = [s for s in opportunity["excluded_staff"] if s != staff_id]
        if opportunity["lead_staff_id"] == staff_id:
            opportunity["lead_staff_id"] = None
    data["previous_plan"] = [p for p in data["previous_plan"] if p["staff_id"] != staff_id]
