"""The director's planning board in a real browser against a real server: import the fast-growth CSVs
through the page, propose, publish, confirm a booking on the board, propose again (the confirmed booking
holds), publish again; the figures on the page are the API's, and a viewer's page shows no rate or cost.
test_board_workflow.py goes on from there (locks, candidates, progress) and writes the screenshots."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Server, ServerFactory, open_board, use_key

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
STAFF_CSV = ROOT / "scenarios" / "fast-growth.staff.csv"
DEALS_CSV = ROOT / "scenarios" / "fast-growth.opportunities.csv"
ADMIN = "board-admin"
VIEWER = "board-viewer"
OTHER = "board-other"  # an admin of another tenant, whose workspace starts empty
SOLVE_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def server(start_server: ServerFactory) -> Server:
    return start_server(API_KEYS=f"{ADMIN}:acme,{VIEWER}:acme:viewer,{OTHER}:other")


def api(server: Server, path: str, headers: dict[str, str] | None = None) -> Any:
    answer = server.client.get(path, headers=headers or {"X-API-Key": ADMIN})
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_until_done(page: Page, timeout_ms: float = SOLVE_TIMEOUT_MS) -> str:
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.querySelector('#status').dataset.kind)", timeout=timeout_ms
    )
    status = page.locator("#status")
    assert status.get_attribute("data-kind") == "done", status.inner_text()
    text: str = status.inner_text()
    page.evaluate("() => { document.querySelector('#status').dataset.kind = 'idle'; }")
    return text


def propose(page: Page, server: Server, headers: dict[str, str] | None = None) -> dict[str, Any]:
    page.fill("#propose-limit", "5")
    page.click("#propose")
    return propose_done(page, server, headers)


def propose_done(page: Page, server: Server, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Wait for the proposal the page asked for; check its figures on the page against the API's."""
    wait_until_done(page)
    proposal_id = page.evaluate("() => window.director.board.proposal.id")
    plan: dict[str, Any] = api(server, f"/v1/plans/{proposal_id}", headers)
    # The KPI table shows the API's figures for the proposal.
    filled = page.locator("#ws-kpis tbody tr", has_text="Work slots filled").locator("td").nth(2)
    assert filled.get_attribute("data-value") == str(plan["kpis"]["filled_slots"])
    covered = page.locator("#ws-kpis tbody tr", has_text="Covered value").locator("td").nth(2)
    assert float(covered.get_attribute("data-value") or "nan") == pytest.approx(plan["kpis"]["covered_value"])
    assert page.locator("#ws-unfilled").get_attribute("data-slots") == str(plan["kpis"]["unfilled_slots"])
    return plan


def publish(page: Page, server: Server, plan: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    page.click("#publish")
    assert "becomes the plan of record" in page.locator("#publish-body").inner_text()
    page.click("#publish-go")
    wait_until_done(page)
    assert api(server, "/v1/workspace", headers)["plan_of_record_id"] == plan["id"]


def first_week_label(start: str) -> str:
    """`W48 · 23 Nov`: the ISO week and the date of the horizon's first Monday, as the board's axis says it."""
    day = dt.date.fromisoformat(start)
    return f"W{day.isocalendar().week} · {day.day} {day.strftime('%b')}"


def click_first_tentative_booking(page: Page) -> dict[str, Any]:
    """Click the board's canvas where the first tentative booking's bar is drawn."""
    found = page.evaluate(
        """() => {
          const bars = window.director.board.bars;
          const bar = bars.find((b) => b.status === 'tentative' && b.booking.kind === 'assignment');
          window.director.board.showRow(bar.row);
          const chart = echarts.getInstanceByDom(document.querySelector('#board'));
          const [x, y] = chart.convertToPixel({ gridIndex: 0 }, [bar.start + 0.5, bar.row]);
          const wrap = document.querySelector('#board-scroll');
          wrap.scrollIntoView();
          return { x, y, booking: bar.booking };
        }"""
    )
    box = page.locator("#board-scroll").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + found["x"], box["y"] + found["y"])
    page.wait_for_selector("#booking-dialog[open]")
    booking: dict[str, Any] = found["booking"]
    return booking


