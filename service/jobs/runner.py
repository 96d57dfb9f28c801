"""The job lifecycle: submit (with idempotency and a per-tenant cap), queue, solve on the pool, store, cancel.

Every job is in the database before it is acknowledged, and the in-memory queue is only a cache of
the database's `queued` rows: at start-up `recover()` requeues what an earlier process left queued or
running (or ends it with a reason), so no acknowledged job is forgotten across a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import structlog
from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.contract import AllocationRequest, Plan
from service.db.base import utcnow
from service.db.models import Job
from service.db.repositories import CUT_SHORT, JobRepository, new_id
from service.jobs.pool import SolveJob, SolveOutcome, SolvePool, SolveWorker
from service.observability import Metrics
from service.whatif import warm_started

log = structlog.get_logger(__name__)

T = TypeVar("T")

TERMINAL = frozenset({"done", "failed", "cancelled"})


class JobError(Exception):
    """Base of what a client did that the job runner refuses."""


class IdempotencyConflict(JobError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")
        self.key = key


class SolveUnavailable(JobError):
    """A solve on the pool that nobody stores (a recommendation's) ended without a plan."""


class TooManyActiveJobs(JobError):
    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"this tenant already has {limit} solves queued or running, the most allowed")
        self.limit = limit
        self.retry_after_s = retry_after_s


