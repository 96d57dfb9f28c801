"""Long-lived solver processes: one job at a time each, a stop flag for cancellation, and a watchdog.

The web process never runs CP-SAT itself. Each `SolveWorker` owns one child process (spawned, so it
inherits no threads, locks or database connections) that imports the planner once and then solves the
requests it is sent (through `solve_here`, as a Celery worker solves them). `SolveWorker.run` blocks its
calling thread until the child answers, hands the job's progress sink the plan so far the child sends
meanwhile (about once a second), and enforces:

- cancellation: a shared byte the child's `should_stop` reads; the planner then returns its best plan;
- the watchdog: CP-SAT time limits are not hard (and a deterministic solve's limit is deterministic time),
  so a child still busy halfway from `time_limit_s` to `time_limit_s` times the factor (1.5) is told to
  stop, as by a cancel, and answers its best plan; one still busy at the factor is killed and replaced,
  and the job fails with the reason;
- crashes: a child that dies is replaced and the job fails with its exit code.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

DEFAULT_TARGET = "service.planning:make_plan"
ProgressSink = Callable[[str], None]  # the plan so far, as service/progress.py documents it
_START_TIMEOUT_S = 120.0  # importing OR-Tools on a loaded machine
_POLL_S = 0.2  # how often a waiting thread looks at the cancel token
SOLVER_NICENESS = 5  # below the web process; the LNS bound thread lowers itself further (to 10)


# "ready", "starting" (not yet), "cancelled" (while waiting), or why the process failed to start.
Readiness = str


class StopFlag(Protocol):
    value: int


@dataclass(frozen=True)
class SolveJob:
    job_id: str
    request_json: str
    time_limit_s: float
    attempt: int = 0  # the job's attempt this solve is (0: a solve nobody stores)
    cancel_requested: bool = False  # already asked to stop when it starts
    progress: ProgressSink | None = None  # where the plan so far goes while it runs (None: nowhere)


@dataclass(frozen=True)
class SolveOutcome:
    """What came of one job: the plan's JSON, or why there is none."""

    plan_json: str | None
    detail: str | None
    elapsed_s: float


@dataclass(frozen=True)
class Limits:
    watchdog_factor: float = 1.5
    watchdog_min_grace_s: float = 1.0
    cancel_grace_s: float = 3.0

    def watchdog_s(self, time_limit_s: float) -> float:
        """How long a job may run before its process is killed."""
        return max(time_limit_s * self.watchdog_factor, time_limit_s + self.watchdog_min_grace_s)

    def cancel_s(self, time_limit_s: float) -> float:
        """How long a cancelled job may take to hand in its best plan before its process is killed. Every
        search phase stops within a poll, but a cancel during the compile still needs the compile, the
        greedy plan and the plan's building, which service/admission.py keeps within half the time limit
        for the requests it admits; killing sooner would lose the plan the cancel promises to keep."""
        return max(self.cancel_grace_s, time_limit_s / 2)


