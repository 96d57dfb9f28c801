"""The Celery application of the distributed mode: its broker, its two queues, and the settings Celery's
documentation gives for tasks that must survive a worker's death.

- `task_acks_late` with `task_reject_on_worker_lost`: a task is acknowledged when it has run, not when it
  is received, and a worker process that dies mid-task sends it back to the queue; a worker whose broker
  connection drops (a dead host) has its unacknowledged task redelivered to another.
- `worker_prefetch_multiplier = 1`: a worker reserves one task per free process, so a long solve never
  holds others hostage behind it.
- a hard `time_limit` per task, from the watchdog rule (max(1.5 x time_limit_s, time_limit_s + 1 s)), plus
  a moment to store the watchdog's verdict; the worker's own watchdog ends the solve first (worker.py).
- broker heartbeats (10 s), so that a silent network partition is noticed like a closed connection.
- publisher confirms: a publish returns once RabbitMQ has the message.

Tasks carry the job id only; the database holds the request, and the claim counts the attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Celery

from service.db.engine import sqlalchemy_url
from service.db.repositories import QueuedJob
from service.jobs.pool import Limits
from service.settings import Settings

TASK_NAME = "presales_allocator.solve_job"
BROKER_HEARTBEAT_S = 10
# Beyond the watchdog, how long Celery leaves the worker to store the watchdog's verdict before it kills it.
RECORD_MARGIN_S = 5.0
LANES = ("solve", "express")


class DistributedSetupError(SystemExit):
    """The distributed mode is asked for with settings it cannot work with."""


def check_distributed(settings: Settings) -> None:
    """Refuse, with a sentence saying why, a BROKER_URL without a PostgreSQL DATABASE_URL."""
    if not settings.broker_url:
        raise DistributedSetupError("BROKER_URL is not set: a worker needs the broker to take jobs from")
    backend = sqlalchemy_url(settings.database_url).get_backend_name()
    if backend != "postgresql":
        raise DistributedSetupError(
            f"BROKER_URL is set, so solves run on Celery workers that may be on other hosts and share every job "
            f"through the database; that needs a PostgreSQL DATABASE_URL (postgresql://user@host:5432/db), "
            f"not {backend} ({settings.database_url}). Unset BROKER_URL to solve in this process on SQLite."
        )


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.watchdog_factor, settings.watchdog_min_grace_s, settings.cancel_grace_s)


def queue_name(settings: Settings, lane: str) -> str:
    """`solve` or `express` as the queue's full name (with the deployment's prefix)."""
    if lane not in LANES:
        raise ValueError(f"unknown queue {lane!r}: the queues are {', '.join(LANES)}")
    return f"{settings.queue_prefix}.{lane}"


def lane_of(settings: Settings, job: QueuedJob) -> str:
    """Small requests take the express lane, so that a CRM's small synchronous solves never queue behind
    large jobs when some workers serve only that queue."""
    small = job.request_bytes is not None and job.request_bytes <= settings.express_max_bytes
    return "express" if small else "solve"


def hard_time_limit_s(limits: Limits, time_limit_s: float) -> float:
    return limits.watchdog_s(time_limit_s) + RECORD_MARGIN_S


def make_celery(settings: Settings) -> Celery:
    check_distributed(settings)
    app = Celery("presales_allocator", broker=settings.broker_url, set_as_current=False)
    solve, express = (queue_name(settings, lane) for lane in LANES)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_heartbeat=BROKER_HEARTBEAT_S,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"confirm_publish": True},
        # A broker hiccup does not end the solves under way: their late results are fenced anyway.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=solve,
        # Each lane a durable queue on a direct exchange of its own name.
        task_queues={
            name: {"exchange": name, "exchange_type": "direct", "routing_key": name} for name in (solve, express)
        },
        task_create_missing_queues=False,
        # Remote control (the ping of /readyz) on an exchange of this deployment's own: workers of another
        # deployment on the same broker do not answer for ours.
        control_exchange=settings.queue_prefix,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def publish(app: Celery, settings: Settings, jobs: Sequence[QueuedJob]) -> None:
    """Hand these jobs to the broker, each on its lane's queue with its hard time limit; raises if the broker
    does not take one (the caller then leaves them unpublished, for the sweep)."""
    limits = limits_of(settings)
    with app.producer_or_acquire() as producer:
        for job in jobs:
            app.send_task(
                TASK_NAME,
                args=[job.id],
                queue=queue_name(settings, lane_of(settings, job)),
                time_limit=hard_time_limit_s(limits, job.time_limit_s),
                producer=producer,
            )
