"""The director's page in a real browser against a real server: run the two-variant fast-growth scenario,
read what the charts and the comparison show, and compare it with what the API says."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.api.workload import small_request
from tests.browser.conftest import Server, ServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SCENARIO_FILE = "whatif-fast-growth.json"
SMALL_SCENARIO = Path(__file__).resolve().parents[2] / "service" / "api" / "examples" / "small-scenario-request.json"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "director-page.png"
# A scenario of three 200-deal solves (5 s limit each, proven optimal in about 2 s) on two solver processes.
SOLVE_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def open_server(start_server: ServerFactory) -> Server:
    """No API keys: the loopback-only mode a director gets from `bash scripts/serve.sh`."""
    return start_server()


def charts(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate("() => window.director.charts")
    return found


def wait_for_option(page: Page, select: str, value: str) -> None:
    page.wait_for_function(
        "([select, value]) => [...document.querySelectorAll(`${select} option`)].some(o => o.value === value)",
        arg=[select, value],
    )


def wait_until_done(page: Page, timeout_ms: float = SOLVE_TIMEOUT_MS) -> None:
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.querySelector('#status').dataset.kind)", timeout=timeout_ms
    )
    status = page.locator("#status")
    assert status.get_attribute("data-kind") == "done", status.inner_text()


def test_a_director_runs_the_fast_growth_scenario_and_reads_the_comparison(
    page: Page, open_server: Server, tmp_path: Path
) -> None:
    api = open_server.client
    page.goto(open_server.url + "/")
    page.wait_for_function("() => document.body.dataset.ready === 'true'")
    page.click("#tab-whatif")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#scenario-file option')].some(o => o.value === '{SCENARIO_FILE}')"
    )
    page.select_option("#scenario-file", SCENARIO_FILE)
    page.fill("#time-limit", "5")
    page.click("#run-scenario")
    wait_until_done(page)

    # What the API stored for this scenario is what the page shows.
    scenario_id = page.evaluate("() => window.director.scenario.id")
    scenario = api.get(f"/v1/scenarios/{scenario_id}").json()
    assert scenario["status"] == "done"
    assert len(scenario["variants"]) == 2
    sides = [scenario["base"], *scenario["variants"]]
    plans = [api.get(f"/v1/plans/{side['plan_id']}").json() for side in sides]
    requests = [api.get(f"/v1/plans/{side['plan_id']}/request").json() for side in sides]

    # The comparison table: a column per variant, headed by its name, with the API's figures and deltas.
    headers = page.locator("#kpi-table thead th").all_inner_texts()
    assert headers == ["Measure", "Base", *(v["name"] for v in scenario["variants"])]
    filled_row = page.locator("#kpi-table tbody tr", has_text="Work slots filled").locator("td").all_inner_texts()
    assert filled_row[1] == str(scenario["base"]["kpis"]["filled_slots"])
    for cell, variant in zip(filled_row[2:], scenario["variants"], strict=True):
        assert cell.startswith(str(variant["kpis"]["filled_slots"]))
    value_deltas = page.locator("#kpi-table tbody tr", has_text="Covered value").locator(".delta")
    for i, variant in enumerate(scenario["variants"]):
        delta = variant["deltas"]["covered_value"]
        assert float(value_deltas.nth(i).get_attribute("data-delta") or "nan") == pytest.approx(delta)
        assert value_deltas.nth(i).get_attribute("class") == f"delta {'good' if delta > 0 else 'bad'}"

    # Each variant's moves, one row each, naming people rather than ids.
    for i, variant in enumerate(scenario["variants"]):
        panel = page.locator(f".variant[data-variant='{i}']")
        assert panel.locator("h3").inner_text() == variant["name"]
        assert panel.locator("table.moves tbody tr").count() == len(variant["moves"]) > 0
    staff_names = {s["id"]: s["name"] for r in requests for s in r["staff"]}
    lose = page.locator(".variant[data-variant='1']")
    gone = scenario["variants"][1]["dropped_out"][0]["staff_id"]
    assert staff_names[gone] in lose.inner_text()
    assert "(left the team)" in lose.inner_text()

    # The charts of every plan: one Gantt bar per assignment, a heatmap cell per person and week,
    # budget bars for the staffed deals, and the unfilled slots grouped by reason.
    tabs = page.locator("#plan-tabs button")
    assert tabs.count() == 3
    for i, (plan, request) in enumerate(zip(plans, requests, strict=True)):
        tabs.nth(i).click()
        page.wait_for_function(f"() => window.director.current === {i}")
        drawn = charts(page)
        assert drawn["gantt"]["bars"] == len(plan["assignments"])
        assert page.locator("#gantt").get_attribute("data-bars") == str(len(plan["assignments"]))
        assert drawn["gantt"]["people"] == len({a["staff_id"] for a in plan["assignments"]})
        assert drawn["gantt"]["leads"] == len(plan["leads"])
        assert sum(drawn["gantt"]["byGrade"].values()) == len(plan["assignments"])
        assert drawn["heatmap"]["cells"] == len(request["staff"]) * request["horizon"]["weeks"]
        staffed = [o for o in plan["opportunities"] if o["cost"] > 0]
        assert drawn["budget"]["staffed"] == len(staffed)
        assert drawn["budget"]["bars"] == min(25, len(staffed))
        assert drawn["budget"]["overBudget"] == 0
        assert drawn["unfilled"]["slots"] == sum(u["slots"] for u in plan["unfilled"])
        by_reason: dict[str, int] = {}
        for unfilled in plan["unfilled"]:
            by_reason[unfilled["reason"]] = by_reason.get(unfilled["reason"], 0) + unfilled["slots"]
        assert drawn["unfilled"]["groups"] == by_reason
        for reason, slots in by_reason.items():
            assert page.locator(f"details.reason[data-reason='{reason}']").get_attribute("data-slots") == str(slots)

    # Back to the base for the picture; the budget chart can show every staffed deal.
    tabs.nth(0).click()
    page.click("#budget-all")
    assert charts(page)["budget"]["bars"] == charts(page)["budget"]["staffed"]
    page.click("#budget-all")

    page.screenshot(path=str(tmp_path / "director-page-full.png"), full_page=True)
    top = tmp_path / "director-page.png"
    page.screenshot(path=str(top), clip={"x": 0, "y": 0, "width": 1366, "height": 1500}, full_page=True)
    assert top.stat().st_size > 50_000
    if os.environ.get("PRESALES_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(top, DOCS_SCREENSHOT)

    # The page can be reopened at its address: the scenario is stored on the server.
    page.reload()
    wait_until_done(page)
    assert page.evaluate("() => window.director.scenario.id") == scenario_id
    assert charts(page)["gantt"]["bars"] == len(plans[0]["assignments"])


def test_with_api_keys_the_page_asks_for_one_and_keeps_it(
    page: Page, start_server: ServerFactory, tmp_path: Path
) -> None:
    server = start_server(API_KEYS="director-key:acme")
    plan = server.client.post("/v1/plans", json=small_request(), headers={"X-API-Key": "director-key"}).json()
    page.goto(server.url + "/")
    page.wait_for_function("() => document.body.dataset.ready === 'true'")
    page.click("#tab-whatif")
    page.wait_for_function("() => document.querySelector('#key-form').classList.contains('needed')")
    assert page.locator("#stored-plan option").first.inner_text() != plan["id"]

    page.fill("#api-key", "director-key")
    page.click("#key-form button[type=submit]")
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#stored-plan option')].some(o => o.value === '{plan['id']}')"
    )
    assert page.evaluate("() => localStorage.getItem('presales-allocator.api-key')") == "director-key"
    page.select_option("#stored-plan", plan["id"])
    page.click("#open-plan")
    wait_until_done(page, 30_000)
    assert charts(page)["gantt"]["bars"] == len(plan["assignments"])
    assert page.locator("#comparison").is_hidden()
    assert page.locator("#plan-tiles").inner_text().count("optimal") == 1

    # A scenario pasted as JSON runs with the key too, and the comparison names its variants.
    scenario = json.loads(SMALL_SCENARIO.read_text(encoding="utf-8"))
    page.click("#own-scenario summary")
    page.fill("#scenario-json", json.dumps(scenario))
    page.click("#run-scenario")
    wait_until_done(page, 60_000)
    headers = page.locator("#kpi-table thead th").all_inner_texts()
    assert headers == ["Measure", "Base", *(v["name"] for v in scenario["variants"])]
    assert page.locator(".variant[data-variant='0'] table.moves tbody tr").count() >= 1
    assert "Sun Li" in page.locator(".variant[data-variant='0']").inner_text(), "the new hire is named"

    # The key survives a reload (localStorage); a wrong one is refused and said so.
    page.reload()
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#stored-plan option')].some(o => o.value === '{plan['id']}')"
    )
    page.fill("#api-key", "wrong")
    page.click("#key-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#key-state').textContent === 'key refused'")
    page.screenshot(path=str(tmp_path / "director-page-keys.png"))
