"""`presales-allocator worker`: a Celery worker that solves jobs, on any host that reaches the broker and the
database; start as many as the solves need.

Each task is one attempt (service/jobs/attempt.py) run in a prefork child: claim, `make_plan` in the
child itself, fenced store, then publish the jobs its end released (a scenario's variants). While the
solve runs, a heartbeat thread every JOB_HEARTBEAT_S (0.5 s):

- renews the attempt's lease, reading `cancel_requested` in the same statement: a cancel made through any
  API process turns into `should_stop` within a heartbeat, and the planner returns its best plan;
- stops the solve when the attempt no longer holds the job (another worker took it over): its result
  would be refused anyway;
- is the watchdog: a solve still busy at max(1.5 x time_limit_s, time_limit_s + 1 s), or
  max(CANCEL_GRACE_S, time_limit_s / 2) after a cancel, is ended: the failure is stored (fenced) and the
  child exits, which Celery replaces (the task's hard time limit is the backstop behind it);
- ends the child at once when the worker's main process is gone (killed): the broker redelivers the task
  to another worker, which takes the job over once this attempt's lease has run out.

A task delivered for a job that another live attempt holds (fresh lease) does not start a second solve:
a redelivered one retries once that lease would have run out (so it takes over from a dead worker), any
other copy is dropped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from celery import Celery, Task, signals
from sqlalchemy.orm import Session, sessionmaker

from service.db.engine import make_engine, make_sessions
from service.db.migrate import upgrade
from service.db.repositories import JobRepository, QueuedJob
from service.jobs.attempt import record, run_attempt
from service.jobs.celery_app import LANES, TASK_NAME, check_distributed, limits_of, make_celery, publish, queue_name
from service.jobs.pool import Limits, SolveJob, SolveOutcome, load_target, solve_here
from service.observability import configure_logging
from service.settings import Settings, get_settings

log = structlog.get_logger(__name__)

# Exit status of a worker child that its own watchdog ended (Celery replaces the child).
WATCHDOG_EXIT = 70


@dataclass
class _Process:
    """What one worker child process holds: made in the child, after the fork, never shared."""

    settings: Settings
    sessions: sessionmaker[Session]
    limits: Limits
    pid: int
    parent_pid: int
    node: str


_process: _Process | None = None
_process_lock = threading.Lock()


def _state() -> _Process:
    global _process
    with _process_lock:
        if _process is None or _process.pid != os.getpid():
            settings = get_settings()
            sessions = make_sessions(make_engine(settings))
            node = f"{socket.gethostname()}:{os.getpid()}"
            _process = _Process(settings, sessions, limits_of(settings), os.getpid(), os.getppid(), node)
        return _process


def register(app: Celery) -> Task:
    """Add the solve task to `app` (on the worker's side; API processes publish by name)."""

    def solve_job(task: Task, job_id: str) -> str:
        # Every line the task logs names its job (and, once claimed, its attempt: service/jobs/attempt.py).
        with structlog.contextvars.bound_contextvars(job_id=job_id, task_id=task.request.id):
            return _solve_job(task, job_id)

    options = {"name": TASK_NAME, "bind": True, "acks_late": True, "reject_on_worker_lost": True, "max_retries": None}
    task: Task = app.task(**options)(solve_job)
    return task


def _solve_job(task: Task, job_id: str) -> str:
    state = _state()
    settings = state.settings
    delivery = task.request.delivery_info or {}
    # Logged with the attempt: a redelivered task is the broker handing over a lost worker's job.
    redelivered = bool(delivery.get("redelivered"))
    try:
        result = run_attempt(
            state.sessions,
            job_id,
            lambda job: _solve_here(job, state, task.app),
            lease_s=settings.job_lease_s,
            max_attempts=settings.job_max_attempts,
            context={"worker": state.node, "redelivered": redelivered},
        )
    except Exception as error:
        # The database failed us (a solve's own errors are stored as the job's failure). Acknowledged as a
        # failure, the task would leave a published job nobody runs: try again later; a claim that did
        # happen holds the job until its lease runs out, then the retry takes it over.
        countdown = min(60.0, 2.0 ** min(task.request.retries, 6))
        log.error("job.attempt_error", job_id=job_id, error=f"{type(error).__name__}: {error}", retry_in_s=countdown)
        raise task.retry(countdown=countdown) from error
    if result.claim == "held":
        if redelivered or task.request.retries:
            # Perhaps the worker that holds the job is dead: look again once its lease would have run out.
            log.info("job.held_elsewhere", job_id=job_id, retry_in_s=round(result.lease_left_s + 0.5, 3))
            raise task.retry(countdown=result.lease_left_s + 0.5)
        return "held"
    _release(app=task.app, state=state, jobs=result.released)
    return str(result.status or result.claim)


def _release(*, app: Celery, state: _Process, jobs: Sequence[QueuedJob]) -> None:
    """Publish the jobs that waited for the one that just ended; if this fails, the API's sweep does it."""
    if not jobs:
        return
    try:
        publish(app, state.settings, jobs)
        with state.sessions.begin() as session:
            JobRepository(session).mark_published([job.id for job in jobs])
        log.info("jobs.released", job_ids=[job.id for job in jobs])
    except Exception as error:
        log.error("jobs.release_failed", job_ids=[job.id for job in jobs], error=f"{type(error).__name__}: {error}")


def _solve_here(job: SolveJob, state: _Process, app: Celery) -> SolveOutcome:
    """The planner (WORKER_PLANNER) in this process, watched by the heartbeat thread."""
    planner = load_target(state.settings.worker_planner)
    stop = threading.Event()
    if job.cancel_requested:
        stop.set()
    done = threading.Event()
    started = time.monotonic()
    heartbeat = threading.Thread(
        target=_heartbeat,
        args=(job, state, app, stop, done, started),
        name=f"heartbeat-{job.job_id}",
        daemon=True,
    )
    heartbeat.start()
    try:
        return solve_here(planner, job.request_json, should_stop=stop.is_set, on_progress=job.progress)
    finally:
        done.set()
        heartbeat.join(5.0)


def _heartbeat(
    job: SolveJob, state: _Process, app: Celery, stop: threading.Event, done: threading.Event, started: float
) -> None:
    settings, limits = state.settings, state.limits
    watchdog_at = started + limits.watchdog_s(job.time_limit_s)
    # As in the local pool (service/jobs/pool.py): an overrunning solve is told to stop before the watchdog.
    overrun_at = started + (job.time_limit_s + limits.watchdog_s(job.time_limit_s)) / 2
    cancel_deadline: float | None = None
    with structlog.contextvars.bound_contextvars(job_id=job.job_id, attempt=job.attempt, worker=state.node):
        while not done.wait(settings.job_heartbeat_s):
            if os.getppid() != state.parent_pid:
                # The worker's main process is gone, and with it this task's delivery: another worker gets it.
                os._exit(0)
            try:
                with state.sessions.begin() as session:
                    renewed = JobRepository(session).renew(job.job_id, job.attempt, settings.job_lease_s)
            except Exception as error:  # the database is out of reach: the lease may run out, the result be refused
                log.warning("job.lease_not_renewed", error=f"{type(error).__name__}: {error}")
                renewed = False
            if renewed is None and not stop.is_set():
                log.warning("job.attempt_superseded")
                stop.set()
            if renewed and not stop.is_set():
                log.info("job.cancel_seen")
                stop.set()
            now = time.monotonic()
            if now >= overrun_at and not stop.is_set():
                log.warning(
                    "solve.overran_time_limit", time_limit_s=job.time_limit_s, elapsed_s=round(now - started, 1)
                )
                stop.set()
            if stop.is_set() and cancel_deadline is None:
                cancel_deadline = now + limits.cancel_s(job.time_limit_s)
            if now >= watchdog_at or (cancel_deadline is not None and now >= cancel_deadline):
                elapsed = now - started
                if now >= watchdog_at:
                    detail = (
                        f"stopped by the watchdog after {elapsed:.1f} s: the solve overran its time limit of "
                        f"{job.time_limit_s:g} s by more than half"
                    )
                else:
                    detail = (
                        f"the solve did not stop within {limits.cancel_s(job.time_limit_s):g} s of the cancel "
                        "and was ended"
                    )
                if done.is_set():
                    return  # it answered meanwhile
                try:
                    ended = record(state.sessions, job.job_id, job.attempt, SolveOutcome(None, detail, elapsed))
                    _release(app=app, state=state, jobs=ended.released)
                except Exception as error:  # unstored: the lease runs out and another attempt comes (or not)
                    log.error("job.watchdog_not_stored", error=f"{type(error).__name__}: {error}")
                os._exit(WATCHDOG_EXIT)


# --------------------------------------------------------------------------- the worker process


def run(settings: Settings, *, concurrency: int, lanes: Sequence[str], loglevel: str = "INFO") -> None:
    """Start a Celery worker of `concurrency` processes on the given lanes' queues; runs until stopped."""
    check_distributed(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    queues = [queue_name(settings, lane) for lane in lanes]
    engine = make_engine(settings)
    try:
        upgrade(engine, settings.database_schema)
    finally:
        engine.dispose()
    app = make_celery(settings)
    register(app)
    # Import the planner (OR-Tools) once, before the pool forks, so every process starts warm.
    load_target(settings.worker_planner)

    node = f"presales-{os.getpid()}@{socket.gethostname()}"

    def keep_our_logging(**_: Any) -> None:
        """Connected, so Celery leaves the JSON logging configured above as it is."""

    def announce(**_: Any) -> None:
        log.info("worker.ready", node=node, pid=os.getpid(), queues=queues, concurrency=concurrency)

    signals.setup_logging.connect(keep_our_logging, weak=False)
    signals.worker_ready.connect(announce, weak=False)

    app.worker_main(
        [
            "--quiet",  # no banner: stdout carries JSON lines only
            "worker",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            f"--queues={','.join(queues)}",
            f"--hostname={node}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


__all__ = ["LANES", "WATCHDOG_EXIT", "register", "run"]
