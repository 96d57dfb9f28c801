"""Throughput of M-size async jobs against the number of Celery workers, and the overhead the engine adds per job.

Each worker count (default 1, 2, 4) gets a deployment of its own (one API process, a PostgreSQL schema,
queues of its own), each worker one solve at a time and held to its own CPU share with a cgroup (default
0.45 of a CPU: four such workers fit in the machine's 2 cores), so that the cores stand for N small
machines. `--rounds` jobs per worker are posted at once (`mode=async`); throughput is the jobs over the
span from the first job's creation to the last one's stored plan, read from the jobs table, and its ratio
to one worker's (the issue's target: at least 0.9 x N).

Every job has the same fixed `time_limit_s` (`--time-limit`), and each worker count solves the same
seeded M instances (seeds 0-9 in turn, `--rounds` a multiple of 10 gives each count the same mix), so the
ratio measures the machinery (broker, claims, stores, the workers' independence), not the solver.

The overhead per job, from the jobs table's timestamps, at p50 and p95:
- queue to start: created (the API's commit) to started (a worker's claim), measured with one job in flight
  at a time on an idle worker (`--idle-jobs`), so that it holds no waiting for a busy worker;
- start to stored beyond the planner: finished (the fenced store) less started, less the planner's own
  time (the plan's timing.total_ms): loading and parsing the request, storing the plan, in every run.

    uv run python -m benchmarks.throughput
    uv run python -m benchmarks.throughput --workers 1,2 --rounds 10 --time-limit 4 --label "busy machine"

Needs the PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672) of this machine; CPU shares need root.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.deployment import DEFAULT_BROKER, DEFAULT_POSTGRES, CpuShare, Deployment
from benchmarks.generator import generate
from benchmarks.harness import RESULTS_DIR, Json, label_note, machine, markdown_table, summary, write_results

SEEDS = 10
ROWS = """
SELECT j.id, j.status, j.attempts, j.created_at, j.started_at, j.finished_at,
       p.status AS plan_status, (p.body -> 'timing' ->> 'total_ms')::float AS planner_ms
FROM jobs j LEFT JOIN plans p ON p.id = j.id
WHERE j.id = ANY(%(ids)s)
"""


def requests(time_limit_s: float) -> list[Json]:
    """The seeded M instances, each with the fixed time limit."""
    made = []
    for seed in range(SEEDS):
        request = generate("M", seed)
        request["options"] = {"time_limit_s": time_limit_s}
        made.append(request)
    return made


def submit(client: httpx.Client, bodies: Sequence[Json]) -> list[str]:
    ids = []
    for body in bodies:
        response = client.post("/v1/plans", params={"mode": "async"}, json=body)
        if response.status_code != 202:
            raise RuntimeError(f"POST /v1/plans answered {response.status_code}: {response.text[:500]}")
        ids.append(str(response.json()["id"]))
    return ids


def wait_ended(deployment: Deployment, ids: Sequence[str], timeout_s: float) -> list[dict[str, Any]]:
    """The jobs' rows once none is queued or running; raises after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = deployment.query(ROWS, ids=list(ids))
        if len(rows) == len(ids) and all(row["status"] not in ("queued", "running") for row in rows):
            return rows
        if time.monotonic() > deadline:
            pending = sum(row["status"] in ("queued", "running") for row in rows)
            raise RuntimeError(f"{pending} of {len(ids)} jobs still active after {timeout_s:g} s")
        for worker in deployment.workers:
            worker.check_alive()
        time.sleep(0.5)


def seconds(later: Any, earlier: Any) -> float:
    return float((later - earlier).total_seconds())


def beyond_planner_ms(rows: Sequence[dict[str, Any]]) -> list[float]:
    return [
        seconds(row["finished_at"], row["started_at"]) * 1000 - row["planner_ms"]
        for row in rows
        if row["planner_ms"] is not None
    ]