def load_target(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def solve_here(
    planner: Callable[..., Any],
    request_json: str,
    *,
    should_stop: Callable[[], bool],
    on_progress: ProgressSink | None = None,
) -> SolveOutcome:
    """One solve in this process, the same in a solver process of the local pool and in a Celery worker:
    the request's JSON through `planner` (service.planning.solve_json), the planner's failure as the
    outcome's detail (the process lives on)."""
    from service.planning import solve_json

    started = time.monotonic()
    try:
        plan_json = solve_json(request_json, planner=planner, should_stop=should_stop, on_progress=on_progress)
    except Exception as error:
        detail = f"the planner failed: {type(error).__name__}: {error}"
        return SolveOutcome(None, detail, time.monotonic() - started)
    return SolveOutcome(plan_json, None, time.monotonic() - started)


def _orphan_guard(parent_pid: int) -> None:
    # A killed server cannot stop its children; they must notice on their own and leave.
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def serve(connection: Connection, stop_flag: StopFlag, target: str, parent_pid: int) -> None:
    """Main loop of a solver process: (job_id, request_json, reports_progress) in; ("progress", document)
    while it solves, if asked, then ("plan"|"error", text) out."""
    # Ctrl-C reaches the whole process group; the parent decides when its children end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Solves use every core they are given; the web process must still answer /healthz and small requests at
    # once, so on a busy machine the scheduler serves it first (an idle core still goes to the solve).
    with contextlib.suppress(OSError):
        os.nice(SOLVER_NICENESS)
    threading.Thread(target=_orphan_guard, args=(parent_pid,), daemon=True, name="orphan-guard").start()
    planner = load_target(target)
    sending = threading.Lock()  # the plan so far is sent from a thread of its own

    def should_stop() -> bool:
        return bool(stop_flag.value) or os.getppid() != parent_pid

    def send(message: tuple[str, Any]) -> None:
        with sending:
            connection.send(message)

    def send_progress(document: str) -> None:
        send(("progress", document))

    send(("ready", os.getpid()))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        _job_id, request_json, reports_progress = message
        outcome = solve_here(
            planner, request_json, should_stop=should_stop, on_progress=send_progress if reports_progress else None
        )
        reply = ("plan", outcome.plan_json) if outcome.plan_json is not None else ("error", outcome.detail)
        try:
            send(reply)
        except (BrokenPipeError, OSError):
            return


class SolveWorker:
    """The parent's handle on one solver process; `run` is called from one thread at a time."""

    def __init__(self, index: int, target: str, limits: Limits) -> None:
        self.index = index
        self.target = target
        self.limits = limits
        self._context = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._process: SpawnProcess | None = None
        self._connection: Connection | None = None
        self._stop_flag: StopFlag = self._context.RawValue("b", 0)
        self._ready = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def ready(self) -> bool:
        """Whether the process has imported the planner and is alive: a solve sent now starts at once."""
        process = self._process
        return self._ready and process is not None and process.is_alive()

    def start(self) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve,
            args=(child_end, self._stop_flag, self.target, os.getpid()),
            name=f"solver-{self.index}",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._process, self._connection, self._ready = process, parent_end, False
        log.info("solver.process_started", worker=self.index, pid=process.pid)

    def stop(self, timeout_s: float = 3.0) -> None:
        with self._lock:
            self._shutdown(timeout_s)

    def wait_ready(self, timeout_s: float) -> Readiness:
        """Wait up to `timeout_s` for the process to have imported the planner (starting it if needed)."""
        with self._lock:
            return self._await_ready(timeout_s, None)

    def run(self, job: SolveJob, cancel: threading.Event) -> SolveOutcome:
        """Solve `job` in the child process; blocks until a plan, a failure, or the watchdog."""
        with self._lock:
            started = time.monotonic()
            readiness = self._await_ready(_START_TIMEOUT_S, cancel)
            if readiness != "ready":
                detail = {
                    "cancelled": "cancelled before the solve started",
                    "starting": f"the solver process was not ready after {_START_TIMEOUT_S:g} s",
                }.get(readiness, f"the solver process failed to start ({readiness})")
                return SolveOutcome(None, detail, time.monotonic() - started)
            assert self._connection is not None
            assert self._process is not None
            self._stop_flag.value = 1 if cancel.is_set() else 0
            started = time.monotonic()
            try:
                self._connection.send((job.job_id, job.request_json, job.progress is not None))
            except (BrokenPipeError, OSError) as error:
                self._replace(f"send failed: {error}")
                return SolveOutcome(None, f"the solver process was unavailable ({error})", 0.0)
            return self._await_answer(job, cancel, started)

    def _await_ready(self, timeout_s: float, cancel: threading.Event | None) -> Readiness:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process is None:
                self.start()
            assert self._connection is not None
            assert self._process is not None
            if self._ready:
                if self._process.is_alive():
                    return "ready"
                self._replace("found dead between jobs")
                continue
            if cancel is not None and cancel.is_set():
                return "cancelled"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "starting"
            ready = wait([self._connection, self._process.sentinel], timeout=min(remaining, _POLL_S))
            if self._connection in ready:
                try:
                    kind, _pid = self._connection.recv()
                except (EOFError, OSError):
                    kind = "eof"
                if kind == "ready":
                    self._ready = True
                    return "ready"
            if self._connection in ready or self._process.sentinel in ready:
                self._process.join(1.0)
                exit_code = self._process.exitcode
                self._replace("did not start")
                return f"exit code {exit_code}"

    def _await_answer(self, job: SolveJob, cancel: threading.Event, started: float) -> SolveOutcome:
        assert self._connection is not None
        assert self._process is not None
        deadline = started + self.limits.watchdog_s(job.time_limit_s)
        # Halfway between the time limit and the watchdog, an overrunning solve (a deterministic one on a
        # busy machine: its limit is CP-SAT's deterministic time) is told to stop as a cancel would tell it,
        # so it answers with its best plan instead of being killed with none.
        overrun = started + (job.time_limit_s + self.limits.watchdog_s(job.time_limit_s)) / 2
        cancel_deadline = math.inf
        while True:
            now = time.monotonic()
            if now >= overrun and not self._stop_flag.value:
                log.warning(
                    "solve.overran_time_limit", time_limit_s=job.time_limit_s, elapsed_s=round(now - started, 1)
                )
                self._stop_flag.value = 1
            if cancel.is_set() and cancel_deadline == math.inf:
                self._stop_flag.value = 1
                cancel_deadline = now + self.limits.cancel_s(job.time_limit_s)
            if now >= deadline or now >= cancel_deadline:
                elapsed = now - started
                self._replace("watchdog" if now >= deadline else "ignored cancel")
                if now >= deadline:
                    detail = (
                        f"stopped by the watchdog after {elapsed:.1f} s: the solve overran its time limit of "
                        f"{job.time_limit_s:g} s by more than half"
                    )
                else:
                    grace = self.limits.cancel_s(job.time_limit_s)
                    detail = f"the solve did not stop within {grace:g} s of the cancel and was ended"
                return SolveOutcome(None, detail, elapsed)
            timeout = min(deadline, cancel_deadline, now + _POLL_S) - now
            ready = wait([self._connection, self._process.sentinel], timeout=max(timeout, 0.0))
            if self._connection in ready and self._connection.poll():
                try:
                    kind, text = self._connection.recv()
                except (EOFError, OSError):
                    pass  # the process died mid-answer: handled below through its sentinel
                else:
                    elapsed = time.monotonic() - started
                    if kind == "progress":
                        if job.progress is not None:
                            job.progress(text)
                        continue
                    if kind == "plan":
                        return SolveOutcome(text, None, elapsed)
                    return SolveOutcome(None, text, elapsed)
            if self._process.sentinel in ready or not self._process.is_alive():
                self._process.join(1.0)
                exit_code = self._process.exitcode
                self._replace(f"died with exit code {exit_code}")
                return SolveOutcome(
                    None, f"the solver process died (exit code {exit_code})", time.monotonic() - started
                )

    def _replace(self, reason: str) -> None:
        log.warning("solver.process_replaced", worker=self.index, pid=self.pid, reason=reason)
        self._shutdown(0.0)
        self.restarts += 1
        self.start()

    def _shutdown(self, timeout_s: float) -> None:
        process, connection = self._process, self._connection
        self._process, self._connection, self._ready = None, None, False
        if process is None:
            return
        if timeout_s > 0 and process.is_alive() and connection is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                connection.send(None)
            process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        if connection is not None:
            connection.close()
        process.close()


class SolvePool:
    """`size` solver processes, started eagerly so the first request does not pay for imports."""

    def __init__(self, size: int, *, target: str = DEFAULT_TARGET, limits: Limits | None = None) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one solver process")
        self.limits = limits or Limits()
        self.workers = [SolveWorker(i, target, self.limits) for i in range(size)]

    @property
    def size(self) -> int:
        return len(self.workers)

    @property
    def ready(self) -> int:
        """How many solver processes are ready to solve."""
        return sum(1 for worker in self.workers if worker.ready)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
