"""The API docs work on a closed network, and a wrong method is a problem document like any error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def test_docs_page_uses_only_assets_served_by_the_app(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        url = f"/ui/static/vendor/swagger-ui/{asset}"
        assert url in page.text
        served = client.get(url)
        assert served.status_code == 200
        assert len(served.content) > 10_000


def test_a_wrong_method_gets_problem_details_with_a_detail(client: TestClient) -> None:
    response = client.put("/v1/plans", json={})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 405
    assert body["detail"] == "PUT is not allowed on /v1/plans"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/plans/5f0c6b1e-2a4d-4c1b-9e7f-0a1b2c3d4e5f", {"GET", "DELETE"}),
        ("PUT", "/v1/plans/5f0c6b1e-2a4d-4c1b-9e7f-0a1b2c3d4e5f", {"GET", "DELETE"}),
        ("PUT", "/v1/plans", {"GET", "POST"}),
        ("DELETE", "/v1/plans", {"GET", "POST"}),
        ("PATCH", "/v1/scenarios", {"GET", "POST"}),
        ("DELETE", "/v1/recommendations", {"POST"}),
        ("POST", "/healthz", {"GET"}),
    ],
)
def test_a_405_allows_every_method_the_path_serves(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    # Each method named in Allow is really served on the path (anything but 405).
    for other in allowed:
        assert client.request(other, path).status_code != 405, other


def test_static_files_keep_their_own_allow_header(client: TestClient) -> None:
    response = client.post("/ui/static/app.css")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
