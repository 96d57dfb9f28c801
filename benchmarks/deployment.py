"""API processes and Celery workers for the distributed benchmarks, on this machine's PostgreSQL and RabbitMQ:
a schema and queues of the run's own, each worker optionally held to a CPU share of its own (a cgroup), so
that the machine's cores stand for several smaller machines. Everything started or made is stopped or
deleted on exit, also on a failure.

Used by benchmarks/throughput.py and benchmarks/load/run_load.py (`--apis`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.service_process import free_port

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
CPU_V1 = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller (cpu.cfs_quota_us)
CGROUP_V2 = Path("/sys/fs/cgroup")  # the unified hierarchy (cpu.max), when v1's cpu controller is absent
PERIOD_US = 100_000


class CpuShare:
    """A cgroup that holds its processes (and their children) to `share` of one CPU.

    cgroup v1's `cpu` controller (`cpu.cfs_quota_us` over `cpu.cfs_period_us`) where it is mounted, else
    cgroup v2's `cpu.max`; `why_not()` says why neither can be used (not root, no cpu controller)."""

    def __init__(self, name: str, share: float) -> None:
        self.share = share
        quota = round(share * PERIOD_US)
        if (CPU_V1 / "cpu.cfs_quota_us").exists():
            self.path = CPU_V1 / name
            self.path.mkdir()
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
            self.kind = "cgroup v1 cpu.cfs_quota_us"
        else:
            self.path = CGROUP_V2 / name
            self.path.mkdir()
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            self.kind = "cgroup v2 cpu.max"

    @staticmethod
    def why_not() -> str | None:
        if os.geteuid() != 0:
            return "CPU shares need root (cgroups): workers run unpinned"
        if (CPU_V1 / "cpu.cfs_quota_us").exists():
            return None
        controllers = CGROUP_V2 / "cgroup.subtree_control"
        if controllers.exists() and "cpu" in controllers.read_text().split():
            return None
        return "no cgroup cpu controller (neither v1's cpu nor v2's cpu.max): workers run unpinned"

    @property
    def launcher(self) -> list[str]:
        """A command prefix that moves the process into this group, then execs the command (same pid)."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def throttled(self) -> dict[str, int]:
        """cpu.stat's throttling counters: how often the quota held the group back."""
        found: dict[str, int] = {}
        stat = self.path / "cpu.stat"
        for line in stat.read_text().splitlines() if stat.exists() else []:
            key, _, value = line.partition(" ")
            if key.startswith(("nr_", "throttled")):
                found[key] = int(value)
        return found

    def remove(self) -> None:
        """Delete the group once its processes are gone (a cgroup with processes cannot be removed)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                if not (self.path / "cgroup.procs").read_text().split():
                    break
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            self.path.rmdir()


class Service:
    """One `python -m service` process in a session of its own, logging to a file."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path, launcher: Sequence[str] = ()) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "service", *argv],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.log_path.stem} exited with {self.process.returncode}; see {self.log_path}")

    def events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                with contextlib.suppress(json.JSONDecodeError):
                    record = json.loads(line)
                    if record.get("event") == event:
                        found.append(record)
        return found

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to whatever is left after 20 s (a worker's pool, a solver's LP)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()


