"""The planning workflow on the board in a real browser against a real server, with the fast-growth CSVs:
propose (progress, then stop: the best plan is kept), lock a proposed piece of work on the board, propose
again (the lock holds), publish with the list of what changes, confirm a booking, ask who could do open work
and book one, publish a proposal made stale (the 409's message and the changes since, then propose again);
every figure checked against the API's. A viewer sees no rate, cost or button that writes. Writes
docs/screenshots/board.png and docs/screenshots/comparison.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Server, ServerFactory, open_board, use_key
from tests.browser.test_planning_board import (
    DEALS_CSV,
    STAFF_CSV,
    click_first_tentative_booking,
    propose_done,
    wait_until_done,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ADMIN = "workflow-admin"
VIEWER = "workflow-viewer"
MATURE = "workflow-mature"  # an admin of a tenant with the mature market, whose proposals take their time
SOLVE_TIMEOUT_MS = 120_000
Json = dict[str, Any]


@pytest.fixture(scope="module")
def server(start_server: ServerFactory) -> Server:
    return start_server(API_KEYS=f"{ADMIN}:acme,{VIEWER}:acme:viewer,{MATURE}:mature")


def api(server: Server, path: str, key: str = ADMIN) -> Any:
    answer = server.client.get(path, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    return answer.json()


def live_bookings(server: Server, status: str) -> list[Json]:
    items: list[Json] = api(server, f"/v1/workspace/bookings?status={status}&limit=500")["items"]
    return items


def work(item: Json) -> tuple[str, str, str]:
    return (item["opportunity_id"], item["demand_id"], item["staff_id"])


def propose(page: Page, server: Server, seconds: int = 5) -> Json:
    page.fill("#propose-limit", str(seconds))
    page.click("#propose")
    return propose_done(page, server, {"X-API-Key": ADMIN})


def check_comparison(page: Page, server: Server, plan: Json) -> Json:
    """The proposal's comparison on the page is the API's."""
    page.wait_for_function(
        f"() => document.querySelector('#ws-changes').dataset.staffed !== undefined "
        f"&& window.director.board.comparison.plan_id === '{plan['id']}'"
    )
    comparison: Json = api(server, f"/v1/workspace/plans/{plan['id']}/comparison")
    changes = page.locator("#ws-changes")
    assert changes.get_attribute("data-staffed") == str(len(comparison["staffed"]))
    assert changes.get_attribute("data-dropped") == str(len(comparison["unstaffed"]))
    assert changes.get_attribute("data-lead-changes") == str(len(comparison["lead_changes"]))
    assert page.locator("#ws-moves").get_attribute("data-moves") == str(len(comparison["moves"]))
    return comparison


def click_bar(page: Page, status: str) -> Json:
    """Click the board's canvas on the first bar of `status`; the bar as the page drew it."""
    found = page.evaluate(
        """(status) => {
          const bar = window.director.board.bars.find(
            (b) => b.status === status && (b.assignment || b.booking.kind === 'assignment'));
          window.director.board.showRow(bar.row);
          const chart = echarts.getInstanceByDom(document.querySelector('#board'));
          const [x, y] = chart.convertToPixel({ gridIndex: 0 }, [bar.start + 0.5, bar.row]);
          const wrap = document.querySelector('#board-scroll');
          wrap.scrollIntoView();
          return { x, y, bar: { assignment: bar.assignment || null, booking: bar.booking || null } };
        }""",
        status,
    )
    box = page.locator("#board-scroll").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + found["x"], box["y"] + found["y"])
    page.wait_for_selector("#booking-dialog[open]")
    bar: Json = found["bar"]
    return bar


