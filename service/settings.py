"""Service configuration from the environment (and an optional .env file), read once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.access import parse_grant

DEFAULT_DATABASE_URL = "sqlite:///var/presales-allocator.db"
# The repository's scenarios/ folder, when the service runs from a checkout (not from an installed wheel).
CHECKOUT_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def machine_cores() -> int:
    """Cores this process may run on (the affinity mask, not the host's total when limited)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Every knob of the HTTP service. Environment variables use the upper-case field name."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite:///path/to.db (relative to the working directory) or postgresql://user@host:port/db",
    )
    database_schema: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL only: the schema that holds the tables (created if missing).",
    )
    sqlite_busy_timeout_ms: int = Field(default=5_000, ge=0)

    bind_host: str = Field(
        default="127.0.0.1", description="Address `serve` binds when --host is not given (BIND_HOST)."
    )
    api_keys: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description='"key1:tenantA,key2:tenantB:viewer": each key names its tenant and, optionally, its role '
        "(admin, planner or viewer; admin when left out); empty means no authentication and loopback only.",
    )
    default_tenant: str = "default"

    solve_workers: int = Field(default_factory=machine_cores, ge=1, le=64, description="Long-lived solver processes.")
    express_workers: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Extra solver processes that serve only small requests, so they never queue behind large jobs.",
    )
    express_max_bytes: int = Field(
        default=65_536, ge=0, description="Requests up to this many bytes of JSON count as small (the express lane)."
    )
    inline_solve_max_bytes: int | None = Field(
        default=None,
        ge=0,
        description="Synchronous requests up to this many bytes of JSON are solved in the API process itself and "
        "stored in one transaction, without the queue (0: never). Default: 16384 with Celery (BROKER_URL), where "
        "the broker round trip costs more than a small solve; 0 with the local pool, whose express lane answers "
        "them in its own processes.",
    )
    inline_solve_budget_s: float = Field(
        default=1.0,
        gt=0,
        description="An inline solve not proven within this long takes the queue instead, with its whole limit.",
    )
    inline_solve_slots: int = Field(
        default_factory=machine_cores, ge=1, le=64, description="Inline solves at once in one API process."
    )
    tenant_max_active_jobs: int = Field(
        default=4, ge=1, description="Queued plus running solves one tenant may have before 429."
    )
    watchdog_factor: float = Field(
        default=1.5, ge=1.0, description="A solve is killed after time_limit_s times this factor."
    )
    watchdog_min_grace_s: float = Field(
        default=1.0, ge=0.0, description="...but never less than time_limit_s plus this many seconds."
    )
    cancel_grace_s: float = Field(
        default=3.0, gt=0, description="A cancelled solve that has not stopped after this long is killed."
    )
    cancel_wait_s: float = Field(
        default=2.0,
        ge=0,
        description="How long DELETE waits for a running solve to stop before answering 202.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        description="A job interrupted by this many restarts is marked failed instead of rerun.",
    )

    broker_url: str | None = Field(
        default=None,
        description="amqp://user:password@host:5672/vhost: run solves on Celery workers (`presales-allocator "
        "worker`) through this broker instead of this process's solver pool; needs a PostgreSQL DATABASE_URL.",
    )
    queue_prefix: str = Field(
        default="presales",
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="Celery queues are <prefix>.solve and <prefix>.express (small requests).",
    )
    job_lease_s: float = Field(
        default=10.0,
        gt=0,
        description="Celery: a worker's claim on a job lasts this long unless renewed (it renews every "
        "JOB_HEARTBEAT_S); once it has run out, another worker takes the job over.",
    )
    job_heartbeat_s: float = Field(
        default=0.5, gt=0, description="Celery: how often a worker renews its lease and looks for a cancel."
    )
    worker_planner: str = Field(
        default="service.planning:make_plan",
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="module:function a Celery worker solves with (tests put a stand-in that misbehaves here).",
    )
    cluster_probe_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Celery: how long /readyz and /metrics reuse what they last learned of the broker's queues "
        "and of the workers (a ping with a 1 s timeout), so that frequent probes stay cheap.",
    )
    sweep_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="Celery: how often an API process publishes queued jobs whose publish was lost.",
    )

    max_request_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="Request bodies above get 413.")
    page_size_max: int = Field(default=100, ge=1)

    scenario_dir: Path | None = Field(
        default_factory=lambda: CHECKOUT_SCENARIOS if CHECKOUT_SCENARIOS.is_dir() else None,
        description="Folder whose whatif-*.json files the director's page offers to run (SCENARIO_DIR).",
    )

    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="One delivery attempt, from resolving the receiver's name to its answer's status line.",
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, le=100, description="A delivery still failing after this many attempts is marked failed."
    )
    webhook_backoff_base_s: float = Field(
        default=15.0, gt=0, description="Wait after a delivery's first failed attempt; it doubles per attempt."
    )
    webhook_backoff_max_s: float = Field(
        default=3600.0, gt=0, description="The longest wait between two attempts at a delivery."
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, le=256, description="Deliveries one API process sends at once (one per subscription)."
    )
    webhook_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often an API process looks for deliveries that fell due."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs that resolve to private, loopback, link-local or reserved addresses.",
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        keys: dict[str, str] = {}
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, grant = item.partition(":")
            if not sep or not key.strip() or not grant.partition(":")[0].strip():
                raise ValueError(f"API_KEYS entries look like key:tenant or key:tenant:role, got {item!r}")
            keys[key.strip()] = grant.strip()
        return keys

    @field_validator("api_keys")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        for grant in value.values():
            parse_grant(grant)
        return value

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys)

    @property
    def inline_max_bytes(self) -> int:
        """INLINE_SOLVE_MAX_BYTES, or its default for the executor in use."""
        if self.inline_solve_max_bytes is not None:
            return self.inline_solve_max_bytes
        return 16_384 if self.distributed else 0

    @property
    def distributed(self) -> bool:
        """Whether solves run on Celery workers (BROKER_URL set) rather than this process's pool."""
        return bool(self.broker_url)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests override this dependency or call `get_settings.cache_clear()`."""
    return Settings()
