"""Slot recommendations: who could fill this slot, and which slots could this person fill, each choice
priced by re-solving the request with that person pinned there (`POST /v1/recommendations`).

Every delta is "the plan with this choice minus the baseline plan", the baseline being the request
solved as given, and both plans whole: a pin moves other people too. Pinning can never raise the
optimum's covered value: the unpinned plan is the best over a larger set of plans. So against an optimal
baseline every delta of covered value is <= 0, and 0 means "this choice costs no value" (the cost delta
then says what it costs in money); `changed_slots` splits a negative delta into the slots gained and the
work displaced. Only the top `limit` choices of a cheap pre-ranking are re-solved; the others carry the
pre-ranking's estimate and `resolved: false`. The estimate looks at this slot and this person's own work
only, so it can differ from the exact delta in size and even in sign (opening a deal also needs a lead,
whose own work then moves).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from service import costing
from service.admission import size_errors
from service.contract import (
    AllocationRequest,
    BrokenRule,
    ContractModel,
    Demand,
    FieldError,
    Grade,
    Id,
    InvalidRequest,
    Opportunity,
    Pin,
    Plan,
    PlanStatus,
    Staff,
    UnitKind,
    errors_from_pydantic,
    is_qualified,
    may_lead,
    semantic_errors,
    unit_may_serve,
)
from service.planning import make_plan

MAX_LIMIT = 25
Reason = BrokenRule | Literal["pins"]
PlanSolver = Callable[[AllocationRequest], Plan]

# --------------------------------------------------------------------------- wire models

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


class RecommendationRequest(ContractModel):
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
    limit: int = Field(
        default=5,
        ge=1,
        le=MAX_LIMIT,
        description="How many choices get a full re-solve. Every qualified choice is listed whatever the limit; "
        "beyond it they carry the estimate only.",
    )
    open_only: bool = Field(
        default=True, description="With `staff_id`: only slots the baseline plan leaves at least partly open."
    )


class Baseline(ContractModel):
    """The request solved as given: the plan every `..._vs_baseline` delta is measured against."""

    status: PlanStatus
    covered_value: float
    total_cost: float


class SlotChange(ContractModel):
    """One slot that the plan with the choice fills with a different number of people than the baseline."""

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
    reasons: list[Reason] = Field(default_factory=list, description="Why infeasible: the rules the pin breaks.")
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
    limit: int = Field(default=MAX_LIMIT, description="The request's limit: how many re-solves were allowed.")
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
    limit: int = Field(default=MAX_LIMIT, description="The request's limit: how many re-solves were allowed.")
    note: str = Field(default="", description="How many slots qualify, which were left out and why.")


# --------------------------------------------------------------------------- entry points


def parse_recommendation_request(data: Any) -> RecommendationRequest:
    """Validate the body; raises InvalidRequest naming each field (`request.…`, `demand_id`, …)."""
    try:
        body = RecommendationRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None
    errors = [FieldError(f"request.{e.path}", e.message, e.type) for e in semantic_errors(body.request)]
    errors.extend(_question_errors(body))
    if not errors:
        errors = size_errors(body.request, at="request.")
    if errors:
        raise InvalidRequest(errors)
    _locate(body)
    return body


def _question_errors(body: RecommendationRequest) -> list[FieldError]:
    """A question names a slot (opportunity_id and demand_id) or a person (staff_id): exactly one of them."""
    slot_fields = [name for name in ("opportunity_id", "demand_id") if getattr(body, name) is not None]
    if body.staff_id is not None and slot_fields:
        message = (
            f"staff_id cannot be combined with {' and '.join(slot_fields)}: ask either for a slot's candidates "
            "(opportunity_id and demand_id) or for a person's slots (staff_id)"
        )
        return [FieldError(name, message, "conflict") for name in ["staff_id", *slot_fields]]
    if body.staff_id is None and len(slot_fields) < 2:
        missing = "opportunity_id" if body.opportunity_id is None else "demand_id"
        return [FieldError(missing, "give opportunity_id and demand_id (a slot), or staff_id (a person)", "missing")]
    return []


def answer(
    body: RecommendationRequest, *, solve: PlanSolver = make_plan, executor: Executor | None = None
) -> SlotRecommendations | StaffRecommendations:
    """The slot's candidates when a slot is named, else the person's best slots."""
    if body.opportunity_id is not None and body.demand_id is not None:
        return recommend(body.request, body.opportunity_id, body.demand_id, body.limit, solve=solve, executor=executor)
    assert body.staff_id is not None
    return best_slots_for(
        body.request, body.staff_id, body.limit, open_only=body.open_only, solve=solve, executor=executor
    )


def recommend(
    request: AllocationRequest,
    opportunity_id: str,
    demand_id: str,
    limit: int = 5,
    *,
    solve: PlanSolver = make_plan,
    executor: Executor | None = None,
) -> SlotRecommendations:
    """Every person who passes H1, H2 and H9 for the slot, ranked. The top `limit` of a cheap pre-ranking
    are re-solved with the pin (in parallel on `executor` if given); people the rules rule out alone
    (capacity, focus, budget, lead, slots taken by pins) are reported infeasible without a solve.

    Ranking: proven choices first (re-solved feasible, or already on the slot) by covered-value delta
    descending then cost delta ascending; then the unsolved by estimate; the infeasible last."""
    _check_limit(limit)
    o_index, demand = _slot(request, opportunity_id, demand_id)
    opportunity = request.opportunities[o_index]
    context = _Context.of(request, solve)
    choices = [
        context.evaluate(s_index, o_index, demand)
        for s_index, person in enumerate(request.staff)
        if is_qualified(person, opportunity, demand, request.policy)
    ]
    resolved = context.settle(choices, limit, executor)
    slot = f"{opportunity.id}/{demand.id}"
    not_qualified = _not_qualified(request, opportunity, demand)
    candidates = []
    for rank, choice in enumerate(_ranked(choices), start=1):
        person = request.staff[choice.staff]
        candidates.append(
            Candidate(
                rank=rank,
                staff_id=person.id,
                name=person.name,
                role=person.role,
                unit_kind=person.unit.kind,
                unit_id=person.unit.id,
                region=person.unit.region,
                skill_level=person.skills.get(demand.skill, 0),
                **choice.outcome(_who(person), slot, limit),
            )
        )
    return SlotRecommendations(
        opportunity_id=opportunity.id,
        demand_id=demand.id,
        headcount=demand.headcount,
        slot_value=round(costing.slot_value(demand, opportunity, request.policy), 2),
        baseline=context.baseline_summary(),
        on_slot=context.on_slot.get((opportunity.id, demand.id), []),
        resolved=resolved,
        candidates=candidates,
        qualified=len(candidates),
        not_qualified=not_qualified,
        limit=limit,
        note=_slot_note(request, slot, demand, choices, not_qualified, resolved, limit),
    )


def best_slots_for(
    request: AllocationRequest,
    staff_id: str,
    limit: int = 5,
    *,
    open_only: bool = True,
    solve: PlanSolver = make_plan,
    executor: Executor | None = None,
) -> StaffRecommendations:
    """The slots this person passes H1, H2 and H9 for (with `open_only`, those the baseline plan leaves
    at least partly unfilled; slots they already fill are left out), ranked like `recommend`'s
    candidates by the change in covered value, then in cost, of pinning them there."""
    _check_limit(limit)
    s_index = next((i for i, p in enumerate(request.staff) if p.id == staff_id), None)
    if s_index is None:
        raise InvalidRequest([FieldError("staff_id", f"unknown staff id {staff_id!r}", "unknown_id")])
    person = request.staff[s_index]
    context = _Context.of(request, solve)
    choices = []
    qualified = already_on = filled = 0
    for o_index, opportunity in enumerate(request.opportunities):
        for demand in opportunity.demands:
            if not is_qualified(person, opportunity, demand, request.policy):
                continue
            qualified += 1
            on = context.on_slot.get((opportunity.id, demand.id), [])
            if person.id in on:
                already_on += 1
                continue
            if open_only and len(on) >= demand.headcount:
                filled += 1
                continue
            choices.append(context.evaluate(s_index, o_index, demand))
    resolved = context.settle(choices, limit, executor)
    slots = []
    for rank, choice in enumerate(_ranked(choices), start=1):
        opportunity = request.opportunities[choice.opportunity]
        on = context.on_slot.get((opportunity.id, choice.demand.id), [])
        slots.append(
            SlotOption(
                rank=rank,
                opportunity_id=opportunity.id,
                opportunity_name=opportunity.name,
                demand_id=choice.demand.id,
                grade=opportunity.grade,
                slot_value=round(costing.slot_value(choice.demand, opportunity, request.policy), 2),
                open_slots=max(choice.demand.headcount - len(on), 0),
                **choice.outcome(_who(person), f"{opportunity.id}/{choice.demand.id}", limit),
            )
        )
    left_out = [
        f"{already_on} they already fill" if already_on else "",
        f"{filled} the baseline plan already fills (open_only)" if filled else "",
    ]
    listed = "Only " if len(slots) < limit else ""
    note = (
        f"{listed}{qualified} slot(s) pass H1, H2 and H9 for {_who(person)}"
        + (f"; left out: {', '.join(part for part in left_out if part)}" if any(left_out) else "")
        + f". {len(slots)} listed, {resolved} re-solved with the pin (limit {limit})."
    )
    return StaffRecommendations(
        staff_id=person.id,
        baseline=context.baseline_summary(),
        resolved=resolved,
        slots=slots,
        qualified=qualified,
        limit=limit,
        note=note,
    )


def pinned_request(request: AllocationRequest, opportunity_id: str, demand_id: str, staff_id: str) -> AllocationRequest:
    """The request with `staff_id` pinned to the slot (a copy; unchanged if already pinned there)."""
    changed = request.model_copy(deep=True)
    opportunity = next(o for o in changed.opportunities if o.id == opportunity_id)
    if not any(p.demand_id == demand_id and p.staff_id == staff_id for p in opportunity.pinned):
        opportunity.pinned.append(Pin(demand_id=demand_id, staff_id=staff_id))
    return changed


def solve_request(request_json: str) -> str:
    """A picklable solve for a process pool: request JSON in, plan JSON out."""
    return make_plan(AllocationRequest.model_validate_json(request_json)).model_dump_json()


# --------------------------------------------------------------------------- internals


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest([FieldError("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}", "value_error")])


def _slot(request: AllocationRequest, opportunity_id: str, demand_id: str) -> tuple[int, Demand]:
    o_index = next((i for i, o in enumerate(request.opportunities) if o.id == opportunity_id), None)
    if o_index is None:
        raise InvalidRequest([FieldError("opportunity_id", f"unknown opportunity id {opportunity_id!r}", "unknown_id")])
    demand = next((d for d in request.opportunities[o_index].demands if d.id == demand_id), None)
    if demand is None:
        raise InvalidRequest(
            [FieldError("demand_id", f"unknown demand id {demand_id!r} in {opportunity_id}", "unknown_id")]
        )
    return o_index, demand


def _locate(body: RecommendationRequest) -> None:
    if body.opportunity_id is not None and body.demand_id is not None:
        _slot(body.request, body.opportunity_id, body.demand_id)
    if body.staff_id is not None and all(p.id != body.staff_id for p in body.request.staff):
        raise InvalidRequest([FieldError("staff_id", f"unknown staff id {body.staff_id!r}", "unknown_id")])


def _who(person: Staff) -> str:
    return f"{person.name} ({person.id})" if person.name and person.name != person.id else person.id


def _not_qualified(request: AllocationRequest, opportunity: Opportunity, demand: Demand) -> NotQualified:
    """The people who fail H1, H2 or H9 for the slot, under the first of these rules they fail."""
    skill = unit = excluded = 0
    for person in request.staff:
        if person.skills.get(demand.skill, 0) < demand.min_level:
            skill += 1
        elif not unit_may_serve(person, opportunity, demand, request.policy):
            unit += 1
        elif person.id in opportunity.excluded_staff:
            excluded += 1
    return NotQualified(skill=skill, unit=unit, excluded=excluded)


def _slot_note(
    request: AllocationRequest,
    slot: str,
    demand: Demand,
    choices: Sequence[_Choice],
    not_qualified: NotQualified,
    resolved: int,
    limit: int,
) -> str:
    """Why there are as many candidates as there are, and how many of them were re-solved."""
    qualified = len(choices)
    skill, unit, excluded = not_qualified.skill, not_qualified.unit, not_qualified.excluded
    others = [
        f"{skill} {'lacks' if skill == 1 else 'lack'} {demand.skill} at level {demand.min_level} (H1)" if skill else "",
        f"{unit} {'is' if unit == 1 else 'are'} in a unit that may not serve this deal (H2: tier, region, remote_ok)"
        if unit
        else "",
        f"{excluded} {'is' if excluded == 1 else 'are'} excluded from it (H9)" if excluded else "",
    ]
    only = "Only " if qualified < limit else ""
    text = f"{only}{qualified} of {len(request.staff)} people pass H1, H2 and H9 for {slot}"
    if any(others):
        text += "; of the others, " + ", ".join(part for part in others if part)
    if qualified == 0:
        return text + ". Nobody can be ranked."
    settled = sum(1 for c in choices if c.plan is None and (c.on_slot or c.pinned or c.ruled_out))
    estimated = sum(1 for c in choices if c.plan is None and not (c.on_slot or c.pinned or c.ruled_out))
    text += f". All of them are listed, whatever the limit; {resolved} re-solved with the pin (limit {limit})"
    if settled:
        text += f", {settled} needed no re-solve (already on the slot, pinned, or ruled out by the rules alone)"
    if estimated:
        text += f", {estimated} ranked by the estimate only"
    return text + "."


def _changes_text(changes: Sequence[SlotChange], shown: int = 3) -> str:
    parts = [
        f"{c.opportunity_id}/{c.demand_id} {c.filled_in_baseline}->{c.filled_with_choice} "
        f"({c.delta_covered_value:+,.2f})"
        for c in changes[:shown]
    ]
    more = f" and {len(changes) - shown} more" if len(changes) > shown else ""
    return ", ".join(parts) + more


@dataclass
class _Choice:
    """One (person, slot) pin under evaluation."""

    staff: int
    opportunity: int
    demand: Demand
    member_cost: float
    on_slot: bool
    pinned: bool
    estimate: float = 0.0
    estimated_cost: float = 0.0
    reasons: list[Reason] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    plan: Plan | None = None  # the re-solve with the pin
    baseline: Plan | None = None
    exact: bool = False
    changes: list[SlotChange] = field(default_factory=list)  # demands filled differently than in the baseline
    lead_change: str = ""  # who must lead the deal instead, when the re-solve changes its lead

    @property
    def ruled_out(self) -> bool:
        return bool(self.reasons)

    def outcome(self, who: str, slot: str, limit: int) -> dict[str, Any]:
        # Someone already on the slot needs no re-solve: the baseline plan is the pinned optimum too.
        plan = self.plan if self.plan is not None or self.reasons or not self.on_slot else self.baseline
        delta_value, delta_cost = self._delta("covered_value"), self._delta("total_cost")
        return {
            "member_cost": round(self.member_cost, 2),
            "on_slot": self.on_slot,
            "pinned": self.pinned,
            "resolved": self.plan is not None,
            "feasible": self._feasible(),
            "status": plan.status if plan is not None else ("infeasible" if self.reasons else None),
            "covered_value": plan.objective.covered_value if plan is not None else None,
            "total_cost": plan.objective.total_cost if plan is not None else None,
            "delta_covered_value": delta_value,
            "delta_total_cost": delta_cost,
            "delta_covered_value_vs_baseline": delta_value,
            "delta_total_cost_vs_baseline": delta_cost,
            "exact": self.exact,
            "estimated_delta_covered_value": round(self.estimate, 2),
            "changed_slots": self.changes,
            "note": self._note(who, slot, limit, delta_value, delta_cost),
            "reasons": self.reasons,
            "detail": "; ".join(self.details),
        }

    def _note(self, who: str, slot: str, limit: int, delta_value: float | None, delta_cost: float | None) -> str:
        """The figures in words: what this choice displaces, or why there is no exact figure."""
        if self.reasons:
            return f"Cannot be chosen: {'; '.join(self.details)}."
        if self.pinned:
            return f"The request already pins {who} to {slot}: the baseline plan has this choice, every delta is 0."
        if self.plan is None and self.on_slot:
            return f"{who} is on {slot} in the baseline plan already: choosing them changes nothing, every delta is 0."
        estimate = f"{self.estimate:+,.2f}"
        if self.plan is None:
            return (
                f"Not re-solved: only the first {limit} of the pre-ranking are (limit). The estimate {estimate} "
                f"counts {slot}'s value and {who}'s own work in the baseline plan only; the exact change can be "
                "lower, even negative."
            )
        if delta_value is None or delta_cost is None:
            return f"The re-solve with {who} on {slot} ended without a plan ({self.plan.status})."
        cost = f"Total cost {delta_cost:+,.2f} against the baseline plan."
        if delta_value > 0.005:
            return (
                f"Covered value {delta_value:+,.2f}: the baseline plan was not proven optimal and the re-solve with "
                f"{who} on {slot} found a better one. {cost}"
            )
        if delta_value > -0.005:
            return f"No covered value lost: the plan with {who} on {slot} covers as much as the baseline plan. {cost}"
        gains = [c for c in self.changes if c.delta_covered_value > 0]
        losses = [c for c in self.changes if c.delta_covered_value < 0]
        gained = sum(c.delta_covered_value for c in gains)
        lost = sum(c.delta_covered_value for c in losses)
        text = (
            f"Covered value {delta_value:+,.2f} against the baseline plan. With {who} pinned to {slot}, the "
            f"re-solved plan fills {_changes_text(gains) or 'nothing new'}, together {gained:+,.2f}; the work it "
            f"displaces from the baseline plan, {_changes_text(losses)}, takes {lost:+,.2f}. {cost}"
        )
        if self.lead_change:
            text += f" {self.lead_change}"
        if abs(self.estimate - delta_value) > 0.005:
            text += (
                f" The estimate {estimate} counted only {slot}'s value and {who}'s own work; the rest comes from "
                "other people moving."
            )
        return text

    def _feasible(self) -> bool | None:
        if self.reasons:
            return False
        if self.plan is not None:
            return self.plan.status in ("optimal", "feasible")
        return True if self.on_slot else None

    def _delta(self, name: str) -> float | None:
        if self.on_slot and self.plan is None:
            return 0.0
        if self.plan is None or self.plan.status not in ("optimal", "feasible"):
            return None
        return self.delta(name)

    def delta(self, name: str) -> float:
        assert self.plan is not None
        assert self.baseline is not None
        change: float = getattr(self.plan.objective, name) - getattr(self.baseline.objective, name)
        return round(change, 2)


def _ranked(choices: Sequence[_Choice]) -> list[_Choice]:
    def key(choice: _Choice) -> tuple[int, float, float, float]:
        feasible = choice._feasible()
        if feasible is False:
            return (2, 0.0, 0.0, choice.member_cost)
        if feasible is True:
            value = choice._delta("covered_value") or 0.0
            cost = choice._delta("total_cost") or 0.0
            return (0, -value, cost, choice.member_cost)
        return (1, -choice.estimate, choice.estimated_cost, choice.member_cost)

    return sorted(choices, key=key)


@dataclass
class _Context:
    """The request, its baseline plan, and what the cheap checks need from both."""

    request: AllocationRequest
    solve: PlanSolver
    baseline: Plan
    on_slot: dict[tuple[str, str], list[str]]
    load: dict[str, list[float]]  # staff id -> hours by week in the baseline plan
    work: dict[str, list[tuple[str, str, float]]]  # staff id -> (opportunity, demand, slot value) in the baseline
    spent: dict[str, float]  # opportunity id -> baseline cost
    staffed: set[str]
    values: dict[tuple[str, str], float]  # (opportunity, demand) -> the value of one of its slots

    @classmethod
    def of(cls, request: AllocationRequest, solve: PlanSolver) -> _Context:
        baseline = solve(request)
        on_slot: dict[tuple[str, str], list[str]] = defaultdict(list)
        work: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        values = {
            (o.id, d.id): costing.slot_value(d, o, request.policy) for o in request.opportunities for d in o.demands
        }
        for a in baseline.assignments:
            on_slot[(a.opportunity_id, a.demand_id)].append(a.staff_id)
            work[a.staff_id].append((a.opportunity_id, a.demand_id, values[(a.opportunity_id, a.demand_id)]))
        return cls(
            request=request,
            solve=solve,
            baseline=baseline,
            on_slot=dict(on_slot),
            load={s.staff_id: list(s.hours_by_week) for s in baseline.staff},
            work=dict(work),
            spent={o.opportunity_id: o.cost for o in baseline.opportunities},
            staffed={lead.opportunity_id for lead in baseline.leads},
            values=values,
        )

    def baseline_summary(self) -> Baseline:
        return Baseline(
            status=self.baseline.status,
            covered_value=self.baseline.objective.covered_value,
            total_cost=self.baseline.objective.total_cost,
        )

    # ----------------------------------------------------------------- cheap checks and estimate

    def evaluate(self, s_index: int, o_index: int, demand: Demand) -> _Choice:
        request = self.request
        person = request.staff[s_index]
        opportunity = request.opportunities[o_index]
        on = self.on_slot.get((opportunity.id, demand.id), [])
        choice = _Choice(
            staff=s_index,
            opportunity=o_index,
            demand=demand,
            member_cost=costing.member_cost(person, demand, opportunity, request.policy),
            on_slot=person.id in on,
            pinned=any(p.demand_id == demand.id and p.staff_id == person.id for p in opportunity.pinned),
            baseline=self.baseline,
        )
        if self.baseline.status in ("infeasible", "unknown"):
            choice.reasons.append("pins")
            choice.details.append(f"the request has no plan even without this choice ({self.baseline.status})")
            return choice
        if choice.pinned:
            return choice
        self._rule_out(choice, person, opportunity)
        if not choice.ruled_out and not choice.on_slot:
            self._estimate(choice, person, opportunity)
        return choice

    def _rule_out(self, choice: _Choice, person: Staff, opportunity: Opportunity) -> None:
        """Rules this pin breaks together with the request's own pins and fixed leads, whatever the plan."""
        request, demand = self.request, choice.demand
        policy = request.policy
        others = [p for p in opportunity.pinned if p.demand_id == demand.id and p.staff_id != person.id]
        if len(others) >= demand.headcount:
            choice.reasons.append("slots")
            choice.details.append(
                f"all {demand.headcount} slot(s) of {demand.id} are pinned to "
                f"{', '.join(p.staff_id for p in others)} (H4)"
            )

        # H3 and H7 against this person's pins and fixed leads elsewhere.
        busy = [0.0] * request.horizon.weeks
        opportunities = {opportunity.id}
        for other in request.opportunities:
            for pin in other.pinned:
                if pin.staff_id != person.id:
                    continue
                pinned_demand = next(d for d in other.demands if d.id == pin.demand_id)
                for w in range(pinned_demand.start_week, pinned_demand.end_week + 1):
                    busy[w] += pinned_demand.hours_per_week
                opportunities.add(other.id)
            window = costing.active_window(other)
            if other.lead_staff_id == person.id and window is not None:
                for w in range(window[0], window[1] + 1):
                    busy[w] += policy.lead_hours_per_week
                opportunities.add(other.id)
        for w in range(demand.start_week, demand.end_week + 1):
            if busy[w] + demand.hours_per_week > person.capacity(w) + 1e-9:
                pinned_part = f" with {busy[w]:g} h pinned or leading" if busy[w] else ""
                choice.reasons.append("capacity")
                choice.details.append(
                    f"{person.id} has {person.capacity(w):g} h in week {w}{pinned_part}; "
                    f"{demand.id} needs {demand.hours_per_week:g} h/week (H3)"
                )
                break
        if person.max_opportunities is not None and len(opportunities) > person.max_opportunities:
            choice.reasons.append("focus")
            choice.details.append(
                f"{person.id} may work on {person.max_opportunities} opportunities and would be on "
                f"{len(opportunities)} with their pins (H7)"
            )

        # H5 and H6: someone working on the deal must lead it, and the deal must pay for them.
        workers = {person.id} | {p.staff_id for p in opportunity.pinned}
        staff_by_id = {p.id: p for p in request.staff}
        fixed = opportunity.lead_staff_id
        lead_extra: list[float] = []
        for candidate in request.staff:
            if fixed is not None and candidate.id != fixed:
                continue
            if not may_lead(candidate, opportunity, policy):
                continue
            # A lead works on the deal too: anyone but this person needs a slot this pin leaves free.
            work = [
                costing.member_cost(candidate, d, opportunity, policy)
                for d in opportunity.demands
                if is_qualified(candidate, opportunity, d, policy)
                and (candidate.id == person.id or d.id != demand.id or d.headcount > 1)
            ]
            if not work:
                continue
            extra = costing.lead_cost(candidate, opportunity, policy)
            lead_extra.append(extra if candidate.id in workers else extra + min(work))
        if not lead_extra:
            choice.reasons.append("lead")
            choice.details.append(
                f"the required lead {fixed} cannot lead {opportunity.id} with this choice (H5)"
                if fixed is not None
                else f"nobody who may lead {opportunity.id} could also work on it with this choice "
                "(can_lead, lead_units, H5)"
            )
            return
        pinned_cost = sum(
            costing.member_cost(staff_by_id[p.staff_id], d, opportunity, policy)
            for p in opportunity.pinned
            if p.staff_id != person.id or p.demand_id != demand.id
            for d in opportunity.demands
            if d.id == p.demand_id
        )
        least = choice.member_cost + pinned_cost + min(lead_extra)
        budget = costing.budget(opportunity, policy)
        if least > budget + 1e-6:
            choice.reasons.append("budget")
            choice.details.append(
                f"{opportunity.id} would cost at least {least:,.2f} with this person, its pins and a lead; "
                f"the budget is {budget:,.2f} (H6)"
            )

    def _estimate(self, choice: _Choice, person: Staff, opportunity: Opportunity) -> None:
        """A cheap guess of the covered-value change: the slot's value if it was open, minus the value of
        this person's work that must give way (hours, focus), minus the slot again if the budget breaks."""
        request, demand = self.request, choice.demand
        policy = request.policy
        value = costing.slot_value(demand, opportunity, policy)
        on = self.on_slot.get((opportunity.id, demand.id), [])
        is_open = len(on) < demand.headcount
        gain = value if is_open else 0.0
        displaced_cost = 0.0
        if not is_open:
            costs = {
                a.staff_id: a.cost
                for a in self.baseline.assignments
                if (a.opportunity_id, a.demand_id) == (opportunity.id, demand.id)
            }
            displaced_cost = max(costs.values(), default=0.0)

        pinned_here = {(o.id, p.demand_id) for o in request.opportunities for p in o.pinned if p.staff_id == person.id}
        demands = {(o.id, d.id): d for o in request.opportunities for d in o.demands}
        load = list(self.load.get(person.id, [0.0] * request.horizon.weeks))
        mine = sorted(
            (job for job in self.work.get(person.id, []) if (job[0], job[1]) not in pinned_here), key=lambda job: job[2]
        )
        kept = list(mine)
        lost = 0.0

        def fits() -> bool:
            return all(
                load[w] + demand.hours_per_week <= person.capacity(w) + 1e-9
                for w in range(demand.start_week, demand.end_week + 1)
            )

        for item in mine:
            if fits():
                break
            other = demands[(item[0], item[1])]
            if other.end_week < demand.start_week or demand.end_week < other.start_week:
                continue
            for w in range(other.start_week, other.end_week + 1):
                load[w] -= other.hours_per_week
            kept.remove(item)
            lost += item[2]
        if not fits():
            lost += value  # lead hours or pins hold the week: something of this deal's size must go

        if person.max_opportunities is not None:
            deals = {job[0] for job in kept} - {opportunity.id}
            if len(deals) >= person.max_opportunities and deals:
                by_deal: dict[str, float] = defaultdict(float)
                for job in kept:
                    by_deal[job[0]] += job[2]
                lost += min(by_deal[d] for d in deals)

        extra_cost = choice.member_cost - displaced_cost
        if opportunity.id not in self.staffed:
            lead = costing.lead_cost(person, opportunity, policy) if may_lead(person, opportunity, policy) else 0.0
            extra_cost += lead
        if self.spent.get(opportunity.id, 0.0) + extra_cost > costing.budget(opportunity, policy) + 1e-6:
            lost += value
        choice.estimate = gain - lost
        choice.estimated_cost = extra_cost

    # ----------------------------------------------------------------- re-solving

    def settle(self, choices: list[_Choice], limit: int, executor: Executor | None) -> int:
        """Re-solve the `limit` best-estimated open questions with the pin; returns how many were solved."""
        open_questions = [c for c in choices if not c.ruled_out and not c.on_slot and not c.pinned]
        chosen = _ranked(open_questions)[:limit]
        requests = [self._pinned(c) for c in chosen]
        if executor is None:
            plans = [self.solve(r) for r in requests]
        else:
            futures = [executor.submit(solve_request, r.model_dump_json()) for r in requests]
            plans = [Plan.model_validate_json(f.result()) for f in futures]
        for choice, plan in zip(chosen, plans, strict=True):
            choice.plan = plan
            choice.exact = plan.status == "optimal" and self.baseline.status == "optimal"
            if plan.status in ("optimal", "feasible"):
                choice.changes = self.slot_changes(plan)
                choice.lead_change = self.lead_change(choice, plan)
            if plan.status == "infeasible":
                # The solve that found the pin infeasible also found which rules are to blame (on the
                # solver process when run on the pool): nothing is solved here.
                blamed = plan.explanation.broken_rules if plan.explanation else []
                choice.reasons.extend(blamed or ["pins"])
                choice.details.append(
                    plan.explanation.detail if plan.explanation else "the pins break several rules at once"
                )
        for choice in choices:
            if (choice.on_slot or choice.pinned) and not choice.reasons:
                choice.exact = self.baseline.status == "optimal"
        return len(chosen)

    def slot_changes(self, plan: Plan) -> list[SlotChange]:
        """The demands `plan` fills with a different number of people than the baseline, losses first:
        covered value is the sum of the filled slots' values, so these add up to the plan's delta."""
        before = Counter((a.opportunity_id, a.demand_id) for a in self.baseline.assignments)
        after = Counter((a.opportunity_id, a.demand_id) for a in plan.assignments)
        changes = [
            SlotChange(
                opportunity_id=key[0],
                demand_id=key[1],
                filled_in_baseline=before[key],
                filled_with_choice=after[key],
                delta_covered_value=round((after[key] - before[key]) * self.values[key], 2),
            )
            for key in sorted(set(before) | set(after))
            if before[key] != after[key]
        ]
        return sorted(changes, key=lambda c: (c.delta_covered_value >= 0, -abs(c.delta_covered_value)))

    def lead_change(self, choice: _Choice, plan: Plan) -> str:
        """A sentence when the pin makes someone else lead the deal (H5): their own work moves too."""
        opportunity = self.request.opportunities[choice.opportunity]
        person = self.request.staff[choice.staff]
        before = next((lead.staff_id for lead in self.baseline.leads if lead.opportunity_id == opportunity.id), None)
        after = next((lead.staff_id for lead in plan.leads if lead.opportunity_id == opportunity.id), None)
        if after is None or after == before or after == person.id:
            return ""
        names = {p.id: _who(p) for p in self.request.staff}
        work = [a.demand_id for a in plan.assignments if a.opportunity_id == opportunity.id and a.staff_id == after]
        was = f" instead of {names[before]}" if before is not None else ""
        return (
            f"{opportunity.id} needs a lead who works on it (H5): {names[after]} leads it{was}"
            + (f" and works on {', '.join(work)}" if work else "")
            + "."
        )

    def _pinned(self, choice: _Choice) -> AllocationRequest:
        opportunity = self.request.opportunities[choice.opportunity]
        return pinned_request(self.request, opportunity.id, choice.demand.id, self.request.staff[choice.staff].id)


