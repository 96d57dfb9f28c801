"""Deliveries to a real receiver on loopback, from the app's own dispatcher: signed as the contract says,
retried with backoff until the receiver takes them, marked failed after the last attempt, never slowing
the API while a receiver hangs, and handed back at a graceful stop so the next start sends them at once."""

from __future__ import annotations

import hashlib
import hmac
import statistics
import time
from typing import Any

from fastapi.testclient import TestClient

from service.api import create_app
from service.jobs.pool import SolvePool
from service.webhooks import emit
from tests.api.conftest import ClientFactory, Tenants
from tests.api.workload import small_request, wait_for
from tests.db.targets import DatabaseTarget
from tests.webhooks.receiver import Receiver

# Quick retries and polls, so that a test sees several attempts in well under a second.
FAST: dict[str, Any] = {
    "webhook_allow_private": True,
    "webhook_poll_s": 0.05,
    "webhook_backoff_base_s": 0.05,
    "webhook_backoff_max_s": 0.2,
}


def subscribe(client: TestClient, url: str, events: list[str] | None = None) -> tuple[str, str]:
    response = client.post("/v1/webhooks", json={"url": url} | ({"events": events} if events else {}))
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["secret"]


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """The receiver's check, as docs/webhooks.md shows it."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def delivery_log(client: TestClient, webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def settled(client: TestClient, webhook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The delivery log once `count` deliveries have left `pending`."""

    def probe() -> list[dict[str, Any]] | None:
        items = delivery_log(client, webhook_id)
        done = [item for item in items if item["status"] != "pending"]
        return items if len(done) >= count else None

    return wait_for(probe, timeout_s=60, what=f"{count} deliveries of {webhook_id} to settle")


def emit_event(client: TestClient, tenant: str, event_type: str, data: dict[str, Any]) -> str:
    """An event as the workspace emits one: in a transaction of the app's database."""
    with client.app.state.sessions.begin() as session:  # type: ignore[attr-defined]
        return emit(session, tenant, event_type, data)


def test_a_solved_plan_is_announced_signed_to_its_subscriber(make_client: ClientFactory, receiver: Receiver) -> None:
    client = make_client(**FAST)
    webhook_id, secret = subscribe(client, receiver.url, ["plan.completed"])
    solved = client.post("/v1/plans", json=small_request())
    assert solved.status_code == 201, solved.text
    plan = solved.json()

    [delivery] = settled(client, webhook_id)
    [got] = receiver.received
    assert signature_matches(secret, got.body, got.headers["x-signature-256"])
    assert not signature_matches(secret, got.body.replace(b"optimal", b"feasible"), got.headers["x-signature-256"])
    assert not signature_matches("another subscription's secret", got.body, got.headers["x-signature-256"])
    event = got.event
    assert list(event) == ["id", "type", "created_at", "data"]
    assert event["type"] == "plan.completed"
    assert event["created_at"].endswith("Z")
    assert event["data"] == {
        "plan_id": plan["id"],
        "status": plan["status"],
        "covered_value": plan["objective"]["covered_value"],
        "total_cost": plan["objective"]["total_cost"],
    }
    assert got.headers["content-type"] == "application/json"
    assert (got.headers["x-webhook-event"], got.headers["x-webhook-delivery"]) == ("plan.completed", delivery["id"])
    assert delivery["event_id"] == event["id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 200)
    assert delivery["delivered_at"] is not None


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth(
    make_client: ClientFactory, receiver: Receiver, tenants: Tenants
) -> None:
    client = make_client(**FAST)
    webhook_id, secret = subscribe(client, receiver.url)
    receiver.script(500, 500, 503)
    event_id = emit_event(client, tenants.a, "booking.confirmed", {"booking_id": "b-1"})

    [delivery] = settled(client, webhook_id)
    received = receiver.received
    assert receiver.answered == [500, 500, 503, 200]
    assert [r.headers["x-webhook-attempt"] for r in received] == ["1", "2", "3", "4"]
    # The same event each time: same id, same bytes, same signature.
    assert {r.body for r in received} == {received[0].body}
    assert received[0].event["id"] == event_id
    assert all(signature_matches(secret, r.body, r.headers["x-signature-256"]) for r in received)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 4, 200)
    assert delivery["last_error"] is None


