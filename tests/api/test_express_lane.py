"""Small requests have a solver process of their own: they never wait behind large jobs."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.api import create_app
from tests.api.workload import busy_request, is_running, wait_for_status
from tests.db.targets import DatabaseTarget

EXAMPLE = json.loads((Path(__file__).parents[3] / "shared" / "examples" / "small-request.json").read_text())


def test_a_small_request_is_solved_while_the_only_general_solver_is_busy(database_target: DatabaseTarget) -> None:
    settings = database_target.settings(solve_workers=1, express_workers=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        big = client.post("/v1/plans?mode=async", json=busy_request(time_limit_s=60.0))
        assert big.status_code == 202, big.text
        big_id = big.json()["id"]
        wait_for_status(client, big_id, is_running, timeout_s=60)

        small = client.post("/v1/plans", json=EXAMPLE)
        assert small.status_code == 201, small.text
        assert small.json()["status"] == "optimal"
        # The large job still holds the general solver: the small one went around it, not after it.
        assert client.get(f"/v1/plans/{big_id}").json()["status"] == "running"

        assert client.delete(f"/v1/plans/{big_id}").status_code == 200
