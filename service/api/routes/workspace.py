"""/v1/workspace: the tenant's roster, pipeline, settings and bookings (CONTRACT v2), the v1 request they
stand for, proposals solved from it, publishing, and the audit.

Every write answers the workspace's new `revision` with an `ETag` of it, and honours `If-Match` (412 when the
workspace has moved on). Reads carry the `ETag` too, so a client can read, then write only if nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from service.access import Principal
from service.admission import size_errors
from service.api.body import JsonBody
from service.api.deps import PrincipalDep, RunnerDep, SessionDep, SettingsDep, TenantDep, WriterDep
from service.api.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from service.api.openapi import json_response, problems
from service.api.routes.plans import IdempotencyKey, Mode, submission_response
from service.contract import (
    AllocationRequest,
    FieldError,
    Id,
    InvalidRequest,
    Opportunity,
    Options,
    Plan,
    RequestModel,
    Staff,
    errors_from_pydantic,
    parse_request,
)
from service.db.models import BOOKING_STATUSES
from service.db.repositories import JobRepository
from service.whatif.compare import compare
from service.workspace import usecases
from service.workspace.csv_files import (
    CsvInvalid,
    opportunities_csv,
    parse_opportunities_csv,
    parse_staff_csv,
    staff_csv,
)
from service.workspace.state import Booked
from service.workspace.store import (
    RevisionMismatch,
    WorkspaceStore,
    booking_json,
    decode_cursor,
    encode_cursor,
    storable,
)
from service.workspace.usecases import SettingsRefused, WorkspaceConflict, Written, audit_json
from service.workspace.validation import (
    WorkspaceSettings,
    as_sent,
    parse_opportunity,
    parse_settings,
    parse_staff,
    unstorable_ids,
)

router = APIRouter(prefix="/v1/workspace", tags=["workspace"])
T = TypeVar("T")

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')
IfMatch = Annotated[
    str | None,
    Header(
        max_length=64,
        description='Write only if the workspace is still at this revision (its ETag, e.g. "12"); else 412.',
    ),
]
# The problems each kind of route can answer.
BODY_WRITE = (400, 401, 403, 412, 413, 415, 422)
WRITE = (401, 403, 404, 409, 412, 422)
REVISION: dict[str, Any] = {"description": "Done: the workspace's new `revision` (also its `ETag`)."}
PUT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Replaced; the new `revision`."},
    201: {"description": "Added; the new `revision`."},
}
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page.")]


class ProposalOptions(RequestModel):
    """`POST /v1/workspace/plans`: the v1 options of the solve (time limit, determinism, seed...)."""

    options: Options = Options()


def expected_revision(if_match: str | None) -> int | None:
    """The revision `If-Match` asks for (None: any). A weak tag (`W/"12"`) never matches: If-Match compares
    strongly (RFC 9110, 13.1.1), so it is a 412."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match)
    if found is None:
        raise ValidationFailed([FieldError("header.if-match", 'must be an ETag of this API, e.g. "12"', "etag")])
    return -1 if if_match.strip().startswith("W/") else int(found.group(1))


def etag(revision: int) -> dict[str, str]:
    return {"ETag": f'"{revision}"'}


def written(result: Written, status: int | None = None, **body: Any) -> JSONResponse:
    code = status if status is not None else (201 if result.created else 200)
    return JSONResponse({"revision": result.revision, **body}, status_code=code, headers=etag(result.revision))


def run_change(session: Session, work: Callable[[], T]) -> T:
    """One workspace write: commit what `work` did, or nothing; its refusals as problem details."""
    try:
        result = work()
    except RevisionMismatch as error:
        session.rollback()
        raise PreconditionFailed(str(error), extensions={"revision": error.current}) from None
    except WorkspaceConflict as error:
        session.rollback()
        raise Conflict(str(error), extensions=error.extensions) from None
    except SettingsRefused as error:
        session.rollback()
        raise ValidationFailed([FieldError(path, message) for path, message in error.errors]) from None
    except InvalidRequest as error:
        session.rollback()
        raise ValidationFailed(error.errors) from None
    session.commit()
    return result


