"""One attempt at a job, the same wherever it runs (the local solver pool or a Celery worker on any host):
claim it, build the request it solves, solve (storing the plan so far while it runs), store the outcome
behind the attempt's fence, and name the jobs its end releases.

The claim counts the attempt in the database and gives it a lease. Storing the plan (or the failure) is one
`UPDATE jobs ... WHERE id = :id AND attempts = :attempt AND status = 'running'` in the transaction that
writes the plan: when it touches no row, a newer attempt took the job over (this one's lease ran out) or
the job ended meanwhile, and the late result is dropped and logged. So a job has exactly one result
however many times its task is delivered.

A solve that ends while the database is out of reach (a blip, a partition) keeps trying to store its outcome
for STORE_PATIENCE_S: back in time, the plan is stored (or fenced out, if another attempt took the job over
meanwhile) instead of being solved again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import webhooks
from service.contract import AllocationRequest, Plan
from service.db.repositories import CUT_SHORT, ClaimedJob, ClaimKind, JobRepository, QueuedJob
from service.jobs.pool import SolveJob, SolveOutcome
from service.whatif import warm_started

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long an attempt keeps trying to store its outcome while the database is out of reach; the first retry
# comes after STORE_FIRST_RETRY_S, each later one after twice as long, at most STORE_MAX_RETRY_S.
STORE_PATIENCE_S = 30.0
STORE_FIRST_RETRY_S = 0.2
STORE_MAX_RETRY_S = 5.0

# The solve of one attempt: the job (its request JSON, time limit, attempt) in, its outcome out.
Solve = Callable[[SolveJob], SolveOutcome]


def request_document(request: AllocationRequest) -> tuple[dict[str, Any], str, int]:
    """The request as stored (defaults filled in), the SHA-256 of its canonical JSON and its size in bytes.

    Idempotency compares the canonical form, so key order, whitespace and spelled-out defaults do not
    make two requests with the same meaning differ.
    """
    document = request.model_dump(mode="json")
    return canonical_document(document)


def canonical_document(document: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    encoded = canonical.encode()
    return document, hashlib.sha256(encoded).hexdigest(), len(encoded)


def warm_started_document(body: dict[str, Any], plan: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """A stored request with a stored plan as its `options.warm_start`, as request_document() gives it."""
    request = AllocationRequest.model_validate(body)
    return request_document(warm_started(request, Plan.model_validate(plan)))


@dataclass(frozen=True)
class AttemptResult:
    """What came of delivering a job to a solver once."""

    job_id: str
    claim: ClaimKind
    attempt: int = 0
    # The plan's status, failed / cancelled, `requeued` (a shutdown interrupted it) or `refused` (fenced out).
    status: str | None = None
    detail: str | None = None
    elapsed_s: float = 0.0
    lease_left_s: float = 0.0  # claim `held`: how long the attempt holding the job keeps it at least
    released: Sequence[QueuedJob] = field(default_factory=list)  # jobs that waited for this one to end

    @property
    def ended(self) -> bool:
        """Whether the job reached a final state in this attempt (or in its claim)."""
        return self.claim == "closed" or (self.claim == "claimed" and self.status not in ("requeued", "refused"))


def in_transaction(sessions: sessionmaker[Session], work: Callable[[JobRepository], T]) -> T:
    with sessions.begin() as session:
        return work(JobRepository(session))


def patiently(
    sessions: sessionmaker[Session], work: Callable[[JobRepository], T], patience_s: float = STORE_PATIENCE_S
) -> T:
    """in_transaction(), tried again while the database cannot be reached (connection refused or lost, a
    locked SQLite file), for up to `patience_s`; then the last error is raised."""
    deadline = time.monotonic() + patience_s
    delay = STORE_FIRST_RETRY_S
    while True:
        try:
            return in_transaction(sessions, work)
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("job.store_retry", error=f"{type(error).__name__}: {error}".splitlines()[0], retry_in_s=delay)
            time.sleep(delay)
            delay = min(2 * delay, STORE_MAX_RETRY_S)


def run_attempt(
    sessions: sessionmaker[Session],
    job_id: str,
    solve: Solve,
    *,
    lease_s: float | None = None,
    max_attempts: int | None = None,
    interrupted: Callable[[], bool] = lambda: False,
    context: dict[str, Any] | None = None,
) -> AttemptResult:
    """Claim `job_id`, solve it with `solve`, store the outcome (fenced) and return what came of it.

    With `lease_s` the claim holds the job that long (the solver renews it) and takes over a job whose
    lease ran out, up to `max_attempts` attempts; without, it only claims a queued job.

    `interrupted()` is asked once the solve has returned: true when the process is stopping, so that a
    solve cut short by the stop is queued again (its attempt not counted) instead of stored.
    """
    with structlog.contextvars.bound_contextvars(job_id=job_id, **(context or {})):
        claim = in_transaction(sessions, lambda repo: repo.claim(job_id, lease_s=lease_s, max_attempts=max_attempts))
        if claim.kind == "closed":
            released = in_transaction(sessions, lambda repo: repo.successors(job_id))
            log.warning("job.closed_on_claim", status=claim.status)
            return AttemptResult(job_id, "closed", status=claim.status, released=released)
        if claim.kind != "claimed":
            log.info("job.not_claimed", claim=claim.kind, lease_left_s=round(claim.lease_left_s, 3))
            return AttemptResult(job_id, claim.kind, lease_left_s=claim.lease_left_s)
        assert claim.job is not None
        claimed = claim.job
        with structlog.contextvars.bound_contextvars(attempt=claimed.attempts):
            log.info("job.started", tenant=claimed.tenant, time_limit_s=claimed.time_limit_s)
            # A hidden job's caller waits for its end only: its plan so far would be written for nobody.
            progress = None if claimed.hidden else ProgressWriter(sessions, job_id, claimed.attempts)
            try:
                request_json = solve_input(sessions, claimed)
                job = SolveJob(
                    job_id,
                    request_json,
                    claimed.time_limit_s,
                    claimed.attempts,
                    claimed.cancel_requested,
                    progress.offer if progress is not None else None,
                )
                outcome = solve(job)
            except Exception as error:  # the attempt must end with a stored reason, not a job left running
                log.exception("job.attempt_failed")
                outcome = SolveOutcome(None, f"the solve could not run: {type(error).__name__}: {error}", 0.0)
            finally:
                if progress is not None:
                    progress.close()
            return record(sessions, job_id, claimed.attempts, outcome, interrupted=interrupted())


class ProgressWriter:
    """Stores an attempt's plan so far off the solver's thread: only the latest document offered is written,
    fenced by the attempt like the result (a stale attempt's progress is refused, and its writer stops)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: str, attempt: int) -> None:
        self._sessions = sessions
        self._job_id = job_id
        self._attempt = attempt
        self._state = threading.Condition()
        self._latest: str | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self.written = 0

    def offer(self, document: str) -> None:
        """The plan so far (service/progress.py's JSON document); replaces one not yet written."""
        with self._state:
            if self._closed:
                return
            self._latest = document
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_loop, daemon=True, name=f"progress-{self._job_id}")
                self._thread.start()
            self._state.notify()

    def close(self, timeout_s: float = 10.0) -> None:
        """Write nothing more (the result is about to be stored); waits for a write under way."""
        with self._state:
            self._closed = True
            self._state.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _write_loop(self) -> None:
        with structlog.contextvars.bound_contextvars(job_id=self._job_id, attempt=self._attempt):
            while True:
                with self._state:
                    while self._latest is None and not self._closed:
                        self._state.wait()
                    if self._closed:
                        return
                    document, self._latest = self._latest, None
                assert document is not None
                try:
                    stored = self._store(document)
                except Exception as error:  # progress is a courtesy: the solve goes on without it
                    log.warning("job.progress_not_stored", error=f"{type(error).__name__}: {error}")
                    continue
                if not stored:
                    log.info("job.progress_refused")  # a newer attempt holds the job, or it has ended
                    return
                self.written += 1

    def _store(self, document: str) -> bool:
        return in_transaction(self._sessions, lambda repo: repo.save_progress(self._job_id, self._attempt, document))