def one_count(args: argparse.Namespace, workers: int, bodies: Sequence[Json], work: Path, idle: bool) -> Json:
    """One deployment with `workers` workers: the throughput run, and the idle run when asked."""
    share = args.cpu_share if CpuShare.why_not() is None else None
    folder = work / f"workers-{workers}"
    folder.mkdir()
    with Deployment(
        folder, postgres_url=args.postgres_url, broker_url=args.broker_url, TENANT_MAX_ACTIVE_JOBS="10000"
    ) as deployment:
        (url,) = deployment.start_apis(1)
        deployment.start_workers(workers, cpu_share=share)
        with httpx.Client(base_url=url, timeout=120) as client:
            # Each worker process solves once before measuring (its first solve pays for warm caches).
            warm = submit(client, [bodies[i % SEEDS] for i in range(workers)])
            wait_ended(deployment, warm, timeout_s=args.time_limit * 3 + 120)
            before = [share.throttled() for share in deployment.shares]
            jobs = [bodies[i % SEEDS] for i in range(workers * args.rounds)]
            ids = submit(client, jobs)
            rows = wait_ended(deployment, ids, timeout_s=args.rounds * (args.time_limit * 1.5 + 10) + 120)
            after = [share.throttled() for share in deployment.shares]
            idle_rows: list[dict[str, Any]] = []
            for i in range(args.idle_jobs if idle else 0):
                (job_id,) = submit(client, [bodies[i % SEEDS]])
                idle_rows += wait_ended(deployment, [job_id], timeout_s=args.time_limit * 3 + 60)
    span_s = seconds(max(row["finished_at"] for row in rows), min(row["created_at"] for row in rows))
    result: Json = {
        "workers": workers,
        "cpu_share": share,
        "jobs": len(rows),
        "span_s": round(span_s, 2),
        "jobs_per_min": round(len(rows) / span_s * 60, 2),
        "statuses": dict(Counter(str(row["plan_status"] or row["status"]) for row in rows)),
        "attempts": dict(Counter(int(row["attempts"]) for row in rows)),
        "planner_s": summary([row["planner_ms"] / 1000 for row in rows if row["planner_ms"] is not None]),
        "start_to_stored_beyond_planner_ms": summary(beyond_planner_ms(rows)),
        # How many 100 ms periods each worker's quota held it back during the run.
        "throttled_periods": [
            a.get("nr_throttled", 0) - b.get("nr_throttled", 0) for a, b in zip(after, before, strict=True)
        ],
    }
    if idle:
        result["idle"] = {
            "jobs": len(idle_rows),
            "queue_to_start_ms": summary([seconds(r["started_at"], r["created_at"]) * 1000 for r in idle_rows]),
            "start_to_stored_beyond_planner_ms": summary(beyond_planner_ms(idle_rows)),
        }
    return result


def table(payload: Json) -> str:
    runs = payload["runs"]
    base = runs[0]["jobs_per_min"] if runs and runs[0]["workers"] == 1 else None
    header = ["workers", "CPU each", "jobs", "span s", "jobs/min", "ratio to 1", "target", "planner s p50", "statuses"]
    body = []
    for run in runs:
        ratio = run["jobs_per_min"] / base if base else None
        target = 0.9 * run["workers"]
        verdict = None if ratio is None else f"{target:.1f} ({'met' if ratio >= target else 'missed'})"
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(run["statuses"].items()))
        share = f"{run['cpu_share']:g}" if run["cpu_share"] is not None else "unpinned"
        body.append(
            [
                run["workers"],
                share,
                run["jobs"],
                run["span_s"],
                run["jobs_per_min"],
                None if ratio is None else round(ratio, 2),
                verdict,
                run["planner_s"].get("p50"),
                statuses,
            ]
        )
    text = (
        f"### M-size async jobs against the number of workers (time_limit_s {payload['time_limit_s']:g} each)\n\n"
        + label_note(payload["label"])
        + markdown_table(header, body)
    )
    overhead = [["queue to start (idle worker)", *_pcts(runs[0].get("idle", {}).get("queue_to_start_ms"))]]
    overhead += [
        [
            f"start to stored beyond the planner ({run['workers']} workers)",
            *_pcts(run["start_to_stored_beyond_planner_ms"]),
        ]
        for run in runs
    ]
    text += "\nOverhead the engine adds per job (ms, from the jobs table):\n\n"
    text += markdown_table(["", "n", "p50 ms", "p95 ms", "max ms"], overhead)
    if payload["pinning"]:
        text += f"\n{payload['pinning']}\n"
    return text


def _pcts(stats: Json | None) -> list[Any]:
    stats = stats or {}
    return [stats.get("n"), stats.get("p50"), stats.get("p95"), stats.get("max")]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="1,2,4", help="worker counts, in order (default 1,2,4)")
    p.add_argument("--cpu-share", type=float, default=0.45, help="CPU share of each worker (default 0.45)")
    p.add_argument("--rounds", type=int, default=10, help="jobs per worker (default 10: each seed once)")
    p.add_argument("--time-limit", type=float, default=4.0, help="time_limit_s of every job (default 4)")
    p.add_argument("--idle-jobs", type=int, default=10, help="jobs one at a time for queue-to-start (default 10)")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    p.add_argument("--broker-url", default=DEFAULT_BROKER)
    p.add_argument("--name", default="throughput")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    pinning = CpuShare.why_not()
    if pinning is not None:
        print(f"warning: {pinning}", file=sys.stderr)
    bodies = requests(args.time_limit)
    work = Path(tempfile.mkdtemp(prefix="throughput-"))
    print(f"logs: {work}", file=sys.stderr)
    payload: Json = {
        "benchmark": "throughput",
        "label": args.label,
        "machine": machine(),
        "time_limit_s": args.time_limit,
        "rounds": args.rounds,
        "pinning": pinning,
        "runs": [],
    }
    for i, workers in enumerate(counts):
        run = one_count(args, workers, bodies, work, idle=i == 0)
        print(f"{workers} workers: {run['jobs_per_min']} jobs/min over {run['span_s']} s", file=sys.stderr)
        payload["runs"].append(run)
    payload["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = table(payload)
    json_path, _ = write_results(args.name, payload, text, args.out)
    print(text)
    print(f"wrote {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
