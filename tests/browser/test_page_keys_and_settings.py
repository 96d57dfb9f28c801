"""What a director meets on the page in a real browser: a stage's settings (horizon and policy) taken from its
file without writing JSON, a viewer's key saved over an admin's taking down what the admin's key had shown
(the viewer's answers have no rate or cost), and the keyboard's focus kept on the button it pressed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.api.workload import small_request
from tests.browser.conftest import Server, ServerFactory, open_board, use_key
from tests.browser.test_planning_board import wait_until_done

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / "scenarios" / "fast-growth.json"
ADMIN = "keys-admin"
VIEWER = "keys-viewer"


@pytest.fixture(scope="module")
def server(start_server: ServerFactory) -> Server:
    return start_server(API_KEYS=f"{ADMIN}:keys,{VIEWER}:keys:viewer")


def test_a_stages_file_sets_the_workspaces_horizon_and_policy(page: Page, server: Server) -> None:
    open_board(page, server, ADMIN)
    page.set_input_files("#settings-upload", str(STAGE))
    assert "with its policy" in wait_until_done(page)
    stage = json.loads(STAGE.read_text(encoding="utf-8"))
    settings = server.client.get("/v1/workspace/settings", headers={"X-API-Key": ADMIN}).json()
    assert settings["horizon"] == stage["horizon"]
    assert {key: settings["policy"][key] for key in stage["policy"]} == stage["policy"]


def test_a_viewers_key_takes_down_what_the_admins_key_showed(page: Page, server: Server) -> None:
    plan = server.client.post("/v1/plans", json=small_request(), headers={"X-API-Key": ADMIN}).json()
    cost = f"{plan['objective']['total_cost']:,.0f}"
    open_board(page, server, ADMIN)
    page.click("#tab-whatif")
    page.wait_for_function(
        "(id) => [...document.querySelectorAll('#stored-plan option')].some((o) => o.value === id)", arg=plan["id"]
    )
    page.select_option("#stored-plan", plan["id"])
    page.click("#open-plan")
    # The admin sees the plan's cost.
    page.wait_for_function(
        "(cost) => !document.querySelector('#plan').hidden"
        " && document.querySelector('#view-whatif').innerText.includes(cost)",
        arg=cost,
    )

    page.evaluate("() => { document.querySelector('#status').dataset.kind = 'idle'; }")
    use_key(page, VIEWER)
    assert "Plan " in wait_until_done(page)  # the plan, read again with the viewer's key
    shown = page.locator("#view-whatif").inner_text()
    assert page.locator("#plan").is_visible()
    assert cost not in shown
    assert "cost" not in shown.lower()


def test_the_keyboards_focus_stays_on_the_button_it_pressed(page: Page, server: Server) -> None:
    """Buttons are disabled while the page works; once it is done, the focus is back where the key was."""
    open_board(page, server, ADMIN)
    page.fill("#propose-limit", "2")
    page.focus("#propose")
    page.keyboard.press("Enter")
    wait_until_done(page)
    assert page.evaluate("() => document.activeElement.id") == "propose"
