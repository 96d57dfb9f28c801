"""/healthz while a burst of large POSTs is acknowledged: how long the event loop is held.

Starts the service (SQLite in a temporary folder, the given code on PYTHONPATH), posts `--burst` market
scenarios (fast-growth and mature-market, 130-260 kB each) at once with `mode=async`, and meanwhile asks
/healthz every 20 ms from another process, so that the probe's timings are the server's, not the sender's.

    uv run python -m benchmarks.burst --runs 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_process import service_process

ROOT = Path(__file__).resolve().parents[1]


def probe(port: int, answers: Any, stop: Any) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        latencies = []
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    answers.put(latencies)


async def burst(port: int, count: int) -> tuple[float, list[int]]:
    bodies = [(ROOT / "scenarios" / f"{name}.json").read_bytes() for name in ("fast-growth", "mature-market")]
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(
                client.post("/v1/plans?mode=async", content=bodies[i % 2], headers={"content-type": "application/json"})
                for i in range(count)
            )
        )
        return time.perf_counter() - started, [response.status_code for response in responses]


def one_run(code: Path, count: int) -> str:
    with service_process(code, TENANT_MAX_ACTIVE_JOBS=str(count * 2)) as port:
        context = mp.get_context("spawn")
        answers, stop = context.Queue(), context.Event()
        prober = context.Process(target=probe, args=(port, answers, stop))
        prober.start()
        time.sleep(0.2)
        burst_s, codes = asyncio.run(burst(port, count))
        time.sleep(0.5)
        stop.set()
        latencies = answers.get(timeout=60)
        prober.join(10)
    ordered = sorted(latencies)
    return (
        f"| {burst_s:.1f} | {max(latencies) * 1000:.0f} | {ordered[int(len(ordered) * 0.95)] * 1000:.0f} "
        f"| {statistics.median(latencies) * 1000:.0f} | {len(latencies)} | {codes.count(202)} of {count} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose service to start (default: this)")
    arguments = parser.parse_args()
    print("| burst acknowledged in s | longest /healthz ms | p95 ms | median ms | probes | 202 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for _ in range(arguments.runs):
        print(one_run(arguments.code.resolve(), arguments.burst), flush=True)


if __name__ == "__main__":
    main()
