"""/v1/plans: solve a request (now or as a job), read a plan or its job, list plans, cancel a solve."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from service.admission import size_errors
from service.api.body import BodyExample, JsonBody
from service.api.deps import RunnerDep, SessionDep, SettingsDep, TenantDep
from service.api.errors import Conflict, NotFound, SolveFailed, ValidationFailed
from service.api.openapi import LOCATION_HEADER, json_response, problems, schema_ref
from service.api.schemas import JobProgress, JobState, PlanPage, PlanSummary
from service.contract import AllocationRequest, FieldError, InvalidRequest, parse_request
from service.db.base import utcnow
from service.db.repositories import InvalidCursor, JobRepository, PageCursor
from service.jobs.runner import Attempt, JobRunner, JobView, Submission

router = APIRouter(prefix="/v1/plans", tags=["plans"])

Mode = Literal["sync", "async"]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes the POST safe to retry: the same key with the same body returns the same plan "
        "without solving again; with another body, 409.",
    ),
]


def location(plan_id: str) -> str:
    return f"{router.prefix}/{plan_id}"


def parse_allocation(document: Any) -> AllocationRequest:
    """The request, or InvalidRequest saying what is wrong with it (including a size its time limit cannot
    serve: service/admission.py)."""
    allocation = parse_request(document)
    too_large = size_errors(allocation)
    if too_large:
        raise InvalidRequest(too_large)
    return allocation


AllocationBody = Annotated[
    AllocationRequest,
    Depends(
        JsonBody(
            AllocationRequest,
            parse_allocation,
            {"small": BodyExample("Five people, three opportunities (A, C and E grade)", "small-request")},
        )
    ),
]


def state_response(view: JobView, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """`{id, status, cancelled, detail}`, and while the job runs its `progress` and plan so far."""
    progress = progress_of(view.attempt) if view.attempt is not None else None
    state = JobState.model_validate({"id": view.id, "status": view.status, "detail": view.detail, "progress": progress})
    body = state.model_dump(mode="json", exclude={"plan"}, exclude_none=False)
    if progress is None:
        del body["progress"]
    elif view.attempt is not None and view.attempt.progress is not None:
        body["plan"] = {**view.attempt.progress["plan"], "id": view.id}
    return JSONResponse(body, status_code=status_code, headers=headers)


def progress_of(attempt: Attempt) -> JobProgress:
    """A running attempt as the client sees it: its time so far and the figures of its plan so far."""
    elapsed = 0.0 if attempt.started_at is None else (utcnow() - attempt.started_at).total_seconds()
    progress = JobProgress(
        attempt=attempt.number, elapsed_s=round(max(elapsed, 0.0), 3), time_limit_s=attempt.time_limit_s
    )
    document = attempt.progress
    if document is None:
        return progress
    objective = document["plan"]["objective"]
    return progress.model_copy(
        update={
            "phase": document["phase"],
            "found_after_s": document["found_after_s"],
            "improvements": document["improvements"],
            "covered_value": objective["covered_value"],
            "total_cost": objective["total_cost"],
            "bound": objective["bound"],
            "gap": objective["gap"],
            "updated_at": attempt.progress_at,
        }
    )


def view_response(view: JobView, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """The plan when there is one, else the job's state (with a polling hint while it is pending)."""
    if view.plan is not None:
        return JSONResponse(view.plan, status_code=status_code, headers=headers)
    if not view.finished:
        headers = {**(headers or {}), "Retry-After": "1"}
    return state_response(view, status_code, headers)


@router.post(
    "",
    status_code=201,
    summary="Solve an allocation request",
    response_model=None,
    responses={
        201: json_response("The plan (synchronous mode).", "Plan", headers=LOCATION_HEADER),
        202: json_response("Accepted as a job (`mode=async`); poll the Location.", "JobState", headers=LOCATION_HEADER),
        **problems(400, 401, 409, 413, 415, 422, 429, 503),
    },
)
async def create_plan(
    runner: RunnerDep,
    tenant: TenantDep,
    allocation: AllocationBody,
    mode: Annotated[Mode, Query(description="`sync` waits for the plan; `async` returns a job at once.")] = "sync",
    idempotency_key: IdempotencyKey = None,
) -> Response:
    submission = await runner.submit(tenant, allocation, idempotency_key, waiting=mode == "sync")
    return await submission_response(runner, tenant, submission, mode)


