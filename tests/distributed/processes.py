"""Real processes for the distributed tests: API processes (`python -m service serve`) and Celery workers
(`python -m service worker`), each logging JSON lines to a file, on one PostgreSQL schema and one broker
with queues of the test's own."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from kombu import Connection
from sqlalchemy import Engine, text

from benchmarks.generator import generate
from benchmarks.service_process import free_port
from service.db.engine import make_engine
from service.settings import Settings
from tests.api.workload import wait_for

ROOT = Path(__file__).resolve().parents[2]


@cache
def _large() -> dict[str, Any]:
    return generate("L", 0)


def large_request(time_limit_s: float) -> dict[str, Any]:
    """200 people, 500 opportunities: CP-SAT works until its time limit or a cancel (an M request can be
    proven optimal in a few seconds on an idle machine)."""
    request = copy.deepcopy(_large())
    request["options"] = {"time_limit_s": time_limit_s}
    return request


def process_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # a zombie has exited; only its parent's bookkeeping is left


def children_of(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in found]


class Process:
    """A service process in a session of its own (so its whole group can be killed), logging to a file;
    `launcher` runs it through a command that execs it in place (`ip netns exec <host>`: another host)."""

    def __init__(
        self, argv: list[str], env: dict[str, str], workdir: Path, name: str, *, launcher: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "service", *argv],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    found.append(json.loads(line))
        return found

    def events(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.logs() if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())]

    def alive(self) -> None:
        assert self.process.poll() is None, f"{self.name} exited: {self.log_path.read_text()[-4000:]}"

    def kill(self, *, group: bool) -> None:
        """SIGKILL: the process (and with `group`, every process it started) dies without a word."""
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        # Whatever is left of the group (a worker's pool, a solver's LP process) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()


class Api(Process):
    def __init__(self, env: dict[str, str], workdir: Path, name: str) -> None:
        self.port = free_port()
        super().__init__(["serve", "--host", "127.0.0.1", "--port", str(self.port)], env, workdir, name)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    def wait_until_healthy(self) -> None:
        def healthy() -> bool | None:
            self.alive()
            try:
                return self.client.get("/healthz").status_code == 200 or None
            except httpx.TransportError:
                return None

        wait_for(healthy, timeout_s=120, what=f"{self.name} to answer /healthz", interval_s=0.2)

    def close(self) -> None:
        self.client.close()
        super().close()


class Worker(Process):
    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        name: str,
        *,
        queues: str = "solve,express",
        launcher: Sequence[str] = (),
    ) -> None:
        super().__init__(["worker", "--concurrency", "1", "--queues", queues], env, workdir, name, launcher=launcher)

    def wait_until_ready(self) -> None:
        def ready() -> bool | None:
            self.alive()
            return bool(self.events("worker.ready")) or None

        wait_for(ready, timeout_s=120, what=f"{self.name} to be ready", interval_s=0.2)

    def solved(self) -> dict[str, list[dict[str, Any]]]:
        """job id -> the job.finished events of this worker."""
        found: dict[str, list[dict[str, Any]]] = {}
        for event in self.events("job.finished"):
            found.setdefault(event["job_id"], []).append(event)
        return found


class Cluster:
    """API processes and workers on one PostgreSQL schema and one broker, with queues of its own."""

    def __init__(self, *, broker_url: str, database_url: str, schema: str, workdir: Path, **settings: str) -> None:
        self.prefix = f"test-{uuid.uuid4().hex[:12]}"
        self.broker_url = broker_url
        self.workdir = workdir
        self.settings = Settings(
            database_url=database_url, database_schema=schema, broker_url=broker_url, queue_prefix=self.prefix
        )
        env = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "DATABASE_URL", "DATABASE_SCHEMA")}
        env.update(
            {
                "DATABASE_URL": database_url,
                "DATABASE_SCHEMA": schema,
                "BROKER_URL": broker_url,
                "QUEUE_PREFIX": self.prefix,
                "JOB_LEASE_S": "3",
                "JOB_HEARTBEAT_S": "0.5",
                "SWEEP_INTERVAL_S": "1",
                "LOG_JSON": "true",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
                **settings,
            }
        )
        self.env = env
        self.apis: list[Api] = []
        self.workers: list[Worker] = []
        self._engine: Engine | None = None

    def api(self, name: str | None = None) -> Api:
        api = Api(self.env, self.workdir, name or f"api-{len(self.apis)}")
        self.apis.append(api)
        return api

    def worker(self, name: str | None = None, *, env: dict[str, str] | None = None, **options: Any) -> Worker:
        """A worker on this cluster's queues; `env` overrides settings (another host's broker and database URL)."""
        worker = Worker({**self.env, **(env or {})}, self.workdir, name or f"worker-{len(self.workers)}", **options)
        self.workers.append(worker)
        return worker

    def start(self, apis: int, workers: int) -> None:
        started_apis = [self.api() for _ in range(apis)]
        started_workers = [self.worker() for _ in range(workers)]
        for api in started_apis:
            api.wait_until_healthy()
        for worker in started_workers:
            worker.wait_until_ready()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings)
        return self._engine

    def job_rows(self, job_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, status, attempts, published_at FROM jobs WHERE id = ANY(:ids)"), {"ids": job_ids}
            )
            return {row.id: dict(row._mapping) for row in rows}

    def close(self) -> None:
        for process in [*self.apis, *self.workers]:
            process.close()
        if self._engine is not None:
            self._engine.dispose()
        with Connection(self.broker_url, connect_timeout=5) as connection:
            channel = connection.channel()
            for lane in ("solve", "express"):
                name = f"{self.prefix}.{lane}"
                with contextlib.suppress(Exception):
                    channel.queue_delete(name)
                with contextlib.suppress(Exception):
                    channel.exchange_delete(name)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@contextlib.contextmanager
def cluster(**kwargs: Any) -> Iterator[Cluster]:
    made = Cluster(**kwargs)
    try:
        yield made
    finally:
        made.close()
