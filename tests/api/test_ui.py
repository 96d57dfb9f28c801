"""The director's page as served: the HTML, its vendored assets, and the scenario files it may run."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.whatif import parse_scenario
from tests.api.conftest import ClientFactory

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_page_is_served_at_the_root_without_a_key(client: TestClient) -> None:
    client.headers.pop("X-API-Key")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Presales allocation" in html
    assert 'data-auth-enabled="true"' in html
    assert "/ui/static/vendor/echarts/echarts.min.js" in html
    assert "cdn" not in html.lower()


def test_the_charting_library_is_vendored_with_its_license(client: TestClient) -> None:
    client.headers.pop("X-API-Key")
    script = client.get("/ui/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert len(script.content) > 500_000
    assert "Apache License" in client.get("/ui/static/vendor/echarts/LICENSE").text
    for asset in ("/ui/static/app.js", "/ui/static/app.css"):
        assert client.get(asset).status_code == 200, asset


def test_scenario_files_are_listed_and_served_to_a_tenant(client: TestClient) -> None:
    files = client.get("/ui/scenario-files")
    assert files.status_code == 200
    listed = {f["file"]: f for f in files.json()}
    assert set(listed) == {p.name for p in SCENARIOS.glob("whatif-*.json")}
    fast_growth = listed["whatif-fast-growth.json"]
    assert len(fast_growth["variants"]) == 2
    assert (fast_growth["staff"], fast_growth["opportunities"], fast_growth["weeks"]) == (80, 200, 8)
    document = client.get("/ui/scenario-files/whatif-fast-growth.json")
    assert document.status_code == 200
    assert parse_scenario(document.json()).name == fast_growth["name"]
    client.headers.pop("X-API-Key")
    assert client.get("/ui/scenario-files").status_code == 401
    assert client.get("/ui/scenario-files/whatif-fast-growth.json").status_code == 401


@pytest.mark.parametrize("name", ["fast-growth.json", "..%2Fpyproject.toml", "whatif-..json", "whatif-x.txt"])
def test_only_scenario_files_of_the_folder_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/ui/scenario-files/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_without_a_scenario_folder_the_list_is_empty(make_client: ClientFactory) -> None:
    client = make_client(scenario_dir=None)
    assert client.get("/ui/scenario-files").json() == []
    assert client.get("/ui/scenario-files/whatif-fast-growth.json").status_code == 404
