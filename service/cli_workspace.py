"""`presales-allocator workspace ...`: the workspace of a running server, from a terminal or a script.

    presales-allocator workspace load scenarios/new-market.json     (its settings and its CSV pair)
    presales-allocator workspace settings request.json               (horizon and policy)
    presales-allocator workspace import staff.csv opportunities.csv
    presales-allocator workspace plan
    presales-allocator workspace publish PLAN_ID
    presales-allocator workspace bookings [--status tentative] [--staff ID] [--opportunity ID]
    presales-allocator workspace confirm BOOKING_ID      (or release BOOKING_ID)

Each command talks HTTP to the server at `--url` (or PRESALES_URL) with `--api-key` (or PRESALES_API_KEY),
and prints what changed; a refusal prints the server's problem details and exits with status 1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

workspace_app = typer.Typer(
    help="The workspace of a running server: load, import, propose, publish, confirm or release bookings.",
    no_args_is_help=True,
)

Url = Annotated[str, typer.Option("--url", envvar="PRESALES_URL", help="The server's base URL.")]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="PRESALES_API_KEY", help="An API key of the server.")]


@contextmanager
def client(url: str, api_key: str | None) -> Iterator[httpx.Client]:
    """An HTTP client of the server; a server out of reach is one line and exit status 1."""
    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(30.0, read=660.0)) as http:
            yield http
    except httpx.TransportError as error:
        typer.echo(f"cannot reach the server at {url}: {error} (start it with `presales-allocator serve`)", err=True)
        raise typer.Exit(1) from None


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a problem is printed with every field it names, then exit 1."""
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text}
    typer.echo(f"{response.status_code} {problem.get('title', '')}: {problem.get('detail', '')}", err=True)
    if response.status_code == 401:
        typer.echo("  give the key with --api-key or PRESALES_API_KEY", err=True)
    for error in problem.get("errors", []):
        where = error.get("path") or f"row {error.get('row')}, {error.get('column')}"
        typer.echo(f"  {where}: {error.get('message')}", err=True)
    raise typer.Exit(1)


def put_settings(http: httpx.Client, document_file: Path) -> None:
    """The horizon and policy of a v1 request (or scenario base) file as the workspace's settings."""
    document = json.loads(document_file.read_text(encoding="utf-8"))
    document = document.get("base", document) if isinstance(document.get("base"), dict) else document
    settings = {"horizon": document.get("horizon"), "policy": document.get("policy", {})}
    done = answer(http.put("/v1/workspace/settings", json=settings))
    horizon = settings["horizon"]
    typer.echo(f"settings: {horizon['weeks']} weeks from {horizon['start']} (revision {done['revision']})")


def import_files(http: httpx.Client, staff_csv: Path, opportunities_csv: Path) -> None:
    for path, resource in ((staff_csv, "staff"), (opportunities_csv, "opportunities")):
        response = http.put(
            f"/v1/workspace/{resource}.csv", content=path.read_bytes(), headers={"Content-Type": "text/csv"}
        )
        done = answer(response)
        typer.echo(f"{resource}: {done.get('imported', '?')} imported from {path} (revision {done['revision']})")