def solve_input(sessions: sessionmaker[Session], claimed: ClaimedJob) -> str:
    """The request JSON the attempt solves: a job that waited for another (a scenario's variant) starts from
    that job's plan as `options.warm_start`, and the request is stored as solved."""
    body = claimed.request_body
    after = claimed.after_job_id
    if after is not None:
        plan = in_transaction(sessions, lambda repo: repo.plan_body(after))
        if plan is not None:
            body, sha256, _ = warm_started_document(body, plan)
            in_transaction(sessions, lambda repo: repo.replace_request(claimed.id, body, sha256))
    return json.dumps(body)


def announce_plan(repo: JobRepository, job_id: str) -> dict[str, Any] | None:
    """`plan.completed` to the tenant's webhooks, in the transaction that stores the plan: the event exists
    exactly when the plan does. It is made from the plan as stored (with its id, and the workspace revision
    of a proposal), which it returns. A hidden job's plan (a recommendation's own solve) is no plan of the
    tenant's."""
    job = repo.get_any(job_id)
    stored = repo.plan_body(job_id)
    if job is not None and not job.hidden and stored is not None:
        webhooks.plan_completed(repo.session, job.tenant, stored)
    return stored


def record_solved_here(repo: JobRepository, job_id: str, plan: dict[str, Any]) -> dict[str, Any] | None:
    """The plan of an inline solve (service/jobs/runner.py, InlineSolves), stored as any attempt's in the
    transaction that created its job running its first attempt, announced to the tenant's webhooks; the
    plan as stored."""
    if repo.finish(job_id, 1, plan) is None:
        return None
    return announce_plan(repo, job_id)


