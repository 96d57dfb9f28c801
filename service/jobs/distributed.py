"""The Celery executor of an API process: jobs are published to RabbitMQ and solved by workers on any host
(service/jobs/worker.py); this process never solves and never takes over another's jobs.

A job is committed as queued, then published, then marked published. A process that dies in between
leaves a queued row nobody published: every API process sweeps such rows every SWEEP_INTERVAL_S and
publishes them (rows are locked with SKIP LOCKED, so two sweeps do not both take a row; a duplicate would
be harmless anyway, the claim being fenced). The same sweep republishes running jobs whose lease ran out
long ago and were not redelivered, and forgets hidden jobs nobody waits for any more.

Workers end the jobs; a request waiting for one here hears of it through PostgreSQL's LISTEN/NOTIFY
(service/jobs/listener.py) and re-reads the job every `wait_poll_s` in case a notice was lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import structlog
from anyio import to_thread
from celery import Celery

from service.db.base import utcnow
from service.db.engine import make_engine
from service.db.repositories import JobRepository, QueuedJob
from service.jobs.celery_app import make_celery, publish
from service.jobs.executor import RunnerHooks, SolverCapacity
from service.jobs.listener import EndListener
from service.jobs.pool import SolveOutcome
from service.settings import Settings

log = structlog.get_logger(__name__)

# A running job whose lease ran out is republished at most this often (the broker normally redelivers it).
REPUBLISH_S = 60.0
# Hidden jobs (a recommendation's solves) that ended this long ago are deleted: their caller gave up.
HIDDEN_KEPT_S = 600.0


class CeleryExecutor:
    owns_active_jobs = False
    wait_poll_s = 1.0  # workers end the jobs: a waiter hears of it (EndListener) or re-reads the job this often
    solves_unstored = False
    solvers: SolverCapacity | None = None
    solves_started = 0

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self._settings = settings
        self._app = app or make_celery(settings)
        self._hooks: RunnerHooks | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._listener: EndListener | None = None

    @property
    def app(self) -> Celery:
        return self._app

    async def start(self, hooks: RunnerHooks) -> None:
        self._hooks = hooks
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="publish-sweep")
        self._listener = EndListener(make_engine(self._settings), hooks.finished)
        self._listener.start()

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        if self._listener is not None:
            await to_thread.run_sync(self._listener.stop)
        await to_thread.run_sync(self._app.close)

    async def dispatch(self, jobs: Sequence[QueuedJob]) -> None:
        if jobs:
            await to_thread.run_sync(self._publish, list(jobs))

    def withdraw(self, job_id: str) -> None:
        """Nothing to do: a delivered task finds the job cancelled at its claim and drops it."""

    def interrupt(self, job_id: str) -> None:
        """Nothing to do: the worker solving it reads cancel_requested with every lease renewal."""

    async def solve_unstored(self, request_json: str, time_limit_s: float) -> SolveOutcome:
        raise NotImplementedError("Celery workers solve stored jobs only; the runner stores this one hidden")

    def sweep(self) -> list[str]:
        """Publish what was committed but never handed to the broker; the ids published."""
        hooks = self._hooks
        assert hooks is not None
        now = utcnow()
        grace = dt.timedelta(seconds=self._settings.sweep_interval_s)
        with hooks.sessions.begin() as session:
            repo = JobRepository(session)
            lost = repo.unpublished(older_than=now - grace)
            stale = repo.abandoned(
                stale_before=now - dt.timedelta(seconds=hooks.lease_s),
                published_before=now - dt.timedelta(seconds=REPUBLISH_S),
            )
            jobs = lost + stale
            if jobs:
                publish(self._app, self._settings, jobs)
                repo.mark_published([job.id for job in jobs], now)
                log.warning(
                    "jobs.published_by_sweep",
                    unpublished=[job.id for job in lost],
                    lease_expired=[job.id for job in stale],
                )
            forgotten = repo.delete_hidden(repo.ended_hidden(now - dt.timedelta(seconds=HIDDEN_KEPT_S)))
            if forgotten:
                log.info("jobs.hidden_forgotten", count=forgotten)
        return [job.id for job in jobs]

    def _publish(self, jobs: list[QueuedJob]) -> None:
        hooks = self._hooks
        assert hooks is not None
        try:
            publish(self._app, self._settings, jobs)
        except Exception as error:
            # The jobs are committed: the sweep publishes them once the broker takes messages again.
            log.error("jobs.publish_failed", job_ids=[job.id for job in jobs], error=f"{type(error).__name__}: {error}")
            return
        with hooks.sessions.begin() as session:
            JobRepository(session).mark_published([job.id for job in jobs])

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sweep_interval_s)
            try:
                await to_thread.run_sync(self.sweep)
            except Exception as error:
                log.error("jobs.sweep_failed", error=f"{type(error).__name__}: {error}")
