"""Request bodies: a route's JSON document, parsed and validated off the event loop into its contract model."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

import anyio
from fastapi import Request
from pydantic import BaseModel

from service.api.errors import MalformedBody, UnsupportedMediaType, ValidationFailed
from service.contract import InvalidRequest

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# Parsing and validating a body holds the GIL for its whole length (about 0.1 s for 1 MB of JSON). Many
# large bodies parsed at once in the thread pool's 40 threads took the GIL from the event loop for seconds
# (/healthz took 1.5 s to answer during 50 concurrent POSTs of the market scenarios): bodies above this size
# are parsed one at a time, so the loop only ever contends with one of them and stays responsive; smaller
# bodies keep the pool and are never queued behind a large one.
LARGE_BODY_BYTES = 64 * 1024
_large_bodies: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)  # one per event loop: a limiter belongs to the loop it was made in, and tests run several


async def off_the_loop(parse: Callable[[bytes, str | None], T], body: bytes, content_type: str | None) -> T:
    """`parse(body, content_type)` in a worker thread, large bodies one at a time (see LARGE_BODY_BYTES)."""
    limiter = None
    if len(body) > LARGE_BODY_BYTES:
        loop = asyncio.get_running_loop()
        limiter = _large_bodies.get(loop)
        if limiter is None:
            limiter = _large_bodies[loop] = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(partial(parse, body, content_type), limiter=limiter)


def json_document(body: bytes, content_type: str | None) -> Any:
    """Raw body -> JSON value, or the problem that says why it is not one."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the request as application/json, not {media_type or 'no content type'}")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise MalformedBody(f"the body is not valid JSON: {error}") from None


def validated(parse: Callable[[Any], T], body: bytes, content_type: str | None) -> T:
    """Raw body -> `parse(document)`, its InvalidRequest turned into a 422 naming each field."""
    document = json_document(body, content_type)
    try:
        return parse(document)
    except InvalidRequest as error:
        raise ValidationFailed(error.errors) from None


@dataclass(frozen=True)
class BodyExample:
    """An example body for the docs: a summary and the name of its file in service/api/examples/."""

    summary: str
    file: str


class JsonBody(Generic[M]):
    """A route's request body, as a dependency: `body: Annotated[Model, Depends(JsonBody(Model, parse))]`.

    A body parameter would have FastAPI decode the JSON and validate the model on the event loop, where a
    burst of large requests would stall every other request (see LARGE_BODY_BYTES); this reads the raw body
    and runs `parse` on the decoded document in a worker thread. It keeps the service's answers too: 415 for
    another media type, 400 for a body that is not JSON, a 422 naming every field. The OpenAPI document states
    the body from `model` and `examples` (service.api.openapi.document_bodies), as it would for a parameter.
    """

    def __init__(
        self, model: type[M], parse: Callable[[Any], M], examples: Mapping[str, BodyExample] | None = None
    ) -> None:
        self.model = model
        self.parse = parse
        self.examples = dict(examples or {})

    async def __call__(self, request: Request) -> M:
        body = await request.body()
        return await off_the_loop(partial(validated, self.parse), body, request.headers.get("content-type"))
