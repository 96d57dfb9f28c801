"""Load test runner: starts the service on a free loopback port (SQLite, then PostgreSQL), runs locust
headless for a bounded time at fixed arrival rates, and writes p50/p95/p99, rates and failures to
benchmarks/results/load-<database>.json; `--step` finds the highest small-request rate it sustains.

    uv run python -m benchmarks.load.run_load                      # the mix, 5 minutes per database
    uv run python -m benchmarks.load.run_load --step --db sqlite   # the sustained small-request rate
    uv run python -m benchmarks.load.run_load --apis 2 --workers 2 --step   # API processes + Celery workers

With `--apis N` the service runs distributed (benchmarks/deployment.py): N API processes and `--workers`
Celery workers on the local PostgreSQL and RabbitMQ, the locust users spread over the API processes in turn;
results go to <name>-celery.json.

Everything listens on and talks to 127.0.0.1 only; every run stops by itself (locust --run-time, a
subprocess timeout, and the service is stopped at the end, killed if it does not stop in time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.deployment import DEFAULT_BROKER, Deployment
from benchmarks.harness import RESULTS_DIR, Json, label_note, machine, markdown_table, write_results
from benchmarks.load.config import REPO, LoadConfig, default_small_request
from benchmarks.service_process import free_port

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
LOOPBACK = "127.0.0.1"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SMALL = "POST /v1/plans [small, sync]"
STEP_RATES = "5,10,15,20,25,30,40,50,60"


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _post_json(url: str, body: bytes, timeout: float = 120.0) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@contextlib.contextmanager
def distributed(args: argparse.Namespace, log_dir: Path) -> Iterator[Json]:
    """`--apis` API processes and `--workers` Celery workers on a schema and queues of their own; yields
    {url, urls, database, ...} like `service`."""
    folder = log_dir / "celery"
    folder.mkdir()
    with Deployment(
        folder,
        postgres_url=args.postgres_url,
        broker_url=args.broker_url,
        TENANT_MAX_ACTIVE_JOBS=str(args.tenant_cap),
    ) as deployment:
        urls = deployment.start_apis(args.apis)
        deployment.start_workers(args.workers, concurrency=args.worker_concurrency)
        deployment_cpu = deployment.cpu_seconds
        status, body = _get(f"{urls[0]}/openapi.json")
        paths = sorted(json.loads(body).get("paths", {})) if status == 200 else []
        yield {
            "url": urls[0],
            "urls": urls,
            "database": "celery",
            "title": f"PostgreSQL with {args.apis} API processes and {args.workers} Celery workers "
            f"({args.worker_concurrency} solve at once each)",
            "apis": args.apis,
            "workers": args.workers,
            "worker_concurrency": args.worker_concurrency,
            "paths": paths,
            "log": str(folder),
            "cpu_seconds": deployment_cpu,
        }


@contextlib.contextmanager
def service(database: str, postgres_url: str, tenant_cap: int, log_dir: Path) -> Iterator[Json]:
    """The service on a free loopback port with a fresh database; yields {url, database, ...}."""
    port = free_port()
    env = dict(os.environ)
    schema = None
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{log_dir / 'load.db'}"
    else:
        # A schema of its own in the shared test database, dropped afterwards.
        schema = f"bench_load_{uuid.uuid4().hex[:10]}"
        env["DATABASE_URL"] = postgres_url
        env["DATABASE_SCHEMA"] = schema
    env.update(
        {
            "HOST": LOOPBACK,
            "API_KEYS": "",
            "LOG_LEVEL": "warning",
            # The per-tenant cap on active solves answers 429 to a single busy tenant; the load test
            # measures what the machine sustains, so it lifts the cap (set --tenant-cap to keep one).
            "TENANT_MAX_ACTIVE_JOBS": str(tenant_cap),
        }
    )
    log_path = log_dir / f"server-{database}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", LOOPBACK, "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the solver pool goes down with it
        )
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}; see {log_path}")
            with contextlib.suppress(OSError):
                if _get(f"{url}/readyz", 2)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready in 120 s; see {log_path}")
            time.sleep(0.5)
        status, body = _get(f"{url}/openapi.json")
        paths = sorted(json.loads(body).get("paths", {})) if status == 200 else []
        yield {"url": url, "database": database, "schema": schema, "paths": paths, "log": str(log_path)}
    finally:
        _stop(process)
        if schema is not None:
            _drop_schema(postgres_url, schema)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop), then SIGKILL to the group we created if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Solver processes may outlive a graceful stop by a moment; they are in the same group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _drop_schema(postgres_url: str, schema: str) -> None:
    import psycopg

    try:
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except psycopg.Error as error:
        print(f"could not drop schema {schema}: {error}", file=sys.stderr)


def postgres_reachable(postgres_url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(postgres_url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def warm_up(url: str, count: int) -> list[float]:
    """Small plans sent two at a time before measuring, so that both solver processes have loaded OR-Tools
    (the first solve of a process costs seconds) and the database pages are warm."""
    body = Path(default_small_request()).read_bytes()
    times: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.perf_counter()
        _post_json(f"{url}/v1/plans", body)
        with lock:
            times.append(round((time.perf_counter() - started) * 1000, 1))

    for _ in range(max(count // 2, 1)):
        threads = [threading.Thread(target=one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return times


def run_locust(url: str, config: LoadConfig, duration_s: float, work_dir: Path, name: str) -> Json:
    """One headless locust run; returns the locustfile's exact summary."""
    output = work_dir / f"{name}.json"
    config = replace(config, output=str(output), run_time_s=float(int(duration_s)))
    users = config.total_users
    if users == 0:
        raise SystemExit("nothing to send: every rate is 0")
    env = {**os.environ, **config.env()}
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),  # all at once; their random phases spread the first requests over an interval
        "--run-time",
        f"{int(duration_s)}s",
        "--host",
        url,
        "--only-summary",
        "--stop-timeout",
        str(int(config.async_time_limit_s * 3 + 60)),
        "--csv",
        str(work_dir / name),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
    ]
    timeout = duration_s + config.async_time_limit_s * 3 + 180
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if completed.returncode != 0 or not output.exists():
        raise RuntimeError(f"locust failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    summary: Json = json.loads(output.read_text(encoding="utf-8"))
    summary["users"] = users
    summary["offered"] = {
        SMALL: config.small_rps,
        "M job: submit to plan": config.async_per_min / 60,
        "POST /v1/scenarios [small, 2 variants]": config.scenario_per_min / 60,
    }
    return summary


def cpu_per_request(before: dict[str, float], after: dict[str, float], summary: Json) -> Json:
    """CPU milliseconds a completed request cost each kind of process during a run (PostgreSQL and RabbitMQ:
    all of their processes, whoever else uses them)."""
    completed = sum(kind["count"] for kind in summary["kinds"].values())
    return {name: round((after[name] - before[name]) * 1000 / max(completed, 1), 2) for name in after}


def sustained(summary: Json, rate: float, p95_target_ms: float) -> tuple[bool, str]:
    """Held: no failure, p95 of the intended-start latency within target, and >= 95 % of the offered rate
    actually sent in the steady window (if the generator itself falls behind, the run proves nothing)."""
    kind = summary["kinds"].get(SMALL)
    if kind is None:
        return False, "no small request completed"
    p95 = kind["intended_ms"]["p95"] if kind.get("intended_ms") else kind["response_ms"]["p95"]
    reasons = []
    if kind["failures"]:
        reasons.append(f"{kind['failures']} failures")
    if p95 is None or p95 > p95_target_ms:
        reasons.append(f"p95 {p95} ms > {p95_target_ms:g} ms")
    achieved = kind["steady_rps"] if kind.get("steady_rps") is not None else kind["rps"]
    if achieved < 0.95 * rate:
        reasons.append(f"sent {achieved:.1f}/s < 95 % of {rate:g}/s")
    return not reasons, "; ".join(reasons) or "held"


# --------------------------------------------------------------------------- tables


def mix_table(database: str, summary: Json, label: str | None) -> str:
    header = [
        "request",
        "offered /s",
        "sent /s (steady)",
        "completed /s",
        "count",
        "missed",
        "failures",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p95 intended ms",
    ]
    body = []
    for name, kind in sorted(summary["kinds"].items()):
        intended = kind.get("intended_ms") or {}
        body.append(
            [
                name,
                summary["offered"].get(name),
                kind.get("steady_rps"),
                kind["rps"],
                kind["count"],
                kind.get("missed"),
                kind["failures"],
                kind["response_ms"]["p50"],
                kind["response_ms"]["p95"],
                kind["response_ms"]["p99"],
                intended.get("p95"),
            ]
        )
    skipped = summary.get("skipped")
    cpu = _cpu_cell(summary.get("cpu_ms_per_request"))
    return (
        f"### Load mix on {database} ({summary['duration_s']:.0f} s, {summary['users']} users)\n\n"
        + label_note(label)
        + markdown_table(header, body)
        + (f"\n{skipped}\n" if skipped else "")
        + (f"\nCPU ms a request (API / workers / PostgreSQL / RabbitMQ): {cpu}.\n" if cpu else "")
    )


def step_table(database: str, steps: Sequence[Json], best: float | None, target: float, label: str | None) -> str:
    header = [
        "offered /s",
        "sent /s (steady)",
        "completed /s",
        "failures",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p95 intended ms",
        "verdict",
    ]
    with_cpu = any("cpu_ms_per_request" in step for step in steps)
    if with_cpu:
        header.append("CPU ms a request: API / workers / PostgreSQL / RabbitMQ")
    body = []
    for step in steps:
        kind = step["summary"]["kinds"].get(SMALL, {})
        response = kind.get("response_ms", {})
        intended = kind.get("intended_ms") or {}
        body.append(
            [
                step["rate"],
                kind.get("steady_rps"),
                kind.get("rps"),
                kind.get("failures"),
                response.get("p50"),
                response.get("p95"),
                response.get("p99"),
                intended.get("p95"),
                step["verdict"],
                *([_cpu_cell(step.get("cpu_ms_per_request"))] if with_cpu else []),
            ]
        )
    return (
        f"### Small synchronous requests, stepped rate on {database} (target p95 ≤ {target:g} ms)\n\n"
        + label_note(label)
        + markdown_table(header, body)
        + f"\nHighest rate held: **{best if best is not None else 'none'} requests/s**.\n"
    )


def _cpu_cell(cpu: Json | None) -> str | None:
    if not cpu:
        return None
    return " / ".join(f"{cpu[name]:.1f}" for name in ("api", "workers", "postgres", "rabbitmq"))


# --------------------------------------------------------------------------- main


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load.run_load", description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--postgres-url", default=os.environ.get("LOAD_POSTGRES_URL", DEFAULT_POSTGRES))
    p.add_argument("--duration", type=float, default=300, help="seconds of load per run (default 300)")
    p.add_argument("--small-rps", type=float, default=20.0, help="small synchronous plans per second")
    p.add_argument("--async-per-min", type=float, default=1.0, help="M-size async jobs per minute")
    p.add_argument("--async-time-limit", type=float, default=10.0, help="time_limit_s of each async job")
    p.add_argument("--scenario-per-min", type=float, default=2.0, help="what-if scenarios per minute")
    p.add_argument("--warm-up", type=int, default=6, help="small plans sent before measuring")
    p.add_argument("--tenant-cap", type=int, default=10_000, help="TENANT_MAX_ACTIVE_JOBS for the service")
    p.add_argument("--step", action="store_true", help="step the small-request rate instead of the mix")
    p.add_argument("--step-rates", default=STEP_RATES, help=f"requests/s to try in order (default {STEP_RATES})")
    p.add_argument("--step-duration", type=float, default=60, help="seconds per step (default 60)")
    p.add_argument("--p95-target", type=float, default=250, help="ms, for --step (default 250)")
    p.add_argument("--apis", type=int, default=0, help="API processes with Celery workers (default 0: one process)")
    p.add_argument("--workers", type=int, default=2, help="Celery workers, with --apis (default 2)")
    p.add_argument("--worker-concurrency", type=int, default=1, help="solves at once per worker (default 1)")
    p.add_argument("--broker-url", default=os.environ.get("LOAD_BROKER_URL", DEFAULT_BROKER))
    p.add_argument("--name", default=None, help="result file prefix (default load / load-step): <name>-<db>.json")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.apis:
        databases = ["celery"]
    config = LoadConfig(
        small_rps=args.small_rps,
        async_per_min=args.async_per_min,
        async_time_limit_s=args.async_time_limit,
        scenario_per_min=args.scenario_per_min,
    )
    work = Path(tempfile.mkdtemp(prefix="load-"))
    print(f"work files (logs, locust CSV): {work}", file=sys.stderr)
    tables = []
    for database in databases:
        if database != "sqlite" and not postgres_reachable(args.postgres_url):
            print(f"PostgreSQL not reachable at {args.postgres_url}: skipped", file=sys.stderr)
            continue
        started = (
            distributed(args, work)
            if database == "celery"
            else service(database, args.postgres_url, args.tenant_cap, work)
        )
        with started as server:
            urls = server.get("urls", [server["url"]])
            warm = [ms for url in urls for ms in warm_up(url, args.warm_up)]
            print(f"{database}: service at {', '.join(urls)}, warm-up {warm} ms", file=sys.stderr)
            payload: Json = {"label": args.label, "machine": machine(), "database": database, "warm_up_ms": warm}
            if database == "celery":
                config = replace(config, hosts=",".join(urls))
                payload["deployment"] = {k: server[k] for k in ("apis", "workers", "worker_concurrency")}
            if args.step:
                text = _step(args, config, server, work, payload)
                name = f"{args.name or 'load-step'}-{database}"
            else:
                text = _mix(args, config, server, work, payload)
                name = f"{args.name or 'load'}-{database}"
            json_path, _ = write_results(name, payload, text, args.out)
            print(f"wrote {json_path}", file=sys.stderr)
            tables.append(text)
    print("\n".join(tables))
    return 0