def test_a_delivery_is_failed_after_its_last_attempt(
    make_client: ClientFactory, receiver: Receiver, tenants: Tenants
) -> None:
    client = make_client(**FAST, webhook_max_attempts=3)
    webhook_id, _ = subscribe(client, receiver.url)
    receiver.default = 500
    emit_event(client, tenants.a, "booking.broken", {"booking_id": "b-2", "reason": "person removed"})

    [delivery] = settled(client, webhook_id)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 3, 500)
    assert delivery["last_error"] == "the receiver answered 500"
    assert delivery["next_attempt_at"] is None
    assert len(receiver.received) == 3
    assert client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"status": "pending"}).json()["items"] == []


def median_latency_s(client: TestClient, path: str, count: int = 30) -> float:
    took = []
    for _ in range(count):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def test_a_hanging_receiver_does_not_slow_the_api(
    make_client: ClientFactory, receiver: Receiver, tenants: Tenants
) -> None:
    """Every sending slot held by a receiver that does not answer: requests are answered as fast as before
    (the ratio of medians, measured on the same app), while the receiver still holds every delivery."""
    concurrency = 3
    client = make_client(**FAST, webhook_timeout_s=120, webhook_concurrency=concurrency)
    hooks = [subscribe(client, receiver.url)[0] for _ in range(concurrency + 2)]
    read = f"/v1/webhooks/{hooks[0]}/deliveries"
    before = median_latency_s(client, read)

    receiver.default = "hang"
    emit_event(client, tenants.a, "plan.published", {"plan_id": "p-1"})
    receiver.wait_for(lambda r: r.hanging == concurrency, timeout_s=30, what="every sending slot to hang")
    during = median_latency_s(client, read)
    solved = client.post("/v1/plans", json=small_request())
    assert solved.status_code == 201, solved.text
    assert receiver.hanging == concurrency  # all of it was answered while every delivery hung
    assert during < 3 * before, (during, before)

    receiver.default = 200
    receiver.release()
    for webhook_id in hooks:
        assert all(item["status"] == "delivered" for item in settled(client, webhook_id, count=2))


def test_a_graceful_stop_hands_back_the_deliveries_it_was_sending(
    database_target: DatabaseTarget, solve_pool: SolvePool, tenants: Tenants, receiver: Receiver
) -> None:
    """Stopped while a receiver hangs, the app hands the delivery back (attempt uncounted, no lease): the next
    start sends it at once, not after the lease of a process that died."""
    settings = database_target.settings(api_keys=tenants.api_keys, **FAST, webhook_timeout_s=120)
    headers = {"X-API-Key": tenants.a_key}
    receiver.default = "hang"
    with TestClient(create_app(settings, pool=solve_pool), headers=headers) as first:
        webhook_id, _ = subscribe(first, receiver.url)
        emit_event(first, tenants.a, "plan.completed", {"plan_id": "p-2"})
        receiver.wait_for(lambda r: r.hanging == 1, timeout_s=30, what="the delivery to hang")
    receiver.default = 200
    with TestClient(create_app(settings, pool=solve_pool), headers=headers) as second:
        [delivery] = settled(second, webhook_id)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert len(receiver.received) == 2
    assert {r.headers["x-webhook-attempt"] for r in receiver.received} == {"1"}


def test_the_address_is_checked_again_at_each_delivery(
    database_target: DatabaseTarget, solve_pool: SolvePool, tenants: Tenants, receiver: Receiver
) -> None:
    """A URL accepted once is not trusted for ever (its name may resolve elsewhere by now): a delivery to an
    address that is no longer allowed fails, and nothing reaches it."""
    headers = {"X-API-Key": tenants.a_key}
    allowed = database_target.settings(api_keys=tenants.api_keys, **FAST)
    with TestClient(create_app(allowed, pool=solve_pool), headers=headers) as first:
        webhook_id, _ = subscribe(first, receiver.url)
    refused = database_target.settings(
        api_keys=tenants.api_keys, **{**FAST, "webhook_allow_private": False}, webhook_max_attempts=2
    )
    with TestClient(create_app(refused, pool=solve_pool), headers=headers) as second:
        emit_event(second, tenants.a, "booking.released", {"booking_id": "b-3"})
        [delivery] = settled(second, webhook_id)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("failed", 2, None)
    assert delivery["last_error"].startswith("refused: 127.0.0.1, a loopback address")
    assert receiver.received == []