def page_after(cursor: str | None, kind: type = str) -> Any:
    """The key a page starts after: an id (str), or an audit entry's number (int)."""
    if cursor is None:
        return None
    key = decode_cursor(cursor) or [None]
    valid = isinstance(key[0], kind) and not isinstance(key[0], bool) and storable(str(key[0]))
    if not valid or (kind is int and not 0 <= key[0] < 2**31):
        raise ValidationFailed(
            [FieldError("query.cursor", f"not a cursor from this service: {cursor!r}", "invalid_cursor")]
        )
    return key[0]


def page(
    rows: list[Any], limit: int, key: Callable[[Any], Any], render: Callable[[Any], Any], revision: int
) -> JSONResponse:
    """One page of `rows` (fetched one more than `limit`, to know whether another page follows)."""
    next_cursor = encode_cursor([key(rows[limit - 1])]) if len(rows) > limit else None
    return JSONResponse(
        {"items": [render(row) for row in rows[:limit]], "next_cursor": next_cursor, "revision": revision},
        headers=etag(revision),
    )


def body_of(row: Any) -> Any:
    return row.body


SentStaff = Annotated[Any, Depends(JsonBody(Staff, as_sent))]
SentOpportunity = Annotated[Any, Depends(JsonBody(Opportunity, as_sent))]
SentSettings = Annotated[WorkspaceSettings, Depends(JsonBody(WorkspaceSettings, parse_settings))]


def parse_proposal(document: Any) -> ProposalOptions:
    try:
        return ProposalOptions.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None


SentProposal = Annotated[ProposalOptions, Depends(JsonBody(ProposalOptions, parse_proposal))]