async def submission_response(runner: JobRunner, tenant: str, submission: Submission, mode: Mode) -> Response:
    """The answer to a submitted solve: 202 with the job (async), else the plan once the job has ended (201),
    409 if it was cancelled before it had a plan, 503 if it failed."""
    headers = {"Location": location(submission.job_id)}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    if mode == "async":
        current = await runner.view(tenant, submission.job_id) if submission.replayed else None
        status = current.status if current is not None else "queued"
        return JSONResponse({"id": submission.job_id, "status": status}, status_code=202, headers=headers)
    if submission.plan is not None:  # solved as it was submitted
        return JSONResponse(submission.plan, status_code=201, headers=headers)
    view = await runner.wait(tenant, submission.job_id)
    if view is None:  # the runner is shutting down and the job vanished: cannot happen with a live database
        raise NotFound(f"no plan {submission.job_id!r}")
    if view.plan is not None:
        return JSONResponse(view.plan, status_code=201, headers=headers)
    if view.status == "cancelled":
        raise Conflict(
            f"plan {view.id} was cancelled before the solver had any plan: {view.detail}",
            headers=headers,
            extensions={"plan_id": view.id},
        )
    if view.status == "failed":
        raise SolveFailed(view.detail or "the solve failed", headers=headers, extensions={"plan_id": view.id})
    # The server is stopping: the job stays queued and runs after the restart.
    return state_response(view, 202, headers)


@router.get(
    "",
    summary="List plans, newest first",
    response_model=PlanPage,
    responses=problems(401, 422),
)
def list_plans(
    response: Response,
    session: SessionDep,
    tenant: TenantDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page.")] = None,
) -> PlanPage:
    try:
        after = PageCursor.decode(cursor) if cursor else None
    except InvalidCursor as error:
        raise ValidationFailed([FieldError("query.cursor", str(error), "invalid_cursor")]) from None
    size = min(limit, settings.page_size_max)
    rows = JobRepository(session).page(tenant, size + 1, after)
    items = [
        PlanSummary(
            id=row.job.id,
            status=row.plan_status or row.job.status,
            cancelled=row.cancelled,
            created_at=row.job.created_at,
            finished_at=row.job.finished_at,
            covered_value=row.covered_value,
            total_cost=row.total_cost,
            detail=row.job.detail,
        )
        for row in rows[:size]
    ]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1].job
        next_cursor = PageCursor(last.created_at, last.id).encode()
        response.headers["Link"] = f'<{router.prefix}?limit={size}&cursor={next_cursor}>; rel="next"'
    return PlanPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{plan_id}",
    summary="A plan, or its job's state (and the plan so far) while it is being solved",
    response_model=None,
    responses={
        200: json_response(
            "The plan; or `{id, status}` while queued; or while running `{id, status, progress, plan}` with the "
            "best plan found so far; or why it ended.",
            "Plan",
            "JobState",
        ),
        **problems(401, 404),
    },
)
def get_plan(plan_id: str, session: SessionDep, tenant: TenantDep) -> Response:
    job = JobRepository(session).get(tenant, plan_id, with_plan=True)
    if job is None:
        raise NotFound(f"no plan {plan_id!r}")
    return view_response(JobView.of(job))


@router.get(
    "/{plan_id}/request",
    summary="The allocation request a plan solves",
    description="The request as the service validated it (defaults filled in): for a scenario's variant, the "
    "base with the variant's changes applied. Names of people and deals, capacities and the horizon's dates "
    "are here, not in the plan.",
    response_model=None,
    responses={
        200: {
            "description": "The allocation request.",
            "content": {"application/json": {"schema": schema_ref("AllocationRequest")}},
        },
        **problems(401, 404),
    },
)
def get_plan_request(plan_id: str, session: SessionDep, tenant: TenantDep) -> Response:
    job = JobRepository(session).get(tenant, plan_id, with_request=True)
    if job is None:
        raise NotFound(f"no plan {plan_id!r}")
    return JSONResponse(job.request.body)


@router.delete(
    "/{plan_id}",
    summary="Cancel a queued or running solve",
    description="A queued job ends at once as `cancelled`. A running solve is told to stop and keeps its best "
    "plan so far (status `feasible`, `cancelled: true`); the answer waits a moment for that plan, else 202.",
    response_model=None,
    responses={
        200: json_response("Cancelled: the plan kept, or `{id, status: cancelled}`.", "Plan", "JobState"),
        202: json_response("The solve was told to stop; poll the plan.", "JobState"),
        **problems(401, 404, 409),
    },
)
async def cancel_plan(plan_id: str, runner: RunnerDep, tenant: TenantDep, settings: SettingsDep) -> Response:
    result = await runner.cancel(tenant, plan_id)
    if result == "not_found":
        raise NotFound(f"no plan {plan_id!r}")
    if result == "finished":
        current = await runner.view(tenant, plan_id)
        status = current.status if current is not None else "finished"
        raise Conflict(f"plan {plan_id} has already finished (status {status}); there is nothing to cancel")
    view = await runner.wait(tenant, plan_id, settings.cancel_wait_s)
    if view is None:
        raise NotFound(f"no plan {plan_id!r}")
    if view.finished:
        return view_response(view)
    detail = "cancellation requested; the best plan found so far will be kept"
    return JSONResponse({"id": view.id, "status": view.status, "detail": detail}, status_code=202)