def record(
    sessions: sessionmaker[Session], job_id: str, attempt: int, outcome: SolveOutcome, *, interrupted: bool = False
) -> AttemptResult:
    """Store attempt `attempt`'s outcome, if that attempt still holds the job; name the jobs its end releases."""
    plan: dict[str, Any] | None = json.loads(outcome.plan_json) if outcome.plan_json is not None else None

    def store(repo: JobRepository) -> tuple[str, list[QueuedJob]]:
        if interrupted and (plan is None or plan["status"] in CUT_SHORT):
            job = repo.get_any(job_id)
            if job is not None and not job.cancel_requested:
                return ("requeued" if repo.requeue(job_id, attempt, uncount_attempt=True) else "refused"), []
        if plan is not None:
            stored = repo.finish(job_id, attempt, plan)
            status = None if stored is None else str(plan["status"])
            if status is not None:
                announce_plan(repo, job_id)
        else:
            assert outcome.detail is not None
            status = repo.fail(job_id, attempt, outcome.detail)
        if status is None:
            return "refused", []
        return status, repo.successors(job_id)

    with structlog.contextvars.bound_contextvars(job_id=job_id, attempt=attempt):
        status, released = patiently(sessions, store)
        elapsed = round(outcome.elapsed_s, 3)
        if status == "requeued":
            log.info("job.requeued_for_restart")
        elif status == "refused":
            # A newer attempt took the job over, or it ended (cancelled, watchdog) while this one solved.
            log.warning(
                "job.result_refused",
                job_id=job_id,
                attempt=attempt,
                outcome="plan" if plan is not None else "failure",
                elapsed_s=elapsed,
            )
        else:
            log.info("job.finished", status=status, elapsed_s=elapsed, detail=None if plan else outcome.detail)
    return AttemptResult(job_id, "claimed", attempt, status, outcome.detail, outcome.elapsed_s, released=released)