class NewBooking(RequestModel):
    """`POST /v1/workspace/bookings`: one person on one demand of a deal, or (without `demand_id`) as its lead."""

    opportunity_id: Id
    demand_id: Id | None = Field(default=None, description="The work; absent or null: the deal's lead.")
    staff_id: Id
    status: Literal["confirmed", "tentative"] = Field(
        default="confirmed",
        description="`confirmed` (default): a commitment, pinned in every later request. `tentative`: part of "
        "the plan of record, which the next proposal keeps unless work of more value needs the person.",
    )
    plan_id: Annotated[str, Field(max_length=36, pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(
        default=None, description="The plan the choice was made on (a proposal), if any."
    )


def parse_new_booking(document: Any) -> NewBooking:
    try:
        return NewBooking.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None


SentBooking = Annotated[NewBooking, Depends(JsonBody(NewBooking, parse_new_booking))]


# --------------------------------------------------------------------------- the workspace and its settings


@router.get("", summary="The workspace: revision, settings, plan of record, what it holds", responses=problems(401))
def get_workspace(session: SessionDep, tenant: TenantDep) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    workspace = store.workspace()
    session.commit()  # a first read makes the workspace
    counts: dict[str, int] = {}
    for booking in store.bookings():
        counts[booking.status] = counts.get(booking.status, 0) + 1
    body = {
        "revision": workspace.revision,
        "horizon": workspace.horizon,
        "policy": workspace.policy,
        "plan_of_record_id": workspace.plan_of_record_id,
        "staff": len(store.staff()),
        "opportunities": len(store.opportunities()),
        "bookings": counts,
        "updated_at": workspace.updated_at.isoformat(),
    }
    return JSONResponse(body, headers=etag(workspace.revision))


@router.get("/settings", summary="The horizon and policy", responses=problems(401))
def get_settings_(session: SessionDep, tenant: TenantDep) -> JSONResponse:
    workspace = WorkspaceStore(session, tenant).workspace()
    session.commit()
    return JSONResponse(
        {"horizon": workspace.horizon, "policy": workspace.policy, "revision": workspace.revision},
        headers=etag(workspace.revision),
    )


@router.put(
    "/settings",
    summary="Set the horizon and policy (moving the horizon forward completes past work)",
    responses={200: REVISION, **problems(*BODY_WRITE)},
)
def put_settings(
    session: SessionDep, principal: WriterDep, settings: SentSettings, if_match: IfMatch = None
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)
    return written(run_change(session, lambda: usecases.put_settings(store, principal, settings, revision)), 200)


# --------------------------------------------------------------------------- staff and opportunities


@router.get("/staff", summary="The roster, by id", responses=problems(401, 422))
def list_staff(session: SessionDep, tenant: TenantDep, limit: Limit = 100, cursor: Cursor = None) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    rows = store.staff(after=page_after(cursor), limit=limit + 1)
    return page(rows, limit, lambda row: row.id, body_of, store.workspace().revision)


@router.get("/staff/{staff_id}", summary="One person", responses=problems(401, 404))
def get_staff(staff_id: str, session: SessionDep, tenant: TenantDep) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    row = store.person(staff_id)
    if row is None:
        raise NotFound(f"no staff {staff_id!r} in the workspace")
    return JSONResponse(row.body, headers=etag(store.workspace().revision))


@router.put(
    "/staff/{staff_id}",
    summary="Add or replace a person (201 added, 200 replaced)",
    responses={**PUT_ANSWERS, **problems(*BODY_WRITE)},
)
def put_staff(
    staff_id: str,
    session: SessionDep,
    principal: WriterDep,
    document: SentStaff,
    if_match: IfMatch = None,
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)

    def work() -> Written:
        person = parse_staff(document, staff_id, store.workspace().horizon)
        return usecases.put_staff(store, principal, person, revision)

    return written(run_change(session, work))


@router.delete(
    "/staff/{staff_id}",
    summary="Remove a person (their bookings become broken)",
    responses={200: REVISION, **problems(*WRITE)},
)
def delete_staff(staff_id: str, session: SessionDep, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)
    result = run_change(session, lambda: usecases.delete_staff(store, principal, staff_id, revision))
    if result is None:
        raise NotFound(f"no staff {staff_id!r} in the workspace")
    return written(result, 200)


@router.get("/opportunities", summary="The pipeline, by id", responses=problems(401, 422))
def list_opportunities(
    session: SessionDep, tenant: TenantDep, limit: Limit = 100, cursor: Cursor = None
) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    rows = store.opportunities(after=page_after(cursor), limit=limit + 1)
    return page(rows, limit, lambda row: row.id, body_of, store.workspace().revision)


@router.get("/opportunities/{opportunity_id}", summary="One opportunity", responses=problems(401, 404))
def get_opportunity(opportunity_id: str, session: SessionDep, tenant: TenantDep) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    row = store.opportunity(opportunity_id)
    if row is None:
        raise NotFound(f"no opportunity {opportunity_id!r} in the workspace")
    return JSONResponse(row.body, headers=etag(store.workspace().revision))


@router.put(
    "/opportunities/{opportunity_id}",
    summary="Add or replace an opportunity (without pins or a fixed lead: bookings do that)",
    responses={**PUT_ANSWERS, **problems(*BODY_WRITE)},
)
def put_opportunity(
    opportunity_id: str,
    session: SessionDep,
    principal: WriterDep,
    document: SentOpportunity,
    if_match: IfMatch = None,
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)

    def work() -> Written:
        workspace = store.workspace()
        opportunity = parse_opportunity(document, opportunity_id, workspace.horizon, workspace.policy)
        return usecases.put_opportunity(store, principal, opportunity, revision)

    return written(run_change(session, work))


@router.delete(
    "/opportunities/{opportunity_id}",
    summary="Remove an opportunity (its bookings become broken)",
    responses={200: REVISION, **problems(*WRITE)},
)
def delete_opportunity(
    opportunity_id: str, session: SessionDep, principal: WriterDep, if_match: IfMatch = None
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)
    result = run_change(session, lambda: usecases.delete_opportunity(store, principal, opportunity_id, revision))
    if result is None:
        raise NotFound(f"no opportunity {opportunity_id!r} in the workspace")
    return written(result, 200)


# --------------------------------------------------------------------------- CSV files

CSV_MEDIA = "text/csv; charset=utf-8"
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The whole file (docs/workspace-csv.md lists the columns); it replaces the collection.",
    }
}
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file.", "content": {"text/csv": {"schema": {"type": "string"}}}}
}


