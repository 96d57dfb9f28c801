"""The seam between the job lifecycle (service/jobs/runner.py) and what runs the attempts
(service/jobs/attempt.py): the local solver pool of this process, or Celery workers on any number of hosts.

The runner owns every state change a client asks for (submit, cancel) and reads; an executor only hears of
jobs once they are committed as queued, runs their attempts, and says when one ended here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from service.db.repositories import QueuedJob
from service.jobs.pool import SolveOutcome
from service.observability import Metrics


@dataclass(frozen=True)
class RunnerHooks:
    """What the runner lends its executor."""

    sessions: sessionmaker[Session]
    metrics: Metrics
    lease_s: float  # how long a claim holds a job without renewal
    max_attempts: int  # a job whose solver was lost this many times ends failed
    finished: Callable[[str], None]  # a job ended in this process: wake whoever waits for it


@dataclass(frozen=True)
class SolverCapacity:
    """Solver processes of this process (the local pool), for /readyz."""

    size: int
    ready: int


class JobExecutor(Protocol):
    """Runs the attempts of queued jobs somewhere."""

    # True: this process alone runs the database's jobs, so at start-up it takes over every job left queued
    # or running. False: jobs in flight belong to the broker and the leases of the workers that run them.
    owns_active_jobs: bool
    # How often a waiter re-reads a job it was not told about (one that ends in another process).
    wait_poll_s: float
    # True: solves that nobody stores (a recommendation's) run here as they are; False: the runner stores
    # them as hidden jobs so that any worker can run them.
    solves_unstored: bool

    async def start(self, hooks: RunnerHooks) -> None: ...

    async def stop(self) -> None: ...

    async def dispatch(self, jobs: Sequence[QueuedJob]) -> None:
        """Hand over committed queued jobs; a job handed over twice still runs once (the claim is fenced)."""

    def withdraw(self, job_id: str) -> None:
        """A queued job was cancelled: skip it if it is still waiting here."""

    def interrupt(self, job_id: str) -> None:
        """A running job was asked to stop (its solver keeps its best plan)."""

    async def solve_unstored(self, request_json: str, time_limit_s: float) -> SolveOutcome:
        """Solve a request without storing anything (only when `solves_unstored`)."""

    @property
    def solvers(self) -> SolverCapacity | None:
        """This process's solver processes, or None when solvers run elsewhere (workers)."""

    @property
    def solves_started(self) -> int:
        """Solves this process started (tests and logs)."""


__all__ = ["JobExecutor", "RunnerHooks", "SolveOutcome", "SolverCapacity"]