def test_a_long_proposal_shows_its_progress_and_stopping_keeps_the_best_plan(page: Page, server: Server) -> None:
    headers = {"X-API-Key": MATURE}
    scenario = json.loads((ROOT / "scenarios" / "mature-market.json").read_text(encoding="utf-8"))
    settings = {"horizon": scenario["horizon"], "policy": scenario.get("policy") or {}}
    server.client.put("/v1/workspace/settings", json=settings, headers=headers).raise_for_status()
    for kind in ("staff", "opportunities"):
        body = (ROOT / "scenarios" / f"mature-market.{kind}.csv").read_bytes()
        server.client.put(f"/v1/workspace/{kind}.csv", content=body, headers=headers).raise_for_status()
    open_board(page, server, MATURE)

    page.fill("#propose-limit", "120")
    page.click("#propose")
    # The plan so far appears while the solve runs: its covered value and gap, as GET /v1/plans/{id} says.
    page.wait_for_function(
        "() => document.querySelector('#ws-progress').dataset.state === 'running' "
        "&& document.querySelector('#ws-progress').dataset.covered > 0",
        timeout=SOLVE_TIMEOUT_MS,
    )
    progress = page.locator("#ws-progress")
    shown = progress.inner_text()
    assert "covered value so far" in shown
    assert "gap to the best possible" in shown
    assert page.locator("#propose-cancel").is_visible()
    page.click("#propose-cancel")
    plan = propose_done(page, server, headers)
    assert plan["cancelled"] is True
    assert plan["status"] == "feasible"
    assert "best plan kept" in progress.inner_text()
    assert float(progress.get_attribute("data-covered") or "nan") == pytest.approx(plan["objective"]["covered_value"])
    assert page.locator("#propose-cancel").is_hidden()
    assert page.locator("#board-legend li[data-status=proposed]").get_attribute("data-count") == str(
        len(plan["assignments"])
    )