def test_a_director_imports_proposes_confirms_and_publishes_on_the_board(page: Page, server: Server) -> None:
    open_board(page, server, ADMIN)
    assert page.locator("#view-workspace").is_visible(), "the workspace is the first tab"

    # A file with a mistake is refused, and the page names its row and column.
    bad = STAFF_CSV.read_text(encoding="utf-8").replace(",70,40,true,", ",70,forty,true,", 1)
    page.set_input_files("#staff-upload", files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.wait_for_function("() => document.querySelector('#status').dataset.kind === 'error'")
    assert "row 2, capacity_hours" in page.locator("#status li").first.inner_text()

    # The fast-growth roster gives some people one capacity figure a week: plan its eight weeks.
    page.fill("#horizon-weeks", "8")
    page.click("#horizon-form button[type=submit]")
    wait_until_done(page)
    horizon = api(server, "/v1/workspace/settings")["horizon"]
    assert horizon["weeks"] == 8
    assert page.locator("#board").get_attribute("data-first-week") == first_week_label(horizon["start"])

    page.set_input_files("#staff-upload", str(STAFF_CSV))
    wait_until_done(page)
    page.set_input_files("#deals-upload", str(DEALS_CSV))
    wait_until_done(page)
    workspace = api(server, "/v1/workspace")
    assert page.locator("#ws-revision").inner_text() == str(workspace["revision"])
    assert page.locator("#staff-table").get_attribute("data-rows") == str(workspace["staff"])
    assert page.locator("#deal-table").get_attribute("data-rows") == str(workspace["opportunities"])

    # Filters and sorting: the north region's people only, by rate, highest first.
    page.select_option("#f-region", "north")
    north = [s for s in api(server, "/v1/workspace/staff?limit=500")["items"] if s["unit"]["region"] == "north"]
    assert page.locator("#staff-table").get_attribute("data-rows") == str(len(north))
    page.click("#staff-table button.sort[data-key=rate]")
    page.click("#staff-table button.sort[data-key=rate]")
    top_rate = max(s["hourly_rate"] for s in north)
    first_row = page.locator("#staff-table tbody tr").first.locator("td").last.inner_text()
    assert first_row == f"{top_rate:,.0f}"
    page.select_option("#f-region", "")

    first = propose(page, server)
    publish(page, server, first)
    tentative = api(server, "/v1/workspace/bookings?status=tentative&limit=500")["items"]
    drawn = page.evaluate("() => window.director.board.bars.filter((b) => b.booking).map((b) => b.booking.id)")
    assert set(drawn) <= {b["id"] for b in tentative}
    work = {b["id"] for b in tentative if b["kind"] == "assignment"}
    assert work <= set(drawn), "every piece of booked work is drawn"

    booking = click_first_tentative_booking(page)
    page.click("#booking-confirm")
    wait_until_done(page)
    assert (
        api(server, f"/v1/workspace/bookings?status=confirmed&staff_id={booking['staff_id']}")["items"][0]["id"]
        == booking["id"]
    )

    second = propose(page, server)
    held = [
        a
        for a in second["assignments"]
        if (a["opportunity_id"], a["demand_id"], a["staff_id"])
        == (booking["opportunity_id"], booking["demand_id"], booking["staff_id"])
    ]
    assert held, "the confirmed booking holds in the next proposal"
    publish(page, server, second)

    # A viewer sees the board but no rate, no cost and no button that writes.
    use_key(page, VIEWER)
    page.wait_for_function("() => document.body.dataset.role === 'viewer'")
    text = page.locator("body").inner_text().lower()
    assert "cost" not in text
    assert "rate" not in text
    assert page.locator("#propose").is_hidden()
    assert page.locator("#staff-upload").is_hidden()
    assert page.locator("#staff-table").get_attribute("data-rows") == str(workspace["staff"])


def test_a_stale_proposal_is_refused_with_the_servers_message_and_proposed_again(page: Page, server: Server) -> None:
    headers = {"X-API-Key": OTHER}
    client = server.client
    settings = client.get("/v1/workspace/settings", headers=headers).json()
    horizon = {"start": settings["horizon"]["start"], "weeks": 8}
    assert client.put("/v1/workspace/settings", json={"horizon": horizon}, headers=headers).status_code == 200
    for name, path in (("staff.csv", STAFF_CSV), ("opportunities.csv", DEALS_CSV)):
        put = client.put(f"/v1/workspace/{name}", content=path.read_bytes(), headers=headers)
        assert put.status_code == 200, put.text
    open_board(page, server, OTHER)

    # The tabs answer the keyboard: the arrow keys move between them.
    page.focus("#tab-workspace")
    page.keyboard.press("ArrowRight")
    assert page.locator("#view-whatif").is_visible()
    assert page.locator("#view-workspace").is_hidden()
    page.keyboard.press("ArrowLeft")
    assert page.locator("#view-workspace").is_visible()

    stale = propose(page, server, headers)
    # Someone changes the workspace after the proposal was made: publishing it is refused.
    client.delete("/v1/workspace/staff/central-001", headers=headers).raise_for_status()
    page.click("#publish")
    page.click("#publish-go")
    page.wait_for_function("() => document.querySelector('#status').dataset.kind === 'error'")
    refusal = client.post(f"/v1/workspace/plans/{stale['id']}/publish", headers=headers).json()
    assert refusal["detail"] in page.locator("#status").inner_text()
    page.click("#repropose")
    fresh = propose_done(page, server, headers)
    assert fresh["id"] != stale["id"]
    publish(page, server, fresh, headers)
