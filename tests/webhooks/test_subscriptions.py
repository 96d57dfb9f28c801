"""/v1/webhooks: subscribing, listing without the secret, unsubscribing, tenants kept apart, and every
unsafe or malformed subscription refused as problem details naming its fields."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, Tenants
from tests.webhooks.receiver import Receiver

PROBLEM = "application/problem+json"


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client(webhook_allow_private=True)


def errors(response: object) -> dict[str, str]:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    return {e["path"]: e["message"] for e in response.json()["errors"]}  # type: ignore[attr-defined]


def test_a_subscription_shows_its_secret_once(client: TestClient, receiver: Receiver) -> None:
    created = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["plan.completed"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/webhooks/{body['id']}"
    assert body["url"] == receiver.url
    assert body["events"] == ["plan.completed"]
    assert len(body["secret"]) >= 32

    listed = client.get("/v1/webhooks").json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0]
    one = client.get(f"/v1/webhooks/{body['id']}").json()
    assert one == {key: body[key] for key in ("id", "url", "events", "created_at")}


def test_a_given_secret_is_kept_and_events_default_to_every_type(client: TestClient, receiver: Receiver) -> None:
    created = client.post("/v1/webhooks", json={"url": receiver.url, "secret": "a-secret-of-the-crm-0001"})
    assert created.status_code == 201, created.text
    assert created.json()["secret"] == "a-secret-of-the-crm-0001"
    assert created.json()["events"] == [
        "plan.completed",
        "plan.published",
        "booking.confirmed",
        "booking.released",
        "booking.broken",
    ]


def test_subscriptions_list_newest_first_in_pages(client: TestClient, receiver: Receiver) -> None:
    ids = [client.post("/v1/webhooks", json={"url": f"{receiver.url}/{n}"}).json()["id"] for n in range(3)]
    first = client.get("/v1/webhooks", params={"limit": 2})
    assert [item["id"] for item in first.json()["items"]] == ids[:0:-1]
    assert 'rel="next"' in first.headers["link"]
    rest = client.get("/v1/webhooks", params={"limit": 2, "cursor": first.json()["next_cursor"]}).json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    assert client.get("/v1/webhooks", params={"cursor": "not-ours"}).status_code == 422


def test_unsubscribing_removes_the_subscription_and_its_log(client: TestClient, receiver: Receiver) -> None:
    webhook_id = client.post("/v1/webhooks", json={"url": receiver.url}).json()["id"]
    assert client.get(f"/v1/webhooks/{webhook_id}/deliveries").json() == {"items": [], "next_cursor": None}
    assert client.delete(f"/v1/webhooks/{webhook_id}").status_code == 204
    for response in (
        client.get(f"/v1/webhooks/{webhook_id}"),
        client.delete(f"/v1/webhooks/{webhook_id}"),
        client.get(f"/v1/webhooks/{webhook_id}/deliveries"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
    assert client.get("/v1/webhooks/not-an-id").status_code == 404


def test_a_tenant_sees_and_removes_only_its_own(client: TestClient, receiver: Receiver, tenants: Tenants) -> None:
    webhook_id = client.post("/v1/webhooks", json={"url": receiver.url}).json()["id"]
    other = tenants.b_headers
    assert client.get("/v1/webhooks", headers=other).json()["items"] == []
    assert client.get(f"/v1/webhooks/{webhook_id}", headers=other).status_code == 404
    assert client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=other).status_code == 404
    assert client.delete(f"/v1/webhooks/{webhook_id}", headers=other).status_code == 404
    assert client.get(f"/v1/webhooks/{webhook_id}").status_code == 200
    assert client.get("/v1/webhooks", headers={"X-API-Key": "wrong"}).status_code == 401


def test_every_malformed_field_is_named_at_once(client: TestClient) -> None:
    found = errors(
        client.post(
            "/v1/webhooks",
            json={"url": "ftp://crm.example/hooks", "events": ["plan.completed", "plan.deleted"], "secret": "short"},
        )
    )
    assert set(found) == {"url", "events[1]", "secret"}
    assert "http and https" in found["url"]
    assert set(errors(client.post("/v1/webhooks", json={"url": "https://crm.example/h", "colour": "red"}))) == {
        "colour"
    }
    assert set(errors(client.post("/v1/webhooks", json={"events": []}))) == {"url", "events"}
    twice = errors(client.post("/v1/webhooks", json={"url": "https://1.1.1.1/", "events": ["plan.completed"] * 2}))
    assert set(twice) == {"events"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hooks", "loopback"),
        ("http://localhost/hooks", "loopback"),
        ("http://[::1]/hooks", "loopback"),
        ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("http://0x7f.1/hooks", "loopback"),  # 127.0.0.1 spelled as the C library still reads it
        ("http://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),  # a cloud's metadata endpoint
        ("http://224.0.0.1/", "multicast"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://100.64.0.1/", "not a public address"),
        ("http://no-such-host.invalid/hooks", "does not resolve"),
        ("https://user:password@1.1.1.1/hooks", "credentials"),
        ("https://1.1.1.1/hooks#part", "fragment"),
        ("file:///etc/passwd", "http and https"),
        ("/v1/plans", "http and https"),
    ],
)
def test_urls_that_do_not_reach_a_public_address_are_refused(make_client: ClientFactory, url: str, reason: str) -> None:
    client = make_client()  # WEBHOOK_ALLOW_PRIVATE off, as in production
    found = errors(client.post("/v1/webhooks", json={"url": url}))
    assert set(found) == {"url"}
    assert reason in found["url"]
    assert client.get("/v1/webhooks").json()["items"] == []


def test_a_public_address_is_accepted(make_client: ClientFactory) -> None:
    client = make_client()
    created = client.post("/v1/webhooks", json={"url": "https://1.1.1.1/hooks?crm=1"})
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "https://1.1.1.1/hooks?crm=1"


@pytest.mark.parametrize("role", ["planner", "viewer"])
def test_only_an_admin_key_reaches_webhooks(
    make_client: ClientFactory, receiver: Receiver, tenants: Tenants, role: str
) -> None:
    """Contract v2, "Roles": webhooks are for admin keys (a key without a role is one)."""
    other_key = f"{role}-{tenants.a_key}"
    client = make_client(webhook_allow_private=True, api_keys={**tenants.api_keys, other_key: f"{tenants.a}:{role}"})
    webhook_id = client.post("/v1/webhooks", json={"url": receiver.url}).json()["id"]
    headers = {"X-API-Key": other_key}
    for response in (
        client.post("/v1/webhooks", json={"url": receiver.url}, headers=headers),
        client.get("/v1/webhooks", headers=headers),
        client.get(f"/v1/webhooks/{webhook_id}", headers=headers),
        client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=headers),
        client.delete(f"/v1/webhooks/{webhook_id}", headers=headers),
    ):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == PROBLEM
        assert "admin" in response.json()["detail"]
    assert [item["id"] for item in client.get("/v1/webhooks").json()["items"]] == [webhook_id]
