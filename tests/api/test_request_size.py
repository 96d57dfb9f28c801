"""A request too large for its time limit is refused before anything is queued (service/admission.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from benchmarks.admission import copies


def test_the_api_refuses_it_with_a_problem_naming_the_field(client: TestClient) -> None:
    response = client.post("/v1/plans?mode=async", json=copies(staff=500, deals=2000, time_limit_s=5))
    assert response.status_code == 422
    problem = response.json()
    assert [error["path"] for error in problem["errors"]] == ["options.time_limit_s"]
    assert client.get("/v1/plans").json()["items"] == []  # nothing was queued
