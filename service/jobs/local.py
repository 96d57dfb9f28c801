"""The embedded executor: this process's own solver pool (service/jobs/pool.py) and an in-memory queue.

The queue is only a cache of the database's queued rows: the process that uses it must be the only one
running jobs on its database, and at start-up the runner hands it every job an earlier process left
queued or running. One dispatcher task per solver process takes work from the queue and runs one attempt
at a time (service/jobs/attempt.py) on a worker thread, blocked on its solver process.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import structlog

from service.db.repositories import QueuedJob
from service.jobs.attempt import AttemptResult, run_attempt
from service.jobs.executor import RunnerHooks, SolverCapacity
from service.jobs.pool import SolveJob, SolveOutcome, SolvePool, SolveWorker

log = structlog.get_logger(__name__)


class _Transient:
    """A solve nobody stores (a recommendation's): its request, its answer-to-be, and its stop flag."""

    def __init__(self, request_json: str, time_limit_s: float, outcome: asyncio.Future[SolveOutcome]) -> None:
        self.request_json = request_json
        self.time_limit_s = time_limit_s
        self.outcome = outcome
        self.cancel = threading.Event()

    def settle(self, outcome: SolveOutcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    def abandon(self) -> None:
        """The caller has its answer or stopped waiting: a solve still queued or running is not needed."""
        self.cancel.set()
        if not self.outcome.done():
            self.outcome.cancel()


class Lanes:
    """The general queue and the express lane's. An express process takes only express work; a general
    process takes general work first and, when there is none, express work, so that no process idles
    while small requests wait."""

    def __init__(self) -> None:
        self._general: deque[str | _Transient] = deque()
        self._express: deque[str | _Transient] = deque()
        self._arrived = asyncio.Event()

    def put(self, item: str | _Transient, *, express: bool) -> None:
        (self._express if express else self._general).append(item)
        self._arrived.set()

    async def get(self, *, express_only: bool) -> str | _Transient:
        while True:
            if not express_only and self._general:
                return self._general.popleft()
            if self._express:
                return self._express.popleft()
            # No await between the checks and clear(): a put can only come while waiting, and wakes us.
            self._arrived.clear()
            await self._arrived.wait()


class LocalExecutor:
    """Runs attempts on this process's solver pool; the default, which needs nothing but a database file."""

    owns_active_jobs = True
    wait_poll_s = 2.0  # the runner is told of every job that ends here; the re-read is only a safety net
    solves_unstored = True

    def __init__(self, pool: SolvePool, *, express_workers: int = 0, express_max_bytes: int = 65_536) -> None:
        """`express_workers` of the pool's processes (the last ones) serve only small requests, at most
        `express_max_bytes` of JSON, so that a CRM's small synchronous solves never wait behind large jobs."""
        if not 0 <= express_workers < pool.size:
            raise ValueError("the express lane needs at least one other solver process beside it")
        self.pool = pool
        self._express_workers = express_workers
        self._express_max_bytes = express_max_bytes
        self._lanes = Lanes()
        self._queued: set[str] = set()
        self._transients: set[_Transient] = set()
        self._cancel_tokens: dict[str, threading.Event] = {}
        self._dispatchers: list[asyncio.Task[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=pool.size, thread_name_prefix="solve")
        self._hooks: RunnerHooks | None = None
        self._stopping = False
        self._solves_started = 0

    @property
    def solvers(self) -> SolverCapacity:
        return SolverCapacity(self.pool.size, self.pool.ready)

    @property
    def solves_started(self) -> int:
        return self._solves_started

    async def start(self, hooks: RunnerHooks) -> None:
        self._hooks = hooks
        general = len(self.pool.workers) - self._express_workers
        self._dispatchers = [
            asyncio.create_task(
                self._dispatch(worker, express_only=i >= general),
                name=f"dispatch-{worker.index}{'' if i < general else '-express'}",
            )
            for i, worker in enumerate(self.pool.workers)
        ]

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Interrupt running solves (they are requeued for the next start) and end the dispatchers."""
        self._stopping = True
        for token in self._cancel_tokens.values():
            token.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._cancel_tokens and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for task in self._dispatchers:
            task.cancel()
        await asyncio.gather(*self._dispatchers, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for transient in self._transients:
            transient.settle(SolveOutcome(None, "the server stopped before the solve ended", 0.0))

    async def dispatch(self, jobs: Sequence[QueuedJob]) -> None:
        if self._stopping:
            return  # still queued in the database: the next start-up queues them again
        for job in jobs:
            self._queued.add(job.id)
            self._lanes.put(job.id, express=self._is_small(job.request_bytes))
        self._gauge_queue()

    def withdraw(self, job_id: str) -> None:
        self._queued.discard(job_id)
        self._gauge_queue()

    def interrupt(self, job_id: str) -> None:
        token = self._cancel_tokens.get(job_id)
        if token is not None:
            token.set()

    async def solve_unstored(self, request_json: str, time_limit_s: float) -> SolveOutcome:
        """Solve a request on the pool without storing anything: request JSON in, the outcome out.

        It waits in the same queue as the jobs, so it shares the solver processes fairly with them. If the
        caller stops waiting, the solve is stopped too.
        """
        if self._stopping:
            return SolveOutcome(None, "the server is stopping", 0.0)
        transient = _Transient(request_json, time_limit_s, asyncio.get_running_loop().create_future())
        self._transients.add(transient)
        self._lanes.put(transient, express=self._is_small(len(request_json.encode())))
        try:
            return await asyncio.shield(transient.outcome)
        finally:
            transient.abandon()
            self._transients.discard(transient)

    # ------------------------------------------------------------------ dispatching

    def _is_small(self, size_bytes: int | None) -> bool:
        return self._express_workers > 0 and size_bytes is not None and size_bytes <= self._express_max_bytes

    def _gauge_queue(self) -> None:
        if self._hooks is not None:
            self._hooks.metrics.queue_depth.set(len(self._queued))

    async def _dispatch(self, worker: SolveWorker, *, express_only: bool) -> None:
        loop = asyncio.get_running_loop()
        failed_starts = 0
        while True:
            # Jobs stay queued (not "running") while their solver process is still starting.
            readiness = await loop.run_in_executor(self._executor, worker.wait_ready, 1.0)
            if readiness == "starting":
                continue
            if readiness != "ready":
                failed_starts += 1
                log.error("solver.failed_to_start", worker=worker.index, reason=readiness, failures=failed_starts)
                # Back off, then take the next job anyway: it fails with the reason instead of waiting forever.
                await asyncio.sleep(min(30.0, 2.0**failed_starts))
            else:
                failed_starts = 0
            item = await self._lanes.get(express_only=express_only)
            if isinstance(item, _Transient):
                await self._solve_transient(worker, item)
                continue
            job_id = item
            if job_id not in self._queued:
                continue  # cancelled while queued
            self._queued.discard(job_id)
            self._gauge_queue()
            await self._run(worker, job_id)

    async def _run(self, worker: SolveWorker, job_id: str) -> None:
        assert self._hooks is not None
        hooks = self._hooks
        token = threading.Event()
        # Registered before the claim so that a cancel arriving right after it finds the token.
        self._cancel_tokens[job_id] = token
        hooks.metrics.jobs_in_flight.set(len(self._cancel_tokens))

        def solve(job: SolveJob) -> SolveOutcome:
            if job.cancel_requested:
                token.set()
            restarts = worker.restarts
            self._solves_started += 1
            outcome = worker.run(job, token)
            if worker.restarts > restarts:
                hooks.metrics.solver_restarts.inc(worker.restarts - restarts)
            return outcome

        attempt = partial(
            run_attempt,
            hooks.sessions,
            job_id,
            solve,
            # No lease: this process runs every job of its database; start-up recovery counts attempts.
            interrupted=lambda: self._stopping,
            context={"worker": worker.index},
        )
        result: AttemptResult | None = None
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, attempt)
        except Exception:
            log.exception("job.dispatch_failed", job_id=job_id)
        finally:
            self._cancel_tokens.pop(job_id, None)
            hooks.metrics.jobs_in_flight.set(len(self._cancel_tokens))
        if result is not None:
            if result.claim == "claimed" and result.status not in ("requeued", "refused"):
                status = str(result.status)
                hooks.metrics.solve_duration.labels(status).observe(result.elapsed_s)
                hooks.metrics.jobs_finished.labels(status).inc()
            await self.dispatch(result.released)
        hooks.finished(job_id)

    async def _solve_transient(self, worker: SolveWorker, transient: _Transient) -> None:
        if transient.outcome.done():
            return  # its caller stopped waiting while it was queued
        key = f"transient-{id(transient):x}"
        self._cancel_tokens[key] = transient.cancel
        try:
            self._solves_started += 1
            job = SolveJob(key, transient.request_json, transient.time_limit_s)
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._executor, worker.run, job, transient.cancel)
            transient.settle(outcome)
        except Exception as error:
            log.exception("transient.solve_failed")
            transient.settle(SolveOutcome(None, f"the solve could not run: {error}", 0.0))
        finally:
            self._cancel_tokens.pop(key, None)
