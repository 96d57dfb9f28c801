"""Readiness with Celery: an API process is ready once the database and the broker answer and at least one
worker answers a ping; otherwise 503, naming what failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.service_process import free_port
from service.api import create_app
from tests.api.workload import wait_for
from tests.db.targets import DatabaseTarget
from tests.distributed.processes import cluster

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.timeout(300)]


def test_readyz_names_an_unreachable_broker(postgres: DatabaseTarget) -> None:
    # Nothing listens on this port: the broker cannot be reached.
    settings = postgres.settings(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}//", cluster_probe_cache_s=0)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["failed"] == ["broker"]
        assert "broker is not reachable" in problem["detail"]
        assert "broker_reachable 0.0" in client.get("/metrics").text


def test_readyz_waits_for_a_worker_to_answer(broker_url: str, postgres: DatabaseTarget, tmp_path: Path) -> None:
    assert postgres.schema is not None
    with cluster(broker_url=broker_url, database_url=postgres.url, schema=postgres.schema, workdir=tmp_path) as made:
        settings = made.settings.model_copy(update={"cluster_probe_cache_s": 0.0})
        with TestClient(create_app(settings)) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["failed"] == ["workers"]
            assert "no Celery worker answered" in response.json()["detail"]
            metrics = client.get("/metrics").text
            assert "broker_reachable 1.0" in metrics
            assert "workers_alive 0.0" in metrics

            made.worker().wait_until_ready()

            def ready() -> dict[str, object] | None:
                answer = client.get("/readyz")
                return answer.json() if answer.status_code == 200 else None

            readiness = wait_for(ready, timeout_s=60, what="the worker to answer the ping", interval_s=0.5)
            assert (readiness["broker"], readiness["workers"]) == ("reachable", 1)
            assert "workers_alive 1.0" in client.get("/metrics").text
