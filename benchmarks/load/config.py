"""The load test's knobs, read from LOAD_* environment variables; shared by the locustfile and the runner
(this module must not import locust: the runner is not a gevent program)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMALL_REQUEST_CANDIDATES = (
    REPO.parent / "shared" / "examples" / "small-request.json",
    REPO / "service" / "api" / "examples" / "small-request.json",
)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def default_small_request() -> Path:
    for path in SMALL_REQUEST_CANDIDATES:
        if path.exists():
            return path
    raise FileNotFoundError(f"no small request at any of {[str(p) for p in SMALL_REQUEST_CANDIDATES]}")


@dataclass(frozen=True)
class LoadConfig:
    """Offered load as fixed arrival rates (an open model), and what each request carries.

    Each kind of request is sent by a fixed number of users, each on its own fixed timetable
    (one request every `interval` seconds, phase-shifted at random). Users = rate x interval, so
    one user stuck on a slow response does not lower the offered rate as long as responses take
    less than `interval`; the timetable then catches up (see the locustfile on coordinated omission)."""

    small_rps: float = 5.0  # synchronous small plans per second
    small_interval_s: float = 2.0  # each small-request user sends one every this many seconds
    async_per_min: float = 1.0  # M-size async jobs started per minute
    async_size: str = "M"
    async_seed: int = 0
    async_time_limit_s: float = 10.0
    async_interval_s: float = 120.0  # each async user submits one job per this many seconds, then polls it
    poll_interval_s: float = 1.0
    scenario_per_min: float = 1.0  # what-if scenarios (POST /v1/scenarios) per minute
    scenario_interval_s: float = 60.0
    small_request: str = ""  # path; empty = ../shared/examples/small-request.json
    hosts: str = ""  # comma-separated base URLs of several API processes, spread over the users; empty: --host
    output: str = ""  # where the locustfile writes its exact samples summary (JSON)
    run_time_s: float = 0.0  # locust's --run-time, the window rates are measured over (0: start to stop)

    @classmethod
    def from_env(cls) -> LoadConfig:
        return cls(
            small_rps=_float("LOAD_SMALL_RPS", cls.small_rps),
            small_interval_s=_float("LOAD_SMALL_INTERVAL_S", cls.small_interval_s),
            async_per_min=_float("LOAD_ASYNC_PER_MIN", cls.async_per_min),
            async_size=os.environ.get("LOAD_ASYNC_SIZE", cls.async_size),
            async_seed=_int("LOAD_ASYNC_SEED", cls.async_seed),
            async_time_limit_s=_float("LOAD_ASYNC_TIME_LIMIT_S", cls.async_time_limit_s),
            async_interval_s=_float("LOAD_ASYNC_INTERVAL_S", cls.async_interval_s),
            poll_interval_s=_float("LOAD_POLL_INTERVAL_S", cls.poll_interval_s),
            scenario_per_min=_float("LOAD_SCENARIO_PER_MIN", cls.scenario_per_min),
            scenario_interval_s=_float("LOAD_SCENARIO_INTERVAL_S", cls.scenario_interval_s),
            small_request=os.environ.get("LOAD_SMALL_REQUEST", ""),
            hosts=os.environ.get("LOAD_HOSTS", ""),
            output=os.environ.get("LOAD_OUTPUT", ""),
            run_time_s=_float("LOAD_RUN_TIME_S", cls.run_time_s),
        )

    def env(self) -> dict[str, str]:
        """The same configuration as environment variables, for a child locust process."""
        return {
            "LOAD_SMALL_RPS": str(self.small_rps),
            "LOAD_SMALL_INTERVAL_S": str(self.small_interval_s),
            "LOAD_ASYNC_PER_MIN": str(self.async_per_min),
            "LOAD_ASYNC_SIZE": self.async_size,
            "LOAD_ASYNC_SEED": str(self.async_seed),
            "LOAD_ASYNC_TIME_LIMIT_S": str(self.async_time_limit_s),
            "LOAD_ASYNC_INTERVAL_S": str(self.async_interval_s),
            "LOAD_POLL_INTERVAL_S": str(self.poll_interval_s),
            "LOAD_SCENARIO_PER_MIN": str(self.scenario_per_min),
            "LOAD_SCENARIO_INTERVAL_S": str(self.scenario_interval_s),
            "LOAD_SMALL_REQUEST": self.small_request,
            "LOAD_HOSTS": self.hosts,
            "LOAD_OUTPUT": self.output,
            "LOAD_RUN_TIME_S": str(self.run_time_s),
        }

    # Users per kind: rate x interval, so that each user's timetable gives the kind its offered rate.

    @staticmethod
    def _users(rate_per_s: float, interval_s: float) -> int:
        return 0 if rate_per_s <= 0 else max(1, math.ceil(rate_per_s * interval_s - 1e-9))

    @property
    def small_users(self) -> int:
        return self._users(self.small_rps, self.small_interval_s)

    @property
    def async_users(self) -> int:
        return self._users(self.async_per_min / 60, self.async_interval_s)

    @property
    def scenario_users(self) -> int:
        return self._users(self.scenario_per_min / 60, self.scenario_interval_s)

    def user_interval(self, users: int, rate_per_s: float) -> float:
        """Each user's interval so that `users` of them offer exactly `rate_per_s` together."""
        return users / rate_per_s if rate_per_s > 0 else math.inf

    @property
    def total_users(self) -> int:
        return self.small_users + self.async_users + self.scenario_users