def warm_started_document(body: dict[str, Any], plan: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """A stored request with a stored plan as its `options.warm_start`, as request_document() gives it."""
    request = AllocationRequest.model_validate(body)
    return request_document(warm_started(request, Plan.model_validate(plan)))


def request_document(request: AllocationRequest) -> tuple[dict[str, Any], str, int]:
    """The request as stored (defaults filled in), the SHA-256 of its canonical JSON and its size in bytes.

    Idempotency compares the canonical form, so key order, whitespace and spelled-out defaults do not
    make two requests with the same meaning differ.
    """
    document = request.model_dump(mode="json")
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded = canonical.encode()
    return document, hashlib.sha256(encoded).hexdigest(), len(encoded)


@dataclass(frozen=True)
class Submission:
    job_id: str
    replayed: bool  # an Idempotency-Key seen before: no new job


@dataclass(frozen=True)
class JobView:
    """What a client may see of a job: its plan when it has one, else its state."""

    id: str
    status: str  # the plan's status, or queued / running / failed / cancelled
    detail: str | None
    plan: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.plan is not None or self.status in ("failed", "cancelled")

    @classmethod
    def of(cls, job: Job) -> JobView:
        plan = job.plan.body if job.plan is not None else None
        status = str(plan["status"]) if plan is not None else job.status
        return cls(job.id, status, job.detail, plan)


CancelResult = Literal["not_found", "finished", "cancelled", "cancelling"]


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


class _Lanes:
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


class JobRunner:
    """Owns the queue, one dispatcher task per solver process, and every job state change."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        pool: SolvePool,
        metrics: Metrics,
        *,
        tenant_max_active_jobs: int,
        job_max_attempts: int,
        express_workers: int = 0,
        express_max_bytes: int = 65_536,
    ) -> None:
        """`express_workers` of the pool's processes (the last ones) serve only small requests, at most
        `express_max_bytes` of JSON, so that a CRM's small synchronous solves never wait behind large jobs."""
        if not 0 <= express_workers < pool.size:
            raise ValueError("the express lane needs at least one other solver process beside it")
        self._sessions = sessions
        self._pool = pool
        self._metrics = metrics
        self._tenant_max_active_jobs = tenant_max_active_jobs
        self._job_max_attempts = job_max_attempts
        self._lanes = _Lanes()
        self._express_workers = express_workers
        self._express_max_bytes = express_max_bytes
        self._transients: set[_Transient] = set()
        self._transient_groups: dict[str, int] = {}
        self._queued: set[str] = set()
        # Jobs waiting for another to end (a scenario's variants for its base): predecessor -> [(job, express)].
        self._held: dict[str, list[tuple[str, bool]]] = {}
        self._cancel_tokens: dict[str, threading.Event] = {}
        self._finished: dict[str, asyncio.Event] = {}
        self._tenant_locks: dict[str, asyncio.Lock] = {}
        self._dispatchers: list[asyncio.Task[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=pool.size, thread_name_prefix="solve")
        self._stopping = False
        self.solves_started = 0  # for tests and logs: how many solves this runner sent to the pool

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        recovery = await self._db(lambda repo: repo.recover(self._job_max_attempts))
        if recovery.requeued or recovery.failed or recovery.cancelled:
            log.info(
                "jobs.recovered",
                requeued=recovery.requeued,
                failed=recovery.failed,
                cancelled=recovery.cancelled,
            )
        for job_id in recovery.requeued:
            if job_id in recovery.waiting:
                self._held.setdefault(recovery.waiting[job_id], []).append((job_id, False))
            else:
                self._enqueue(job_id)
        self._metrics.jobs_finished.labels("failed").inc(len(recovery.failed))
        self._metrics.jobs_finished.labels("cancelled").inc(len(recovery.cancelled))
        general = len(self._pool.workers) - self._express_workers
        self._dispatchers = [
            asyncio.create_task(
                self._dispatch(worker, express_only=i >= general),
                name=f"dispatch-{worker.index}{'' if i < general else '-express'}",
            )
            for i, worker in enumerate(self._pool.workers)
        ]

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Interrupt running solves (they are requeued for the next start) and end the dispatchers."""
        self._stopping = True
        for token in self._cancel_tokens.values():
            token.set()
        deadline = time.monotonic() + timeout_s
        while self._cancel_tokens and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in self._dispatchers:
            task.cancel()
        await asyncio.gather(*self._dispatchers, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        for event in self._finished.values():
            event.set()
        for transient in self._transients:
            transient.settle(SolveOutcome(None, "the server stopped before the solve ended", 0.0))

    @property
    def pool_size(self) -> int:
        return self._pool.size

    @property
    def solvers_ready(self) -> int:
        return self._pool.ready

    # ------------------------------------------------------------------ client operations

    async def submit_group(
        self,
        tenant: str,
        requests: Sequence[AllocationRequest],
        record: Callable[[Session, list[str]], T],
        *,
        warm_start_from_first: bool = False,
    ) -> tuple[list[str], T]:
        """Queue one job per request, all or none, for one piece of work such as a scenario's variants.

        The group counts as one solve against the tenant's cap: it is admitted while the tenant has fewer
        than the cap queued or running, and all its jobs are queued then. `record(session, job_ids)` runs in
        the same transaction, so what links the jobs (a scenario row) exists exactly when they do. With
        `warm_start_from_first`, the other jobs start once the first has ended, each with the first one's
        plan as its `options.warm_start` (stored in its request), and then run in parallel.
        """
        documents = await to_thread.run_sync(lambda: [request_document(r) for r in requests])
        express = [self._is_small(size) for _, _, size in documents]
        lock = self._tenant_locks.setdefault(tenant, asyncio.Lock())
        async with lock:
            active = await self._db(lambda repo: repo.active(tenant))
            if len(active) + self._transient_groups.get(tenant, 0) >= self._tenant_max_active_jobs:
                raise TooManyActiveJobs(self._tenant_max_active_jobs, _retry_after(active))
            job_ids = [new_id() for _ in requests]

            after = job_ids[0] if warm_start_from_first else None

            def create(repo: JobRepository) -> T:
                for i, (job_id, request, (document, sha256, _)) in enumerate(
                    zip(job_ids, requests, documents, strict=True)
                ):
                    repo.create(
                        tenant=tenant,
                        request_body=document,
                        body_sha256=sha256,
                        time_limit_s=request.options.time_limit_s,
                        job_id=job_id,
                        after_job_id=after if i > 0 else None,
                    )
                return record(repo.session, job_ids)

            recorded = await self._db(create)
        log.info("jobs.queued", job_ids=job_ids, tenant=tenant, after=after)
        for i, (job_id, small) in enumerate(zip(job_ids, express, strict=True)):
            if after is not None and i > 0:
                self._held.setdefault(after, []).append((job_id, small))
            else:
                self._enqueue(job_id, express=small)
        return job_ids, recorded

    @contextlib.asynccontextmanager
    async def transient_group(self, tenant: str) -> AsyncIterator[None]:
        """Admit a group of unstored solves (a recommendation) as one solve against the tenant's cap."""
        lock = self._tenant_locks.setdefault(tenant, asyncio.Lock())
        async with lock:
            active = await self._db(lambda repo: repo.active(tenant))
            if len(active) + self._transient_groups.get(tenant, 0) >= self._tenant_max_active_jobs:
                raise TooManyActiveJobs(self._tenant_max_active_jobs, _retry_after(active))
            self._transient_groups[tenant] = self._transient_groups.get(tenant, 0) + 1
        try:
            yield
        finally:
            self._transient_groups[tenant] -= 1
            if not self._transient_groups[tenant]:
                del self._transient_groups[tenant]

    async def solve_now(self, request_json: str, time_limit_s: float) -> SolveOutcome:
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

    async def submit(self, tenant: str, request: AllocationRequest, idempotency_key: str | None = None) -> Submission:
        document, sha256, size = await to_thread.run_sync(request_document, request)
        lock = self._tenant_locks.setdefault(tenant, asyncio.Lock())
        async with lock:  # one tenant's cap check and insert happen one at a time
            if idempotency_key is not None:
                replay = await self._db(lambda repo: self._replay(repo, tenant, idempotency_key, sha256))
                if replay is not None:
                    return replay
            active = await self._db(lambda repo: repo.active(tenant))
            if len(active) >= self._tenant_max_active_jobs:
                raise TooManyActiveJobs(self._tenant_max_active_jobs, _retry_after(active))
            job_id = new_id()
            try:
                await self._db(
                    lambda repo: repo.create(
                        tenant=tenant,
                        request_body=document,
                        body_sha256=sha256,
                        time_limit_s=request.options.time_limit_s,
                        idempotency_key=idempotency_key,
                        job_id=job_id,
                    )
                )
            except IntegrityError:
                # Another server process took this key between our lookup and our insert.
                assert idempotency_key is not None
                replay = await self._db(lambda repo: self._replay(repo, tenant, idempotency_key, sha256))
                if replay is None:
                    raise
                return replay
        express = self._is_small(size)
        log.info("job.queued", job_id=job_id, tenant=tenant, time_limit_s=request.options.time_limit_s, express=express)
        self._enqueue(job_id, express=express)
        return Submission(job_id, replayed=False)

    async def view(self, tenant: str, job_id: str) -> JobView | None:
        def read(repo: JobRepository) -> JobView | None:
            job = repo.get(tenant, job_id, with_plan=True)
            return JobView.of(job) if job is not None else None

        return await self._db(read)

    async def wait(self, tenant: str, job_id: str, timeout_s: float | None = None) -> JobView | None:
        """The job's view once it is finished, or as it is when `timeout_s` runs out."""
        event = self._finished.setdefault(job_id, asyncio.Event())
        deadline = math.inf if timeout_s is None else time.monotonic() + timeout_s
        try:
            while True:
                current = await self.view(tenant, job_id)
                if current is None or current.finished or self._stopping:
                    return current
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return current
                # The event is the fast path; the periodic re-read covers jobs run by another process.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, 2.0))
        finally:
            if self._finished.get(job_id) is event and event.is_set():
                del self._finished[job_id]

    async def cancel(self, tenant: str, job_id: str) -> CancelResult:
        marked = await self._db(lambda repo: repo.cancel(tenant, job_id))
        if marked is None:
            return "not_found"
        _, before = marked
        if before == "queued":
            self._queued.discard(job_id)
            self._metrics.queue_depth.set(len(self._queued))
            self._metrics.jobs_finished.labels("cancelled").inc()
            log.info("job.cancelled", job_id=job_id, tenant=tenant, was="queued")
            self._notify(job_id)
            self._release(job_id)
            return "cancelled"
        if before == "running":
            token = self._cancel_tokens.get(job_id)
            if token is not None:
                token.set()
            log.info("job.cancel_requested", job_id=job_id, tenant=tenant)
            return "cancelling"
        return "finished"

    # ------------------------------------------------------------------ dispatching

    def _is_small(self, size_bytes: int) -> bool:
        return self._express_workers > 0 and size_bytes <= self._express_max_bytes

    def _enqueue(self, job_id: str, *, express: bool = False) -> None:
        self._queued.add(job_id)
        self._metrics.queue_depth.set(len(self._queued))
        self._lanes.put(job_id, express=express)

    def _release(self, job_id: str) -> None:
        """Queue the jobs that waited for this one to end (they start without a warm start if it has no plan)."""
        if self._stopping:
            return  # still queued in the database: the next start-up holds or queues them again
        for waiting, express in self._held.pop(job_id, []):
            self._enqueue(waiting, express=express)

    async def _warm_started_request(self, job_id: str, body: dict[str, Any], after_job_id: str) -> dict[str, Any]:
        """The request with its predecessor's plan as `options.warm_start`, stored as the job's request."""
        plan = await self._db(lambda repo: repo.plan_body(after_job_id))
        if plan is None:
            return body
        document, sha256, _ = await to_thread.run_sync(warm_started_document, body, plan)
        await self._db(lambda repo: repo.replace_request(job_id, document, sha256))
        return document

    def _notify(self, job_id: str) -> None:
        event = self._finished.pop(job_id, None)
        if event is not None:
            event.set()

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
            self._metrics.queue_depth.set(len(self._queued))
            token = threading.Event()
            # Registered before the claim so that a cancel arriving right after it finds the token.
            self._cancel_tokens[job_id] = token
            try:
                with structlog.contextvars.bound_contextvars(job_id=job_id):
                    claimed = await self._db(partial(JobRepository.claim, job_id=job_id))
                    if claimed is None:
                        continue
                    if claimed.cancel_requested:
                        token.set()
                    self._metrics.jobs_in_flight.set(len(self._cancel_tokens))
                    log.info(
                        "job.started",
                        tenant=claimed.tenant,
                        worker=worker.index,
                        attempt=claimed.attempts,
                        time_limit_s=claimed.time_limit_s,
                    )
                    body = claimed.request_body
                    if claimed.after_job_id is not None:
                        body = await self._warm_started_request(job_id, body, claimed.after_job_id)
                    job = SolveJob(job_id, json.dumps(body), claimed.time_limit_s)
                    restarts = worker.restarts
                    self.solves_started += 1
                    outcome = await loop.run_in_executor(self._executor, worker.run, job, token)
                    if worker.restarts > restarts:
                        self._metrics.solver_restarts.inc(worker.restarts - restarts)
                    await self._record(job_id, outcome, shutdown_interrupted=self._stopping)
            except Exception:
                log.exception("job.dispatch_failed", job_id=job_id)
            finally:
                self._cancel_tokens.pop(job_id, None)
                self._metrics.jobs_in_flight.set(len(self._cancel_tokens))
                self._release(job_id)
            self._notify(job_id)

    async def _solve_transient(self, worker: SolveWorker, transient: _Transient) -> None:
        if transient.outcome.done():
            return  # its caller stopped waiting while it was queued
        key = f"transient-{id(transient):x}"
        self._cancel_tokens[key] = transient.cancel
        try:
            self.solves_started += 1
            job = SolveJob(key, transient.request_json, transient.time_limit_s)
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._executor, worker.run, job, transient.cancel)
            transient.settle(outcome)
        except Exception as error:
            log.exception("transient.solve_failed")
            transient.settle(SolveOutcome(None, f"the solve could not run: {error}", 0.0))
        finally:
            self._cancel_tokens.pop(key, None)

    async def _record(self, job_id: str, outcome: SolveOutcome, *, shutdown_interrupted: bool) -> None:
        plan: dict[str, Any] | None = None
        if outcome.plan_json is not None:
            plan = await to_thread.run_sync(json.loads, outcome.plan_json)

        def store(repo: JobRepository) -> tuple[str, str | None]:
            job = repo.get_any(job_id)
            if job is None:
                return "missing", None
            if shutdown_interrupted and not job.cancel_requested and (plan is None or plan["status"] in CUT_SHORT):
                repo.requeue(job_id, uncount_attempt=True)
                return "requeued", None
            if plan is not None:
                repo.finish(job_id, plan)
                return str(plan["status"]), None
            assert outcome.detail is not None
            ended = repo.fail(job_id, outcome.detail)
            return (ended.status if ended else "missing"), outcome.detail

        status, detail = await self._db(store)
        if status == "requeued":
            log.info("job.requeued_for_restart")
            return
        self._metrics.solve_duration.labels(status).observe(outcome.elapsed_s)
        self._metrics.jobs_finished.labels(status).inc()
        log.info("job.finished", status=status, elapsed_s=round(outcome.elapsed_s, 3), detail=detail)

    async def _db(self, work: Callable[[JobRepository], T]) -> T:
        """Run `work` in one transaction on a worker thread, off the event loop."""

        def run() -> T:
            with self._sessions.begin() as session:
                return work(JobRepository(session))

        return await to_thread.run_sync(run)

    @staticmethod
    def _replay(repo: JobRepository, tenant: str, key: str, sha256: str) -> Submission | None:
        known = repo.idempotency_key(tenant, key)
        if known is None:
            return None
        if known.body_sha256 != sha256:
            raise IdempotencyConflict(key)
        return Submission(known.job_id, replayed=True)


def _retry_after(active: Sequence[Job]) -> int:
    """Seconds until one of these jobs should have finished: the soonest running job's time limit left."""
    now = utcnow()
    remaining = [
        job.time_limit_s - (now - job.started_at).total_seconds()
        for job in active
        if job.status == "running" and job.started_at is not None
    ]
    if not remaining:
        remaining = [job.time_limit_s for job in active]
    return max(1, math.ceil(min(remaining, default=1.0)))
