"""POST, GET and list /v1/plans: synchronous and asynchronous solves, paging, and what bad input gets."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory
from tests.api.workload import is_finished, small_request, wait_for_status
from tests.checker import check_plan

PROBLEM = "application/problem+json"


def test_a_synchronous_post_returns_the_optimal_plan_and_where_it_lives(client: TestClient) -> None:
    request = small_request()
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert response.headers["location"] == f"/v1/plans/{plan['id']}"
    assert plan["status"] == "optimal"
    assert plan["cancelled"] is False
    report = check_plan(request, plan)
    assert report.violations == []
    stored = client.get(response.headers["location"])
    assert stored.status_code == 200
    assert stored.json() == plan


def test_an_asynchronous_post_is_acknowledged_then_solved(client: TestClient) -> None:
    response = client.post("/v1/plans", params={"mode": "async"}, json=small_request())
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted == {"id": accepted["id"], "status": "queued"}
    assert response.headers["location"] == f"/v1/plans/{accepted['id']}"
    plan = wait_for_status(client, accepted["id"], is_finished)
    assert plan["status"] == "optimal"
    assert plan["id"] == accepted["id"]


def test_unknown_plans_are_404_problems(client: TestClient) -> None:
    for plan_id in ("00000000-0000-0000-0000-000000000000", "not-an-id", "x" * 500):
        response = client.get(f"/v1/plans/{plan_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 404
        assert {"type", "title", "detail"} <= problem.keys()


def test_plans_are_listed_newest_first_a_page_at_a_time(make_client: ClientFactory) -> None:
    client = make_client(tenant_max_active_jobs=10)
    ids = [client.post("/v1/plans", params={"mode": "async"}, json=small_request()).json()["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/plans", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in page.headers
            break
        assert 'rel="next"' in page.headers["link"]
    assert seen == list(reversed(ids))
    for plan_id in ids:
        wait_for_status(client, plan_id, is_finished)
    items = client.get("/v1/plans").json()["items"]
    assert {item["status"] for item in items} == {"optimal"}
    assert all(item["covered_value"] > 0 for item in items)


@pytest.mark.parametrize(
    ("params", "path"),
    [({"limit": 0}, "query.limit"), ({"limit": 1000}, "query.limit"), ({"cursor": "bogus"}, "query.cursor")],
)
def test_bad_paging_parameters_are_422_with_their_path(
    client: TestClient, params: dict[str, object], path: str
) -> None:
    response = client.get("/v1/plans", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["path"] for e in response.json()["errors"]] == [path]


def test_a_contract_violation_is_422_naming_every_field_by_path(client: TestClient) -> None:
    request = small_request()
    request["opportunities"][1]["demands"][0]["end_week"] = 9
    request["opportunities"][2]["demands"][0]["min_level"] = 7
    del request["staff"][0]["hourly_rate"]
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("validation-error")
    assert problem["status"] == 422
    paths = {e["path"] for e in problem["errors"]}
    # The week outside the horizon is a cross-field rule: reported with the field errors, not after them.
    assert paths == {
        "opportunities[1].demands[0].end_week",
        "opportunities[2].demands[0].min_level",
        "staff[0].hourly_rate",
    }
    for error in problem["errors"]:
        assert error["message"]
        assert error["type"]


def test_cross_field_errors_come_with_their_paths(client: TestClient) -> None:
    request = small_request()
    request["opportunities"][1]["demands"][0]["end_week"] = 9
    request["opportunities"][0]["pinned"] = [{"demand_id": "arch", "staff_id": "east-01"}]
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 422
    errors = {e["path"]: e for e in response.json()["errors"]}
    assert set(errors) == {"opportunities[1].demands[0].end_week", "opportunities[0].pinned[0]"}
    assert errors["opportunities[0].pinned[0]"]["type"] == "pin_conflict"


def test_a_wrong_type_and_a_duplicate_id_are_reported_in_one_422(client: TestClient) -> None:
    request = small_request()
    request["staff"][1]["hourly_rate"] = False
    request["opportunities"][1]["id"] = request["opportunities"][0]["id"]
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 422
    problem = response.json()
    errors = {e["path"]: e["type"] for e in problem["errors"]}
    assert errors == {"staff[1].hourly_rate": "float_type", "opportunities[1].id": "duplicate_id"}
    assert problem["detail"] == "2 fields of the request are invalid"


def test_list_length_limits_are_enforced(client: TestClient) -> None:
    request = small_request()
    request["opportunities"][0]["demands"] = [
        dict(request["opportunities"][0]["demands"][0], id=f"d{i}") for i in range(51)
    ]
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["opportunities[0].demands"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"horizon": ', "application/json", 400),
        (b"\xff\xfe not utf-8", "application/json", 400),
        (b"[" * 100_000, "application/json", 400),
        (b"horizon=1", "application/x-www-form-urlencoded", 415),
        (json.dumps(small_request()).encode(), "text/plain", 415),
        (b"[]", "application/json", 422),
        (b"null", "application/json", 422),
    ],
)
def test_bodies_that_are_not_a_request_get_a_problem_not_a_500(
    client: TestClient, body: bytes, content_type: str, status: int
) -> None:
    response = client.post("/v1/plans", content=body, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


def test_a_body_over_the_limit_is_413_whether_announced_or_streamed(make_client: ClientFactory) -> None:
    client = make_client(max_request_bytes=4096)
    big = json.dumps(small_request() | {"padding": "x" * 5000}).encode()
    announced = client.post("/v1/plans", content=big, headers={"content-type": "application/json"})
    assert announced.status_code == 413
    assert announced.headers["content-type"] == PROBLEM

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = client.post("/v1/plans", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["status"] == 413
    assert client.post("/v1/plans", json=small_request()).status_code == 201


def test_an_infeasible_request_is_stored_as_an_infeasible_plan(client: TestClient) -> None:
    request = small_request()
    # Two pins that hold one by one but not together: dc-01 has 40 h a week, both demands want 16+16+… over it.
    request["staff"][0]["capacity_hours"] = 20
    request["opportunities"][0]["pinned"] = [{"demand_id": "arch", "staff_id": "dc-01"}]
    request["opportunities"][0]["demands"].append(
        {"id": "arch2", "skill": "core-banking", "min_level": 4, "hours_per_week": 16, "start_week": 0, "end_week": 3}
    )
    request["opportunities"][0]["pinned"].append({"demand_id": "arch2", "staff_id": "dc-01"})
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["status"] == "infeasible"
    assert plan["explanation"]["conflicting"]


def test_nul_characters_anywhere_are_no_trouble_for_either_database(client: TestClient) -> None:
    request = small_request()
    request["staff"][0]["name"] = "Chen\x00Jing"
    request["opportunities"][0]["customer"] = "Bank\u0000of East"
    response = client.post("/v1/plans", json=request)
    assert response.status_code == 201, response.text
    assert client.get(response.headers["location"]).json()["status"] == "optimal"
    for path in ("/v1/plans/%00", "/v1/plans/a%00b"):
        assert client.get(path).status_code == 404
        assert client.delete(path).status_code == 404
    cursor = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|\x00").decode()
    assert client.get("/v1/plans", params={"cursor": cursor}).status_code == 422
