"""What the director's page shows when the server refuses what it was given: every field error of a 422
once, by its path, whether the JSON was pasted or uploaded, a plain request or a scenario; and a stored
plan or scenario that does not exist, said once."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Server, ServerFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SMALL_SCENARIO = Path(__file__).resolve().parents[2] / "service" / "api" / "examples" / "small-scenario-request.json"


@pytest.fixture(scope="module")
def open_server(start_server: ServerFactory) -> Server:
    return start_server()


def small_scenario() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SMALL_SCENARIO.read_text(encoding="utf-8"))
    return document


def scenario_with_four_errors() -> tuple[dict[str, Any], list[str]]:
    """Three errors in the base and one in a variant: the server's `detail` names the first three and
    says "and 1 more", its `errors` list names all four."""
    scenario = small_scenario()
    scenario["base"]["horizon"]["weeks"] = 0
    scenario["base"]["staff"][0]["skills"]["cloud"] = 9
    scenario["base"]["opportunities"][0]["grade"] = "Z"
    scenario["variants"][0]["changes"][0]["op"] = "hire_everyone"
    paths = [
        "base.horizon.weeks",
        "base.staff[0].skills.cloud",
        "base.opportunities[0].grade",
        "variants[0].changes[0].op",
    ]
    return scenario, paths


def request_with_five_errors() -> tuple[dict[str, Any], list[str]]:
    request = copy.deepcopy(small_scenario()["base"])
    request["staff"][0]["skills"]["cloud"] = 9
    request["staff"][1]["hourly_rate"] = -5
    request["staff"][2]["unit"]["kind"] = "moon"
    request["opportunities"][0]["grade"] = "Z"
    request["opportunities"][0]["win_probability"] = 2
    paths = [
        "staff[0].skills.cloud",
        "staff[1].hourly_rate",
        "staff[2].unit.kind",
        "opportunities[0].grade",
        "opportunities[0].win_probability",
    ]
    return request, paths


def open_page(page: Page, server: Server, fragment: str = "") -> None:
    page.goto(server.url + "/" + fragment)
    page.wait_for_function("() => document.body.dataset.ready === 'true'")
    if not fragment:
        page.click("#tab-whatif")


def run_and_read_the_error(page: Page) -> str:
    page.click("#run-scenario")
    page.wait_for_function("() => ['done', 'error'].includes(document.querySelector('#status').dataset.kind)")
    status = page.locator("#status")
    assert status.get_attribute("data-kind") == "error", status.inner_text()
    return status.inner_text()


def assert_each_error_listed_once(page: Page, text: str, paths: list[str], server: Server, document: Any) -> None:
    for path in paths:
        assert text.count(path) == 1, f"{path!r} appears {text.count(path)} times in:\n{text}"
    items = page.locator("#status li")
    assert items.count() == len(paths), text
    # Each line is one of the server's errors: its path and its message.
    endpoint = "/v1/scenarios" if "variants" in document else "/v1/plans"
    errors = server.client.post(endpoint, json=document).json()["errors"]
    assert [e["path"] for e in errors] == paths
    for item, error in zip(items.all_inner_texts(), errors, strict=True):
        assert error["path"] in item
        assert error["message"] in item


def test_a_pasted_scenario_with_four_errors_lists_each_once_by_path(page: Page, open_server: Server) -> None:
    scenario, paths = scenario_with_four_errors()
    open_page(page, open_server)
    page.click("#own-scenario summary")
    page.fill("#scenario-json", json.dumps(scenario))
    text = run_and_read_the_error(page)
    assert_each_error_listed_once(page, text, paths, open_server, scenario)
    assert "hire a tester in the south" in page.locator("#status li").nth(3).inner_text(), "the variant is named"


def test_a_pasted_request_with_five_errors_lists_every_one(page: Page, open_server: Server) -> None:
    request, paths = request_with_five_errors()
    open_page(page, open_server)
    page.click("#own-scenario summary")
    page.fill("#scenario-json", json.dumps(request))
    text = run_and_read_the_error(page)
    assert_each_error_listed_once(page, text, paths, open_server, request)


def test_an_uploaded_scenario_with_errors_lists_each_once(page: Page, open_server: Server, tmp_path: Path) -> None:
    scenario, paths = scenario_with_four_errors()
    upload = tmp_path / "broken-scenario.json"
    upload.write_text(json.dumps(scenario), encoding="utf-8")
    open_page(page, open_server)
    page.click("#own-scenario summary")
    page.set_input_files("#scenario-upload", str(upload))
    page.wait_for_function("() => document.querySelector('#scenario-json').value.length > 0")
    text = run_and_read_the_error(page)
    assert_each_error_listed_once(page, text, paths, open_server, scenario)


@pytest.mark.parametrize("kind", ["plan", "scenario"])
def test_a_stored_plan_or_scenario_that_does_not_exist_is_said_once(page: Page, open_server: Server, kind: str) -> None:
    missing = str(uuid.uuid4())
    open_page(page, open_server, f"#{kind}={missing}")
    page.wait_for_function("() => document.querySelector('#status').dataset.kind === 'error'")
    text = page.locator("#status").inner_text()
    assert text.count(missing) == 1, text
    assert page.locator("#status li").count() == 0


def test_pasted_text_that_is_not_json_is_said_to_be_so(page: Page, open_server: Server) -> None:
    open_page(page, open_server)
    page.click("#own-scenario summary")
    page.fill("#scenario-json", '{"name": "half a scenario", "base": ')
    text = run_and_read_the_error(page)
    assert text.startswith("The pasted or uploaded text is not valid JSON: "), text
