"""The event loop stays free under a burst of large POSTs: bodies are parsed off the loop (large ones one
at a time) and the garbage collector's full sweeps no longer stop the process for long, so /healthz
answers at once while 50 market scenarios are being acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_restart import Server, server_env
from tests.db.targets import DatabaseTarget, database_target_for

__all__ = ["server_env"]

ROOT = Path(__file__).resolve().parents[2]
BURST = 50


def send_burst(port: int, answers: Any) -> None:
    """In a process of its own, so that the probe's timings are the server's, not this sender's."""
    bodies = [(ROOT / "scenarios" / f"{name}.json").read_bytes() for name in ("fast-growth", "mature-market")]

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1/plans?mode=async",
                        content=bodies[i % 2],
                        headers={"content-type": "application/json"},
                    )
                    for i in range(BURST)
                )
            )
        return [response.status_code for response in responses]

    started = time.perf_counter()
    codes = asyncio.run(burst())
    answers.put((codes, time.perf_counter() - started))


@pytest.fixture
def own_database(database_target: DatabaseTarget, tmp_path: Path) -> Iterator[DatabaseTarget]:
    """A database of this test's own, of the session's kind: the 50 jobs it leaves queued must not be
    recovered (and solved) by the apps of the tests that come after it on the session's database."""
    yield from database_target_for(database_target.kind, tmp_path / "burst-db", "burst")


@pytest.mark.alone  # compares latencies within the burst: a test running beside it would skew them
@pytest.mark.timeout(240)
def test_healthz_answers_at_once_during_a_burst_of_large_posts(
    server_env: dict[str, str], own_database: DatabaseTarget, tmp_path: Path
) -> None:
    server_env = {k: v for k, v in server_env.items() if k not in ("DATABASE_URL", "DATABASE_SCHEMA")}
    server_env = {**server_env, **own_database.env, "TENANT_MAX_ACTIVE_JOBS": str(BURST * 2), "SOLVE_WORKERS": "1"}
    server = Server(server_env, tmp_path, "burst")
    try:
        server.wait_until_healthy()
        context = mp.get_context("spawn")
        answers = context.Queue()
        sender = context.Process(target=send_burst, args=(server.port, answers))
        latencies: list[float] = []
        sender.start()
        answer = None
        deadline = time.monotonic() + 120
        while answer is None and sender.is_alive() and time.monotonic() < deadline:
            started = time.perf_counter()
            assert server.client.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            with contextlib.suppress(queue.Empty):  # the next probe once 20 ms pass without the burst's answer
                answer = answers.get(timeout=0.02)
        codes, burst_s = answer if answer is not None else answers.get(timeout=120)
        sender.join(30)
        assert codes == [202] * BURST
        assert len(latencies) >= 5
        # Before, one stall of 1.2-1.9 s held /healthz for most of a 2.3-3.2 s burst (and 5-6 s in the
        # defect report); now the longest wait is a small part of it.
        assert max(latencies) < burst_s / 4, (max(latencies), statistics.median(latencies), burst_s)
    finally:
        server.process.kill()  # the 50 queued solves are not the test's business; its solvers leave with it
        server.close()