def csv_problem(error: CsvInvalid) -> ValidationFailed:
    """A 422 naming each problem of the file by row and column."""
    problem = ValidationFailed(
        [FieldError(f"row {e.row}" + (f", {e.column}" if e.column else ""), e.message, "csv") for e in error.errors],
        detail=f"the file has {len(error.errors)} problem(s); nothing was imported",
    )
    for entry, found in zip(problem.extensions["errors"], error.errors, strict=True):
        entry.update(row=found.row, column=found.column)
    return problem


def csv_file(text: str, name: str, revision: int) -> Response:
    headers = {**etag(revision), "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=CSV_MEDIA, headers=headers)


@router.get(
    "/staff.csv", summary="The roster as CSV", response_class=Response, responses={**CSV_ANSWER, **problems(401)}
)
def export_staff(session: SessionDep, principal: PrincipalDep) -> Response:
    store = WorkspaceStore(session, principal.tenant)
    people = [Staff.model_validate(row.body) for row in store.staff()]
    text = staff_csv(people, with_rates=principal.sees_money)
    return csv_file(text, "staff.csv", store.workspace().revision)


@router.get(
    "/opportunities.csv",
    summary="The pipeline as CSV, one row per demand",
    response_class=Response,
    responses={**CSV_ANSWER, **problems(401)},
)
def export_opportunities(session: SessionDep, principal: PrincipalDep) -> Response:
    store = WorkspaceStore(session, principal.tenant)
    deals = [Opportunity.model_validate(row.body) for row in store.opportunities()]
    text = opportunities_csv(deals, with_budgets=principal.sees_money)
    return csv_file(text, "opportunities.csv", store.workspace().revision)


def _import(request: Request, principal: Principal, content: bytes, kind: str, if_match: int | None) -> JSONResponse:
    with request.app.state.sessions() as session:
        store = WorkspaceStore(session, principal.tenant)

        def work() -> tuple[Written, int]:
            weeks = int(store.workspace().horizon["weeks"])
            try:
                items: list[Any] = (
                    parse_staff_csv(content, weeks) if kind == "staff" else parse_opportunities_csv(content, weeks)
                )
                refused = [f"{item.id!r}: {e.path}: {e.message}" for item in items for e in unstorable_ids(item)]
                if refused:
                    raise ValidationFailed([FieldError("body", "; ".join(refused), "nul")])
                if kind == "staff":
                    return usecases.replace_staff(store, principal, items, if_match), len(items)
                return usecases.replace_opportunities(store, principal, items, if_match), len(items)
            except CsvInvalid as error:
                raise csv_problem(error) from None

        result, imported = run_change(session, work)
    return written(result, 200, imported=imported)


@router.put(
    "/staff.csv",
    summary="Replace the roster with a CSV file (all of it or nothing)",
    openapi_extra=CSV_BODY,
    responses={200: REVISION, **problems(*BODY_WRITE)},
)
async def import_staff(request: Request, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    content = await request.body()
    return await to_thread.run_sync(_import, request, principal, content, "staff", expected_revision(if_match))


@router.put(
    "/opportunities.csv",
    summary="Replace the pipeline with a CSV file, one row per demand (all of it or nothing)",
    openapi_extra=CSV_BODY,
    responses={200: REVISION, **problems(*BODY_WRITE)},
)
async def import_opportunities(request: Request, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    content = await request.body()
    return await to_thread.run_sync(_import, request, principal, content, "opportunities", expected_revision(if_match))


# --------------------------------------------------------------------------- the request and proposals


@router.get("/request", summary="The v1 request the workspace stands for now", responses=problems(401))
def get_request(session: SessionDep, tenant: TenantDep) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    document = store.request()
    revision = store.workspace().revision
    session.commit()
    return JSONResponse(document, headers=etag(revision))


def _proposal_request(request: Request, tenant: str, options: Options) -> tuple[Any, int]:
    """The workspace's request with `options`, validated as v1 validates a request, and its revision."""
    with request.app.state.sessions() as session:
        store = WorkspaceStore(session, tenant)
        document = store.request()
        revision = store.workspace().revision
        session.commit()
    document["options"] = options.model_dump(mode="json", exclude_none=True)
    try:
        allocation = parse_request(document)
    except InvalidRequest as error:
        raise Conflict(
            "the workspace does not make a valid request: " + "; ".join(f"{e.path}: {e.message}" for e in error.errors),
            extensions={"errors": [{"path": e.path, "message": e.message, "type": e.type} for e in error.errors]},
        ) from None
    too_large = size_errors(allocation)
    if too_large:
        raise ValidationFailed(too_large)
    return allocation, revision


@router.post(
    "/plans",
    status_code=201,
    summary="Propose a plan: solve the workspace's request (sync, or ?mode=async)",
    response_model=None,
    responses={
        201: json_response("The proposal: a v1 plan with `workspace_revision` (synchronous mode).", "Plan"),
        202: json_response("Accepted as a job (`mode=async`); poll `/v1/plans/{id}`.", "JobState"),
        **problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
    },
)
async def propose(
    request: Request,
    runner: RunnerDep,
    tenant: TenantDep,
    body: SentProposal,
    mode: Annotated[Mode, Query(description="`sync` waits for the plan; `async` returns a job at once.")] = "sync",
    idempotency_key: IdempotencyKey = None,
) -> Response:
    allocation, revision = await to_thread.run_sync(_proposal_request, request, tenant, body.options)
    submission = await runner.submit(
        tenant, allocation, idempotency_key, workspace_revision=revision, waiting=mode == "sync"
    )
    return await submission_response(runner, tenant, submission, mode)


@router.post(
    "/plans/{plan_id}/publish",
    summary="Make a proposal the plan of record (409 if the workspace changed since)",
    responses={200: REVISION, **problems(*WRITE)},
)
def publish(plan_id: str, session: SessionDep, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    job = JobRepository(session).get(principal.tenant, plan_id, with_plan=True, with_request=True)
    if job is None or job.workspace_revision is None:
        raise NotFound(f"no workspace proposal {plan_id!r}")
    if job.plan is None:
        raise Conflict(f"proposal {plan_id} has no plan yet (status {job.status})")
    plan, request_body = job.plan.body, job.request.body
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)
    result, bookings = run_change(session, lambda: usecases.publish(store, principal, plan, request_body, revision))
    return written(result, 200, plan_of_record_id=plan_id, bookings=bookings)


def _comparison(session: Session, tenant: str, plan_id: str) -> Any:
    """The proposal against the plan of record, by the what-if comparison (service/whatif/compare.py)."""
    jobs = JobRepository(session)
    job = jobs.get(tenant, plan_id, with_plan=True, with_request=True)
    if job is None or job.workspace_revision is None:
        raise NotFound(f"no workspace proposal {plan_id!r}")
    if job.plan is None:
        raise Conflict(f"proposal {plan_id} has no plan yet (status {job.status})")
    proposal, proposal_request = Plan.model_validate(job.plan.body), AllocationRequest.model_validate(job.request.body)
    record_id = WorkspaceStore(session, tenant).workspace().plan_of_record_id
    record = jobs.get(tenant, record_id, with_plan=True, with_request=True) if record_id else None
    if record is not None and record.plan is not None:
        base, base_request = (
            Plan.model_validate(record.plan.body),
            AllocationRequest.model_validate(record.request.body),
        )
    else:
        # Nothing published yet: the proposal against no work at all, so all of it is new.
        record_id = None
        empty = proposal.objective.model_copy(update={"covered_value": 0.0, "total_cost": 0.0, "changes": 0})
        base = proposal.model_copy(
            update={"assignments": [], "leads": [], "unfilled": [], "kpis": None, "objective": empty}
        )
        base_request = proposal_request
    comparison = compare(base_request, base, proposal_request, proposal)
    return {"plan_id": plan_id, "plan_of_record_id": record_id, **comparison.model_dump(mode="json")}


@router.get(
    "/plans/{plan_id}/comparison",
    summary="A proposal against the plan of record: KPI deltas, who moves, deals staffed and dropped, leads",
    description="The comparison a what-if variant gets against its base (`POST /v1/scenarios`), with the plan "
    "of record as the base and the proposal as the variant: `deltas` are proposal minus plan of record. "
    "Without a plan of record, `plan_of_record_id` is null and the base is a plan with no work.",
    responses=problems(401, 404, 409),
)
def proposal_comparison(plan_id: str, session: SessionDep, tenant: TenantDep) -> JSONResponse:
    body = _comparison(session, tenant, plan_id)
    session.commit()
    return JSONResponse(body)


# --------------------------------------------------------------------------- bookings and the audit


@router.get("/bookings", summary="Bookings, filtered by person, opportunity or status", responses=problems(401, 422))
def list_bookings(
    session: SessionDep,
    tenant: TenantDep,
    staff_id: Annotated[str | None, Query(max_length=200)] = None,
    opportunity_id: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(description=f"One of {', '.join(BOOKING_STATUSES)}.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> JSONResponse:
    if status is not None and status not in BOOKING_STATUSES:
        raise ValidationFailed([FieldError("query.status", f"must be one of {', '.join(BOOKING_STATUSES)}", "enum")])
    store = WorkspaceStore(session, tenant)
    rows = store.bookings(
        statuses=[status] if status else None,
        staff_id=staff_id,
        opportunity_id=opportunity_id,
        after=page_after(cursor),
        limit=limit + 1,
    )
    return page(rows, limit, lambda row: row.id, booking_json, store.workspace().revision)


@router.post(
    "/bookings",
    status_code=201,
    summary="Book a person by hand: lock a proposal's work, or fill open work",
    description="An addition to the contract's bookings: one person on one demand (or, without `demand_id`, as "
    "the deal's lead), `confirmed` by default (a lock: pinned in every later request, as a confirmed booking "
    "of a published plan is) or `tentative`. Its weeks and hours are the demand's. A booking that breaks H1, "
    "H2 or H9 on its own (for a lead: the lead part of H5, H9) is a 422 naming the rule; the same work booked "
    "already, a second confirmed lead, or more confirmed people than the demand's headcount, a 409.",
    responses={201: {"description": "Booked: the new `revision` and the `booking`."}, **problems(*BODY_WRITE, 409)},
)
def create_booking(
    session: SessionDep, principal: WriterDep, body: SentBooking, if_match: IfMatch = None
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    wanted = Booked(
        "lead" if body.demand_id is None else "assignment",
        body.opportunity_id,
        body.demand_id,
        body.staff_id,
        0,
        0,
        0.0,
    )
    revision = expected_revision(if_match)
    result, row = run_change(
        session, lambda: usecases.book(store, principal, wanted, body.status, body.plan_id, revision)
    )
    return written(result, 201, booking=booking_json(row))


def _booking_action(
    action: Callable[..., Written | None], booking_id: str, session: Session, principal: Principal, if_match: str | None
) -> JSONResponse:
    store = WorkspaceStore(session, principal.tenant)
    revision = expected_revision(if_match)
    result = run_change(session, lambda: action(store, principal, booking_id, revision))
    if result is None:
        raise NotFound(f"no booking {booking_id!r}")
    booking = store.booking(booking_id)
    return written(result, 200, booking=booking_json(booking) if booking is not None else None)


@router.post(
    "/bookings/{booking_id}/confirm",
    summary="Commit a tentative booking",
    responses={200: REVISION, **problems(*WRITE)},
)
def confirm(booking_id: str, session: SessionDep, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    return _booking_action(usecases.confirm, booking_id, session, principal, if_match)


@router.post(
    "/bookings/{booking_id}/release", summary="Give a booking up", responses={200: REVISION, **problems(*WRITE)}
)
def release(booking_id: str, session: SessionDep, principal: WriterDep, if_match: IfMatch = None) -> JSONResponse:
    return _booking_action(usecases.release, booking_id, session, principal, if_match)


@router.get("/audit", summary="Who changed what and when, newest first", responses=problems(401, 422))
def audit(
    session: SessionDep, tenant: TenantDep, settings: SettingsDep, limit: Limit = 50, cursor: Cursor = None
) -> JSONResponse:
    store = WorkspaceStore(session, tenant)
    size = min(limit, settings.page_size_max)
    entries = store.audit(before=page_after(cursor, int), limit=size + 1)
    return page(entries, size, lambda entry: entry.id, audit_json, store.workspace().revision)
