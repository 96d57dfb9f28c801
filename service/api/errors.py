"""One error hierarchy and one handler: every error leaves as RFC 9457 problem details."""

from __future__ import annotations

import http
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from service.contract import FieldError, format_path
from service.jobs.runner import IdempotencyConflict, JobError, SolveUnavailable, TooManyActiveJobs

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:presales-allocator:problem:"


class ProblemError(Exception):
    """An error with its HTTP status and problem type; subclasses set the class attributes."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


class MalformedBody(ProblemError):
    status, slug, title = 400, "malformed-body", "The request body is not JSON"


class Unauthenticated(ProblemError):
    status, slug, title = 401, "unauthenticated", "A valid API key is required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="presales-allocator"'})


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "The API key's role does not allow this"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict with the resource's current state"


class PreconditionFailed(ProblemError):
    status, slug, title = 412, "precondition-failed", "The resource has changed since the revision in If-Match"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "The request body is too large"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "The request body must be application/json"


class ValidationFailed(ProblemError):
    status, slug, title = 422, "validation-error", "The request does not follow the contract"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        count = len(errors)
        summary = "1 field of the request is invalid" if count == 1 else f"{count} fields of the request are invalid"
        super().__init__(
            detail or summary,
            extensions={"errors": [{"path": e.path, "message": e.message, "type": e.type} for e in errors]},
        )


class TooManyRequests(ProblemError):
    status, slug, title = 429, "too-many-active-solves", "Too many solves in progress"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(
            detail, headers={"Retry-After": str(retry_after_s)}, extensions={"retry_after_s": retry_after_s}
        )


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "unavailable", "The service cannot answer right now"


class SolveFailed(ProblemError):
    status, slug, title = 503, "solve-failed", "The solve ended without a plan"


def problem_body(
    status: int, slug: str, title: str, detail: str | None, instance: str | None, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem_response(error: ProblemError, instance: str | None = None) -> JSONResponse:
    body = problem_body(error.status, error.slug, error.title, error.detail, instance, **error.extensions)
    return JSONResponse(body, status_code=error.status, headers=error.headers, media_type=PROBLEM_MEDIA_TYPE)


def _from_job_error(error: JobError) -> ProblemError:
    if isinstance(error, IdempotencyConflict):
        return Conflict(str(error), extensions={"idempotency_key": error.key})
    if isinstance(error, TooManyActiveJobs):
        return TooManyRequests(f"{error} Retry after {error.retry_after_s} s.", error.retry_after_s)
    if isinstance(error, SolveUnavailable):
        return SolveFailed(str(error))
    return ProblemError(str(error))


def field_errors_from_validation(errors: Iterable[Any]) -> list[FieldError]:
    """FastAPI's parameter errors, located like the contract's: `query.limit`, `header.idempotency-key`."""
    found = []
    for item in errors:
        loc = list(item.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[1:]
        message, kind = str(item.get("msg", "invalid")), str(item.get("type", "value_error"))
        found.append(FieldError(format_path(loc), message, kind))
    return found


async def _handle_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(error, request.url.path)


async def _handle_job_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, JobError)
    return problem_response(_from_job_error(error), request.url.path)


async def _handle_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return problem_response(ValidationFailed(field_errors_from_validation(error.errors())), request.url.path)


# The order methods are listed in an `Allow` header.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path.

    Starlette's router answers a wrong method with the methods of the first route whose path matches
    (`/v1/plans` is two routes, GET and POST), so each method is tried against every route here.
    Mounts are left out: they match any method and answer 405 with their own `Allow`."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    found = []
    for method in METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
        }
        if any(route.matches(probe)[0] == Match.FULL for route in routes):
            found.append(method)
    return found


async def _handle_http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    detail = error.detail if isinstance(error.detail, str) and error.detail != phrase else None
    if status == 404 and detail is None:
        detail = f"nothing at {request.url.path}"
    if status == 405 and detail is None:
        detail = f"{request.method} is not allowed on {request.url.path}"
    if detail is None:
        detail = phrase
    headers = dict(error.headers or {})
    if status == 405:
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    body = problem_body(status, slug, phrase, detail, request.url.path)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _handle_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("http.unhandled_error", path=request.url.path)
    return problem_response(ProblemError("an unexpected error occurred; it has been logged"), request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(JobError, _handle_job_error)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)
