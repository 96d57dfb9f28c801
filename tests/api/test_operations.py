"""Health, readiness, Prometheus metrics, request ids, unknown routes, and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from tests.api.workload import EXAMPLE, small_request, wait_for

SHARED_EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "examples" / "small-request.json"


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = wait_for(
        lambda: client.get("/readyz").json() if client.get("/readyz").status_code == 200 else None,
        timeout_s=60,
        what="a solver process to be ready",
    )
    assert ready["status"] == "ready"
    assert ready["database"] == "reachable"
    assert 1 <= ready["solver_processes_ready"] <= ready["solver_processes"]


def test_readyz_is_503_while_no_solver_process_is_ready(client: TestClient) -> None:
    runner = client.app.state.runner  # type: ignore[attr-defined]
    workers = runner.executor.pool.workers
    saved = [worker._ready for worker in workers]
    for worker in workers:
        worker._ready = False  # as just after start-up, before any process has imported the planner
    try:
        response = client.get("/readyz")
    finally:
        for worker, was in zip(workers, saved, strict=True):
            worker._ready = was
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "solver process" in response.json()["detail"]


def test_readyz_is_503_when_the_database_is_unreachable(client: TestClient) -> None:
    app = client.app
    working = app.state.engine  # type: ignore[attr-defined]
    app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # type: ignore[attr-defined]
    try:
        response = client.get("/readyz")
    finally:
        app.state.engine = working  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "database" in response.json()["detail"]


def test_metrics_cover_requests_solves_queue_and_jobs_in_flight(client: TestClient) -> None:
    assert client.post("/v1/plans", json=small_request()).status_code == 201
    text = client.get("/metrics").text
    assert 'http_request_duration_seconds_count{method="POST",route="/v1/plans",status="201"} 1.0' in text
    assert 'solve_duration_seconds_count{status="optimal"} 1.0' in text
    assert "solve_queue_depth 0.0" in text
    assert "solve_jobs_in_flight 0.0" in text
    assert 'solve_jobs_finished_total{status="optimal"} 1.0' in text


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "crm-123"}).headers["x-request-id"] == "crm-123"
    assert client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.put("/v1/plans")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405


def test_the_packaged_example_is_the_shared_one() -> None:
    if SHARED_EXAMPLE.exists():  # only in the project's workspace, not in an installed package
        assert json.loads(EXAMPLE.read_text()) == json.loads(SHARED_EXAMPLE.read_text())


def test_the_openapi_document_has_the_contract_and_realistic_examples(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    post = document["paths"]["/v1/plans"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/AllocationRequest"}
    assert body["examples"]["small"]["value"] == small_request()
    assert set(post["responses"]) >= {"201", "202", "400", "401", "409", "413", "415", "422", "429"}
    plan_example = post["responses"]["201"]["content"]["application/json"]["example"]
    assert plan_example["status"] == "optimal"
    schemas = document["components"]["schemas"]
    assert {"AllocationRequest", "Opportunity", "Demand", "Plan", "JobState", "Problem", "PlanPage"} <= schemas.keys()
    assert document["paths"]["/v1/plans/{plan_id}"]["delete"]["responses"].keys() >= {"200", "202", "404", "409"}
    assert "swagger-ui" in client.get("/docs").text
