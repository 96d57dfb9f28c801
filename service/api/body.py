"""Request bodies: a JSON document of the right media type, validated by one of the engine's parsers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from service.api.errors import MalformedBody, UnsupportedMediaType, ValidationFailed
from service.contract import InvalidRequest

T = TypeVar("T")


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
