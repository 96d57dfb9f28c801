"""The roster and pipeline's forms in a real browser against a real server: a person added through the form
after the server's messages stood beside both wrong fields, a deal's win probability edited from the keyboard,
a person with a booking deleted (the confirmation lists it, the API then has it broken), a concurrent edit
refused with a 412 that the form explains, and a viewer's page without a form control or a figure of money.

Each test has a tenant of its own, loaded with the new market's CSV pair through the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, ServerFactory, open_board

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
STAGE = "new-market"
TENANTS = ("add", "edit", "delete", "stale", "view")
VIEWER = "roster-view-viewer"


def key(tenant: str) -> str:
    return f"roster-{tenant}"


@pytest.fixture(scope="module")
def server(start_server: ServerFactory) -> Server:
    keys = [f"{key(t)}:{t}" for t in TENANTS] + [f"{VIEWER}:view:viewer"]
    return start_server(API_KEYS=",".join(keys))


class Api:
    """The workspace API as one tenant's admin."""

    def __init__(self, server: Server, tenant: str) -> None:
        self.client = server.client
        self.headers = {"X-API-Key": key(tenant)}

    def get(self, path: str) -> Any:
        answer = self.client.get(path, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def status(self, path: str) -> int:
        return self.client.get(path, headers=self.headers).status_code

    def put(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.put(path, headers=self.headers, **kwargs)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def post(self, path: str, body: Any = None) -> Any:
        answer = self.client.post(path, headers=self.headers, json=body)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


def load_stage(server: Server, tenant: str) -> Api:
    """The new market's horizon, policy, roster and pipeline in the tenant's workspace."""
    api = Api(server, tenant)
    stage = json.loads((ROOT / "scenarios" / f"{STAGE}.json").read_text())
    api.put("/v1/workspace/settings", json={"horizon": stage["horizon"], "policy": stage["policy"]})
    for name in ("staff", "opportunities"):
        api.put(f"/v1/workspace/{name}.csv", content=(ROOT / "scenarios" / f"{STAGE}.{name}.csv").read_bytes())
    return api


def open_page(page: Page, server: Server, api_key: str) -> None:
    open_board(page, server, api_key)
    page.wait_for_function("() => document.querySelectorAll('#staff-table tbody tr').length > 0")


def roster_status(page: Page, words: str) -> str:
    status = page.locator("#roster-status")
    expect(status).to_contain_text(words)
    return status.inner_text()


def error_beside(page: Page, host: str, control: str) -> str:
    """The message shown in `host`, the field (or row, or cell) that holds the control `control`."""
    note = page.locator(host).locator(".field-error")
    expect(note).to_be_visible()
    expect(page.locator(host).locator(control)).to_have_attribute("aria-invalid", "true")
    return note.inner_text()


def test_a_person_is_added_once_both_mistakes_shown_beside_their_fields_are_put_right(
    page: Page, server: Server
) -> None:
    api = load_stage(server, "add")
    open_page(page, server, key("add"))

    page.get_by_role("button", name="Add a person…").click()
    form = page.locator("#person-dialog")
    expect(form).to_be_visible()
    form.get_by_label("Id", exact=True).fill("north-101")
    form.get_by_label("Name", exact=True).fill("Qin Lan")
    form.get_by_label("Role", exact=True).fill("presales_engineer")
    form.get_by_label("Unit kind").select_option("local_office")
    form.get_by_label("Unit", exact=True).fill("office-north")
    page.locator("#p-region").fill("north")
    form.get_by_label("Hourly rate (internal)").fill("-90")
    form.get_by_label("Skill 1", exact=True).fill("erp")
    form.get_by_label("Level of skill 1").fill("7")
    form.get_by_role("button", name="Add a skill").click()
    form.get_by_label("Skill 2", exact=True).fill("cloud")
    form.get_by_label("Level of skill 2").fill("3")
    form.get_by_label("May lead a deal").check()
    form.get_by_label("week by week").check()
    weeks = page.locator("#p-capacity-weeks input")
    expect(weeks).to_have_count(8)
    weeks.nth(2).fill("0")
    form.get_by_role("button", name="Save").click()

    # Both of the server's messages at once, each beside its own field, and the form still open.
    assert "greater than or equal to 0" in error_beside(page, ".field:has(#p-rate)", "#p-rate")
    first_skill = "#p-skills .skill-row:nth-child(1)"
    assert "less than or equal to 5" in error_beside(page, first_skill, ".skill-level")
    expect(page.locator("#person-message")).to_contain_text("2 problems, each shown beside its field")
    assert api.status("/v1/workspace/staff/north-101") == 404

    form.get_by_label("Hourly rate (internal)").fill("90")
    form.get_by_label("Level of skill 1").fill("4")
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    assert "north-101" in roster_status(page, "added")

    person = api.get("/v1/workspace/staff/north-101")
    assert person["hourly_rate"] == 90
    assert person["skills"] == {"erp": 4, "cloud": 3}
    assert person["unit"] == {"kind": "local_office", "id": "office-north", "region": "north"}
    assert person["capacity_hours"] == [40, 40, 0, 40, 40, 40, 40, 40]
    assert person["can_lead"] is True
    expect(page.locator("#staff-table tbody tr[data-id='north-101']")).to_contain_text("Qin Lan")


def test_a_deals_win_probability_is_edited_from_the_keyboard(page: Page, server: Server) -> None:
    api = load_stage(server, "edit")
    before = api.get("/v1/workspace/opportunities/opp-0002")
    open_page(page, server, key("edit"))

    edit = page.locator("#deal-table button.edit[data-id='opp-0002']")
    expect(edit).to_have_accessible_name("Edit City operations center (opp-0002)")
    edit.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#deal-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#o-id")).to_have_js_property("readOnly", True)
    expect(page.locator("#o-demands tr")).to_have_count(len(before["demands"]))
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 1366, "the deal's form fits a 1366 px screen"
    assert page.evaluate(
        "() => { const d = document.querySelector('#deal-dialog'); return d.scrollWidth <= d.clientWidth; }"
    ), "nothing in the deal's form scrolls sideways"

    probability = dialog.get_by_label("Win probability (0 to 1", exact=False)
    probability.fill("0.4")
    probability.press("Enter")  # Enter saves, as in any form
    expect(dialog).to_be_hidden()
    roster_status(page, "saved")

    after = api.get("/v1/workspace/opportunities/opp-0002")
    assert after == {**before, "win_probability": 0.4}, "every other field, demands included, is kept as it was"
    row = page.locator("#deal-table tbody tr[data-id='opp-0002']")
    expect(row).to_contain_text("40")

    # Escape closes a form without saving.
    edit = page.locator("#deal-table button.edit[data-id='opp-0002']")
    edit.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_deleting_a_person_says_which_bookings_break_and_breaks_them(page: Page, server: Server) -> None:
    api = load_stage(server, "delete")
    plan = api.post("/v1/workspace/plans", {"options": {"time_limit_s": 5, "deterministic": True}})
    api.post(f"/v1/workspace/plans/{plan['id']}/publish")
    tentative = api.get("/v1/workspace/bookings?status=tentative&limit=500")["items"]
    staff_id = sorted(b["staff_id"] for b in tentative if b["kind"] == "assignment")[0]
    theirs = {b["id"] for b in tentative if b["staff_id"] == staff_id}
    open_page(page, server, key("delete"))

    page.locator(f"#staff-table button.edit[data-id='{staff_id}']").click()
    page.locator("#person-dialog").get_by_role("button", name="Delete this person…").click()
    confirm = page.locator("#delete-dialog")
    expect(confirm).to_be_visible()
    expect(page.locator("#delete-body")).to_have_attribute("data-breaks", str(len(theirs)))
    expect(page.locator("#delete-body")).to_contain_text("become broken")
    expect(page.locator("#delete-body li")).to_have_count(len(theirs))
    expect(page.locator("#delete-cancel")).to_be_focused()

    # Another director confirms one of those bookings meanwhile: the delete is refused (412) and the list
    # says what deleting breaks now, a commitment among it.
    committed = sorted(theirs)[0]
    api.post(f"/v1/workspace/bookings/{committed}/confirm")
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#delete-message")).to_contain_text("Not deleted: the workspace changed")
    expect(page.locator("#delete-body li", has_text="confirmed:")).to_have_count(1)
    expect(page.locator("#delete-body")).to_contain_text("1 of them is a commitment")
    assert api.status(f"/v1/workspace/staff/{staff_id}") == 200
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(confirm).to_be_hidden()
    roster_status(page, f"{len(theirs)} booking")

    assert api.status(f"/v1/workspace/staff/{staff_id}") == 404
    now = {b["id"]: b for b in api.get(f"/v1/workspace/bookings?staff_id={staff_id}&limit=500")["items"]}
    assert set(now) == theirs
    assert {b["status"] for b in now.values()} == {"broken"}
    assert all(b["reason"] for b in now.values())
    expect(page.locator(f"#staff-table tbody tr[data-id='{staff_id}']")).to_have_count(0)


def test_a_concurrent_edit_is_refused_and_the_form_shows_what_is_saved_now(page: Page, server: Server) -> None:
    api = load_stage(server, "stale")
    open_page(page, server, key("stale"))
    page.locator("#staff-table button.edit[data-id='west-003']").click()
    form = page.locator("#person-dialog")
    expect(form).to_be_visible()

    # Another director raises the rate while this form is open.
    theirs = {**api.get("/v1/workspace/staff/west-003"), "hourly_rate": 125}
    api.put("/v1/workspace/staff/west-003", json=theirs)

    form.get_by_label("Name", exact=True).fill("Chen Ming (lead architect)")
    form.get_by_label("Hourly rate (internal)").fill("100")
    form.get_by_role("button", name="Save").click()
    message = page.locator("#person-message")
    expect(message).to_contain_text("someone else changed this person")
    expect(message).to_contain_text("hourly_rate: yours 100, saved 125")
    expect(page.locator("#p-rate")).to_have_value("125")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Chen Ming")
    assert api.get("/v1/workspace/staff/west-003") == theirs, "nothing of this form was written"

    # Made again on what is saved now, the change goes through and keeps the other director's rate.
    form.get_by_label("Name", exact=True).fill("Chen Ming (lead architect)")
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    roster_status(page, "saved")
    assert api.get("/v1/workspace/staff/west-003") == {**theirs, "name": "Chen Ming (lead architect)"}


def test_a_viewer_has_no_form_control_and_sees_no_money(page: Page, server: Server) -> None:
    load_stage(server, "view")
    open_page(page, server, VIEWER)
    page.wait_for_function("() => document.body.dataset.role === 'viewer'")

    section = page.locator("section[aria-labelledby=data-title]")
    expect(section.locator("#staff-table tbody tr").first).to_be_visible()
    expect(section.locator("button.edit")).to_have_count(0)
    for name in ("Add a person…", "Add a deal…"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    # What a viewer may touch in the roster and pipeline: the filters, the sort buttons and the downloads.
    controls = section.locator("input:visible, select:visible, button:visible").evaluate_all(
        "(els) => els.map((el) => el.id || el.className)"
    )
    assert set(controls) <= {"f-region", "f-unit", "f-grade", "f-skill", "sort"}, controls
    for dialog in ("#person-dialog", "#deal-dialog", "#delete-dialog"):
        expect(page.locator(dialog)).to_be_hidden()
    text = page.locator("body").inner_text().lower()
    for word in ("rate", "budget", "cost"):
        assert word not in text, word
