"""The job lifecycle: submit (with idempotency and a per-tenant cap), queue, cancel, recover and wait, written
once against an executor (service/jobs/executor.py) that runs the attempts (service/jobs/attempt.py).

Every job is in the database before it is acknowledged, and the database is the one source of truth. With
the local executor this process alone runs the database's jobs: its in-memory queue is a cache of the
queued rows and start-up recovery requeues what an earlier process left queued or running. With Celery any
number of API processes share one PostgreSQL database: the tenant cap is counted under an advisory lock per
tenant, an Idempotency-Key is unique in the database, and in-flight jobs belong to the broker and to the
leases of the workers that run them, so nothing is recovered at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import structlog
from anyio import to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.contract import AllocationRequest
from service.db.base import utcnow
from service.db.models import Job
from service.db.repositories import CUT_SHORT, JobRepository, QueuedJob, new_id
from service.jobs.attempt import canonical_document, record_solved_here, request_document, warm_started_document
from service.jobs.executor import JobExecutor, RunnerHooks, SolverCapacity
from service.jobs.pool import SolveOutcome, solve_here
from service.observability import Metrics
from service.planning import make_plan

log = structlog.get_logger(__name__)

T = TypeVar("T")

TERMINAL = frozenset({"done", "failed", "cancelled"})

__all__ = [
    "Attempt",
    "CancelResult",
    "IdempotencyConflict",
    "InlineSolves",
    "JobError",
    "JobRunner",
    "JobView",
    "SolveUnavailable",
    "Submission",
    "TooManyActiveJobs",
    "TransientGroup",
    "request_document",
    "warm_started_document",
]


class JobError(Exception):
    """Base of what a client did that the job runner refuses."""


class IdempotencyConflict(JobError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")
        self.key = key


class SolveUnavailable(JobError):
    """A solve that nobody stores (a recommendation's) ended without a plan."""


class TooManyActiveJobs(JobError):
    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"this tenant already has {limit} solves queued or running, the most allowed")
        self.limit = limit
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Submission:
    job_id: str
    replayed: bool  # an Idempotency-Key seen before: no new job
    plan: dict[str, Any] | None = None  # solved and stored while submitted (an inline solve)


@dataclass(frozen=True)
class InlineSolves:
    """Small synchronous requests solved in the API process itself, when executors elsewhere (Celery workers)
    would cost more than the solve: a small request is proven optimal in 5-10 ms, and the broker round trip,
    a worker's claim and store, and the wake-up of the waiting request cost several times that in CPU.

    A request of at most `max_bytes` (canonical JSON) is solved here while fewer than `slots` inline solves
    run in this process, and kept only if proven (optimal or infeasible) within `budget_s`: then its job and
    plan are stored in one transaction, as a worker would have stored them. Otherwise it takes the queue like
    any job, so the answer is the same either way. Inline solves never wait in a queue, so they do not count
    against the tenant's cap."""

    max_bytes: int
    budget_s: float
    slots: int


@dataclass(frozen=True)
class Attempt:
    """A running job's attempt: which one, since when, and its plan so far (service/progress.py's document
    as its attempt stored it, and when; None until the search has one)."""

    number: int
    started_at: dt.datetime | None
    time_limit_s: float
    progress: dict[str, Any] | None
    progress_at: dt.datetime | None


@dataclass(frozen=True)
class JobView:
    """What a client may see of a job: its plan when it has one, else its state (and, while it runs, its
    attempt)."""

    id: str
    status: str  # the plan's status, or queued / running / failed / cancelled
    detail: str | None
    plan: dict[str, Any] | None
    attempt: Attempt | None = None

    @property
    def finished(self) -> bool:
        return self.plan is not None or self.status in ("failed", "cancelled")

    @classmethod
    def of(cls, job: Job) -> JobView:
        plan = job.plan.body if job.plan is not None else None
        status = str(plan["status"]) if plan is not None else job.status
        attempt = None
        if plan is None and job.status == "running":
            attempt = Attempt(job.attempts, job.started_at, job.time_limit_s, job.progress, job.progress_at)
        return cls(job.id, status, job.detail, plan, attempt)


CancelResult = Literal["not_found", "finished", "cancelled", "cancelling"]


@dataclass(frozen=True)
class TransientGroup:
    """Solves nobody keeps (a recommendation's baseline and re-solves), admitted together as one solve."""

    runner: JobRunner
    tenant: str
    id: str

    async def solve(self, request_json: str, time_limit_s: float) -> SolveOutcome:
        return await self.runner.solve_now(request_json, time_limit_s, self)


