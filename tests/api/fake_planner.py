"""Planner stand-ins for the solver processes, to test what the real planner never does on purpose:
ignore a time limit and a stop (the watchdog), overrun a time limit until told to stop, or die (a crash).
Any other request goes to the real planner."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from service.contract import AllocationRequest, Plan
from service.planning import make_plan
from service.progress import ProgressSink

HANG_SEED = 4242  # options.seed that makes the "solver" ignore its time limit and should_stop
CRASH_SEED = 4343  # options.seed that makes the solver process die
OVERRUN_SEED = 4444  # options.seed that makes the "solver" overrun its time limit until told to stop


def make_plan_or_misbehave(
    request: AllocationRequest,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_progress: ProgressSink | None = None,
) -> Plan:
    if request.options.seed == HANG_SEED:
        threading.Event().wait()  # forever: only the watchdog ends this
    if request.options.seed == CRASH_SEED:
        os._exit(3)
    if request.options.seed == OVERRUN_SEED:
        # A solve past its limit that still honours a stop, as a deterministic solve on a busy machine does.
        assert should_stop is not None
        while not should_stop():
            threading.Event().wait(0.02)
    return make_plan(request, should_stop=should_stop, on_progress=on_progress)


TARGET = f"{__name__}:make_plan_or_misbehave"