class Deployment:
    """API processes and workers on one PostgreSQL schema and one broker, with queues of the run's own."""

    def __init__(
        self,
        work_dir: Path,
        *,
        postgres_url: str = DEFAULT_POSTGRES,
        broker_url: str = DEFAULT_BROKER,
        **settings: str,
    ) -> None:
        run = uuid.uuid4().hex[:10]
        self.work_dir = work_dir
        self.postgres_url = postgres_url
        self.broker_url = broker_url
        self.schema = f"bench_{run}"
        self.prefix = f"bench-{run}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("API_KEYS", "DATABASE_URL", "DATABASE_SCHEMA")},
            "DATABASE_URL": postgres_url,
            "DATABASE_SCHEMA": self.schema,
            "BROKER_URL": broker_url,
            "QUEUE_PREFIX": self.prefix,
            "HOST": "127.0.0.1",
            "API_KEYS": "",
            "LOG_JSON": "true",
            "LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self.apis: list[str] = []  # base URLs
        self._services: list[Service] = []
        self.workers: list[Service] = []
        self.shares: list[CpuShare] = []

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start_apis(self, count: int) -> list[str]:
        """`count` API processes on free loopback ports; their base URLs once each answers /readyz."""
        started: list[tuple[Service, str]] = []
        for _ in range(count):
            port = free_port()
            name = f"api-{len(self.apis) + len(started)}"
            argv = ["serve", "--host", "127.0.0.1", "--port", str(port)]
            service = Service(argv, self.env, self.work_dir / f"{name}.log")
            self._services.append(service)
            started.append((service, f"http://127.0.0.1:{port}"))
        for service, url in started:
            _wait(functools.partial(_api_ready, service, url), f"{url}/readyz", 120)
            self.apis.append(url)
        return [url for _, url in started]

    def start_workers(
        self, count: int, *, cpu_share: float | None = None, concurrency: int = 1, queues: str = "solve,express"
    ) -> None:
        """`count` workers of `concurrency` solves each, each held to `cpu_share` of a CPU when given."""
        started = []
        for _ in range(count):
            name = f"worker-{len(self.workers)}"
            launcher: list[str] = []
            if cpu_share is not None:
                share = CpuShare(f"presales-{self.prefix}-{name}", cpu_share)
                self.shares.append(share)
                launcher = share.launcher
            argv = ["worker", "--concurrency", str(concurrency), "--queues", queues]
            # Info: the worker says when it is ready, and logs each job's attempt.
            service = Service(argv, {**self.env, "LOG_LEVEL": "info"}, self.work_dir / f"{name}.log", launcher)
            self._services.append(service)
            self.workers.append(service)
            started.append(service)
        for service in started:
            _wait(functools.partial(_worker_ready, service), service.log_path.stem, 120)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the API processes, the workers (with their solver processes), and all
        of this machine's PostgreSQL and RabbitMQ processes (shared with whatever else uses them)."""
        apis = [service for service in self._services if service not in self.workers]
        return {
            "api": sum(_tree_cpu_s(service.process.pid) for service in apis),
            "workers": sum(_tree_cpu_s(service.process.pid) for service in self.workers),
            "postgres": sum(_cpu_s(pid) for pid in _pids_named("postgres")),
            "rabbitmq": sum(_cpu_s(pid) for pid in _pids_named("beam.smp")),
        }

    def close(self) -> None:
        for service in reversed(self._services):
            service.stop()
        for share in self.shares:
            share.remove()
        self._delete_queues()
        self._drop_schema()

    def _delete_queues(self) -> None:
        from kombu import Connection

        with contextlib.suppress(Exception), Connection(self.broker_url, connect_timeout=5) as connection:
            channel = connection.channel()
            for lane in ("solve", "express"):
                with contextlib.suppress(Exception):
                    channel.queue_delete(f"{self.prefix}.{lane}")
                with contextlib.suppress(Exception):
                    channel.exchange_delete(f"{self.prefix}.{lane}")

    def _drop_schema(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=10) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        except psycopg.Error as error:
            print(f"could not drop schema {self.schema}: {error}", file=sys.stderr)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of a read-only query on the deployment's schema."""
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.postgres_url, options=f"-c search_path={self.schema}") as connection:
            return list(connection.cursor(row_factory=dict_row).execute(sql, params))


def _api_ready(service: Service, url: str) -> bool:
    """/readyz answers 200, or 503 for want of workers only: the workers start after the API processes, which
    migrate the database they need."""
    service.check_alive()
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError as error:
        return error.code == 503 and json.loads(error.read() or b"{}").get("failed") == ["workers"]
    except (urllib.error.URLError, OSError):
        return False


def _worker_ready(service: Service) -> bool:
    service.check_alive()
    return bool(service.events("worker.ready"))


def _wait(probe: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout_s:g} s")
        time.sleep(0.25)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(pid: int) -> float:
    """A process and its living descendants (a worker's pool, a solver's LP process)."""
    total = _cpu_s(pid)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += sum(_tree_cpu_s(int(child)) for child in (task / "children").read_text().split())
    return total


def _pids_named(name: str) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if stat.read_text().strip() == name:
                found.append(int(stat.parent.name))
    return found
