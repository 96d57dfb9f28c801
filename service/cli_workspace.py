"""`presales-allocator workspace ...`: the workspace of a running server, from a terminal or a script.

    presales-allocator workspace import staff.csv opportunities.csv
    presales-allocator workspace plan
    presales-allocator workspace publish PLAN_ID

Each command talks HTTP to the server at `--url` (or PRESALES_URL) with `--api-key` (or PRESALES_API_KEY),
and prints what changed; a refusal prints the server's problem details and exits with status 1.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

workspace_app = typer.Typer(help="The workspace of a running server: import, propose, publish.", no_args_is_help=True)

Url = Annotated[str, typer.Option("--url", envvar="PRESALES_URL", help="The server's base URL.")]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="PRESALES_API_KEY", help="An API key of the server.")]


def client(url: str, api_key: str | None) -> httpx.Client:
    headers = {"X-API-Key": api_key} if api_key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(30.0, read=660.0))


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a problem is printed with every field it names, then exit 1."""
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text}
    typer.echo(f"{response.status_code} {problem.get('title', '')}: {problem.get('detail', '')}", err=True)
    for error in problem.get("errors", []):
        where = error.get("path") or f"row {error.get('row')}, {error.get('column')}"
        typer.echo(f"  {where}: {error.get('message')}", err=True)
    raise typer.Exit(1)


@workspace_app.command("import")
def import_csv(
    staff_csv: Annotated[Path, typer.Argument(help="The roster: one row per person (README, workspace CSV).")],
    opportunities_csv: Annotated[Path, typer.Argument(help="The pipeline: one row per demand.")],
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
) -> None:
    """Replace the roster, then the pipeline, with the two CSV files (each all or nothing)."""
    with client(url, api_key) as http:
        for path, resource in ((staff_csv, "staff"), (opportunities_csv, "opportunities")):
            body = path.read_bytes()
            response = http.put(f"/v1/workspace/{resource}.csv", content=body, headers={"Content-Type": "text/csv"})
            done = answer(response)
            typer.echo(f"{resource}: {done.get('imported', '?')} imported from {path} (revision {done['revision']})")


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
            typer.echo(f"  {time.monotonic() - started:5.1f} s  {current['status']}", err=True)
            time.sleep(1.0)
    if "objective" not in current:
        typer.echo(f"{job['id']}: {current['status']}: {current.get('detail') or ''}")
        raise typer.Exit(1)
    objective = current["objective"]
    typer.echo(
        f"proposal {current['id']} from revision {current.get('workspace_revision')}: {current['status']}, "
        f"covered value {objective['covered_value']:,.2f}, cost {objective.get('total_cost', 0):,.2f}, "
        f"{len(current['assignments'])} assignments, {len(current['unfilled'])} unfilled"
    )
    typer.echo(f"publish it with: presales-allocator workspace publish {current['id']}")


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