class JobRunner:
    """Owns every state change a client asks for, and hands queued jobs to its executor."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: JobExecutor,
        metrics: Metrics,
        *,
        tenant_max_active_jobs: int,
        job_max_attempts: int,
        job_lease_s: float = 10.0,
        inline: InlineSolves | None = None,
    ) -> None:
        self._sessions = sessions
        self._executor = executor
        self._metrics = metrics
        self._tenant_max_active_jobs = tenant_max_active_jobs
        self._job_max_attempts = job_max_attempts
        self._job_lease_s = job_lease_s
        self._inline = inline if inline is not None and inline.max_bytes > 0 and inline.slots > 0 else None
        self._inline_slots = asyncio.Semaphore(self._inline.slots if self._inline is not None else 1)
        # Recommendations admitted in this process and still answering, by tenant (their hidden jobs, if
        # any, are counted by group from the database, so one group counts once whatever process sees it).
        self._groups: dict[str, set[str]] = {}
        self._finished: dict[str, asyncio.Event] = {}
        self._tenant_locks: dict[str, asyncio.Lock] = {}
        self._stopping = False

    @property
    def executor(self) -> JobExecutor:
        return self._executor

    @property
    def solvers(self) -> SolverCapacity | None:
        return self._executor.solvers

    @property
    def solves_started(self) -> int:
        """For tests and logs: how many solves this process's executor started."""
        return self._executor.solves_started

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        hooks = RunnerHooks(self._sessions, self._metrics, self._job_lease_s, self._job_max_attempts, self._notify)
        await self._executor.start(hooks)
        if not self._executor.owns_active_jobs:
            return
        recovery = await self._db(lambda repo: repo.recover(self._job_max_attempts))
        if recovery.requeued or recovery.failed or recovery.cancelled:
            log.info(
                "jobs.recovered",
                requeued=recovery.requeued,
                failed=recovery.failed,
                cancelled=recovery.cancelled,
            )
        self._metrics.jobs_finished.labels("failed").inc(len(recovery.failed))
        self._metrics.jobs_finished.labels("cancelled").inc(len(recovery.cancelled))
        # A job whose predecessor is requeued too starts once that one ends (the attempt releases it).
        ready = [job_id for job_id in recovery.requeued if job_id not in recovery.waiting]
        await self._executor.dispatch(await self._db(lambda repo: repo.queued(ready)))

    async def stop(self) -> None:
        """Stop the executor (a local pool requeues the solves it interrupts) and wake every waiter."""
        self._stopping = True
        await self._executor.stop()
        for event in self._finished.values():
            event.set()

    # ------------------------------------------------------------------ client operations

    async def submit(
        self,
        tenant: str,
        request: AllocationRequest,
        idempotency_key: str | None = None,
        *,
        workspace_revision: int | None = None,
        waiting: bool = False,
    ) -> Submission:
        """Admit a solve of `request` (idempotency, the tenant's cap), store it queued and dispatch it. A
        workspace proposal names the `workspace_revision` its request was built from. A caller `waiting` for
        the plan of a small request may get it solved and stored at once (InlineSolves)."""
        document, sha256, size = await to_thread.run_sync(request_document, request)
        if waiting and self._inline is not None and size <= self._inline.max_bytes:
            solved = await self._solve_inline(tenant, (document, sha256, size), idempotency_key, workspace_revision)
            if solved is not None:
                return solved
        job_id = new_id()

        def admit(repo: JobRepository) -> Submission:
            repo.lock_tenant(tenant)  # one tenant's cap check and insert happen one at a time, in any process
            if idempotency_key is not None:
                replay = self._replay(repo, tenant, idempotency_key, sha256)
                if replay is not None:
                    return replay
            self._check_cap(repo, tenant)
            repo.create(
                tenant=tenant,
                request_body=document,
                body_sha256=sha256,
                time_limit_s=request.options.time_limit_s,
                idempotency_key=idempotency_key,
                job_id=job_id,
                request_bytes=size,
                workspace_revision=workspace_revision,
            )
            return Submission(job_id, replayed=False)

        async with self._tenant_lock(tenant):
            submission = await self._keyed(admit, tenant, idempotency_key, sha256)
        if submission.replayed:
            return submission
        log.info("job.queued", job_id=job_id, tenant=tenant, time_limit_s=request.options.time_limit_s, bytes=size)
        await self._executor.dispatch([QueuedJob(job_id, request.options.time_limit_s, size)])
        return submission

    async def _solve_inline(
        self,
        tenant: str,
        stored: tuple[dict[str, Any], str, int],
        idempotency_key: str | None,
        workspace_revision: int | None,
    ) -> Submission | None:
        """Solve a small request here and store its job and plan in one transaction; None when it must take
        the queue instead (every inline slot busy, not proven within the budget, or the solve failed)."""
        assert self._inline is not None
        document, sha256, size = stored
        if self._inline_slots.locked() or self._stopping:
            return None
        if idempotency_key is not None:
            replay = await self._db(lambda repo: self._replay(repo, tenant, idempotency_key, sha256))
            if replay is not None:
                return replay
        limit = float(document["options"]["time_limit_s"])
        async with self._inline_slots:
            started = utcnow()
            deadline = time.monotonic() + min(self._inline.budget_s, limit)
            stop = partial(_past, deadline)
            solve = partial(solve_here, make_plan, json.dumps(document), should_stop=stop)
            outcome = await to_thread.run_sync(solve)
        if outcome.plan_json is None:
            log.error("job.inline_failed", tenant=tenant, detail=outcome.detail)
            return None
        plan: dict[str, Any] = json.loads(outcome.plan_json)
        if plan["status"] in CUT_SHORT:
            log.info("job.inline_unproven", tenant=tenant, status=plan["status"])
            return None
        job_id = new_id()

        def store(repo: JobRepository) -> Submission:
            repo.create(
                tenant=tenant,
                request_body=document,
                body_sha256=sha256,
                time_limit_s=limit,
                idempotency_key=idempotency_key,
                job_id=job_id,
                request_bytes=size,
                workspace_revision=workspace_revision,
                started_at=started,
            )
            return Submission(job_id, replayed=False, plan=record_solved_here(repo, job_id, plan))

        submission = await self._keyed(store, tenant, idempotency_key, sha256)
        if submission.replayed:
            return submission
        self._metrics.jobs_finished.labels(str(plan["status"])).inc()
        log.info("job.finished", job_id=job_id, tenant=tenant, status=plan["status"], inline=True)
        return submission

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
        `warm_start_from_first`, the other jobs start once the first has ended (whichever process or worker
        ends it releases them), each with the first one's plan as its `options.warm_start` (stored in its
        request), and then run in parallel.
        """
        documents = await to_thread.run_sync(lambda: [request_document(r) for r in requests])
        job_ids = [new_id() for _ in requests]
        after = job_ids[0] if warm_start_from_first else None

        def create(repo: JobRepository) -> T:
            repo.lock_tenant(tenant)
            self._check_cap(repo, tenant)
            for i, (job_id, request, (document, sha256, size)) in enumerate(
                zip(job_ids, requests, documents, strict=True)
            ):
                repo.create(
                    tenant=tenant,
                    request_body=document,
                    body_sha256=sha256,
                    time_limit_s=request.options.time_limit_s,
                    job_id=job_id,
                    after_job_id=after if i > 0 else None,
                    request_bytes=size,
                )
            return record(repo.session, job_ids)

        async with self._tenant_lock(tenant):
            recorded = await self._db(create)
        log.info("jobs.queued", job_ids=job_ids, tenant=tenant, after=after)
        startable = job_ids[:1] if after is not None else job_ids
        sizes = {job_id: size for job_id, (_, _, size) in zip(job_ids, documents, strict=True)}
        limits = {job_id: r.options.time_limit_s for job_id, r in zip(job_ids, requests, strict=True)}
        await self._executor.dispatch([QueuedJob(job_id, limits[job_id], sizes[job_id]) for job_id in startable])
        return job_ids, recorded

    @contextlib.asynccontextmanager
    async def transient_group(self, tenant: str) -> AsyncIterator[TransientGroup]:
        """Admit a group of unstored solves (a recommendation) as one solve against the tenant's cap."""
        group = TransientGroup(self, tenant, new_id())

        def admit(repo: JobRepository) -> None:
            repo.lock_tenant(tenant)
            self._check_cap(repo, tenant)

        async with self._tenant_lock(tenant):
            await self._db(admit)
            self._groups.setdefault(tenant, set()).add(group.id)
        try:
            yield group
        finally:
            self._groups[tenant].discard(group.id)
            if not self._groups[tenant]:
                del self._groups[tenant]

    async def solve_now(self, request_json: str, time_limit_s: float, group: TransientGroup) -> SolveOutcome:
        """Solve a request for the service's own use (nothing a client lists): request JSON in, outcome out.

        The local pool solves it as it is, sharing the queue fairly with the jobs. Otherwise it is stored as
        a hidden job of `group`, so that any worker can solve it, and forgotten once answered. If the caller
        stops waiting, the solve is stopped too.
        """
        if self._executor.solves_unstored:
            return await self._executor.solve_unstored(request_json, time_limit_s)
        if self._stopping:
            return SolveOutcome(None, "the server is stopping", 0.0)
        document, sha256, size = await to_thread.run_sync(lambda: canonical_document(json.loads(request_json)))
        job_id = new_id()
        await self._db(
            lambda repo: repo.create(
                tenant=group.tenant,
                request_body=document,
                body_sha256=sha256,
                time_limit_s=time_limit_s,
                job_id=job_id,
                request_bytes=size,
                hidden=True,
                group_id=group.id,
            )
        )
        started = time.monotonic()
        answered = False
        ended_here = self._finished.setdefault(job_id, asyncio.Event())  # set when this process hears of its end
        try:
            await self._executor.dispatch([QueuedJob(job_id, time_limit_s, size)])
            while True:
                ended = await self._db(lambda repo: _hidden_outcome(repo, job_id))
                if ended is not None:
                    plan, detail = ended
                    answered = True
                    return SolveOutcome(
                        json.dumps(plan) if plan is not None else None, detail, time.monotonic() - started
                    )
                if self._stopping:
                    return SolveOutcome(None, "the server is stopping", time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended_here.wait(), timeout=self._executor.wait_poll_s)
        finally:
            if self._finished.get(job_id) is ended_here:
                del self._finished[job_id]

            # Answered: forget it. Abandoned: stop it; the sweep forgets it once it has ended.
            def forget(repo: JobRepository) -> None:
                if answered:
                    repo.delete_hidden([job_id])
                else:
                    repo.cancel(group.tenant, job_id)

            with contextlib.suppress(Exception):
                await asyncio.shield(self._db(forget))

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
                # The event is the fast path; the periodic re-read covers jobs ended by another process.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, self._executor.wait_poll_s))
        finally:
            if self._finished.get(job_id) is event and event.is_set():
                del self._finished[job_id]

    async def cancel(self, tenant: str, job_id: str) -> CancelResult:
        def mark(repo: JobRepository) -> tuple[str, int, list[QueuedJob]] | None:
            marked = repo.cancel(tenant, job_id)
            if marked is None:
                return None
            job, before = marked
            return before, job.attempts, (repo.successors(job_id) if before == "queued" else [])

        found = await self._db(mark)
        if found is None:
            return "not_found"
        before, attempt, released = found
        if before == "queued":
            self._executor.withdraw(job_id)
            self._metrics.jobs_finished.labels("cancelled").inc()
            log.info("job.cancelled", job_id=job_id, tenant=tenant, was="queued")
            self._notify(job_id)
            await self._executor.dispatch(released)
            return "cancelled"
        if before == "running":
            self._executor.interrupt(job_id)
            log.info("job.cancel_requested", job_id=job_id, attempt=attempt, tenant=tenant)
            return "cancelling"
        return "finished"

    # ------------------------------------------------------------------ helpers

    def _tenant_lock(self, tenant: str) -> asyncio.Lock:
        # In this process one admission per tenant at a time; across processes the database lock decides.
        return self._tenant_locks.setdefault(tenant, asyncio.Lock())

    def _check_cap(self, repo: JobRepository, tenant: str) -> None:
        """Raise TooManyActiveJobs when the tenant already has its cap of solves queued or running: jobs,
        plus recommendations (each counts once, whether its hidden jobs exist yet or not)."""
        groups = repo.active_groups(tenant) | self._groups.get(tenant, set())
        if repo.active_count(tenant) + len(groups) >= self._tenant_max_active_jobs:
            # Only a refusal needs the jobs themselves (the Retry-After): a count admits, without loading them.
            raise TooManyActiveJobs(self._tenant_max_active_jobs, _retry_after(repo.active(tenant)))

    def _notify(self, job_id: str) -> None:
        event = self._finished.pop(job_id, None)
        if event is not None:
            event.set()

    async def _db(self, work: Callable[[JobRepository], T]) -> T:
        """Run `work` in one transaction on a worker thread, off the event loop."""

        def run() -> T:
            with self._sessions.begin() as session:
                return work(JobRepository(session))

        return await to_thread.run_sync(run)

    async def _keyed(
        self, insert: Callable[[JobRepository], Submission], tenant: str, key: str | None, sha256: str
    ) -> Submission:
        """Run `insert`; when another request (in any process) stored the same Idempotency-Key between our
        lookup and our insert, answer with that request's job."""
        try:
            return await self._db(insert)
        except IntegrityError:
            if key is None:
                raise
            replay = await self._db(lambda repo: self._replay(repo, tenant, key, sha256))
            if replay is None:
                raise
            return replay

    @staticmethod
    def _replay(repo: JobRepository, tenant: str, key: str, sha256: str) -> Submission | None:
        known = repo.idempotency_key(tenant, key)
        if known is None:
            return None
        if known.body_sha256 != sha256:
            raise IdempotencyConflict(key)
        return Submission(known.job_id, replayed=True)


def _past(deadline: float) -> bool:
    return time.monotonic() > deadline


def _hidden_outcome(repo: JobRepository, job_id: str) -> tuple[dict[str, Any] | None, str | None] | None:
    """A hidden job's plan and detail once it has ended, else None."""
    job = repo.get_any(job_id, with_plan=True)
    if job is None:
        return None, "the solve was lost"
    if job.status not in TERMINAL:
        return None
    return (job.plan.body if job.plan is not None else None), job.detail


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
