"""The workspace at the mature-market stage (150 people, 400 deals): import from CSV, propose, publish, change
ten deals, propose again; the time of each step, and how many tentative bookings the second proposal moves
against a plan of the same request solved without them (the stability level at work).

Starts the service (SQLite in a temporary folder), drives it over HTTP like a CRM would, and prints a
Markdown table.

    uv run python -m benchmarks.workspace --time-limit 20
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_process import service_process

ROOT = Path(__file__).resolve().parents[1]
STAGE = "mature-market"
Json = dict[str, Any]


@contextmanager
def running_server() -> Iterator[httpx.Client]:
    with service_process() as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        yield client


def timed(what: str, steps: list[tuple[str, float]], call: Any) -> Any:
    started = time.perf_counter()
    response = call()
    steps.append((what, time.perf_counter() - started))
    if response.is_error:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json()


def assignments(plan: Json) -> set[tuple[str, str, str]]:
    return {(a["opportunity_id"], a["demand_id"], a["staff_id"]) for a in plan["assignments"]}


def change_ten_deals(client: httpx.Client, plan: Json) -> list[str]:
    """Ten staffed deals change as a CRM would send them: five more likely to close, three larger, two lost."""
    staffed = sorted({a["opportunity_id"] for a in plan["assignments"]})[:10]
    for i, opportunity_id in enumerate(staffed):
        deal = copy.deepcopy(client.get(f"/v1/workspace/opportunities/{opportunity_id}").json())
        if i < 5:
            deal["win_probability"] = min(1.0, deal["win_probability"] + 0.2)
        elif i < 8:
            deal["deal_value"] = deal["deal_value"] * 2
        else:
            client.delete(f"/v1/workspace/opportunities/{opportunity_id}").raise_for_status()
            continue
        client.put(f"/v1/workspace/opportunities/{opportunity_id}", json=deal).raise_for_status()
    return staffed


def run(time_limit_s: float, deterministic: bool) -> str:
    steps: list[tuple[str, float]] = []
    options = {"options": {"time_limit_s": time_limit_s, "deterministic": deterministic}}
    with running_server() as client:
        horizon = json.loads((ROOT / "scenarios" / f"{STAGE}.json").read_text(encoding="utf-8"))["horizon"]
        client.put("/v1/workspace/settings", json={"horizon": horizon}).raise_for_status()
        for kind in ("staff", "opportunities"):
            path, body = f"/v1/workspace/{kind}.csv", (ROOT / "scenarios" / f"{STAGE}.{kind}.csv").read_bytes()
            timed(f"import {kind}.csv", steps, lambda path=path, body=body: client.put(path, content=body))
        first = timed("propose", steps, lambda: client.post("/v1/workspace/plans", json=options))
        timed("publish", steps, lambda: client.post(f"/v1/workspace/plans/{first['id']}/publish"))
        started = time.perf_counter()
        change_ten_deals(client, first)
        steps.append(("change 10 deals (10 requests)", time.perf_counter() - started))
        second = timed("propose again", steps, lambda: client.post("/v1/workspace/plans", json=options))
        request = client.get("/v1/workspace/request").json()
        request["previous_plan"] = []
        request["options"] = options["options"]
        unanchored = timed("the same request without bookings", steps, lambda: client.post("/v1/plans", json=request))
    booked = {a for a in assignments(first) if a[0] in {o["id"] for o in request["opportunities"]}}
    moved = len(booked - assignments(second))
    moved_without = len(booked - assignments(unanchored))
    rows = [f"| {what} | {seconds:.2f} |" for what, seconds in steps]
    return "\n".join(
        [
            f"### Workspace at the {STAGE} stage (time limit {time_limit_s:g} s"
            + (", deterministic)" if deterministic else ")"),
            "",
            "| step | seconds |",
            "|---|---|",
            *rows,
            "",
            f"Tentative assignments on deals still open: {len(booked)}. Moved by the second proposal: {moved} "
            f"(covered value {second['objective']['covered_value']:,.0f}); moved by a plan of the same request "
            f"without them: {moved_without} (covered value {unanchored['objective']['covered_value']:,.0f}).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve (default 20)")
    parser.add_argument("--deterministic", action="store_true", help="solve in deterministic mode")
    arguments = parser.parse_args()
    print(run(arguments.time_limit, arguments.deterministic))


if __name__ == "__main__":
    main()
