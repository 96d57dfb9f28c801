"""`presales-allocator workspace ...` against a real server process (SQLite): load a market stage in one
command, propose, publish, and the errors a user meets (no server, a stale proposal)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from benchmarks.service_process import free_port, service_process
from service.cli import app

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
runner = CliRunner()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with service_process() as port:
        yield f"http://127.0.0.1:{port}"


def test_a_market_stage_loads_in_one_command_then_is_proposed_and_published(url: str) -> None:
    loaded = runner.invoke(app, ["workspace", "load", str(SCENARIOS / "new-market.json"), "--url", url])
    assert loaded.exit_code == 0, loaded.output
    assert "staff: 20 imported" in loaded.output
    assert "opportunities: " in loaded.output
    settings = httpx.get(f"{url}/v1/workspace/settings").json()
    assert settings["horizon"] == {"start": "2027-03-01", "weeks": 8}

    planned = runner.invoke(app, ["workspace", "plan", "--time-limit", "5", "--url", url])
    assert planned.exit_code == 0, planned.output
    plan_id = re.search(r"publish it with: uv run presales-allocator workspace publish (\S+)", planned.output)
    assert plan_id is not None, planned.output
    published = runner.invoke(app, ["workspace", "publish", plan_id.group(1), "--url", url])
    assert published.exit_code == 0, published.output
    assert "tentative" in published.output
    assert httpx.get(f"{url}/v1/workspace").json()["plan_of_record_id"] == plan_id.group(1)

    # The bookings, one line each; one confirmed, one released, by id.
    listed = runner.invoke(app, ["workspace", "bookings", "--status", "tentative", "--url", url])
    assert listed.exit_code == 0, listed.output
    ids = re.findall(r"^(\S+)  tentative ", listed.output, flags=re.MULTILINE)
    tentative = httpx.get(f"{url}/v1/workspace/bookings", params={"status": "tentative", "limit": 100}).json()
    assert len(ids) == len(tentative["items"]) > 1
    confirmed = runner.invoke(app, ["workspace", "confirm", ids[0], "--url", url])
    assert confirmed.exit_code == 0, confirmed.output
    assert f"{ids[0]}: confirmed" in confirmed.output
    released = runner.invoke(app, ["workspace", "release", ids[1], "--url", url])
    assert released.exit_code == 0, released.output
    statuses = {b["id"]: b["status"] for b in httpx.get(f"{url}/v1/workspace/bookings").json()["items"]}
    assert (statuses[ids[0]], statuses[ids[1]]) == ("confirmed", "released")

    # Published once, it cannot be published again after a change: the 409 is printed, exit status 1.
    httpx.delete(f"{url}/v1/workspace/opportunities/opp-0001").raise_for_status()
    again = runner.invoke(app, ["workspace", "publish", plan_id.group(1), "--url", url])
    assert again.exit_code == 1
    assert "409" in again.output


def test_no_server_is_one_line_and_exit_status_1() -> None:
    result = runner.invoke(app, ["workspace", "plan", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert "cannot reach the server" in result.output
    assert "Traceback" not in result.output
