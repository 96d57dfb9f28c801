"""The what-if form in a real browser against a real server: the fast-growth workspace loaded through the API,
two variants built by pointing and clicking (lose a person; hire a role in a region at a rate and raise a unit's
rates), run on the workspace, and the comparison's figures on the page checked against GET /v1/scenarios/{id};
a server validation error is shown beside its row; weeks are named by their dates on the axis and in the
explanations; a viewer cannot run a what-if and sees no rate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Server, ServerFactory, open_board

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
STAFF_CSV = ROOT / "scenarios" / "fast-growth.staff.csv"
DEALS_CSV = ROOT / "scenarios" / "fast-growth.opportunities.csv"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshots" / "whatif-form.png"
ADMIN = "whatif-admin"
VIEWER = "whatif-viewer"
HEADERS = {"X-API-Key": ADMIN}
START = "2026-11-23"  # a Monday in ISO week 48: week 0 is "W48 · 23 Nov"
SOLVE_TIMEOUT_MS = 180_000
DATED_WEEK = re.compile(r"W\d{1,2} · \d{1,2} [A-Z][a-z]{2}")


@pytest.fixture(scope="module")
def server(start_server: ServerFactory) -> Server:
    server = start_server(API_KEYS=f"{ADMIN}:acme,{VIEWER}:acme:viewer")
    client = server.client
    settings = client.put("/v1/workspace/settings", json={"horizon": {"start": START, "weeks": 8}}, headers=HEADERS)
    assert settings.status_code == 200, settings.text
    for name, path in (("staff.csv", STAFF_CSV), ("opportunities.csv", DEALS_CSV)):
        put = client.put(f"/v1/workspace/{name}", content=path.read_bytes(), headers=HEADERS)
        assert put.status_code == 200, put.text
    return server


def api(server: Server, path: str) -> Any:
    answer = server.client.get(path, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    return answer.json()


def open_form(page: Page, server: Server, key: str) -> None:
    open_board(page, server, key)
    page.click("#tab-whatif")
    page.wait_for_function("() => document.body.dataset.whatifReady === 'true'")


def wait_for_status(page: Page, kind: str, timeout_ms: float = SOLVE_TIMEOUT_MS) -> str:
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.querySelector('#status').dataset.kind)", timeout=timeout_ms
    )
    status = page.locator("#status")
    assert status.get_attribute("data-kind") == kind, status.inner_text()
    text: str = status.inner_text()
    page.evaluate("() => { document.querySelector('#status').dataset.kind = 'idle'; }")
    return text


def control(page: Page, name: str, variant: int, change: int) -> Any:
    """A control of the form by its accessible name, e.g. "Person (variant 1, change 1)"."""
    return page.get_by_label(f"{name} (variant {variant}, change {change})", exact=True)


def test_two_variants_built_with_the_form_run_on_the_workspace_and_match_the_api(page: Page, server: Server) -> None:
    staff = api(server, "/v1/workspace/staff?limit=100")["items"]
    lost = next(s for s in staff if s["id"] == "dc-009")
    open_form(page, server, ADMIN)
    assert page.locator("#whatif-builder").is_visible()
    assert "8 weeks, W48 · 23 Nov – W2 · 11 Jan" in page.locator("#whatif-builder").inner_text()

    page.fill("#wf-name", "Lose an architect, or hire in the west")
    # Variant 1: lose a person (the form starts with one variant and a "Lose a person" change).
    page.get_by_label("Name of variant 1").fill("Lose Huang Haiyan")
    control(page, "Person", 1, 1).select_option("dc-009")

    # Variant 2: hire a solution architect in the west at 120 an hour, and raise the delivery center's rates 15%.
    page.click("#wf-add-variant")
    page.get_by_label("Name of variant 2").fill("Hire in the west, dearer delivery center")
    control(page, "What changes", 2, 1).select_option("add_staff")
    control(page, "Role", 2, 1).select_option("solution_architect")
    control(page, "Unit", 2, 1).select_option("local_office")
    control(page, "Region", 2, 1).select_option("west")
    control(page, "Rate per hour", 2, 1).fill("120")
    control(page, "Skills (skill:level; …)", 2, 1).fill("e-gov:4; data-platform:4; security:3")
    page.get_by_role("button", name="Add a change to variant 2").click()
    control(page, "What changes", 2, 2).select_option("scale_rates")
    control(page, "Change in %", 2, 2).fill("15")
    control(page, "Unit", 2, 2).select_option("delivery_center")
    page.fill("#wf-time-limit", "5")
    page.evaluate("() => document.querySelector('#whatif-builder').scrollIntoView()")
    page.click("#wf-run")
    done = wait_for_status(page, "done")
    assert "2 variants solved and compared" in done

    sent = page.evaluate("() => window.director.whatif.sent")
    assert sent["base"] == "workspace"
    assert sent["options"] == {"time_limit_s": 5}
    assert sent["variants"][0]["changes"] == [{"op": "remove_staff", "staff_id": "dc-009"}]
    hire, raise_rates = sent["variants"][1]["changes"]
    assert hire["op"] == "add_staff"
    assert hire["staff"]["role"] == "solution_architect"
    assert hire["staff"]["unit"] == {"kind": "local_office", "id": "office-west", "region": "west"}
    assert hire["staff"]["hourly_rate"] == 120
    assert hire["staff"]["skills"] == {"e-gov": 4, "data-platform": 4, "security": 3}
    assert raise_rates == {"op": "scale_rates", "factor": 1.15, "unit_kind": "delivery_center", "role": None}

    scenario_id = page.evaluate("() => window.director.scenario.id")
    scenario = api(server, f"/v1/scenarios/{scenario_id}")
    assert scenario["status"] == "done"
    # The comparison on the page shows the API's figures: each variant's KPIs and its number of moves.
    table = page.locator("#kpi-table")
    assert table.get_attribute("data-variants") == "2"
    for measure, key in (("Covered value", "covered_value"), ("Total internal cost", "total_cost")):
        row = table.locator("tbody tr", has_text=measure)
        assert float(row.locator("td").nth(1).get_attribute("data-value") or "nan") == pytest.approx(
            scenario["base"]["kpis"][key]
        )
        for i, variant in enumerate(scenario["variants"]):
            cell = row.locator("td").nth(2 + i)
            assert float(cell.get_attribute("data-value") or "nan") == pytest.approx(variant["kpis"][key])
            delta = float(cell.locator(".delta").get_attribute("data-delta") or "nan")
            assert delta == pytest.approx(variant["deltas"][key])
    filled = table.locator("tbody tr", has_text="Work slots filled")
    for i, variant in enumerate(scenario["variants"]):
        assert filled.locator("td").nth(2 + i).get_attribute("data-value") == str(variant["kpis"]["filled_slots"])
        assert page.locator(f"#variant-changes article[data-variant='{i}']").get_attribute("data-moves") == str(
            len(variant["moves"])
        )
    changes = page.locator("#variant-changes").inner_text()
    assert f"Lose {lost['name']} (dc-009)" in changes
    assert "Hire New solution architect (west) (hire-1): solution architect, local office west, rate 120/h" in changes
    assert "Internal rates +15% for delivery center" in changes
    hired = api(server, f"/v1/plans/{scenario['variants'][1]['plan_id']}/request")
    assert any(s["id"] == "hire-1" and s["hourly_rate"] == 120 for s in hired["staff"])

    # Weeks by their dates: the Gantt's axis, the work of each move, and the engine's explanations.
    axis = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#gantt')).getOption().xAxis[1].data.slice(0, 2)"
    )
    assert axis == ["W48 · 23 Nov", "W49 · 30 Nov"]
    base_plan = api(server, f"/v1/plans/{scenario['base']['plan_id']}")
    dated = [u["detail"] for u in base_plan["unfilled"] if DATED_WEEK.search(u["detail"])]
    assert dated, "some work is left open for want of hours, in weeks named by their dates"
    unfilled = page.locator("#unfilled").inner_text()
    first_week = DATED_WEEK.search(dated[0])
    assert first_week is not None
    assert first_week.group(0) in unfilled
    assert not re.search(r"\bweeks? \d", unfilled), "no week is named by its index"
    moved = [i for i, variant in enumerate(scenario["variants"]) if variant["moves"]]
    assert moved, "the hire and the dearer delivery center move someone"
    moves = page.locator(f"#variant-changes article[data-variant='{moved[0]}'] table.moves").inner_text()
    assert DATED_WEEK.search(moves)

    page.evaluate("() => document.querySelector('#whatif-builder').scrollIntoView()")
    builder = page.locator("#whatif-builder").bounding_box()
    kpis = page.locator("#kpi-table").bounding_box()
    assert builder is not None
    assert kpis is not None
    page.set_viewport_size({"width": 1366, "height": 1500})
    page.evaluate("() => document.querySelector('#whatif-builder').scrollIntoView()")
    page.screenshot(
        path=str(DOCS_SCREENSHOT),
        full_page=True,
        clip={"x": 0, "y": builder["y"] - 60, "width": 1366, "height": kpis["y"] + kpis["height"] - builder["y"] + 80},
    )


def test_a_server_validation_error_is_shown_beside_its_row(page: Page, server: Server) -> None:
    open_form(page, server, ADMIN)
    # Nobody on the hotline is an industry consultant: only the server knows, and it names the change's role.
    control(page, "What changes", 1, 1).select_option("scale_rates")
    control(page, "Unit", 1, 1).select_option("hotline")
    control(page, "Role", 1, 1).select_option("industry_consultant")
    page.click("#wf-add-variant")
    page.get_by_label("Name of variant 2").fill("Variant 1")  # a name the first variant has already
    page.click("#wf-run")
    assert "refused" in wait_for_status(page, "error")
    second = page.locator("#wf-variants .wf-variant").nth(1)
    assert "Name: duplicate variant name 'Variant 1'" in second.locator(".wf-error").first.inner_text()
    assert page.get_by_label("Name of variant 2").get_attribute("aria-invalid") == "true"
    assert second.locator(".wf-change .wf-error").is_hidden(), "nothing is said beside a change that is fine"

    page.get_by_label("Name of variant 2").fill("Lose someone")
    page.click("#wf-run")
    assert "1 shown beside its change" in wait_for_status(page, "error")
    row = page.locator("#wf-variants .wf-variant").nth(0).locator(".wf-change").nth(0)
    error = row.locator(".wf-error")
    assert error.is_visible()
    assert "Role: no staff member in a hotline has role 'industry_consultant'" in error.inner_text()
    role = control(page, "Role", 1, 1)
    assert role.get_attribute("aria-invalid") == "true"
    assert role.get_attribute("aria-describedby") == error.get_attribute("id")
    assert page.get_by_label("Name of variant 2").get_attribute("aria-invalid") is None
    assert second.locator(".wf-error").first.is_hidden()

    # Fixed, it runs, and the error goes away.
    role.select_option("hotline_engineer")
    page.fill("#wf-time-limit", "3")
    page.click("#wf-run")
    wait_for_status(page, "done")
    assert error.is_hidden()
    assert role.get_attribute("aria-invalid") is None


def focused(page: Page) -> str | None:
    name: str | None = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    return name


def test_the_form_is_keyboard_usable_and_fits_a_laptop(page: Page, server: Server) -> None:
    open_form(page, server, ADMIN)
    page.focus("#wf-add-variant")
    page.keyboard.press("Enter")
    assert focused(page) == "Name of variant 2"
    page.get_by_role("button", name="Add a change to variant 2").focus()
    page.keyboard.press("Enter")
    assert focused(page) == "What changes (variant 2, change 2)"
    page.get_by_role("button", name="Remove change 2 of variant 2").focus()
    page.keyboard.press("Enter")
    assert page.locator("#wf-variants .wf-variant").nth(1).locator(".wf-change").count() == 1
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('#whatif-builder select, #whatif-builder input, #whatif-builder button')]
              .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
              .map((el) => el.outerHTML)"""
    )
    assert unnamed == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1366, "the form fits a 1366 px screen"