def _mix(args: argparse.Namespace, config: LoadConfig, server: Json, work: Path, payload: Json) -> str:
    skipped = None
    if config.scenario_per_min > 0 and "/v1/scenarios" not in server["paths"]:
        skipped = "POST /v1/scenarios is not served yet: scenario requests were left out of this run."
        config = replace(config, scenario_per_min=0)
    print(f"{server['database']}: mix for {args.duration:g} s: {config}", file=sys.stderr)
    cpu_before = server["cpu_seconds"]() if "cpu_seconds" in server else None
    summary = run_locust(server["url"], config, args.duration, work, f"mix-{server['database']}")
    summary["skipped"] = skipped
    payload.update({"benchmark": "load-mix", "summary": summary})
    if cpu_before is not None:
        summary["cpu_ms_per_request"] = cpu_per_request(cpu_before, server["cpu_seconds"](), summary)
    return mix_table(str(server.get("title", server["database"])), summary, args.label)


def _step(args: argparse.Namespace, config: LoadConfig, server: Json, work: Path, payload: Json) -> str:
    steps: list[Json] = []
    best: float | None = None
    misses = 0
    for rate in [float(r) for r in args.step_rates.split(",") if r.strip()]:
        only_small = replace(config, small_rps=rate, async_per_min=0, scenario_per_min=0)
        cpu_before = server["cpu_seconds"]() if "cpu_seconds" in server else None
        summary = run_locust(server["url"], only_small, args.step_duration, work, f"step-{server['database']}-{rate:g}")
        held, verdict = sustained(summary, rate, args.p95_target)
        print(f"{server['database']}: {rate:g}/s -> {verdict}", file=sys.stderr)
        step: Json = {"rate": rate, "held": held, "verdict": verdict, "summary": summary}
        if cpu_before is not None:
            step["cpu_ms_per_request"] = cpu_per_request(cpu_before, server["cpu_seconds"](), summary)
        steps.append(step)
        if held:
            best = rate
            misses = 0
        else:
            misses += 1
            if misses >= 2:  # two misses in a row: the rates above will not hold either
                break
        time.sleep(3)  # let queues drain between steps
    payload.update(
        {"benchmark": "load-step", "p95_target_ms": args.p95_target, "highest_rate_held": best, "steps": steps}
    )
    return step_table(str(server.get("title", server["database"])), steps, best, args.p95_target, args.label)


if __name__ == "__main__":
    raise SystemExit(main())