@workspace_app.command("settings")
def settings(
    request_json: Annotated[Path, typer.Argument(help="A v1 request (or scenario) JSON: its horizon and policy.")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Set the workspace's horizon and policy from a request file."""
    with client(url, api_key) as http:
        put_settings(http, request_json)


@workspace_app.command("load")
def load(
    scenario_json: Annotated[
        Path, typer.Argument(help="A market-stage file of scenarios/ (e.g. scenarios/fast-growth.json).")
    ],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Load a market stage in one command: its horizon and policy, then its CSV pair beside it
    (`<stage>.staff.csv`, `<stage>.opportunities.csv`)."""
    stem = scenario_json.with_suffix("")
    staff_csv, opportunities_csv = Path(f"{stem}.staff.csv"), Path(f"{stem}.opportunities.csv")
    for path in (staff_csv, opportunities_csv):
        if not path.is_file():
            typer.echo(f"{path} is missing: a stage's CSV pair lies beside its JSON file", err=True)
            raise typer.Exit(2)
    with client(url, api_key) as http:
        put_settings(http, scenario_json)
        import_files(http, staff_csv, opportunities_csv)


@workspace_app.command("import")
def import_csv(
    staff_csv: Annotated[Path, typer.Argument(help="The roster: one row per person (README, workspace CSV).")],
    opportunities_csv: Annotated[Path, typer.Argument(help="The pipeline: one row per demand.")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Replace the roster, then the pipeline, with the two CSV files (each all or nothing; the capacity
    lists must fit the workspace's horizon: `workspace settings` first)."""
    with client(url, api_key) as http:
        import_files(http, staff_csv, opportunities_csv)


@workspace_app.command("plan")
def plan(
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds the solver may take.")] = 10.0,
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Propose a plan from the workspace and wait for it, showing the solve's progress."""
    with client(url, api_key) as http:
        job = answer(
            http.post("/v1/workspace/plans", params={"mode": "async"}, json={"options": {"time_limit_s": time_limit}})
        )
        started = time.monotonic()
        while True:
            current = answer(http.get(f"/v1/plans/{job['id']}"))
            if current.get("status") not in ("queued", "running"):
                break
            typer.echo(f"  {time.monotonic() - started:5.1f} s  {progress_line(current)}", err=True)
            time.sleep(1.0)
    if "objective" not in current:
        typer.echo(f"{job['id']}: {current['status']}: {current.get('detail') or ''}")
        raise typer.Exit(1)
    objective = current["objective"]
    typer.echo(
        f"proposal {current['id']} from revision {current.get('workspace_revision')}: {current['status']}, "
        f"covered value {objective['covered_value']:,.2f}, cost {objective.get('total_cost', 0):,.2f}, "
        f"{len(current['assignments'])} assignments, {current['kpis']['unfilled_slots']} work slots unfilled"
    )
    typer.echo(f"publish it with: uv run presales-allocator workspace publish {current['id']}")


def progress_line(state: dict[str, Any]) -> str:
    """A running job as one line: its status, and the covered value and gap of its plan so far."""
    progress = state.get("progress") or {}
    if progress.get("covered_value") is None:
        return str(state["status"])
    gap = progress.get("gap")
    gap_text = f", gap {gap:.2%}" if isinstance(gap, int | float) else ""
    return f"{state['status']}: covered value so far {progress['covered_value']:,.2f}{gap_text}"


@workspace_app.command("publish")
def publish(
    plan_id: Annotated[str, typer.Argument(help="The proposal's id (from `workspace plan`).")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Make a proposal the plan of record: its work becomes tentative bookings."""
    with client(url, api_key) as http:
        done = answer(http.post(f"/v1/workspace/plans/{plan_id}/publish"))
    statuses: dict[str, int] = {}
    for booking in done["bookings"]:
        statuses[booking["status"]] = statuses.get(booking["status"], 0) + 1
    counted = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    typer.echo(f"{plan_id} is the plan of record (revision {done['revision']}): bookings {counted or 'none'}")


@workspace_app.command("bookings")
def bookings(
    status: Annotated[
        str | None, typer.Option(help="Only these: tentative, confirmed, broken, completed, released, replaced.")
    ] = None,
    staff: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
    opportunity: Annotated[str | None, typer.Option(help="Only this deal's.")] = None,
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """List bookings, one line each: id, status, who on what, the weeks (0-based indexes), and a broken
    booking's reason."""
    query = {"status": status, "staff_id": staff, "opportunity_id": opportunity, "limit": 100}
    params = {key: value for key, value in query.items() if value is not None}
    with client(url, api_key) as http:
        while True:
            page = answer(http.get("/v1/workspace/bookings", params=params))
            for booking in page["items"]:
                work = booking["demand_id"] or "lead"
                line = (
                    f"{booking['id']}  {booking['status']:<10} {booking['staff_id']} on "
                    f"{booking['opportunity_id']}/{work}, weeks {booking['start_week']}-{booking['end_week']}"
                )
                typer.echo(line + (f"  ({booking['reason']})" if booking.get("reason") else ""))
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]


def booking_action(action: str, booking_id: str, url: str, api_key: str | None) -> None:
    with client(url, api_key) as http:
        done = answer(http.post(f"/v1/workspace/bookings/{booking_id}/{action}"))
    booking = done.get("booking") or {}
    typer.echo(f"{booking_id}: {booking.get('status', action)} (revision {done['revision']})")


@workspace_app.command("confirm")
def confirm(
    booking_id: Annotated[str, typer.Argument(help="A tentative booking's id (from `workspace bookings`).")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Commit a booking: every later proposal keeps it (a pin, or the deal's fixed lead)."""
    booking_action("confirm", booking_id, url, api_key)


@workspace_app.command("release")
def release(
    booking_id: Annotated[str, typer.Argument(help="A booking's id (from `workspace bookings`).")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Give a booking up: the next proposal may use the person elsewhere."""
    booking_action("release", booking_id, url, api_key)