def test_propose_lock_publish_book_and_a_stale_publish(page: Page, server: Server) -> None:
    open_board(page, server, ADMIN)
    page.fill("#horizon-weeks", "8")
    page.click("#horizon-form button[type=submit]")
    wait_until_done(page)
    page.set_input_files("#staff-upload", str(STAFF_CSV))
    wait_until_done(page)
    page.set_input_files("#deals-upload", str(DEALS_CSV))
    wait_until_done(page)

    first = propose(page, server)
    progress = page.locator("#ws-progress")
    assert float(progress.get_attribute("data-covered") or "nan") == pytest.approx(first["objective"]["covered_value"])
    assert float(progress.get_attribute("data-gap") or "nan") == pytest.approx(first["objective"]["gap"])
    comparison = check_comparison(page, server, first)
    assert comparison["plan_of_record_id"] is None
    assert page.locator("#ws-staffed li").count() == min(100, len(comparison["staffed"]))

    # Nothing is booked yet: every bar is proposed work. Lock one on the board.
    legend = page.locator("#board-legend li[data-status=proposed]")
    assert legend.get_attribute("data-count") == str(len(first["assignments"]))
    bar = click_bar(page, "proposed")
    assert page.locator("#booking-lock").is_visible()
    assert page.locator("#booking-confirm").is_hidden()
    if page.locator("#booking-lead").is_visible():
        page.uncheck("#booking-lead")  # the assignment alone: the test checks exactly one confirmed booking
    page.click("#booking-lock")
    wait_until_done(page)
    locked = work(bar["assignment"])
    confirmed = live_bookings(server, "confirmed")
    assert [work(b) for b in confirmed] == [locked]
    assert page.locator("#board-legend li[data-status=confirmed]").get_attribute("data-count") == "1"
    assert page.locator("#ws-stale").is_visible(), "the lock made the proposal stale"

    # Propose again: the lock is a pin of the request, and the new proposal keeps it.
    second = propose(page, server)
    request = api(server, "/v1/workspace/request")
    deal = next(o for o in request["opportunities"] if o["id"] == locked[0])
    assert {"demand_id": locked[1], "staff_id": locked[2]} in deal["pinned"]
    assert locked in {work(a) for a in second["assignments"]}
    check_comparison(page, server, second)

    # Publish: the confirmation lists what changes; afterwards the bookings are the API's.
    page.click("#publish")
    made = int(page.locator("#publish-changes [data-item=bookings]").get_attribute("data-made") or "-1")
    assert "newly staffed" in page.locator("#publish-changes").inner_text()
    page.click("#publish-go")
    wait_until_done(page)
    assert api(server, "/v1/workspace")["plan_of_record_id"] == second["id"]
    assert len(live_bookings(server, "tentative")) == made

    # Confirm a tentative booking on the board.
    booking = click_first_tentative_booking(page)
    assert page.locator("#booking-lock").is_hidden()
    page.click("#booking-confirm")
    wait_until_done(page)
    assert booking["id"] in {b["id"] for b in live_bookings(server, "confirmed")}

    third = propose(page, server)
    comparison = check_comparison(page, server, third)
    assert comparison["plan_of_record_id"] == second["id"]

    # Who could do open work: the candidates of the workspace's request, then book one.
    # Nobody qualified: nobody to ask about, so no button; the other reasons each have one.
    assert page.locator("#ws-unfilled details[data-reason=no_qualified_staff] button.who").count() == 0
    group = page.locator("#ws-unfilled details.reason[data-reason=outranked]")
    if group.count() == 0:
        group = page.locator("#ws-unfilled details.reason:has(button.who)").first
    group.locator("summary").click()
    item = group.locator("li:has(button.who)").first
    item.locator("button.who").click()
    item.locator(".candidates[data-state=done], .candidates[data-state=error]").wait_for(timeout=SOLVE_TIMEOUT_MS)
    assert item.locator(".candidates").get_attribute("data-state") == "done"
    opportunity_id, demand_id = item.get_attribute("data-opportunity"), item.get_attribute("data-demand")
    book = item.locator("button.book").first
    staff_id = book.get_attribute("data-staff")
    book.click()
    wait_until_done(page)
    booked = [b for b in live_bookings(server, "confirmed") if work(b) == (opportunity_id, demand_id, staff_id)]
    assert len(booked) == 1

    # The booking made the third proposal stale: publishing it is refused with the 409's message and the
    # changes since, and "Propose again" makes a fresh one that publishes.
    page.click("#publish")
    assert page.locator("#publish-body .stale").is_visible()
    page.click("#publish-go")
    page.wait_for_function("() => document.querySelector('#status').dataset.kind === 'error'")
    refusal = server.client.post(f"/v1/workspace/plans/{third['id']}/publish", headers={"X-API-Key": ADMIN}).json()
    assert refusal["detail"] in page.locator("#status").inner_text()
    since = page.locator("#stale-changes li")
    assert since.count() == len(refusal["changes"])
    assert refusal["changes"][-1]["summary"] in since.last.inner_text()
    page.click("#repropose")
    fourth = propose_done(page, server, {"X-API-Key": ADMIN})
    assert (opportunity_id, demand_id, staff_id) in {work(a) for a in fourth["assignments"]}
    check_comparison(page, server, fourth)
    page.locator("#ws-moves-box summary").click()
    page.locator("#ws-proposal").screenshot(path=str(SCREENSHOTS / "comparison.png"))
    page.click("#publish")
    page.click("#publish-go")
    wait_until_done(page)
    assert api(server, "/v1/workspace")["plan_of_record_id"] == fourth["id"]

    # The board as a list has the same buttons, reachable by keyboard.
    page.locator("#board-list-box summary").focus()
    page.keyboard.press("Enter")
    release = page.locator("#board-list button[data-action=release]").first
    assert release.get_attribute("aria-label")
    page.locator("#board-list-box summary").click()
    page.evaluate("() => { window.director.board.showRow(0); window.scrollTo(0, 0); }")
    page.locator("#ws-unfilled details.reason:has(button.who)").last.locator("summary").click()
    page.locator(".board-panel").screenshot(path=str(SCREENSHOTS / "board.png"))

    # A viewer: the same board, no rate or cost anywhere, no button that writes; candidates without "Book".
    use_key(page, VIEWER)
    page.wait_for_function("() => document.body.dataset.role === 'viewer'")
    for selector in ("#propose", "#publish", "#staff-upload"):
        assert page.locator(selector).is_hidden(), selector
    group = page.locator("#ws-unfilled details.reason:has(button.who)").first
    group.locator("summary").click()
    item = group.locator("li:has(button.who)").first
    item.locator("button.who").click()
    item.locator(".candidates[data-state=done]").wait_for(timeout=SOLVE_TIMEOUT_MS)
    assert item.locator("button.book").count() == 0 or item.locator("button.book").first.is_hidden()
    page.locator("#board-list-box summary").click()
    assert page.locator("#board-list button[data-action]:visible").count() == 0
    click_first_tentative_booking(page)
    for selector in ("#booking-lock", "#booking-confirm", "#booking-release"):
        assert page.locator(selector).is_hidden(), selector
    page.keyboard.press("Escape")
    text = page.locator("body").inner_text().lower()
    assert "cost" not in text
    assert "rate" not in text
