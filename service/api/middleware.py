"""ASGI middleware: request ids, access logs and latency metrics; the request-body size limit; no rates or
costs in a viewer's answers."""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.access import redact_for_viewer
from service.api.errors import MalformedBody, PayloadTooLarge, problem_response
from service.observability import Metrics

log = structlog.get_logger("service.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # polled every few seconds: logged at debug
_PLAN_LOCATION = re.compile(r"^/v1/plans/([0-9a-f-]{36})$")


def job_of(scope: Scope, location: str | None) -> str | None:
    """The job a request is about: the plan id of its path, or of the Location it answered with."""
    plan_id = scope.get("path_params", {}).get("plan_id")
    if isinstance(plan_id, str):
        return plan_id
    found = _PLAN_LOCATION.match(location or "")
    return found.group(1) if found else None


class RequestContextMiddleware:
    """Gives each request an id (X-Request-ID, echoed back), binds it to every log line, times the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get("x-request-id", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        status = 500
        location: str | None = None
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                location = headers.get("location")
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self.metrics.request_duration.labels(scope["method"], template, str(status)).observe(elapsed)
                emit = log.debug if scope["path"] in _PROBES else log.info
                job_id = job_of(scope, location)
                emit(
                    "http.request",
                    **({"job_id": job_id} if job_id is not None else {}),
                    method=scope["method"],
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`: at once from Content-Length, or as soon as a streamed body exceeds it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            error: MalformedBody | PayloadTooLarge | None = None
            if not declared.isdigit():
                error = MalformedBody(f"Content-Length {declared!r} is not a number")
            elif int(declared) > self.max_bytes:
                error = self._too_large()
            if error is not None:
                await problem_response(error, scope["path"])(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()  # raised inside the route, rendered by the error handler
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"request bodies are limited to {self.max_bytes} bytes")


class ViewerRedactionMiddleware:
    """Takes hourly rates and costs out of every JSON answer to a viewer key (service/access.py), whatever
    route produced it. The caller's principal is on the request's state once authentication has run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def redacting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                principal = scope.get("state", {}).get("principal")
                media = Headers(raw=message.get("headers", [])).get("content-type", "")
                if principal is not None and not principal.sees_money and "json" in media:
                    start = message  # held until the whole body is here
                    return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            raw = b"".join(chunks)
            body = json.dumps(redact_for_viewer(json.loads(raw))).encode() if raw else raw
            headers = MutableHeaders(scope=start)
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, redacting_send)
