"""What the planning board asks of the workspace beyond the contract's list: a booking made by hand (a lock
on a proposal's work, or a candidate booked for open work), a proposal compared with the plan of record, and
a slot's candidates asked of the workspace's current request. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ClientFactory, Tenants
from tests.api.test_workspace import Json, assignments, bookings, load, propose, publish


def book(client: TestClient, **body: object) -> Json:
    response = client.post("/v1/workspace/bookings", json=body)
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    return answer


def test_a_lock_is_a_confirmed_booking_pinned_in_every_later_proposal(client: TestClient) -> None:
    revision = load(client)
    plan = propose(client)
    opportunity_id, demand_id, staff_id = sorted(assignments(plan))[0]
    answer = book(client, opportunity_id=opportunity_id, demand_id=demand_id, staff_id=staff_id, plan_id=plan["id"])
    assert answer["revision"] == revision + 1
    booking = answer["booking"]
    assert (booking["kind"], booking["status"], booking["plan_id"]) == ("assignment", "confirmed", plan["id"])
    deal = next(o for o in load_request(client)["opportunities"] if o["id"] == opportunity_id)
    demand = next(d for d in deal["demands"] if d["id"] == demand_id)
    assert (booking["start_week"], booking["end_week"]) == (demand["start_week"], demand["end_week"])
    assert booking["hours_per_week"] == demand["hours_per_week"]
    assert {"demand_id": demand_id, "staff_id": staff_id} in deal["pinned"]
    assert (opportunity_id, demand_id, staff_id) in assignments(propose(client))
    assert client.get("/v1/workspace/audit").json()["items"][0]["action"] == "booking.create"

    # The same work again is a 409 naming the booking; so is a second confirmed lead.
    again = client.post(
        "/v1/workspace/bookings", json={"opportunity_id": opportunity_id, "demand_id": demand_id, "staff_id": staff_id}
    )
    assert again.status_code == 409
    assert again.json()["booking_id"] == booking["id"]


def load_request(client: TestClient) -> Json:
    request: Json = client.get("/v1/workspace/request").json()
    return request


def test_a_booking_by_hand_may_be_tentative_or_a_lead(client: TestClient) -> None:
    load(client)
    tentative = book(client, opportunity_id="opp-C1", demand_id="erp", staff_id="south-01", status="tentative")
    assert tentative["booking"]["status"] == "tentative"
    assert tentative["booking"]["plan_id"] is None
    previous = load_request(client)["previous_plan"]
    assert {"opportunity_id": "opp-C1", "demand_id": "erp", "staff_id": "south-01"} in previous

    lead = book(client, opportunity_id="opp-A1", staff_id="dc-01")["booking"]
    assert (lead["kind"], lead["demand_id"], lead["start_week"]) == ("lead", None, 0)
    assert next(o for o in load_request(client)["opportunities"] if o["id"] == "opp-A1")["lead_staff_id"] == "dc-01"
    second = client.post("/v1/workspace/bookings", json={"opportunity_id": "opp-A1", "staff_id": "east-01"})
    assert second.status_code in (409, 422)  # east-01 is a local office: no A lead by default (a 422) anyway


def test_a_demand_takes_no_more_confirmed_people_than_its_headcount(client: TestClient) -> None:
    load(client)
    book(client, opportunity_id="opp-C1", demand_id="crm-demo", staff_id="south-01")
    full = client.post(
        "/v1/workspace/bookings", json={"opportunity_id": "opp-C1", "demand_id": "crm-demo", "staff_id": "hot-01"}
    )
    assert full.status_code == 409
    assert "release one first" in full.json()["detail"]


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [
        ({"opportunity_id": "opp-A1", "demand_id": "arch", "staff_id": "east-01"}, "staff_id", "H1"),
        ({"opportunity_id": "opp-A1", "demand_id": "arch", "staff_id": "nobody"}, "staff_id", "no person"),
        ({"opportunity_id": "opp-A1", "demand_id": "nothing", "staff_id": "dc-01"}, "demand_id", "no demand"),
        ({"opportunity_id": "opp-A1", "demand_id": "arch", "staff_id": "dc-01", "status": "broken"}, "status", ""),
    ],
)
def test_a_booking_that_cannot_hold_on_its_own_is_a_422_naming_why(
    client: TestClient, body: Json, path: str, words: str
) -> None:
    load(client)
    before = client.get("/v1/workspace").json()["revision"]
    refused = client.post("/v1/workspace/bookings", json=body)
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [e["path"] for e in errors] == [path]
    assert words in errors[0]["message"]
    assert client.get("/v1/workspace").json()["revision"] == before
    assert bookings(client) == []


def test_the_comparison_with_the_plan_of_record_is_the_what_ifs(client: TestClient) -> None:
    load(client)
    first = propose(client)
    alone = client.get(f"/v1/workspace/plans/{first['id']}/comparison").json()
    assert alone["plan_of_record_id"] is None
    assert sorted(alone["staffed"]) == sorted({lead["opportunity_id"] for lead in first["leads"]})
    assert len(alone["moves"]) == len(first["assignments"])
    publish(client, first["id"])

    # A deal leaves the pipeline: the next proposal drops it, and the comparison says so.
    dropped = first["leads"][0]["opportunity_id"]
    assert client.delete(f"/v1/workspace/opportunities/{dropped}").status_code == 200
    second = propose(client)
    comparison = client.get(f"/v1/workspace/plans/{second['id']}/comparison").json()
    assert comparison["plan_of_record_id"] == first["id"]
    assert comparison["plan_id"] == second["id"]
    assert comparison["unstaffed"] == [dropped]
    assert {m["kind"] for m in comparison["moves"] if m["opportunity_id"] == dropped} == {"slot_removed"}
    assert comparison["lead_changes"][0] == {
        "opportunity_id": dropped,
        "from_staff": first["leads"][0]["staff_id"],
        "to_staff": None,
    }
    assert comparison["deltas"]["covered_value"] == pytest.approx(
        second["objective"]["covered_value"] - first["objective"]["covered_value"], abs=0.02
    )
    assert client.get("/v1/workspace/plans/nope/comparison").status_code == 404


def test_a_slot_s_candidates_asked_of_the_workspace_and_a_viewer_sees_no_money(
    make_client: ClientFactory, tenants: Tenants
) -> None:
    viewer_key = f"viewer-{uuid.uuid4().hex[:8]}"
    client = make_client(api_keys={**tenants.api_keys, viewer_key: f"{tenants.a}:viewer"})
    load(client)
    question = {"request": "workspace", "opportunity_id": "opp-C1", "demand_id": "crm-demo", "limit": 2}
    answer = client.post("/v1/recommendations", json=question)
    assert answer.status_code == 200, answer.text
    same = client.post("/v1/recommendations", json={**question, "request": load_request(client)}).json()
    assert [c["staff_id"] for c in answer.json()["candidates"]] == [c["staff_id"] for c in same["candidates"]]
    seen = client.post("/v1/recommendations", json=question, headers={"X-API-Key": viewer_key})
    assert seen.status_code == 200
    text = json.dumps(seen.json())
    assert "_cost" not in text
    assert "hourly_rate" not in text
    assert "[hidden]" in text, "the notes name no money figure"
    unknown = client.post("/v1/recommendations", json={**question, "demand_id": "nothing"})
    assert unknown.status_code == 422
    timed = client.post("/v1/recommendations", json={**question, "options": {"time_limit_s": 2}})
    assert timed.status_code == 200, timed.text
    bad = client.post("/v1/recommendations", json={**question, "options": {"time_limit_s": -1}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "request.options.time_limit_s"


def test_ids_with_a_nul_character_find_nothing_and_store_nothing(client: TestClient) -> None:
    load(client)
    plan = propose(client)
    assert client.get("/v1/workspace/plans/a%00b/comparison").status_code == 404
    for body in (
        {"opportunity_id": "opp-C1", "demand_id": "erp", "staff_id": "south-01", "plan_id": f"{plan['id'][:30]}\x00"},
        {"opportunity_id": "opp-C1", "demand_id": "e\x00rp", "staff_id": "south-01"},
        {"opportunity_id": "opp\x00-C1", "demand_id": "erp", "staff_id": "south\x00-01"},
    ):
        assert client.post("/v1/workspace/bookings", json=body).status_code == 422, body
    assert bookings(client) == []
