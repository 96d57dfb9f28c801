"""What the API tests send (the shared small request, a request that keeps CP-SAT busy) and how they wait."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx

from benchmarks.generator import generate

T = TypeVar("T")

EXAMPLE = Path(__file__).resolve().parents[2] / "service" / "api" / "examples" / "small-request.json"
PENDING = ("queued", "running")


@cache
def _small() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return document


def small_request(**options: Any) -> dict[str, Any]:
    """../shared/examples/small-request.json (its copy in the package); solves to optimal in milliseconds."""
    request = copy.deepcopy(_small())
    if options:
        request["options"] = options
    return request


@cache
def _busy() -> dict[str, Any]:
    return generate("M", 1)


def busy_request(time_limit_s: float = 60.0, **options: Any) -> dict[str, Any]:
    """80 people, 200 opportunities: CP-SAT does not prove optimality, so it works until stopped."""
    request = copy.deepcopy(_busy())
    request["options"] = {"time_limit_s": time_limit_s, **options}
    return request


def wait_for(probe: Callable[[], T | None], *, timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def wait_for_status(
    client: httpx.Client | Any, plan_id: str, accept: Callable[[dict[str, Any]], bool], timeout_s: float = 60.0
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        response = client.get(f"/v1/plans/{plan_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if accept(body) else None

    return wait_for(probe, timeout_s=timeout_s, what=f"plan {plan_id} to reach the expected state")


def is_running(body: dict[str, Any]) -> bool:
    return bool(body["status"] == "running")


def is_finished(body: dict[str, Any]) -> bool:
    return body["status"] not in PENDING
