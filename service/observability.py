"""Structured JSON logs (structlog over stdlib logging) and the Prometheus metrics of the service."""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _drop_color_message(_logger: object, _name: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    return event


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """Route structlog and stdlib (uvicorn, alembic) records to stdout, one JSON object per line."""
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED_PROCESSORS, structlog.stdlib.ExtraAdder(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # requests are logged by the app, with their ids
    # httpx logs every request it makes (webhook deliveries) at info; the dispatcher logs each attempt itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


# Buckets of a solve: time limits go from a fraction of a second to minutes.
_SOLVE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)


class Metrics:
    """The service's Prometheus collectors, on a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.solve_duration = Histogram(
            "solve_duration_seconds",
            "Time a solver process spent on a job, by outcome (plan status, failed or cancelled)",
            ["status"],
            buckets=_SOLVE_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge("solve_queue_depth", "Jobs waiting for a free solver process", registry=self.registry)
        self.jobs_in_flight = Gauge("solve_jobs_in_flight", "Jobs being solved right now", registry=self.registry)
        self.jobs_finished = Counter(
            "solve_jobs_finished", "Jobs that reached a final state, by outcome", ["status"], registry=self.registry
        )
        self.solver_restarts = Counter(
            "solver_process_restarts", "Solver processes replaced after a kill or a crash", registry=self.registry
        )
        # With Celery (BROKER_URL): the broker and the workers as the API process last saw them.
        self.broker_reachable = Gauge(
            "broker_reachable", "1 when the broker answered the last look, else 0", registry=self.registry
        )
        self.broker_queue_messages = Gauge(
            "broker_queue_messages", "Jobs waiting on a broker queue for a worker", ["queue"], registry=self.registry
        )
        self.broker_queue_consumers = Gauge(
            "broker_queue_consumers",
            "Worker consumers taking jobs from a broker queue",
            ["queue"],
            registry=self.registry,
        )
        self.workers_alive = Gauge(
            "workers_alive", "Celery workers that answered the last ping", registry=self.registry
        )
