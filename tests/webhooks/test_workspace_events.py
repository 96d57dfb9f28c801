"""The workspace's events reach a subscriber: proposing, publishing, confirming, releasing, and a booking
broken by a change, each delivered signed with the workspace revision it happened at (contract v2)."""

from __future__ import annotations

from typing import Any

from service.webhooks.signing import verify
from tests.api.conftest import ClientFactory
from tests.api.test_workspace import bookings, load, propose, publish
from tests.api.workload import wait_for
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import FAST, settled, subscribe


def test_each_workspace_event_reaches_the_subscriber_with_its_revision(
    make_client: ClientFactory, receiver: Receiver
) -> None:
    client = make_client(**FAST)
    webhook_id, secret = subscribe(client, receiver.url)
    load(client)
    proposal = propose(client)
    published = publish(client, proposal["id"])
    tentative = bookings(client, status="tentative")
    confirmed, released = tentative[0], tentative[1]
    assert client.post(f"/v1/workspace/bookings/{confirmed['id']}/confirm").status_code == 200
    assert client.post(f"/v1/workspace/bookings/{released['id']}/release").status_code == 200
    gone = next(b for b in tentative[2:] if b["staff_id"] not in (confirmed["staff_id"], released["staff_id"]))
    assert client.delete(f"/v1/workspace/staff/{gone['staff_id']}").status_code == 200

    broken = bookings(client, status="broken")
    expected = 4 + len(broken)
    settled(client, webhook_id, count=expected)
    events = wait_for(
        lambda: [r.event for r in receiver.received] if len(receiver.received) >= expected else None,
        timeout_s=30,
        what="every event to arrive",
    )
    assert all(verify(secret, r.body, r.headers["x-signature-256"]) for r in receiver.received)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in sorted(events, key=lambda e: e["created_at"]):
        by_type.setdefault(event["type"], []).append(event["data"])

    [completed] = by_type["plan.completed"]
    assert (completed["plan_id"], completed["workspace_revision"]) == (proposal["id"], proposal["workspace_revision"])
    [plan_published] = by_type["plan.published"]
    assert plan_published["plan_id"] == proposal["id"]
    assert plan_published["workspace_revision"] == published["revision"]
    assert plan_published["opportunities"]
    [booking_confirmed] = by_type["booking.confirmed"]
    assert booking_confirmed["booking"]["id"] == confirmed["id"]
    [booking_released] = by_type["booking.released"]
    assert booking_released["booking"]["id"] == released["id"]
    assert {data["booking"]["id"] for data in by_type["booking.broken"]} == {b["id"] for b in broken}
    assert gone["id"] in {b["id"] for b in broken}
