"""The workspace (CONTRACT v2) over HTTP, on SQLite and PostgreSQL: resources with revisions and If-Match,
the request it stands for, proposals, publishing, bookings (each rule kept and broken), the horizon moving,
roles and the audit."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.contract import AllocationRequest
from tests.api.conftest import ClientFactory, Tenants
from tests.api.workload import small_request

Json = dict[str, Any]


def workspace_parts() -> tuple[Json, list[Json], list[Json]]:
    """The small example as a workspace: its horizon, its people, its deals without pins or leads."""
    request = small_request()
    deals = [{k: v for k, v in o.items() if k not in ("pinned", "lead_staff_id")} for o in request["opportunities"]]
    return request["horizon"], request["staff"], deals


def load(client: TestClient, headers: dict[str, str] | None = None) -> int:
    """Fill the workspace with the small example; its revision afterwards."""
    horizon, staff, deals = workspace_parts()
    revision = client.put("/v1/workspace/settings", json={"horizon": horizon}, headers=headers).json()["revision"]
    for person in staff:
        revision = client.put(f"/v1/workspace/staff/{person['id']}", json=person, headers=headers).json()["revision"]
    for deal in deals:
        response = client.put(f"/v1/workspace/opportunities/{deal['id']}", json=deal, headers=headers)
        assert response.status_code == 201, response.text
        revision = response.json()["revision"]
    return int(revision)


def propose(client: TestClient, **options: Any) -> Json:
    response = client.post("/v1/workspace/plans", json={"options": {"deterministic": True, **options}})
    assert response.status_code == 201, response.text
    plan: Json = response.json()
    return plan


def publish(client: TestClient, plan_id: str) -> Json:
    response = client.post(f"/v1/workspace/plans/{plan_id}/publish")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def bookings(client: TestClient, **filters: str) -> list[Json]:
    items: list[Json] = client.get("/v1/workspace/bookings", params=filters).json()["items"]
    return items


def assignments(plan: Json) -> set[tuple[str, str, str]]:
    return {(a["opportunity_id"], a["demand_id"], a["staff_id"]) for a in plan["assignments"]}


# --------------------------------------------------------------------------- resources


def test_every_write_raises_the_revision_by_one_and_if_match_guards_it(client: TestClient) -> None:
    first = client.get("/v1/workspace")
    assert first.status_code == 200
    start = first.json()["revision"]
    assert first.headers["etag"] == f'"{start}"'
    revision = load(client)
    assert revision == start + 1 + 5 + 3  # settings, five people, three deals

    person = workspace_parts()[1][0]
    replaced = client.put(f"/v1/workspace/staff/{person['id']}", json={**person, "name": "Renamed"})
    assert replaced.status_code == 200
    assert replaced.json()["revision"] == revision + 1
    assert replaced.headers["etag"] == f'"{revision + 1}"'
    assert client.get(f"/v1/workspace/staff/{person['id']}").json()["name"] == "Renamed"

    # A writer who read an older revision is refused, and nothing changes.
    stale = client.put(f"/v1/workspace/staff/{person['id']}", json=person, headers={"If-Match": f'"{revision}"'})
    assert stale.status_code == 412
    assert stale.json()["revision"] == revision + 1
    assert client.get(f"/v1/workspace/staff/{person['id']}").json()["name"] == "Renamed"
    weak = client.put(f"/v1/workspace/staff/{person['id']}", json=person, headers={"If-Match": f'W/"{revision + 1}"'})
    assert weak.status_code == 412
    fresh = client.put(f"/v1/workspace/staff/{person['id']}", json=person, headers={"If-Match": f'"{revision + 1}"'})
    assert fresh.status_code == 200
    assert fresh.json()["revision"] == revision + 2


def test_a_bad_person_gets_every_error_at_once_and_changes_nothing(client: TestClient) -> None:
    revision = load(client)
    person = copy.deepcopy(workspace_parts()[1][0])
    person.update({"id": "someone-else", "hourly_rate": "120", "capacity_hours": [40, 40]})
    response = client.put("/v1/workspace/staff/dc-01", json=person)
    assert response.status_code == 422
    paths = {error["path"] for error in response.json()["errors"]}
    assert paths == {"id", "hourly_rate", "capacity_hours"}, response.json()
    assert client.get("/v1/workspace").json()["revision"] == revision


def test_deals_refuse_pins_and_fixed_leads_and_may_exclude_people_not_on_the_roster(client: TestClient) -> None:
    load(client)
    deal = workspace_parts()[2][0]
    pinned = {**deal, "pinned": [{"demand_id": "arch", "staff_id": "dc-01"}], "lead_staff_id": "dc-01"}
    refused = client.put(f"/v1/workspace/opportunities/{deal['id']}", json=pinned)
    assert refused.status_code == 422
    assert {e["path"] for e in refused.json()["errors"]} == {"pinned", "lead_staff_id"}

    excluding = {**deal, "excluded_staff": ["dc-02", "not-hired-yet"]}
    assert client.put(f"/v1/workspace/opportunities/{deal['id']}", json=excluding).status_code == 200
    request = client.get("/v1/workspace/request").json()
    sent = next(o for o in request["opportunities"] if o["id"] == deal["id"])
    assert sent["excluded_staff"] == ["dc-02"]
    AllocationRequest.model_validate(request)


def test_lists_are_paginated_and_unknown_things_are_404(client: TestClient) -> None:
    load(client)
    first = client.get("/v1/workspace/staff", params={"limit": 2}).json()
    second = client.get("/v1/workspace/staff", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get("/v1/workspace/staff", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    ids = [p["id"] for page in (first, second, third) for p in page["items"]]
    assert ids == sorted(p["id"] for p in workspace_parts()[1])
    assert third["next_cursor"] is None
    assert client.get("/v1/workspace/staff/nobody").status_code == 404
    assert client.delete("/v1/workspace/opportunities/none").status_code == 404
    assert client.get("/v1/workspace/staff", params={"cursor": "@@"}).status_code == 422


# --------------------------------------------------------------------------- proposals, publishing, bookings


def test_a_published_proposal_becomes_tentative_bookings_and_the_next_request_keeps_them(client: TestClient) -> None:
    revision = load(client)
    plan = propose(client)
    assert plan["workspace_revision"] == revision
    assert plan["status"] == "optimal"
    published = publish(client, plan["id"])
    assert published["revision"] == revision + 1
    assert published["plan_of_record_id"] == plan["id"]
    booked = bookings(client, status="tentative")
    assert {(b["opportunity_id"], b["demand_id"], b["staff_id"]) for b in booked if b["kind"] == "assignment"} == (
        assignments(plan)
    )
    assert {(b["opportunity_id"], b["staff_id"]) for b in booked if b["kind"] == "lead"} == {
        (lead["opportunity_id"], lead["staff_id"]) for lead in plan["leads"]
    }
    request = client.get("/v1/workspace/request").json()
    assert {(p["opportunity_id"], p["demand_id"], p["staff_id"]) for p in request["previous_plan"]} == assignments(plan)

    # Nothing changed: the next proposal moves no tentative booking.
    again = propose(client)
    assert assignments(again) == assignments(plan)
    assert again["objective"]["changes"] == 0


def test_a_tentative_booking_moves_only_when_that_raises_the_covered_value(client: TestClient) -> None:
    load(client)
    plan = publish_first(client)
    on_arch = ("opp-A1", "arch", "dc-01")
    assert on_arch in assignments(plan), "the example puts its only level-5 core-banking architect on opp-A1"

    # A deal of little value that dc-01 could also serve does not take them away.
    small = {
        **workspace_parts()[2][0],
        "id": "opp-SMALL",
        "deal_value": 1_000,
        "presales_budget": 1_000_000,
        "region": "east",
        "grade": "B",
    }
    small["demands"] = [{**small["demands"][0], "min_level": 5, "hours_per_week": 30, "remote_ok": True}]
    assert client.put("/v1/workspace/opportunities/opp-SMALL", json=small).status_code == 201
    kept = propose(client)
    assert on_arch in assignments(kept)
    assert kept["objective"]["changes"] == 0

    # A deal worth far more that only dc-01 can serve, nearly full time: they move, and the covered value rises.
    big = {**small, "id": "opp-BIG", "deal_value": 50_000_000, "win_probability": 0.9, "grade": "A"}
    assert client.put("/v1/workspace/opportunities/opp-BIG", json=big).status_code == 201
    moved = propose(client)
    assert on_arch not in assignments(moved)
    assert ("opp-BIG", small["demands"][0]["id"], "dc-01") in assignments(moved)
    assert moved["objective"]["changes"] >= 1
    assert moved["objective"]["covered_value"] > kept["objective"]["covered_value"]


def test_a_confirmed_booking_is_pinned_and_survives_every_re_plan(client: TestClient) -> None:
    load(client)
    plan = publish_first(client)
    booking = next(b for b in bookings(client, status="tentative") if b["kind"] == "assignment")
    confirmed = client.post(f"/v1/workspace/bookings/{booking['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["booking"]["status"] == "confirmed"
    request = client.get("/v1/workspace/request").json()
    deal = next(o for o in request["opportunities"] if o["id"] == booking["opportunity_id"])
    assert {"demand_id": booking["demand_id"], "staff_id": booking["staff_id"]} in deal["pinned"]

    # A more valuable deal for the same skill arrives: the confirmed person stays where they are.
    rival = {
        **workspace_parts()[2][0],
        "id": "opp-RIVAL",
        "deal_value": 90_000_000,
        "win_probability": 0.9,
        "demands": [{**workspace_parts()[2][0]["demands"][0], "id": "arch"}],
    }
    assert client.put("/v1/workspace/opportunities/opp-RIVAL", json=rival).status_code == 201
    later = propose(client)
    assert (booking["opportunity_id"], booking["demand_id"], booking["staff_id"]) in assignments(later)
    # Publishing it keeps the confirmed booking and makes no second one for the same work.
    publish(client, later["id"])
    same = [
        b
        for b in bookings(client, staff_id=booking["staff_id"], opportunity_id=booking["opportunity_id"])
        if b["status"] in ("tentative", "confirmed") and b["demand_id"] == booking["demand_id"]
    ]
    assert [b["status"] for b in same] == ["confirmed"]
    assert plan["id"] != later["id"]


def publish_first(client: TestClient) -> Json:
    plan = propose(client)
    publish(client, plan["id"])
    return plan


def test_a_stale_proposal_is_refused_with_what_changed_since(client: TestClient) -> None:
    load(client)
    plan = propose(client)
    person = workspace_parts()[1][1]
    client.put(f"/v1/workspace/staff/{person['id']}", json={**person, "capacity_hours": 20})
    refused = client.post(f"/v1/workspace/plans/{plan['id']}/publish")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["proposal_revision"] == plan["workspace_revision"]
    assert [change["target"] for change in problem["changes"]] == [f"staff/{person['id']}"]
    assert "propose again" in problem["detail"]
    assert client.get("/v1/workspace").json()["plan_of_record_id"] is None
    # A v1 plan (not from the workspace) is no proposal.
    v1 = client.post("/v1/plans", json=small_request()).json()
    assert client.post(f"/v1/workspace/plans/{v1['id']}/publish").status_code == 404


def test_removing_a_person_breaks_their_bookings_with_a_reason_and_the_next_proposal_is_valid(
    client: TestClient,
) -> None:
    load(client)
    publish_first(client)
    theirs = [b for b in bookings(client, status="tentative") if b["staff_id"] == "dc-01"]
    assert theirs, "the example staffs dc-01"
    confirmed = client.post(f"/v1/workspace/bookings/{theirs[0]['id']}/confirm")
    assert confirmed.status_code == 200
    assert client.delete("/v1/workspace/staff/dc-01").status_code == 200
    broken = bookings(client, staff_id="dc-01")
    assert {b["status"] for b in broken} == {"broken"}
    assert len(broken) == len(theirs)
    assert all("dc-01 was removed from the roster" in b["reason"] for b in broken)
    request = client.get("/v1/workspace/request").json()
    AllocationRequest.model_validate(request)
    assert all(p["staff_id"] != "dc-01" for o in request["opportunities"] for p in o["pinned"])
    plan = propose(client)
    assert plan["status"] in ("optimal", "feasible")
    assert all(a["staff_id"] != "dc-01" for a in plan["assignments"])


def test_a_change_that_breaks_a_rule_breaks_the_booking(client: TestClient) -> None:
    load(client)
    publish_first(client)
    booking = next(b for b in bookings(client, status="tentative") if b["kind"] == "assignment")
    person = next(p for p in workspace_parts()[1] if p["id"] == booking["staff_id"])
    deal = next(o for o in workspace_parts()[2] if o["id"] == booking["opportunity_id"])
    skill = next(d["skill"] for d in deal["demands"] if d["id"] == booking["demand_id"])
    client.put(f"/v1/workspace/staff/{person['id']}", json={**person, "skills": {**person["skills"], skill: 1}})
    after = next(b for b in bookings(client, staff_id=person["id"]) if b["id"] == booking["id"])
    assert after["status"] == "broken"
    assert "H1" in after["reason"]


def test_release_gives_a_booking_up_and_confirm_needs_a_tentative_one(client: TestClient) -> None:
    load(client)
    publish_first(client)
    booking = next(b for b in bookings(client, status="tentative") if b["kind"] == "assignment")
    released = client.post(f"/v1/workspace/bookings/{booking['id']}/release")
    assert released.status_code == 200
    assert released.json()["booking"]["status"] == "released"
    request = client.get("/v1/workspace/request").json()
    key = (booking["opportunity_id"], booking["demand_id"], booking["staff_id"])
    assert key not in {(p["opportunity_id"], p["demand_id"], p["staff_id"]) for p in request["previous_plan"]}
    again = client.post(f"/v1/workspace/bookings/{booking['id']}/confirm")
    assert again.status_code == 409
    assert "released" in again.json()["detail"]
    assert client.post("/v1/workspace/bookings/nope/confirm").status_code == 404


def test_moving_the_horizon_forward_completes_past_work_and_shifts_the_rest(client: TestClient) -> None:
    load(client)
    publish_first(client)
    before = {b["id"]: b for b in bookings(client, status="tentative")}
    horizon = workspace_parts()[0]
    moved = {"start": "2026-11-30", "weeks": horizon["weeks"]}  # one week later
    assert client.put("/v1/workspace/settings", json={"horizon": moved}).status_code == 200
    after = {b["id"]: b for b in bookings(client)}
    for booking_id, booking in before.items():
        now = after[booking_id]
        if booking["end_week"] < 1:
            assert now["status"] == "completed"
        else:
            assert now["status"] == "tentative"
            assert (now["start_week"], now["end_week"]) == (max(0, booking["start_week"] - 1), booking["end_week"] - 1)
    assert any(b["status"] == "completed" for b in after.values()), "the example has work in week 0 only"
    request = client.get("/v1/workspace/request").json()
    AllocationRequest.model_validate(request)
    assert request["horizon"] == moved
    dc02 = next(p for p in request["staff"] if p["id"] == "dc-02")
    assert dc02["capacity_hours"] == [40, 0, 40, 40]
    back = client.put("/v1/workspace/settings", json={"horizon": horizon})
    assert back.status_code == 422
    assert back.json()["errors"][0]["path"] == "horizon.start"


# --------------------------------------------------------------------------- roles and the audit


@pytest.fixture
def role_keys(tenants: Tenants) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {"planner": f"planner-{run}", "viewer": f"viewer-{run}"}


def test_a_viewer_reads_the_workspace_without_rates_and_cannot_write(
    make_client: ClientFactory, tenants: Tenants, role_keys: dict[str, str]
) -> None:
    api_keys = {
        tenants.a_key: tenants.a,
        role_keys["planner"]: f"{tenants.a}:planner",
        role_keys["viewer"]: f"{tenants.a}:viewer",
    }
    client = make_client(api_keys=api_keys)
    planner = {"X-API-Key": role_keys["planner"]}
    viewer = {"X-API-Key": role_keys["viewer"]}
    load(client, planner)
    for path in ("/v1/workspace/staff", "/v1/workspace/staff/dc-01", "/v1/workspace/request"):
        seen = client.get(path, headers=viewer)
        assert seen.status_code == 200
        assert "hourly_rate" not in json.dumps(seen.json()), path
        assert "hourly_rate" in json.dumps(client.get(path, headers=planner).json()), path
    person = workspace_parts()[1][0]
    assert client.put(f"/v1/workspace/staff/{person['id']}", json=person, headers=viewer).status_code == 403
    assert client.post("/v1/workspace/plans", json={}, headers=viewer).status_code == 403

    audit = client.get("/v1/workspace/audit", headers=viewer).json()["items"]
    assert audit[0]["action"] == "opportunity.put"
    assert [entry["revision"] for entry in audit] == sorted((e["revision"] for e in audit), reverse=True)
    assert {entry["role"] for entry in audit} == {"planner"}
    assert all(role_keys["planner"] not in json.dumps(entry) for entry in audit)
    assert audit[0]["actor"].startswith("key-")


def test_the_audit_is_paginated_newest_first(client: TestClient) -> None:
    load(client)
    first = client.get("/v1/workspace/audit", params={"limit": 4}).json()
    rest = client.get("/v1/workspace/audit", params={"limit": 50, "cursor": first["next_cursor"]}).json()
    revisions = [e["revision"] for e in first["items"] + rest["items"]]
    assert revisions == list(range(revisions[0], revisions[0] - len(revisions), -1))
    assert len(revisions) == 9


def test_a_proposal_with_bad_options_is_a_422_naming_them(client: TestClient) -> None:
    load(client)
    response = client.post("/v1/workspace/plans", json={"options": {"time_limit_s": "soon", "seed": -1}, "x": 1})
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"options.time_limit_s", "options.seed", "x"}


def test_ids_with_a_nul_character_are_refused_or_found_nowhere(client: TestClient) -> None:
    load(client)
    person = {**workspace_parts()[1][0], "id": "bad\u0000id"}
    refused = client.put("/v1/workspace/staff/bad%00id", json=person)
    assert refused.status_code == 422
    assert {e["path"] for e in refused.json()["errors"]} == {"id"}
    assert client.get("/v1/workspace/staff/bad%00id").status_code == 404
    assert client.get("/v1/workspace/bookings", params={"staff_id": "a\u0000"}).json()["items"] == []
    assert client.get("/v1/workspace/audit", params={"cursor": "WyJ4Il0"}).status_code == 422  # ["x"]
