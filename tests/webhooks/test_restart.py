"""Deliveries survive the server: a real server process is killed (SIGKILL, no shutdown handler runs) with
deliveries pending, and the next process on the same database delivers them; one killed while a receiver
was still answering sends that delivery again once its claim has run out (at least once)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_restart import ROOT, Server
from tests.api.workload import small_request, wait_for
from tests.db.targets import DatabaseTarget
from tests.webhooks.receiver import Receiver

# A delivery's claim lasts 2 x WEBHOOK_TIMEOUT_S + 5 s: 9 s here, the longest a killed process delays one.
TIMEOUT_S = "2"


@pytest.fixture
def key() -> str:
    return f"restart-key-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def server_env(database_target: DatabaseTarget, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "DATABASE_URL", "DATABASE_SCHEMA")}
    env.update(database_target.env)
    env.update(
        {
            "API_KEYS": f"{key}:restart-{uuid.uuid4().hex[:8]}",
            "SOLVE_WORKERS": "1",
            "EXPRESS_WORKERS": "0",
            "LOG_JSON": "true",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WEBHOOK_POLL_S": "0.1",
            "WEBHOOK_BACKOFF_BASE_S": "0.2",
            "WEBHOOK_BACKOFF_MAX_S": "0.5",
            "WEBHOOK_TIMEOUT_S": TIMEOUT_S,
        }
    )
    return env


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def start(servers: list[Server], env: dict[str, str], workdir: Path, name: str, key: str) -> Server:
    server = Server(env, workdir, name)
    servers.append(server)
    server.client.headers["X-API-Key"] = key
    server.wait_until_healthy()
    return server


def kill(server: Server) -> None:
    server.process.kill()  # SIGKILL: the dispatcher gets no chance to hand anything back
    server.process.wait(10)


def delivered(server: Server, webhook_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        [delivery] = server.client.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["items"]
        return delivery if delivery["status"] == "delivered" else None

    found: dict[str, Any] = wait_for(probe, timeout_s=60, what="the delivery to be made", interval_s=0.1)
    return found


@pytest.mark.timeout(240)
def test_deliveries_pending_when_the_server_is_killed_are_made_after_the_restart(
    server_env: dict[str, str], key: str, tmp_path: Path, receiver: Receiver, servers: list[Server]
) -> None:
    receiver.default = 503  # the CRM is down
    first = start(servers, server_env, tmp_path, "first", key)
    webhook_id = first.client.post("/v1/webhooks", json={"url": receiver.url}).json()["id"]
    plan = first.client.post("/v1/plans", json=small_request())
    assert plan.status_code == 201, plan.text
    receiver.wait_for(lambda r: len(r.answered) >= 2, timeout_s=30, what="two failed attempts")
    kill(first)

    receiver.default = 200  # the CRM is back
    second = start(servers, server_env, tmp_path, "second", key)
    delivery = delivered(second, webhook_id)
    events = {r.event["id"] for r in receiver.received}
    assert events == {delivery["event_id"]}
    assert receiver.received[-1].event["data"]["plan_id"] == plan.json()["id"]
    assert delivery["attempts"] >= 3
    assert delivery["last_status_code"] == 200


@pytest.mark.timeout(240)
def test_a_delivery_cut_off_by_a_kill_is_sent_again_after_the_restart(
    server_env: dict[str, str], key: str, tmp_path: Path, receiver: Receiver, servers: list[Server]
) -> None:
    """Killed between sending and recording: the receiver may have acted on the event, the server cannot
    know, so it sends it again (receivers de-duplicate by the event's id)."""
    receiver.default = "hang"
    first = start(servers, server_env, tmp_path, "first", key)
    webhook_id = first.client.post("/v1/webhooks", json={"url": receiver.url}).json()["id"]
    assert first.client.post("/v1/plans", json=small_request()).status_code == 201
    receiver.wait_for(lambda r: r.hanging == 1, timeout_s=30, what="the delivery to reach the receiver")
    kill(first)

    receiver.default = 200
    second = start(servers, server_env, tmp_path, "second", key)
    delivery = delivered(second, webhook_id)
    sent = receiver.received
    assert len(sent) == 2
    assert sent[0].body == sent[1].body
    assert [r.headers["x-webhook-attempt"] for r in sent] == ["1", "2"]
    assert (delivery["attempts"], delivery["last_status_code"]) == (2, 200)
