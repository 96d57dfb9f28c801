"""The plan so far while a solve runs: the better plans the search finds (service/solver/solve.py's
incumbents) become v1 plans for a sink (the job's row, through its executor), about once a second.

Two throttles keep this cheap whatever the request's size:

- reading a plan out of CP-SAT costs a pass over its variables inside the search's callback, during which
  the search waits: plans are read while the reads have cost at most READ_SHARE of the time so far (plus
  READ_ALLOWANCE_S), so a burst of plans is read only in part (the large-neighbourhood search hands its
  plans over for free, so each is read);
- building a v1 plan (explanations, KPIs) costs about half the compile, seconds on the largest requests:
  it runs on a thread of its own beside the search, at most once per `interval_s` and never for more than
  BUILD_SHARE of the time, always from the latest plan read (earlier ones are skipped), and never when it
  would still run at the search's deadline, where it would slow the final plan's own building.

Nothing is reported during the first `interval_s` (a solve that short answers with its final plan), and
nothing once the report is closed: the final plan supersedes the plan so far. A plan that covers less value
than one already read is skipped (CP-SAT's first plan can be below the greedy plan it was given), so the
plan so far never gets worse.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from service.contract import Plan
from service.solver.greedy import Solution
from service.solver.solve import Incumbent

log = structlog.get_logger(__name__)

# Where the plan so far goes: its JSON document (see PlanSoFar.document).
ProgressSink = Callable[[str], None]

INTERVAL_S = 1.0
READ_SHARE = 0.05
READ_ALLOWANCE_S = 0.05
BUILD_SHARE = 0.1


@dataclass(frozen=True)
class Found:
    """A plan read from the search: the level it was found on, the bound on covered value known then
    (scaled), when (seconds since the solve began, compile included) and how many better plans so far."""

    level: str
    solution: Solution
    value_bound: int
    found_s: float
    improvements: int


class PlanSoFar:
    """Hears the search's incumbents (`found`, its IncumbentHook) and hands `sink` the latest as a v1 plan,
    built by `build`, at most once per `interval_s`. `close()` before the final plan is answered."""

    def __init__(
        self,
        build: Callable[[Found], Plan],
        sink: ProgressSink,
        *,
        started: float,
        value: Callable[[Solution], int] = lambda _: 0,
        interval_s: float = INTERVAL_S,
        deadline: float = math.inf,
        first_build_s: float = 0.0,
    ) -> None:
        """`value` gives a plan's covered value (scaled), to skip a plan worse than one already read.
        `deadline` (time.perf_counter()) is when the search is expected to end; `first_build_s` what a
        build is expected to cost before one has been timed."""
        self._build = build
        self._deadline = deadline
        self._build_s = first_build_s
        self._sink = sink
        self._value = value
        self._best_value = -1
        self._started = started
        self._interval_s = interval_s
        self._state = threading.Condition()  # guards what follows; the builder waits on it
        self._latest: Found | None = None
        self._improvements = 0
        self._read_s = 0.0  # what reading plans has cost so far
        self._closed = False
        self._sinking = threading.Lock()  # held while the sink runs, so that close() waits for it (not a build)
        self._builder = threading.Thread(target=self._build_loop, daemon=True, name="plan-so-far")
        self._builder.start()

    def found(self, incumbent: Incumbent) -> None:
        """A better plan: read it if a read is due (called from the search's threads; quick)."""
        now = time.perf_counter()
        with self._state:
            self._improvements += 1
            if self._closed or self._read_s > READ_SHARE * (now - self._started) + READ_ALLOWANCE_S:
                return
            improvements = self._improvements
        solution = incumbent.read()
        value = self._value(solution)
        with self._state:
            self._read_s += time.perf_counter() - now
            if value < self._best_value:
                return
            self._best_value = value
            self._latest = Found(incumbent.level, solution, incumbent.value_bound, now - self._started, improvements)
            self._state.notify()

    def close(self) -> None:
        """Report nothing more; waits only for a sink under way, never for a plan being built."""
        with self._sinking, self._state:
            self._closed = True
            self._state.notify()

    def _build_loop(self) -> None:
        due = self._started + self._interval_s
        while True:
            with self._state:
                while not self._closed and (self._latest is None or time.perf_counter() < due):
                    self._state.wait(None if self._latest is None else max(due - time.perf_counter(), 0.0))
                if self._closed:
                    return
                found, self._latest = self._latest, None
            assert found is not None
            began = time.perf_counter()
            if began + self._build_s > self._deadline:
                continue  # it would end after the search: the final plan comes instead
            try:
                document = self.document(found, self._build(found))
                with self._sinking:
                    if self._closed:
                        return
                    self._sink(document)
            except Exception as error:  # the plan so far is a courtesy: the solve goes on without it
                log.warning("progress.not_reported", error=f"{type(error).__name__}: {error}")
                return
            self._build_s = time.perf_counter() - began
            due = began + max(self._interval_s, self._build_s / BUILD_SHARE)

    @staticmethod
    def document(found: Found, plan: Plan) -> str:
        """What the sink gets: the plan so far and how it was found, as JSON."""
        return json.dumps(
            {
                "phase": found.level,
                "found_after_s": round(found.found_s, 3),
                "improvements": found.improvements,
                "plan": plan.model_dump(mode="json"),
            }
        )