__all__ = [
    "Baseline",
    "Candidate",
    "NotQualified",
    "PinOutcome",
    "RecommendationRequest",
    "SlotChange",
    "SlotOption",
    "SlotRecommendations",
    "StaffRecommendations",
    "answer",
    "best_slots_for",
    "parse_recommendation_request",
    "pinned_request",
    "recommend",
]


# --------------------------------------------------------------------------- text


def _verdict(outcome: PinOutcome) -> tuple[str, str, str]:
    """(feasible, delta covered value, delta cost) cells; estimates are marked with ~."""
    if outcome.feasible is False:
        return "no: " + ", ".join(outcome.reasons), "", ""
    if outcome.delta_covered_value is not None and outcome.delta_total_cost is not None:
        note = " (on slot)" if outcome.on_slot and not outcome.resolved else ""
        return "yes", f"{outcome.delta_covered_value:+,.2f}{note}", f"{outcome.delta_total_cost:+,.2f}"
    return "?", f"~{outcome.estimated_delta_covered_value:+,.2f}", ""


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_recommendations(result: SlotRecommendations | StaffRecommendations, request: AllocationRequest) -> str:
    """A ranked table with each choice's feasibility and deltas, then why the infeasible ones are."""
    names = {p.id: p.name or p.id for p in request.staff}
    base = result.baseline
    out: list[str] = []
    rows: list[list[str]] = []
    outcomes: list[tuple[str, PinOutcome]] = []
    if isinstance(result, SlotRecommendations):
        on = ", ".join(f"{names.get(s, s)} ({s})" for s in result.on_slot) or "nobody"
        out.append(
            f"Candidates for {result.opportunity_id}/{result.demand_id} (headcount {result.headcount}, "
            f"slot value {result.slot_value:,.2f}); on the slot now: {on}"
        )
        rows.append(["#", "person", "unit", "level", "member cost", "feasible", "Δ covered value", "Δ total cost"])
        for c in result.candidates:
            label = f"{c.name or c.staff_id} ({c.staff_id})"
            rows.append(
                [
                    str(c.rank),
                    label,
                    f"{c.unit_kind} {c.region}",
                    str(c.skill_level),
                    f"{c.member_cost:,.2f}",
                    *_verdict(c),
                ]
            )
            outcomes.append((label, c))
        total = len(result.candidates)
    else:
        out.append(f"Slots for {names.get(result.staff_id, result.staff_id)} ({result.staff_id})")
        rows.append(
            ["#", "slot", "grade", "open", "slot value", "member cost", "feasible", "Δ covered value", "Δ total cost"]
        )
        for option in result.slots:
            label = f"{option.opportunity_id}/{option.demand_id}"
            rows.append(
                [
                    str(option.rank),
                    label,
                    option.grade,
                    str(option.open_slots),
                    f"{option.slot_value:,.2f}",
                    f"{option.member_cost:,.2f}",
                    *_verdict(option),
                ]
            )
            outcomes.append((label, option))
        total = len(result.slots)
    out.append(
        f"Baseline plan ({base.status}): covered value {base.covered_value:,.2f}, total cost {base.total_cost:,.2f}"
    )
    out.append("")
    if total == 0:
        out.append(result.note)
        return "\n".join(out)
    out.extend(_table(rows))
    out.append("")
    out.append(
        f"Re-solved with the pin: {result.resolved} of {total}; ~ marks the pre-ranking's estimate for the others. "
        "Each delta is the whole plan re-solved with that choice pinned minus the baseline plan: other people "
        "move too, so against an optimal baseline covered value can only drop."
    )
    out.append(result.note)
    drops = [
        (label, o)
        for label, o in outcomes
        if o.delta_covered_value_vs_baseline is not None and o.delta_covered_value_vs_baseline < 0
    ]
    if drops:
        out.append("")
        out.append("Why the covered value drops:")
        out.extend(f"  {label}: {o.note}" for label, o in drops)
    infeasible = [(label, o) for label, o in outcomes if o.feasible is False]
    if infeasible:
        out.append("")
        out.append("Why not:")
        out.extend(f"  {label}: {o.detail}" for label, o in infeasible)
    return "\n".join(out)
