"""The console script: solve a request file, run a what-if scenario file, serve the HTTP API, or run a worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from service.admission import size_errors
from service.cli_workspace import workspace_app
from service.contract import (
    MAX_RECOMMENDATION_LIMIT,
    AllocationRequest,
    InvalidRequest,
    PinOutcome,
    Plan,
    SlotRecommendations,
    StaffRecommendations,
    parse_request,
)
from service.weeks import weeks_text

app = typer.Typer(
    help="presales-allocator: which presales people work on which opportunities, for how many hours, at what cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(workspace_app, name="workspace")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def read_json(path: Path) -> Any:
    """Read a JSON file, turning every way it can fail into a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(f"error: {path} is not UTF-8 text, so it cannot be a JSON request") from None
    except OSError as error:
        raise _fail(f"error: cannot read {path}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise _fail(f"error: {path} is not valid JSON: {error.msg} at {where}") from None


def check_writable(path: Path | None) -> None:
    """Fail before a long solve, not after it, when the output file cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise _fail(f"error: {path} is a directory; give a file name for the plan")
    if not path.parent.exists():
        raise _fail(f"error: cannot write {path}: folder {path.parent} does not exist")


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise _fail(f"error: cannot write {path}: {error.strerror or error}") from None


def load_request(path: Path) -> AllocationRequest:
    data = read_json(path)
    try:
        request = parse_request(data)
        too_large = size_errors(request)
        if too_large:
            raise InvalidRequest(too_large)
        return request
    except InvalidRequest as invalid:
        lines = [f"error: {path} is not a valid allocation request ({len(invalid.errors)} problem(s)):"]
        lines += [f"  {e.path or '(request)'}: {e.message}" for e in invalid.errors[:50]]
        if len(invalid.errors) > 50:
            lines.append(f"  … and {len(invalid.errors) - 50} more")
        raise _fail("\n".join(lines)) from None


def _money(value: float) -> str:
    return f"{value:,.2f}"


def render_plan(request: AllocationRequest, plan: Plan) -> str:
    """A summary a presales director can read: what was staffed, what was not and why, cost against budget."""
    out: list[str] = []
    objective = plan.objective
    kpis = plan.kpis
    out.append(f"Plan status: {plan.status}" + (" (cancelled)" if plan.cancelled else ""))
    out.append(
        f"Covered value {_money(objective.covered_value)}"
        + (f" of {_money(kpis.possible_value)} possible ({kpis.coverage:.1%})" if kpis else "")
        + f"; bound {_money(objective.bound)}, gap {objective.gap:.2%}"
    )
    out.append(f"Total cost {_money(objective.total_cost)}; changes against previous plan: {objective.changes}")
    if kpis:
        by_grade = ", ".join(f"{g} {c:.0%}" for g, c in sorted(kpis.coverage_by_grade.items()))
        out.append(
            f"Staffed {kpis.staffed_opportunities} of {kpis.opportunities} opportunities; "
            f"slots filled {kpis.filled_slots}, unfilled {kpis.unfilled_slots}; utilization {kpis.utilization:.0%}"
        )
        if by_grade:
            out.append(f"Coverage by grade: {by_grade}")
    if plan.explanation:
        out.append("")
        out.append(f"INFEASIBLE: {plan.explanation.detail}")

    names = {s.id: s.name or s.id for s in request.staff}
    opportunity_names = {o.id: o.name or o.id for o in request.opportunities}
    by_opportunity: dict[str, list[str]] = {}
    for a in plan.assignments:
        by_opportunity.setdefault(a.opportunity_id, []).append(
            f"{a.demand_id}: {names[a.staff_id]} ({a.staff_id}) "
            f"{weeks_text(request.horizon.start, a.start_week, a.end_week)}, "
            f"{a.hours:g} h, {_money(a.cost)}"
        )
    leads = {lead.opportunity_id: lead for lead in plan.leads}
    summaries = {s.opportunity_id: s for s in plan.opportunities}
    if by_opportunity:
        out.append("")
        out.append("Staffed opportunities (cost / budget):")
        for opportunity_id, lines in by_opportunity.items():
            summary = summaries[opportunity_id]
            lead = leads[opportunity_id]
            out.append(
                f"  [{summary.grade}] {opportunity_id} {opportunity_names[opportunity_id]}: "
                f"{_money(summary.cost)} / {_money(summary.budget)}, coverage {summary.coverage:.0%}, "
                f"lead {names[lead.staff_id]} ({lead.staff_id}, {lead.hours:g} h, {_money(lead.cost)})"
            )
            out.extend(f"      {line}" for line in lines)
    if plan.unfilled:
        out.append("")
        out.append("Unfilled work and why:")
        for u in plan.unfilled:
            out.append(f"  {u.opportunity_id}/{u.demand_id} x{u.slots}: {u.reason} — {u.detail}")
    out.append("")
    out.append(
        f"Solved by {plan.solver.name} {plan.solver.version} with {plan.solver.workers} workers in "
        f"{plan.timing.total_ms} ms (build {plan.timing.build_ms} ms, solve {plan.timing.solve_ms} ms)"
    )
    return "\n".join(out)


def _choice_cells(outcome: PinOutcome) -> tuple[str, str, str]:
    """(feasible, delta covered value, delta cost) cells; estimates are marked with ~."""
    if outcome.feasible is False:
        return "no: " + ", ".join(outcome.reasons), "", ""
    if outcome.delta_covered_value is not None and outcome.delta_total_cost is not None:
        note = " (on slot)" if outcome.on_slot and not outcome.resolved else ""
        return "yes", f"{outcome.delta_covered_value:+,.2f}{note}", f"{outcome.delta_total_cost:+,.2f}"
    return "?", f"~{outcome.estimated_delta_covered_value:+,.2f}", ""


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def render_recommendations(result: SlotRecommendations | StaffRecommendations, request: AllocationRequest) -> str:
    """A ranked table with each choice's feasibility and deltas, then why the infeasible ones are."""
    names = {p.id: p.name or p.id for p in request.staff}
    base = result.baseline
    out: list[str] = []
    rows: list[list[str]] = []
    outcomes: list[tuple[str, PinOutcome]] = []
    if isinstance(result, SlotRecommendations):
        on = ", ".join(f"{names.get(s, s)} ({s})" for s in result.on_slot) or "nobody"
        out.append(
            f"Candidates for {result.opportunity_id}/{result.demand_id} (headcount {result.headcount}, "
            f"slot value {result.slot_value:,.2f}); on the slot now: {on}"
        )
        rows.append(["#", "person", "unit", "level", "member cost", "feasible", "Δ covered value", "Δ total cost"])
        for c in result.candidates:
            label = f"{c.name or c.staff_id} ({c.staff_id})"
            rows.append(
                [
                    str(c.rank),
                    label,
                    f"{c.unit_kind} {c.region}",
                    str(c.skill_level),
                    f"{c.member_cost:,.2f}",
                    *_choice_cells(c),
                ]
            )
            outcomes.append((label, c))
        total = len(result.candidates)
    else:
        out.append(f"Slots for {names.get(result.staff_id, result.staff_id)} ({result.staff_id})")
        rows.append(
            ["#", "slot", "grade", "open", "slot value", "member cost", "feasible", "Δ covered value", "Δ total cost"]
        )
        for option in result.slots:
            label = f"{option.opportunity_id}/{option.demand_id}"
            rows.append(
                [
                    str(option.rank),
                    label,
                    option.grade,
                    str(option.open_slots),
                    f"{option.slot_value:,.2f}",
                    f"{option.member_cost:,.2f}",
                    *_choice_cells(option),
                ]
            )
            outcomes.append((label, option))
        total = len(result.slots)
    out.append(
        f"Baseline plan ({base.status}): covered value {base.covered_value:,.2f}, total cost {base.total_cost:,.2f}"
    )
    out.append("")
    if total == 0:
        out.append(result.note)
        return "\n".join(out)
    out.extend(_table(rows))
    out.append("")
    out.append(
        f"Re-solved with the pin: {result.resolved} of {total}; ~ marks the pre-ranking's estimate for the others. "
        "Each delta is the whole plan re-solved with that choice pinned minus the baseline plan: other people "
        "move too, so against an optimal baseline covered value can only drop."
    )
    out.append(result.note)
    drops = [
        (label, o)
        for label, o in outcomes
        if o.delta_covered_value_vs_baseline is not None and o.delta_covered_value_vs_baseline < 0
    ]
    if drops:
        out.append("")
        out.append("Why the covered value drops:")
        out.extend(f"  {label}: {o.note}" for label, o in drops)
    infeasible = [(label, o) for label, o in outcomes if o.feasible is False]
    if infeasible:
        out.append("")
        out.append("Why not:")
        out.extend(f"  {label}: {o.detail}" for label, o in infeasible)
    return "\n".join(out)


@app.command()
def solve(
    request_file: Annotated[Path, typer.Argument(help="Allocation request JSON (CONTRACT.md).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the plan JSON to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan JSON instead of the summary.")] = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.01, max=600, help="Override options.time_limit_s (seconds).")
    ] = None,
    deterministic: Annotated[
        bool | None, typer.Option("--deterministic/--no-deterministic", help="Override options.deterministic.")
    ] = None,
) -> None:
    """Solve an allocation request and print a readable summary (or the plan JSON)."""
    from service.planning import make_plan

    check_writable(output)
    request = load_request(request_file)
    if time_limit is not None:
        request.options.time_limit_s = time_limit
    if deterministic is not None:
        request.options.deterministic = deterministic
    plan = make_plan(request)
    document = plan.model_dump_json(indent=2)
    if output is not None:
        write_text(output, document + "\n")
    if as_json:
        typer.echo(document)
    else:
        typer.echo(render_plan(request, plan))
        if output is not None:
            typer.echo(f"Plan written to {output}")
    if plan.status in ("infeasible", "unknown"):
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind; loopback unless API keys are configured.")] = None,
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Run the HTTP API (migrations run at start-up)."""
    from service.api.server import run

    run(host, port)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, help="Solves at once, one process each (default: cores)."),
    ] = None,
    queues: Annotated[
        str,
        typer.Option(
            "--queues",
            "-Q",
            help="Comma-separated lanes to take jobs from: solve (every request), express (small requests).",
        ),
    ] = "solve,express",
) -> None:
    """Solve jobs from the broker (BROKER_URL) with Celery, on this host; needs the same PostgreSQL
    DATABASE_URL as the API processes. Start as many as the solves need, on any hosts."""
    from service.jobs.worker import LANES, run
    from service.settings import get_settings, machine_cores

    lanes = [lane.strip() for lane in queues.split(",") if lane.strip()]
    unknown = [lane for lane in lanes if lane not in LANES]
    if unknown or not lanes:
        raise _fail(f"error: --queues takes {' and/or '.join(LANES)}, got {queues!r}")
    run(get_settings(), concurrency=concurrency or machine_cores(), lanes=lanes)


@app.command()
def scenario(
    scenario_file: Annotated[
        Path, typer.Argument(help='What-if scenario JSON: {"name", "base": <request>, "variants": [...]}.')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result JSON (plans and comparisons).")] = False,
    moves: Annotated[int, typer.Option("--moves", min=0, help="Moves listed per variant; 0 lists all.")] = 30,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.01, help="Override options.time_limit_s of every solve.")
    ] = None,
    deterministic: Annotated[
        bool | None, typer.Option("--deterministic/--no-deterministic", help="Override options.deterministic.")
    ] = None,
) -> None:
    """Run a what-if scenario: solve the base and every variant, print the KPI table with deltas and who
    moved where. Exits 1 if any plan is infeasible or none was found."""
    from service.whatif import parse_scenario, run_scenario, variant_requests
    from service.whatif.report import render_scenario

    data = read_json(scenario_file)
    try:
        parsed = parse_scenario(data)
        if time_limit is not None:
            parsed.base.options.time_limit_s = time_limit
        if deterministic is not None:
            parsed.base.options.deterministic = deterministic
        requests = variant_requests(parsed)
    except InvalidRequest as invalid:
        lines = [f"error: {scenario_file} is not a valid scenario ({len(invalid.errors)} problem(s)):"]
        lines += [f"  {e.path or '(scenario)'}: {e.message}" for e in invalid.errors[:50]]
        if len(invalid.errors) > 50:
            lines.append(f"  … and {len(invalid.errors) - 50} more")
        raise _fail("\n".join(lines)) from None
    result = run_scenario(parsed)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_scenario(result, requests, parsed.base, max_moves=moves or None))
    plans = [result.base_plan, *(v.plan for v in result.variants)]
    if any(plan.status in ("infeasible", "unknown") for plan in plans):
        raise typer.Exit(1)


@app.command()
def recommend(
    request_file: Annotated[Path, typer.Argument(help="Allocation request JSON (CONTRACT.md).")],
    opportunity: Annotated[str | None, typer.Option("--opportunity", help="Opportunity id of the slot.")] = None,
    demand: Annotated[str | None, typer.Option("--demand", help="Demand id of the slot.")] = None,
    staff: Annotated[
        str | None, typer.Option("--staff", help="Instead of a slot: the best slots for this person.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_RECOMMENDATION_LIMIT, help="How many choices get a full re-solve.")
    ] = 5,
    all_slots: Annotated[
        bool, typer.Option("--all-slots", help="With --staff: also slots the baseline plan already fills.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result JSON.")] = False,
) -> None:
    """Rank who could fill one slot (--opportunity, --demand), or the slots one person could fill
    (--staff): feasibility and the change in covered value and cost of pinning each choice."""
    from service.recommendations import best_slots_for, recommend

    if staff is not None and (opportunity is not None or demand is not None):
        raise _fail("error: give --opportunity and --demand (a slot), or --staff (a person), not both")
    if staff is None and (opportunity is None or demand is None):
        raise _fail("error: give --opportunity and --demand (a slot), or --staff (a person)")
    request = load_request(request_file)
    options = {"opportunity_id": "--opportunity", "demand_id": "--demand", "staff_id": "--staff", "limit": "--limit"}
    result: SlotRecommendations | StaffRecommendations
    try:
        if opportunity is not None and demand is not None:
            result = recommend(request, opportunity, demand, limit)
        else:
            assert staff is not None
            result = best_slots_for(request, staff, limit, open_only=not all_slots)
    except InvalidRequest as invalid:
        raise _fail("\n".join(f"error: {options.get(e.path, e.path)}: {e.message}" for e in invalid.errors)) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_recommendations(result, request))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
