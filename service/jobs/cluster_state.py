"""What an API process can tell of the Celery side, for /readyz and /metrics: whether the broker answers,
how many messages wait on each queue and how many consumers take them, and which workers answer a ping.

Every answer is cached for `ttl_s` (a few seconds) and computed by one caller at a time, so that probes
polled by a load balancer and scraped by Prometheus stay cheap for the broker: one connection, a passive
`queue.declare` per queue (which reads a queue's counts without creating it) and one broadcast ping with
a short timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import structlog
from amqp.exceptions import NotFound
from celery import Celery
from kombu.connection import Connection

from service.jobs.celery_app import LANES, queue_name
from service.settings import Settings

log = structlog.get_logger(__name__)

PING_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class QueueState:
    messages: int  # ready, not yet delivered to a worker
    consumers: int  # worker processes' consumers on it


@dataclass(frozen=True)
class ClusterState:
    """The broker and the workers as last seen; `broker_error` says why the broker could not be asked."""

    checked_at: float  # time.monotonic()
    broker_error: str | None = None
    queues: dict[str, QueueState] = field(default_factory=dict)
    workers: tuple[str, ...] = ()  # the node names that answered the ping

    @property
    def broker_reachable(self) -> bool:
        return self.broker_error is None


class ClusterProbe:
    """Looks at the broker and the workers at most once per `ttl_s`."""

    def __init__(self, settings: Settings, app: Celery, *, ttl_s: float = 5.0) -> None:
        self._settings = settings
        self._app = app
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._last: ClusterState | None = None

    def state(self) -> ClusterState:
        """The cached state, looked at again when older than `ttl_s` (blocking: call off the event loop)."""
        with self._lock:
            last = self._last
            if last is None or time.monotonic() - last.checked_at >= self._ttl_s:
                last = self._last = self._look()
            return last

    def _look(self) -> ClusterState:
        now = time.monotonic()
        try:
            with self._app.connection_for_write(connect_timeout=CONNECT_TIMEOUT_S) as connection:
                # One retry at once, then the error: a probe must answer within seconds, not wait for the broker.
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT_S)
                queues = {name: self._queue(connection, name) for name in self._queue_names()}
                replies = self._app.control.ping(timeout=PING_TIMEOUT_S, connection=connection) or []
        except Exception as error:
            log.warning("broker.unreachable", error=f"{type(error).__name__}: {error}")
            return ClusterState(now, broker_error=f"{type(error).__name__}: {error}")
        workers = tuple(sorted(node for reply in replies for node in reply))
        return ClusterState(now, queues=queues, workers=workers)

    def _queue_names(self) -> list[str]:
        return [queue_name(self._settings, lane) for lane in LANES]

    @staticmethod
    def _queue(connection: Connection, name: str) -> QueueState:
        """A queue's counts; a queue nobody has declared yet (no publish, no worker) counts as empty."""
        channel = connection.channel()  # type: ignore[no-untyped-call]
        try:
            _, messages, consumers = channel.queue_declare(queue=name, passive=True)
        except NotFound:
            return QueueState(0, 0)  # the broker closed the channel with the error
        else:
            channel.close()
        return QueueState(int(messages), int(consumers))


__all__ = ["ClusterProbe", "ClusterState", "QueueState"]
