"""Request bodies: a JSON document of the right media type, validated by one of the engine's parsers."""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel

from service.api.errors import MalformedBody, UnsupportedMediaType, ValidationFailed
from service.contract import FieldError, InvalidRequest, format_path

T = TypeVar("T")

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
        parsed = parse(document)
    except InvalidRequest as error:
        raise ValidationFailed(error.errors) from None
    reject_coerced_scalars(document, parsed)
    return parsed


def reject_coerced_scalars(document: Any, parsed: Any) -> None:
    """422 for a scalar of the wrong JSON type: `false` or `"5"` for a number, `0` or `"yes"` for a boolean,
    `0` for a date.

    The contract's models validate in pydantic's lax mode, which reads `false` as 0.0 and `1` as true; the
    OpenAPI document (and any client's validator) says otherwise, so the API refuses instead of guessing.
    """
    if isinstance(parsed, BaseModel):
        errors = coerced_scalars(document, parsed.model_dump(mode="json"))
        if errors:
            raise ValidationFailed(errors)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerced_scalars(raw: Any, value: Any, at: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Paths where `raw` (the JSON sent) has another scalar type than `value` (the same document validated)."""
    if isinstance(value, bool) and not isinstance(raw, bool):
        return [FieldError(format_path(at), f"expected a boolean, got {json.dumps(raw)[:40]}", "bool_type")]
    if _is_number(value) and not _is_number(raw):
        return [FieldError(format_path(at), f"expected a number, got {json.dumps(raw)[:40]}", "float_type")]
    if isinstance(value, str) and not isinstance(raw, str):  # e.g. a date given as a number of seconds
        return [FieldError(format_path(at), f"expected a string, got {json.dumps(raw)[:40]}", "string_type")]
    found: list[FieldError] = []
    if isinstance(raw, dict) and isinstance(value, dict):
        for key, item in raw.items():
            if key in value:
                found += coerced_scalars(item, value[key], (*at, key))
    elif isinstance(raw, list) and isinstance(value, list) and len(raw) == len(value):
        for index, (item, validated_item) in enumerate(zip(raw, value, strict=True)):
            found += coerced_scalars(item, validated_item, (*at, index))
    return found
