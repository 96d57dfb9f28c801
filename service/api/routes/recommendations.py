"""/v1/recommendations: who could fill a slot, or which slots suit a person, each priced by a re-solve."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.body import BodyExample, JsonBody
from service.api.deps import QueryTenantDep, RunnerDep
from service.api.errors import ValidationFailed
from service.api.on_workspace import OnTheWorkspace
from service.api.openapi import json_response, problems
from service.contract import InvalidRequest, RecommendationRequest
from service.jobs.pool_executor import PoolPlanExecutor
from service.recommendations import answer, parse_recommendation_request

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])


def parse_question(document: Any) -> RecommendationRequest | OnTheWorkspace:
    return OnTheWorkspace.of(document, "request") or parse_recommendation_request(document)


def on_the_workspace(request: Request, tenant: str, question: OnTheWorkspace) -> RecommendationRequest:
    """The question asked of the workspace's current request (`GET /v1/workspace/request`)."""
    try:
        return parse_recommendation_request(question.completed(request, tenant, "request"))
    except InvalidRequest as error:
        raise ValidationFailed(error.errors) from None


QuestionBody = Annotated[
    RecommendationRequest | OnTheWorkspace,
    Depends(
        JsonBody(
            RecommendationRequest,
            parse_question,
            {
                "slot": BodyExample("Who could run the CRM demo of opp-C1", "small-recommendation-slot"),
                "staff": BodyExample("Slots that suit Liu Yang (south-01)", "small-recommendation-staff"),
            },
        )
    ),
]


@router.post(
    "",
    summary="Rank candidates for one slot, or slots for one person",
    description="With `opportunity_id` and `demand_id`: every person who passes H1, H2 and H9 for that slot, "
    "ranked, each with feasibility and the change in covered value and total cost if they are chosen. With "
    "`staff_id` instead: the slots that person could fill (by default only those the baseline plan leaves "
    "open). Name a slot or a person, not both. The request is solved once as given (the baseline), then the "
    "top `limit` choices of a cheap pre-ranking are re-solved with that choice pinned, in parallel on the "
    "solver processes; the others carry the estimate and `resolved: false`. Every qualified choice is listed "
    "whatever the limit; `qualified`, `not_qualified` and `note` say how many there are and why.\n\n"
    "The figures: `delta_covered_value_vs_baseline` and `delta_total_cost_vs_baseline` (also under their first "
    "names `delta_covered_value`, `delta_total_cost`) are the whole plan re-solved with the choice pinned minus "
    "the baseline plan. Against an optimal baseline the covered-value delta is at most 0: a negative one means "
    "the choice displaces more valuable work than it adds, listed in `changed_slots` (they add up to the delta) "
    "and told in `note`. `estimated_delta_covered_value` is the pre-ranking's guess of the same delta, from "
    "this slot and this person's own work only; it can differ in size and sign, and only orders the re-solves. "
    "Nothing is stored. Counts as one solve against the tenant's cap.\n\n"
    'With `"request": "workspace"` the question is asked of the workspace\'s current request '
    '(`GET /v1/workspace/request`: its bookings as pins and previous plan), as a what-if\'s `"base": '
    '"workspace"` is; a viewer may ask it too (the answer has no rate or cost).',
    response_model=None,
    responses={
        200: json_response(
            "The candidates for the slot, or the slots for the person.",
            "SlotRecommendations",
            "StaffRecommendations",
            example_name="small-recommendations",
        ),
        **problems(
            400,
            401,
            413,
            415,
            422,
            429,
            503,
            descriptions={
                422: "The body breaks the contract, names an unknown opportunity, demand or person, or names "
                "both a slot and a person (or neither).",
                503: "A solve ended without a plan (stopped by the watchdog).",
            },
        ),
    },
)
async def recommend(request: Request, runner: RunnerDep, tenant: QueryTenantDep, question: QuestionBody) -> Response:
    if isinstance(question, OnTheWorkspace):
        question = await to_thread.run_sync(on_the_workspace, request, tenant, question)
    async with runner.transient_group(tenant) as group:
        pool = PoolPlanExecutor(group, asyncio.get_running_loop())
        # The engine runs in a worker thread and sends every solve to the solver processes through `pool`.
        result = await run_in_threadpool(partial(answer, question, solve=pool.solve, executor=pool))
    return JSONResponse(result.model_dump(mode="json"))