def test_a_viewer_cannot_run_a_what_if_and_sees_no_rate(page: Page, server: Server) -> None:
    # A planner ran a what-if with a hire at a rate; the viewer may open it, without the rate or any cost.
    hire = {"op": "add_staff", "staff": {**api(server, "/v1/workspace/staff/west-001"), "id": "hire-west"}}
    scenario = {"name": "Hire a west account manager", "base": "workspace", "options": {"time_limit_s": 2}}
    scenario["variants"] = [{"name": "Hire", "changes": [hire]}]
    ran = server.client.post("/v1/scenarios", json=scenario, headers=HEADERS)
    assert ran.status_code == 201, ran.text
    open_form(page, server, VIEWER)
    page.wait_for_function("() => document.body.dataset.role === 'viewer'")
    assert page.locator("#whatif-builder").is_hidden()
    assert page.locator("#wf-run").is_hidden()
    assert page.locator("#run-scenario").is_hidden()
    assert page.locator("#wf-readonly").is_visible()
    text = page.locator("#view-whatif").inner_text().lower()
    assert "rate" not in text
    assert "cost" not in text
    assert page.evaluate("() => window.director.whatif.staff.length") == 0, "the viewer's page asks for no roster"
    page.select_option("#stored-scenario", ran.json()["id"])
    page.click("#open-scenario")
    wait_for_status(page, "done")
    assert page.locator("#comparison").is_visible()
    shown = page.locator("#view-whatif").inner_text()
    assert "Hire hire-west" in shown or "(hire-west)" in shown
    assert "/h" not in shown
    assert "NaN" not in shown
    assert "internal cost" not in shown.lower()
    assert page.locator("#budget").is_hidden()
