"""The API's own suites against the Celery setup: the hypothesis state machine of the job lifecycle
(tests/api/test_lifecycle.py) and schemathesis (tests/api/test_schema.py), each against a real API process
whose solves run on two Celery workers, over the real RabbitMQ and PostgreSQL of this machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.api.test_lifecycle import CAP, JobLifecycle
from tests.api.test_schema import CHECKS, RESPONSE_TIMEOUT_S, bounded_solves, schema
from tests.budget import examples, full_strength
from tests.db.targets import database_target_for
from tests.distributed.processes import Api, Cluster, cluster

pytestmark = [pytest.mark.celery, pytest.mark.postgres]

LIFECYCLE_KEY = "lifecycle-key"
SCHEMA_KEY = "schemathesis-key"


@pytest.fixture(scope="module")
def celery_api(broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One API process and two workers (one solve at a time each), shared by this module's tests."""
    workdir = tmp_path_factory.mktemp("suites")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    for target in database_target_for("postgres", workdir, worker):
        assert target.schema is not None
        made: Cluster
        with cluster(
            broker_url=broker_url,
            database_url=target.url,
            schema=target.schema,
            workdir=workdir,
            API_KEYS=f"{LIFECYCLE_KEY}:lifecycle,{SCHEMA_KEY}:fuzz",
            TENANT_MAX_ACTIVE_JOBS=str(CAP),
        ) as made:
            made.start(apis=1, workers=2)
            yield made.apis[0]


@pytest.mark.timeout(900)
def test_the_job_lifecycle_holds_its_promises_on_celery(celery_api: Api) -> None:
    base_url = f"http://127.0.0.1:{celery_api.port}"
    with httpx.Client(base_url=base_url, headers={"X-API-Key": LIFECYCLE_KEY}, timeout=120) as client:

        class AgainstCelery(JobLifecycle):
            def __init__(self) -> None:
                super().__init__(client)  # type: ignore[arg-type]  # an httpx client, as TestClient is

        run_state_machine_as_test(
            AgainstCelery,
            settings=settings(
                max_examples=examples(6),
                stateful_step_count=12,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
    celery_api.alive()


@schema.parametrize()
@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.timeout(900)
def test_the_api_keeps_its_openapi_promises_on_celery(case: Any, celery_api: Api) -> None:
    if not full_strength() and case.meta.phase.name == "coverage":
        # As on PostgreSQL in tests/api/test_schema.py: the coverage phase (some 1,500 cases for POST
        # /v1/scenarios alone) runs here only at full strength (CI, HYPOTHESIS_PROFILE=full).
        return
    bounded_solves(case)
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{celery_api.port}",
        headers={"X-API-Key": SCHEMA_KEY},
        checks=CHECKS,
        timeout=RESPONSE_TIMEOUT_S,
    )
