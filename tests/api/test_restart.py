"""No lost work: a real server process is killed mid-solve, and the next one finishes what it acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.service_process import free_port
from tests.api.workload import busy_request, is_finished, is_running, small_request, wait_for, wait_for_status
from tests.db.targets import DatabaseTarget

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """`python -m service serve` in a subprocess, logging JSON lines to a file."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def wait_until_healthy(self) -> None:
        def healthy() -> bool | None:
            assert self.process.poll() is None, f"server exited: {self.log_path.read_text()[-3000:]}"
            try:
                return self.client.get("/healthz").status_code == 200 or None
            except httpx.TransportError:
                return None

        wait_for(healthy, timeout_s=90, what="the server to answer /healthz", interval_s=0.2)

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def process_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # a zombie has exited; only its parent's bookkeeping is left


@pytest.fixture
def server_env(database_target: DatabaseTarget) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "DATABASE_URL", "DATABASE_SCHEMA")}
    env.update(database_target.env)
    env.update({"SOLVE_WORKERS": "1", "EXPRESS_WORKERS": "0", "LOG_JSON": "true", "PYTHONUNBUFFERED": "1"})
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.mark.timeout(240)
def test_jobs_survive_the_server_being_killed_mid_solve(server_env: dict[str, str], tmp_path: Path) -> None:
    servers: list[Server] = []
    try:
        first = Server(server_env, tmp_path, "first")
        servers.append(first)
        first.wait_until_healthy()
        solving = first.client.post("/v1/plans", params={"mode": "async"}, json=busy_request(time_limit_s=120))
        waiting = first.client.post("/v1/plans", params={"mode": "async"}, json=small_request())
        assert (solving.status_code, waiting.status_code) == (202, 202)
        solving_id, waiting_id = solving.json()["id"], waiting.json()["id"]
        wait_for_status(first.client, solving_id, is_running)
        assert first.client.get(f"/v1/plans/{waiting_id}").json()["status"] == "queued"

        first.process.kill()  # SIGKILL: no shutdown handler runs
        first.process.wait(10)
        solver_pids = [e["pid"] for e in first.logs() if e["event"] == "solver.process_started"]
        assert solver_pids
        wait_for(lambda: all(process_gone(pid) for pid in solver_pids) or None, timeout_s=15, what="orphans to exit")

        second = Server(server_env, tmp_path, "second")
        servers.append(second)
        second.wait_until_healthy()
        # The interrupted solve runs again; the queued job is still queued behind it.
        wait_for_status(second.client, solving_id, is_running, timeout_s=30)
        assert second.client.get(f"/v1/plans/{waiting_id}").json()["status"] == "queued"
        cancel = second.client.delete(f"/v1/plans/{solving_id}")
        assert cancel.status_code in (200, 202), cancel.text
        kept = wait_for_status(second.client, solving_id, is_finished, timeout_s=30)
        assert (kept["status"], kept["cancelled"]) == ("feasible", True)
        done = wait_for_status(second.client, waiting_id, is_finished, timeout_s=60)
        assert done["status"] == "optimal"

        logs = second.logs()
        (recovered,) = [e for e in logs if e["event"] == "jobs.recovered"]
        assert recovered["requeued"] == [solving_id, waiting_id]
        assert any(e["event"] == "server.loopback_only" for e in logs)
        requests = [e for e in logs if e["event"] == "http.request"]
        assert requests
        assert all(len(e["request_id"]) == 32 for e in requests)
        finished = {e["job_id"]: e["status"] for e in logs if e["event"] == "job.finished"}
        assert finished == {solving_id: "feasible", waiting_id: "optimal"}
    finally:
        for server in servers:
            server.close()


@pytest.mark.timeout(240)
def test_a_graceful_stop_puts_the_running_solve_back_in_the_queue(server_env: dict[str, str], tmp_path: Path) -> None:
    servers: list[Server] = []
    try:
        first = Server(server_env, tmp_path, "first")
        servers.append(first)
        first.wait_until_healthy()
        plan_id = first.client.post("/v1/plans", params={"mode": "async"}, json=busy_request(120)).json()["id"]
        wait_for_status(first.client, plan_id, is_running)
        first.process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly, so the exit status names SIGTERM.
        assert first.process.wait(60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete." in first.log_path.read_text()
        events = [e for e in first.logs() if e.get("job_id") == plan_id]
        assert [e["event"] for e in events][-1] == "job.requeued_for_restart"

        second = Server(server_env, tmp_path, "second")
        servers.append(second)
        second.wait_until_healthy()
        wait_for_status(second.client, plan_id, is_running, timeout_s=30)
        # The job is marked running before its solver logs the start: wait for the line, not for the state.
        (started,) = wait_for(
            lambda: [e for e in second.logs() if e["event"] == "job.started" and e["job_id"] == plan_id] or None,
            timeout_s=30,
            what="the second server's job.started line",
        )
        assert started["attempt"] == 1, "a graceful stop does not count as a failed attempt"
        assert second.client.delete(f"/v1/plans/{plan_id}").status_code in (200, 202)
        kept = wait_for_status(second.client, plan_id, is_finished, timeout_s=30)
        assert (kept["status"], kept["cancelled"]) == ("feasible", True)
    finally:
        for server in servers:
            server.close()
