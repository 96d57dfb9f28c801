"""Locust load test of the HTTP service at fixed arrival rates: small synchronous plans, M-size async jobs
and what-if scenarios. Configured by LOAD_* environment variables (benchmarks/load/config.py); run it
through benchmarks/load/run_load.py, which starts the service, sets the user counts and collects results.

Coordinated omission, and why this file does not use a plain closed loop
-------------------------------------------------------------------------
A closed-loop load generator (N users, each "send, wait for the answer, think, send again") slows down
exactly when the server does: while one response takes 2 s, that user sends nothing, so the requests
that would have met the slow server are never sent and never measured. The test then reports the
latency of a lighter load than the one it claims, and hides the queueing a real, open population of
clients (CRM systems that do not wait for each other) would see. Locust's `constant_throughput` has
the same flaw per user: it only spaces task *starts*, and a slow response delays the next one.

Here every user follows a fixed timetable (request k is due at phase + k x interval, an open model)
and each kind has rate x interval users, so a slow response in one user leaves the others on time,
and a late user catches up by sending at once. Two latencies are recorded for every timetabled
request:

- `response_ms`: what locust measures, from send to answer (the service time seen by the client);
- `intended_ms`: from the moment the request was *due* to its answer; it adds any delay the generator
  suffered because this user was still waiting for its previous answer. That is the latency an open
  population would have seen, the one to hold against a p95 target. When the two differ much, the
  load generator fell behind: the run measured less than the offered load.

The runner also compares the achieved rate with the offered one for the same reason.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, events, task

from benchmarks.load.config import LoadConfig, default_small_request

CONFIG = LoadConfig.from_env()
SMALL_REQUEST: dict[str, Any] = json.loads(
    Path(CONFIG.small_request or default_small_request()).read_text(encoding="utf-8")
)

SMALL = "POST /v1/plans [small, sync]"
ASYNC_SUBMIT = "POST /v1/plans?mode=async [M]"
ASYNC_POLL = "GET /v1/plans/{id} [poll]"
ASYNC_JOB = "M job: submit to plan"
SCENARIO = "POST /v1/scenarios [small, 2 variants]"
DONE = {"optimal", "feasible", "infeasible"}
PENDING = {"queued", "running"}


# --------------------------------------------------------------------------- exact samples


class Samples:
    """Every request's latency, kept whole (a few thousand numbers) so percentiles are exact."""

    def __init__(self) -> None:
        self.response_ms: dict[str, list[float]] = defaultdict(list)
        self.intended_ms: dict[str, list[float]] = defaultdict(list)
        self.sent_at: dict[str, list[float]] = defaultdict(list)  # when each timetabled request was sent
        self.failures: dict[str, int] = defaultdict(int)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.missed: dict[str, int] = defaultdict(int)  # due before the end but never sent
        self.started = time.time()
        self.window_end: float | None = None  # the first user stopping: locust's --run-time ran out
        self.stopped: float | None = None

    def request(self, name: str, response_ms: float, error: str | None) -> None:
        self.response_ms[name].append(response_ms)
        if error is not None:
            self.failures[name] += 1
            self.errors[name][error[:200]] += 1

    def summary(self) -> dict[str, Any]:
        # Rates count over the load window (until --run-time ran out), not the stop timeout during which
        # in-flight async jobs are polled to their end and nothing new is sent.
        duration = (self.window_end or self.stopped or time.time()) - self.started
        kinds: dict[str, Any] = {}
        for name, values in self.response_ms.items():
            kinds[name] = {
                "count": len(values),
                "failures": self.failures.get(name, 0),
                "rps": len(values) / duration if duration > 0 else 0.0,
                "steady_rps": self.steady_rate(name, duration),
                "sent": len(self.sent_at.get(name, [])),
                "missed": self.missed.get(name, 0),
                "response_ms": _percentiles(values),
                "intended_ms": _percentiles(self.intended_ms[name]) if name in self.intended_ms else None,
                "errors": dict(self.errors.get(name, {})),
            }
        return {"duration_s": duration, "config": CONFIG.__dict__, "kinds": kinds}

    def steady_rate(self, name: str, duration: float) -> float | None:
        """Requests sent per second once every user is on its timetable (after one interval of random
        phases) until the end of the window: what the generator really offered."""
        sent = self.sent_at.get(name)
        interval = INTERVALS.get(name)
        if not sent or interval is None or duration <= interval:
            return None
        start, end = self.started + interval, self.started + duration
        return sum(1 for t in sent if start <= t < end) / (end - start)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def at(q: float) -> float | None:
        if not ordered:
            return None
        rank = (len(ordered) - 1) * q
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 2)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0), "n": len(ordered)}


SAMPLES = Samples()


