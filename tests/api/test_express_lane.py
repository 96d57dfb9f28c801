"""Small requests have a solver process of their own: they never wait behind large jobs; idle general
processes help with them."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from service.api import create_app
from service.jobs.local import Lanes
from tests.api.workload import busy_request, is_running, small_request, wait_for_status
from tests.db.targets import DatabaseTarget


def test_a_small_request_is_solved_while_the_only_general_solver_is_busy(database_target: DatabaseTarget) -> None:
    settings = database_target.settings(solve_workers=1, express_workers=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        big = client.post("/v1/plans?mode=async", json=busy_request(time_limit_s=60.0))
        assert big.status_code == 202, big.text
        big_id = big.json()["id"]
        wait_for_status(client, big_id, is_running, timeout_s=60)

        small = client.post("/v1/plans", json=small_request())
        assert small.status_code == 201, small.text
        assert small.json()["status"] == "optimal"
        # The large job still holds the general solver: the small one went around it, not after it.
        assert client.get(f"/v1/plans/{big_id}").json()["status"] == "running"

        assert client.delete(f"/v1/plans/{big_id}").status_code == 200


async def let_the_loop_run() -> None:
    """Give every ready task its turns (scheduling, not time: the same on any machine load)."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_general_processes_take_express_work_when_they_have_none_and_express_never_takes_general() -> None:
    async def scenario() -> list[str]:
        lanes = Lanes()
        lanes.put("big-1", express=False)
        lanes.put("small-1", express=True)
        lanes.put("small-2", express=True)
        taken = [
            str(await lanes.get(express_only=True)),  # the express process: small work only
            str(await lanes.get(express_only=False)),  # a general process: its own work first
            str(await lanes.get(express_only=False)),  # then, with none left, the express lane's
        ]
        waiting = asyncio.create_task(lanes.get(express_only=True))
        await let_the_loop_run()
        lanes.put("big-2", express=False)
        await let_the_loop_run()
        assert not waiting.done(), "an express process must not take general work"
        lanes.put("small-3", express=True)
        taken.append(str(await asyncio.wait_for(waiting, 1.0)))
        taken.append(str(await lanes.get(express_only=False)))
        return taken

    assert asyncio.run(scenario()) == ["small-1", "big-1", "small-2", "small-3", "big-2"]
