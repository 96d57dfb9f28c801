"""The workspace's CSV files over HTTP, on SQLite and PostgreSQL: a market stage imported from scenarios/,
exported back byte for byte, a bad file refused whole with every problem by row and column, a viewer's
export without rates or budgets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from service.contract import AllocationRequest
from tests.api.conftest import ClientFactory, Tenants

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CSV = {"Content-Type": "text/csv"}


def import_stage(client: TestClient, stage: str, headers: dict[str, str] | None = None) -> None:
    horizon = json.loads((SCENARIOS / f"{stage}.json").read_text())["horizon"]
    assert client.put("/v1/workspace/settings", json={"horizon": horizon}, headers=headers).status_code == 200
    for kind in ("staff", "opportunities"):
        body = (SCENARIOS / f"{stage}.{kind}.csv").read_bytes()
        response = client.put(f"/v1/workspace/{kind}.csv", content=body, headers={**CSV, **(headers or {})})
        assert response.status_code == 200, response.text
        assert response.json()["imported"] > 0


def test_a_market_stage_imports_from_csv_and_exports_back_byte_for_byte(client: TestClient) -> None:
    import_stage(client, "new-market")
    for kind in ("staff", "opportunities"):
        exported = client.get(f"/v1/workspace/{kind}.csv")
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.content == (SCENARIOS / f"new-market.{kind}.csv").read_bytes()
    # The workspace holds the JSON scenario's roster and pipeline (without its pins and leads).
    scenario = json.loads((SCENARIOS / "new-market.json").read_text())
    request = client.get("/v1/workspace/request").json()
    AllocationRequest.model_validate(request)
    assert sorted(p["id"] for p in request["staff"]) == sorted(p["id"] for p in scenario["staff"])
    assert len(request["opportunities"]) == len(scenario["opportunities"])


def test_a_bad_file_is_refused_whole_with_every_problem_by_row_and_column(client: TestClient) -> None:
    import_stage(client, "new-market")
    revision = client.get("/v1/workspace").json()["revision"]
    lines = (SCENARIOS / "new-market.staff.csv").read_text().splitlines()
    header = lines[0].split(",")
    rate = header.index("hourly_rate")
    broken = [lines[0]]
    for number, line in enumerate(lines[1:4], start=2):
        cells = line.split(",")
        if number == 2:
            cells[rate] = "cheap"
        if number == 4:
            cells[0] = lines[1].split(",")[0]  # the id of row 2 again
        broken.append(",".join(cells))
    response = client.put("/v1/workspace/staff.csv", content="\n".join(broken).encode(), headers=CSV)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["row"], e["column"]) for e in errors} >= {(2, "hourly_rate"), (4, "id")}
    assert all(e["path"].startswith("row ") for e in errors)
    assert client.get("/v1/workspace").json()["revision"] == revision
    assert len(client.get("/v1/workspace/staff", params={"limit": 500}).json()["items"]) == len(lines) - 1


def test_a_viewer_exports_without_rates_or_budgets_and_cannot_import(
    make_client: ClientFactory, tenants: Tenants
) -> None:
    viewer_key = f"viewer-{uuid.uuid4().hex[:8]}"
    client = make_client(api_keys={tenants.a_key: tenants.a, viewer_key: f"{tenants.a}:viewer"})
    import_stage(client, "new-market")
    viewer = {"X-API-Key": viewer_key}
    staff = client.get("/v1/workspace/staff.csv", headers=viewer).text.splitlines()[0].split(",")
    deals = client.get("/v1/workspace/opportunities.csv", headers=viewer).text.splitlines()[0].split(",")
    assert "hourly_rate" not in staff
    assert "id" in staff
    assert "presales_budget" not in deals
    assert "deal_value" in deals
    body = (SCENARIOS / "new-market.staff.csv").read_bytes()
    assert client.put("/v1/workspace/staff.csv", content=body, headers={**CSV, **viewer}).status_code == 403
