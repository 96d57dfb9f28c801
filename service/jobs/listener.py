"""Jobs ended by other processes, heard through PostgreSQL's LISTEN/NOTIFY: with Celery, workers on any host end
the jobs, and a request waiting for one (a synchronous POST, a DELETE waiting for the solve to stop) would
otherwise only see it at its next poll of the database (JobExecutor.wait_poll_s).

The store that ends a job sends `NOTIFY presales_job_ended, '<schema> <job id>'` in its own transaction
(JobRepository._announce_end), so the notice arrives once the plan is committed. One connection per API
process listens in a thread of its own and hands each job id of its schema to the event loop. A lost
notice (the listening connection dropped; it reconnects) costs only latency: waiters still poll.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import structlog
from sqlalchemy import Engine

from service.db.repositories import JOB_ENDED_CHANNEL

log = structlog.get_logger(__name__)

RECONNECT_S = 1.0  # after the listening connection failed, the next try is this much later
CHECK_STOP_S = 0.5  # how long a wait for notices lasts before the thread looks whether it should stop


class EndListener:
    """Calls `ended(job_id)` on the event loop for every job of this schema ended in any process."""

    def __init__(self, engine: Engine, ended: Callable[[str], None]) -> None:
        self._engine = engine
        self._ended = ended
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set while the LISTEN is in place
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._listen_forever, name="job-end-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(CHECK_STOP_S * 4)
        self._engine.dispose()

    def _listen_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as error:  # the database went away: waiters poll meanwhile
                self.listening.clear()
                log.warning("jobs.end_listener_lost", error=f"{type(error).__name__}: {error}")
                self._stopping.wait(RECONNECT_S)

    def _listen(self) -> None:
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"LISTEN {JOB_ENDED_CHANNEL}")
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
            driver = connection.connection.driver_connection
            assert driver is not None
            self.listening.set()
            while not self._stopping.is_set():
                for notice in driver.notifies(timeout=CHECK_STOP_S):
                    notice_schema, _, job_id = notice.payload.partition(" ")
                    if notice_schema == schema and self._loop is not None:
                        self._loop.call_soon_threadsafe(self._ended, job_id)
