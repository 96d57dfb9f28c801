"""Plan solves on the solvers for synchronous engine code (recommendations) run in a worker thread.

The engine takes a `solve(request) -> Plan` callable and an `Executor` to which it submits its top-level
"request JSON -> plan JSON" functions. `PoolPlanExecutor` is both: each solve goes through the job
runner (a transient group: the local pool's queue, or hidden jobs any Celery worker solves), so no CP-SAT
model is solved in the web process. It is not a general executor: it accepts only those plan-solving
functions, whose work it knows the solvers do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from service.contract import AllocationRequest, Options, Plan
from service.jobs.runner import SolveUnavailable, TransientGroup
from service.planning import solve_json

# The top-level function the engine submits: a request's JSON solved, as a solver process solves it.
PLAN_SOLVES: frozenset[Callable[..., Any]] = frozenset({solve_json})
_DEFAULT_TIME_LIMIT_S: float = Options.model_fields["time_limit_s"].default


class PoolPlanExecutor(Executor):
    """Runs plan solves of `group` on the runner's solvers; used from threads other than `loop`'s."""

    def __init__(self, group: TransientGroup, loop: asyncio.AbstractEventLoop) -> None:
        self._group = group
        self._loop = loop

    def solve(self, request: AllocationRequest) -> Plan:
        """The engine's `solve` callable: blocks this (worker) thread until the pool answers."""
        plan_json = self._solve_json(request.model_dump_json(), request.options.time_limit_s).result()
        return Plan.model_validate_json(plan_json)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if fn not in PLAN_SOLVES or kwargs or len(args) != 1 or not isinstance(args[0], str):
            raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} is not a plan solve this executor can run")
        request_json: str = args[0]
        options = json.loads(request_json).get("options") or {}
        time_limit_s = float(options.get("time_limit_s", _DEFAULT_TIME_LIMIT_S))
        return self._solve_json(request_json, time_limit_s)

    def _solve_json(self, request_json: str, time_limit_s: float) -> Future[str]:
        return asyncio.run_coroutine_threadsafe(self._solve(request_json, time_limit_s), self._loop)

    async def _solve(self, request_json: str, time_limit_s: float) -> str:
        outcome = await self._group.solve(request_json, time_limit_s)
        if outcome.plan_json is None:
            raise SolveUnavailable(outcome.detail or "the solve ended without a plan")
        return outcome.plan_json
