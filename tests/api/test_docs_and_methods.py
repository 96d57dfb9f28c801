"""The API docs work on a closed network, and a wrong method is a problem document like any error."""

from __future__ import annotations

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