@events.request.add_listener  # type: ignore[untyped-decorator]
def _on_request(name: str, response_time: float, exception: BaseException | None, **_: Any) -> None:
    SAMPLES.request(name, response_time, None if exception is None else f"{type(exception).__name__}: {exception}")


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _on_start(**_: Any) -> None:
    SAMPLES.started = time.time()


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _on_stop(**_: Any) -> None:
    SAMPLES.stopped = time.time()
    if CONFIG.output:
        Path(CONFIG.output).write_text(json.dumps(SAMPLES.summary(), indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- open-model users


# With several API processes (LOAD_HOSTS), each user talks to one of them, in turn: as clients behind DNS
# round robin or a load balancer without affinity would spread.
HOSTS = [host for host in CONFIG.hosts.split(",") if host]
_next_host = itertools.count()


class TimetabledUser(HttpUser):
    """A user that sends one request every `interval` seconds on a fixed timetable (see the module doc)."""

    abstract = True
    interval_s = 1.0
    kind = ""  # the sample name of its timetabled request
    _due = float("inf")  # when its next request is due

    def __init__(self, environment: Any) -> None:
        if HOSTS:
            self.host = HOSTS[next(_next_host) % len(HOSTS)]
        super().__init__(environment)

    def on_start(self) -> None:
        # A random phase spreads the users over the interval instead of firing them together. The wait
        # happens in wait_time (see `due`), where locust can stop a user at once when the run ends.
        self._due = time.time() + random.uniform(0, self.interval_s)

    def wait_time(self) -> float:
        return max(0.0, self._due - time.time())

    def due(self) -> bool:
        """Whether the next request is due; a task that is called early returns and waits instead."""
        return time.time() >= self._due - 0.001

    def on_stop(self) -> None:
        """Count the slots that fell due in the window while this user was still busy with an earlier
        request: the generator's own shortfall (0 while it keeps up)."""
        now = time.time()
        SAMPLES.window_end = SAMPLES.window_end or now  # the first user to stop marks the end of the run
        end = min(now, SAMPLES.window_end)
        if self._due <= end and self.kind:
            SAMPLES.missed[self.kind] += int((end - self._due) // self.interval_s) + 1

    def next_due(self, name: str) -> float:
        """The due time of the request about to be sent, and the timetable moved on by one."""
        SAMPLES.sent_at[name].append(time.time())
        due = self._due
        self._due += self.interval_s
        return due

    def record_intended(self, name: str, due: float) -> None:
        SAMPLES.intended_ms[name].append((time.time() - due) * 1000)


class SmallPlanUser(TimetabledUser):
    """Synchronous plan for the small example request: the interactive path a CRM takes."""

    abstract = CONFIG.small_users == 0
    kind = SMALL
    fixed_count = CONFIG.small_users
    interval_s = CONFIG.user_interval(CONFIG.small_users, CONFIG.small_rps)

    @task
    def small_plan(self) -> None:
        if not self.due():
            return
        due = self.next_due(SMALL)
        with self.client.post("/v1/plans", json=SMALL_REQUEST, name=SMALL, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}")
            elif response.json().get("status") not in DONE:
                response.failure(f"plan status {response.json().get('status')}")
        self.record_intended(SMALL, due)


class AsyncJobUser(TimetabledUser):
    """Submits an M-size job with ?mode=async, then polls its Location until the plan is there."""

    abstract = CONFIG.async_users == 0
    kind = ASYNC_JOB
    fixed_count = CONFIG.async_users
    interval_s = CONFIG.user_interval(CONFIG.async_users, CONFIG.async_per_min / 60)

    def on_start(self) -> None:
        from benchmarks.generator import generate  # only this user needs the generator

        self.body = generate(CONFIG.async_size, CONFIG.async_seed)  # type: ignore[arg-type]
        self.body.setdefault("options", {})["time_limit_s"] = CONFIG.async_time_limit_s
        super().on_start()

    @task
    def async_job(self) -> None:
        if not self.due():
            return
        due = self.next_due(ASYNC_JOB)
        started = time.perf_counter()
        with self.client.post(
            "/v1/plans?mode=async", json=self.body, name=ASYNC_SUBMIT, catch_response=True
        ) as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}")
                return
            job = response.json()["id"]
        error: str | None = None
        deadline = started + CONFIG.async_time_limit_s * 3 + 60
        while True:
            gevent.sleep(CONFIG.poll_interval_s)
            with self.client.get(f"/v1/plans/{job}", name=ASYNC_POLL, catch_response=True) as poll:
                if poll.status_code != 200:
                    poll.failure(f"HTTP {poll.status_code}")
                    error = f"poll HTTP {poll.status_code}"
                    break
                status = poll.json().get("status")
            if status in DONE:
                break
            if status not in PENDING:
                error = f"job ended {status}"
                break
            if time.perf_counter() > deadline:
                error = "no plan before the deadline"
                break
        elapsed_ms = (time.perf_counter() - started) * 1000
        events.request.fire(  # type: ignore[no-untyped-call]
            request_type="JOB",
            name=ASYNC_JOB,
            response_time=elapsed_ms,
            response_length=0,
            exception=RuntimeError(error) if error else None,
            context={},
        )
        self.record_intended(ASYNC_JOB, due)


def scenario_body() -> dict[str, Any]:
    base = copy.deepcopy(SMALL_REQUEST)
    first = base["staff"][0]["id"]
    return {
        "name": "load test what-if",
        "base": base,
        "variants": [
            {"name": "all rates +10%", "changes": [{"op": "scale_rates", "factor": 1.1}]},
            {"name": f"without {first}", "changes": [{"op": "remove_staff", "staff_id": first}]},
        ],
    }


class ScenarioUser(TimetabledUser):
    """A what-if comparison of the small request with two variants."""

    abstract = CONFIG.scenario_users == 0
    kind = SCENARIO
    fixed_count = CONFIG.scenario_users
    interval_s = CONFIG.user_interval(CONFIG.scenario_users, CONFIG.scenario_per_min / 60)
    body = scenario_body()

    @task
    def scenario(self) -> None:
        if not self.due():
            return
        due = self.next_due(SCENARIO)
        with self.client.post("/v1/scenarios", json=self.body, name=SCENARIO, catch_response=True) as response:
            if response.status_code not in (200, 201):
                response.failure(f"HTTP {response.status_code}")
        self.record_intended(SCENARIO, due)


# Each timetabled kind's per-user interval, for the steady-rate window.
INTERVALS = {user.kind: user.interval_s for user in (SmallPlanUser, AsyncJobUser, ScenarioUser)}
