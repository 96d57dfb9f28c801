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

Who is a candidate, and which pins the rules rule out without a solve, is read from the compiled problem
(service/solver/problem.py): its qualified lists (H1, H2, H9), pins, fixed leads, lead candidates (H5) and
scaled hours, capacities, costs and budgets, the integers the solver itself decides on. The wire models
live in service/contract.py; the CLI renders the answers as text (service/cli.py).

__init__.py  the questions: parse_recommendation_request, answer, recommend, best_slots_for
pricing.py   Pricing: the baseline, the compiled problem, rule-outs, the estimate, the re-solves with a pin
choice.py    Choice: one person on one slot, its figures and notes; the ranking
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from pydantic import ValidationError

from service.admission import size_errors
from service.contract import (
    MAX_RECOMMENDATION_LIMIT,
    AllocationRequest,
    Candidate,
    Demand,
    FieldError,
    InvalidRequest,
    NotQualified,
    Opportunity,
    RecommendationRequest,
    SlotOption,
    SlotRecommendations,
    StaffRecommendations,
    errors_from_pydantic,
)
from service.eligibility import serve_refusal
from service.planning import make_plan
from service.recommendations.choice import Choice, ranked, who
from service.recommendations.pricing import PlanSolver, Pricing, pinned_request

# --------------------------------------------------------------------------- entry points


def parse_recommendation_request(data: Any) -> RecommendationRequest:
    """Validate the body (the question's own rules are the model's: contract.question_rules); raises
    InvalidRequest naming each field (`request.…`, `demand_id`, …)."""
    try:
        body = RecommendationRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None
    too_large = size_errors(body.request, at="request.")
    if too_large:
        raise InvalidRequest(too_large)
    return body


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
    context = Pricing.of(request, solve)
    slot_index = context.slot_index[(opportunity.id, demand.id)]
    choices = [context.evaluate(c.staff, slot_index) for c in context.problem.qualified[slot_index]]
    resolved = context.settle(choices, limit, executor)
    slot = f"{opportunity.id}/{demand.id}"
    not_qualified = _not_qualified(request, opportunity, demand)
    candidates = []
    for rank, choice in enumerate(ranked(choices), start=1):
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
                **choice.outcome(who(person), slot, limit),
            )
        )
    return SlotRecommendations(
        opportunity_id=opportunity.id,
        demand_id=demand.id,
        headcount=demand.headcount,
        slot_value=round(context.values[slot_index], 2),
        baseline=context.baseline_summary(),
        on_slot=context.on_slot_ids(slot_index),
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
    context = Pricing.of(request, solve)
    problem = context.problem
    choices = []
    qualified = already_on = filled = 0
    for slot_index, candidates in enumerate(problem.qualified):
        if all(c.staff != s_index for c in candidates):
            continue
        qualified += 1
        on = context.on_slot.get(slot_index, [])
        if s_index in on:
            already_on += 1
            continue
        if open_only and len(on) >= problem.slots[slot_index].headcount:
            filled += 1
            continue
        choices.append(context.evaluate(s_index, slot_index))
    resolved = context.settle(choices, limit, executor)
    slots = []
    for rank, choice in enumerate(ranked(choices), start=1):
        opportunity = request.opportunities[choice.opportunity]
        on = context.on_slot.get(choice.slot, [])
        slots.append(
            SlotOption(
                rank=rank,
                opportunity_id=opportunity.id,
                opportunity_name=opportunity.name,
                demand_id=choice.demand.id,
                grade=opportunity.grade,
                slot_value=round(context.values[choice.slot], 2),
                open_slots=max(choice.demand.headcount - len(on), 0),
                **choice.outcome(who(person), f"{opportunity.id}/{choice.demand.id}", limit),
            )
        )
    left_out = [
        f"{already_on} they already fill" if already_on else "",
        f"{filled} the baseline plan already fills (open_only)" if filled else "",
    ]
    listed = "Only " if len(slots) < limit else ""
    note = (
        f"{listed}{qualified} slot(s) pass H1, H2 and H9 for {who(person)}"
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


# --------------------------------------------------------------------------- internals


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_RECOMMENDATION_LIMIT:
        raise InvalidRequest(
            [FieldError("limit", f"must be between 1 and {MAX_RECOMMENDATION_LIMIT}, got {limit}", "value_error")]
        )


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


def _not_qualified(request: AllocationRequest, opportunity: Opportunity, demand: Demand) -> NotQualified:
    """The people who fail H1, H2 or H9 for the slot, under the first of these rules they fail."""
    first_broken = Counter(
        refusal.rule
        for person in request.staff
        if (refusal := serve_refusal(person, opportunity, demand, request.policy)) is not None
    )
    return NotQualified(skill=first_broken["H1"], unit=first_broken["H2"], excluded=first_broken["H9"])


def _slot_note(
    request: AllocationRequest,
    slot: str,
    demand: Demand,
    choices: Sequence[Choice],
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


__all__ = [
    "PlanSolver",
    "answer",
    "best_slots_for",
    "parse_recommendation_request",
    "pinned_request",
    "recommend",
]
