"""/v1/scenarios: what-if scenarios, each side solved as a job on the pool, compared with the base."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from service.api.body import BodyExample, JsonBody
from service.api.deps import ScenariosDep, SettingsDep, TenantDep
from service.api.errors import NotFound, SolveFailed, ValidationFailed
from service.api.on_workspace import OnTheWorkspace
from service.api.openapi import json_response, problems
from service.api.schemas import ScenarioComparison, ScenarioPage, ScenarioSummary
from service.contract import FieldError, InvalidRequest
from service.db.repositories import InvalidCursor, PageCursor
from service.jobs.scenarios import ScenarioView
from service.whatif import ScenarioRequest, parse_scenario

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])

Mode = Literal["sync", "async"]
_VARIANT_PATH = re.compile(r"^variants\[(\d+)\](?:\.changes\[(\d+)\])?")
SCENARIO_LOCATION = {
    "Location": {"description": "Where the scenario lives: /v1/scenarios/{id}", "schema": {"type": "string"}}
}
_LISTS = ("moves", "staff_moves", "dropped_out", "joined", "filled", "unfilled", "lead_changes", "staffed", "unstaffed")


def location(scenario_id: str) -> str:
    return f"{router.prefix}/{scenario_id}"


def comparison(view: ScenarioView) -> dict[str, Any]:
    """The scenario as clients see it: plan ids and states while solving, then KPIs, deltas and moves."""
    compared: list[dict[str, Any]] = (view.result or {}).get("variants") or []
    base_kpis = (view.result or {}).get("base")
    base, *variants = view.sides
    body_variants: list[dict[str, Any]] = view.body["variants"]
    document = {
        "id": view.id,
        "name": view.name,
        "status": view.status,
        "detail": view.detail,
        "created_at": view.created_at,
        "finished_at": view.finished_at,
        "base": {"plan_id": base.plan_id, "status": base.status, "detail": base.detail, "kpis": base_kpis},
        "variants": [
            {
                "name": side.variant,
                "changes": body_variants[i]["changes"],
                "plan_id": side.plan_id,
                "status": side.status,
                "detail": side.detail,
                "kpis": compared[i]["variant"] if i < len(compared) else None,
                "deltas": compared[i]["deltas"] if i < len(compared) else None,
                **{key: compared[i][key] for key in _LISTS if i < len(compared)},
            }
            for i, side in enumerate(variants)
        ],
    }
    return ScenarioComparison.model_validate(document).model_dump(mode="json")


def summary(view: ScenarioView) -> ScenarioSummary:
    return ScenarioSummary(
        id=view.id,
        name=view.name,
        status=view.status,
        detail=view.detail,
        created_at=view.created_at,
        finished_at=view.finished_at,
        base_plan_id=view.sides[0].plan_id,
        variants=[side.variant or "" for side in view.sides[1:]],
    )


def scenario_problem(errors: Sequence[FieldError], document: Any) -> ValidationFailed:
    """A 422 whose errors also name the variant (and say which change) a path points into."""
    names: list[Any] = []
    if isinstance(document, dict) and isinstance(document.get("variants"), list):
        names = [v.get("name") if isinstance(v, dict) else None for v in document["variants"]]
    sentences = []
    problem = ValidationFailed(errors)
    for error, entry in zip(errors, problem.extensions["errors"], strict=True):
        match = _VARIANT_PATH.match(error.path)
        if match is None:
            sentences.append(f"{error.path or 'the scenario'}: {error.message}")
            continue
        index = int(match.group(1))
        name = names[index] if index < len(names) and isinstance(names[index], str) else None
        if name is not None:
            entry["variant"] = name
        where = f"variant {name!r}" if name is not None else f"variants[{index}]"
        if match.group(2) is not None:
            where += f", change {match.group(2)}"
        rest = error.path[match.end() :].lstrip(".")
        sentences.append(f"{where}{' (' + rest + ')' if rest else ''}: {error.message}")
    shown = "; ".join(sentences[:3]) + (f"; and {len(sentences) - 3} more" if len(sentences) > 3 else "")
    problem.detail = shown
    return problem


def parse_scenario_body(document: Any) -> ScenarioRequest:
    """The scenario, or a 422 whose errors name their variants."""
    try:
        return parse_scenario(document)
    except InvalidRequest as error:
        raise scenario_problem(error.errors, document) from None


def parse_body(document: Any) -> Any:
    """The scenario (ScenarioRequest), or, with `"base": "workspace"`, the document to complete."""
    return OnTheWorkspace.of(document, "base") or parse_scenario_body(document)


def on_the_workspace(request: Request, tenant: str, scenario: OnTheWorkspace) -> ScenarioRequest:
    """The scenario with the workspace's current request as its base (and the scenario's `options`, if any)."""
    return parse_scenario_body(scenario.completed(request, tenant, "base"))


ScenarioBody = Annotated[
    ScenarioRequest | OnTheWorkspace,
    Depends(
        JsonBody(
            ScenarioRequest,
            parse_body,
            {
                "small": BodyExample(
                    "The small request, and two variants: hire a tester, or lose the delivery-center architect",
                    "small-scenario-request",
                )
            },
        )
    ),
]


@router.post(
    "",
    status_code=201,
    summary="Run a what-if scenario",
    description="Solves the base request and every variant (the base with the variant's `changes` applied in "
    "order), in parallel on the solver processes, each as a plan of its own (`/v1/plans/{plan_id}`); then "
    "compares each variant with the base: KPIs with deltas, and who moved where. By default the call waits for "
    "the comparison (201); with `?mode=async` it answers at once (202) and you poll `GET /v1/scenarios/{id}`. "
    'A scenario counts as one solve against the tenant\'s cap of active solves. With `"base": "workspace"` '
    "the base is the workspace's current request (`GET /v1/workspace/request`), with the scenario's `options`.",
    response_model=None,
    responses={
        201: json_response(
            "The comparison (synchronous mode).",
            "ScenarioComparison",
            headers=SCENARIO_LOCATION,
            example_name="small-scenario",
        ),
        202: json_response(
            "Accepted (`mode=async`): the plan ids, being solved; poll the Location.",
            "ScenarioComparison",
            headers=SCENARIO_LOCATION,
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
                422: "The scenario breaks the contract; each error names the field, e.g. "
                "`variants[1].changes[0].staff_id`, and the variant by name.",
                503: "A plan of the scenario ended without a plan (watchdog, or cancelled before it had one).",
            },
        ),
    },
)
async def create_scenario(
    request: Request,
    scenarios: ScenariosDep,
    tenant: TenantDep,
    scenario: ScenarioBody,
    mode: Annotated[Mode, Query(description="`sync` waits for the comparison; `async` answers at once.")] = "sync",
) -> Response:
    if isinstance(scenario, OnTheWorkspace):
        scenario = await to_thread.run_sync(on_the_workspace, request, tenant, scenario)
    view = await scenarios.submit(tenant, scenario)
    headers = {"Location": location(view.id)}
    if mode == "async":
        return JSONResponse(comparison(view), status_code=202, headers=headers)
    settled = await scenarios.wait(tenant, view.id)
    if settled is None:
        raise NotFound(f"no scenario {view.id!r}")
    if settled.status == "failed":
        raise SolveFailed(
            settled.detail or "a plan of the scenario could not be had",
            headers=headers,
            extensions={"scenario_id": settled.id},
        )
    status = 201 if settled.finished else 202  # 202: the server is stopping; the jobs run after the restart
    return JSONResponse(comparison(settled), status_code=status, headers=headers)


@router.get(
    "",
    summary="List scenarios, newest first",
    response_model=ScenarioPage,
    responses=problems(401, 422),
)
async def list_scenarios(
    response: Response,
    scenarios: ScenariosDep,
    tenant: TenantDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page.")] = None,
) -> ScenarioPage:
    try:
        after = PageCursor.decode(cursor) if cursor else None
    except InvalidCursor as error:
        raise ValidationFailed([FieldError("query.cursor", str(error), "invalid_cursor")]) from None
    size = min(limit, settings.page_size_max)
    views = await scenarios.page(tenant, size + 1, after)
    next_cursor = None
    if len(views) > size:
        last = views[size - 1]
        next_cursor = PageCursor(last.created_at, last.id).encode()
        response.headers["Link"] = f'<{router.prefix}?limit={size}&cursor={next_cursor}>; rel="next"'
    return ScenarioPage(items=[summary(view) for view in views[:size]], next_cursor=next_cursor)


@router.get(
    "/{scenario_id}",
    summary="A scenario: its plans while they are solved, then the comparison",
    response_model=None,
    responses={
        200: json_response(
            "The scenario; `status` is `queued` or `running` until it is `done` (compared) or `failed`.",
            "ScenarioComparison",
            example_name="small-scenario",
        ),
        **problems(401, 404, descriptions={404: "No such scenario for this tenant."}),
    },
)
async def get_scenario(scenario_id: str, scenarios: ScenariosDep, tenant: TenantDep) -> Response:
    view = await scenarios.current(tenant, scenario_id)
    if view is None:
        raise NotFound(f"no scenario {scenario_id!r}")
    headers = None if view.finished else {"Retry-After": "1"}
    return JSONResponse(comparison(view), headers=headers)
