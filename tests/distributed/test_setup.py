"""The distributed mode refuses, with a sentence saying why, settings it cannot work with; none of this needs
the broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.api import create_app
from service.db.repositories import QueuedJob
from service.jobs.celery_app import DistributedSetupError, hard_time_limit_s, lane_of, limits_of, queue_name
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BROKER = "amqp://guest:guest@127.0.0.1:5672//"


def test_an_api_process_with_a_broker_refuses_sqlite(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'service.db'}", broker_url=BROKER)
    with pytest.raises(DistributedSetupError, match="needs a PostgreSQL DATABASE_URL") as refused:
        create_app(settings)
    assert "Unset BROKER_URL" in str(refused.value)


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
def test_the_console_script_refuses_a_broker_with_sqlite(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_SCHEMA", "API_KEYS")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}", "BROKER_URL": BROKER, "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "service", *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "needs a PostgreSQL DATABASE_URL" in done.stdout + done.stderr


def test_a_worker_needs_a_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_SCHEMA")}
    env.update({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test", "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "service", "worker"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "BROKER_URL is not set" in done.stdout + done.stderr


def test_small_requests_take_the_express_queue_and_every_task_gets_the_watchdogs_hard_limit() -> None:
    settings = Settings(queue_prefix="acme", express_max_bytes=1000)
    assert queue_name(settings, lane_of(settings, QueuedJob("a", 10.0, 999))) == "acme.express"
    assert queue_name(settings, lane_of(settings, QueuedJob("b", 10.0, 1001))) == "acme.solve"
    assert queue_name(settings, lane_of(settings, QueuedJob("c", 10.0, None))) == "acme.solve"
    limits = limits_of(settings)
    assert hard_time_limit_s(limits, 10.0) == pytest.approx(15.0 + 5.0)
    assert hard_time_limit_s(limits, 1.0) == pytest.approx(2.0 + 5.0)
