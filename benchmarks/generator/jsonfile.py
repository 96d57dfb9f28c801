"""Requests as readable, stable JSON files: the form of scenarios/*.json."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.generator.world import Json


def to_json(request: Json) -> str:
    """Readable, stable JSON: one-space indent, and every object or list of plain values on one line."""
    return _render(request, 0) + "\n"


def _render(value: Any, depth: int) -> str:
    if isinstance(value, dict):
        items = list(value.items())
        if all(not isinstance(v, dict | list) for _, v in items) or not items:
            return json.dumps(value)
        pad = " " * (depth + 1)
        body = ",\n".join(f"{pad}{json.dumps(k)}: {_render(v, depth + 1)}" for k, v in items)
        return "{\n" + body + "\n" + " " * depth + "}"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value) or not value:
            return json.dumps(value)
        pad = " " * (depth + 1)
        body = ",\n".join(pad + _render(v, depth + 1) for v in value)
        return "[\n" + body + "\n" + " " * depth + "]"
    return json.dumps(value)
