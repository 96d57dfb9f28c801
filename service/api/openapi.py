"""The OpenAPI document: contract schemas as components, realistic examples, problem responses."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from service.api.body import JsonBody
from service.api.errors import PROBLEM_MEDIA_TYPE
from service.api.schemas import JobState, Problem, ScenarioComparison
from service.contract import Plan, SlotRecommendations, StaffRecommendations

REF = "#/components/schemas/{model}"

DESCRIPTION = """\
Cost-aware staffing of presales people on B2B opportunities, solved exactly with CP-SAT.

Send an allocation request to `POST /v1/plans`. By default the call waits for the plan (201);
with `?mode=async` it answers at once (202) and you poll `GET /v1/plans/{id}`: while the job runs it
answers `{"id", "status": "running", "progress", "plan"}`, how far the solve has come (covered value,
bound, gap, time) and the best plan found so far, updated about once a second; then the final plan.
`DELETE /v1/plans/{id}` stops a solve and keeps the best plan found so far.

What-if: `POST /v1/scenarios` solves a base request and named variants of it (hire, lose a person,
raise rates, regrade a deal...) in parallel, stores each plan, and compares every variant with the
base: KPIs with deltas and who moved where. `POST /v1/recommendations` ranks the people who could fill
one slot (or the slots one person could fill), each priced by re-solving with that choice pinned.

The presales director's page is at `/`.

Errors are RFC 9457 problem details (`application/problem+json`); a 422 lists every offending
field by path, e.g. `opportunities[3].demands[0].end_week`.

Authentication: when the server has API keys (`API_KEYS`), send yours as `X-API-Key: <key>` or
`Authorization: Bearer <key>`. Each key belongs to a tenant, and a tenant sees only its own plans.
"""


@cache
def example(name: str) -> dict[str, Any]:
    """An example document shipped with the package (service/api/examples/<name>.json)."""
    text = resources.files("service.api").joinpath("examples", f"{name}.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def schema_ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


_STATUS_TEXT = {
    400: "The body is not JSON.",
    401: "No API key, or an unknown one.",
    404: "No such plan for this tenant.",
    403: "The API key's role does not allow this (a viewer key reads only; webhooks need an admin key).",
    409: "Conflict: an Idempotency-Key reused with another body, or nothing left to cancel.",
    412: "If-Match names a revision the workspace has moved past; read it again.",
    413: "The body is over the size limit.",
    415: "The body is not application/json.",
    422: "The request breaks the contract; `errors` names each field.",
    429: "The tenant has too many solves queued or running; see Retry-After.",
    503: "The solve ended without a plan (stopped by the watchdog, or cancelled before it had one).",
}


def problems(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for problem-details errors."""
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": (descriptions or {}).get(status, _STATUS_TEXT[status]),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema_ref("Problem")}},
        }
        if status == 429:
            entry["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
        found[status] = entry
    return found


def json_response(
    description: str, *models: str, headers: dict[str, Any] | None = None, example_name: str | None = None
) -> dict[str, Any]:
    schema: dict[str, Any] = schema_ref(models[0]) if len(models) == 1 else {"anyOf": [schema_ref(m) for m in models]}
    content: dict[str, Any] = {"schema": schema}
    if example_name is not None:
        content["example"] = example(example_name)
    elif "Plan" in models:
        content["example"] = example("small-plan")
    entry: dict[str, Any] = {"description": description, "content": {"application/json": content}}
    if headers:
        entry["headers"] = headers
    return entry


LOCATION_HEADER = {"Location": {"description": "Where the plan lives: /v1/plans/{id}", "schema": {"type": "string"}}}


def request_body(body: JsonBody[Any]) -> dict[str, Any]:
    """The `requestBody` of an operation whose route takes `body`: its model and examples."""
    content: dict[str, Any] = {"schema": schema_ref(body.model.__name__)}
    if body.examples:
        content["examples"] = {
            key: {"summary": entry.summary, "value": example(entry.file)} for key, entry in body.examples.items()
        }
    return {"required": True, "content": {"application/json": content}}


def _json_bodies(dependant: Dependant) -> Iterator[JsonBody[Any]]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, JsonBody):
            yield dependency.call
        yield from _json_bodies(dependency)


def json_bodies(app: FastAPI) -> Iterator[tuple[str, set[str], JsonBody[Any]]]:
    """(path, methods, body) of each documented route that takes a JSON body (service.api.body.JsonBody).
    The routes are walked as FastAPI's own get_openapi walks them, included routers and all."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema and route.path_format:
            for body in _json_bodies(route.dependant):
                yield route.path_format, set(route.methods or ()), body


def document_bodies(app: FastAPI, document: dict[str, Any]) -> None:
    """Give each operation its request body. Routes take their bodies as JsonBody dependencies, parsed off the
    event loop, where FastAPI would document a body parameter itself; this states them in the same place."""
    for path, methods, body in json_bodies(app):
        for method in methods:
            operation = document["paths"][path][method.lower()]
            responses = operation.pop("responses")  # kept last, after the body, where FastAPI puts them
            operation["requestBody"] = request_body(body)
            operation["responses"] = responses


# A page cursor is URL-safe base64 without padding (service.db.repositories.PageCursor.encode).
CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"
CURSOR_DESCRIPTION = (
    "`next_cursor` of the previous page, passed unchanged: an opaque token of URL-safe base64 letters "
    "(A-Z, a-z, 0-9, `-`, `_`). Any other value, or one this service did not hand out, is a 422 at `query.cursor`."
)


def describe_cursors(document: dict[str, Any]) -> None:
    """Give every `cursor` query parameter its format: the routes take a plain string and refuse, with a 422,
    anything that is not a cursor of this service; the document says so, so that generated clients know."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query" or parameter.get("name") != "cursor":
                    continue
                parameter["description"] = CURSOR_DESCRIPTION
                schema = parameter.setdefault("schema", {})
                schema["description"] = CURSOR_DESCRIPTION
                for branch in schema.get("anyOf", [schema]):
                    if branch.get("type") == "string":
                        branch["pattern"] = CURSOR_PATTERN


def install_openapi(app: FastAPI) -> None:
    """Build the document once: each route's request body (from its JsonBody) and the contract models that
    bodies and responses reference by $ref."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        document_bodies(app, document)
        bodies: list[tuple[type[BaseModel], JsonSchemaMode]] = [
            (body.model, "validation") for _, _, body in json_bodies(app)
        ]
        answers: list[tuple[type[BaseModel], JsonSchemaMode]] = [
            (model, "serialization")
            for model in (Plan, JobState, Problem, ScenarioComparison, SlotRecommendations, StaffRecommendations)
        ]
        _, extra = models_json_schema([*dict.fromkeys(bodies), *answers], ref_template=REF)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in extra.get("$defs", {}).items():
            schemas.setdefault(name, definition)
        describe_cursors(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
