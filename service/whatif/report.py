"""The scenario comparison as text a presales director can read: a KPI table, then who moved, per variant."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from service.contract import AllocationRequest
from service.whatif.compare import ScenarioKpis, kpis_of
from service.whatif.run import ScenarioResult


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed_money(value: float) -> str:
    return f"{value:+,.2f}"


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _points(value: float) -> str:
    return f"{value * 100:+.1f} pt"


def _count(value: float) -> str:
    return f"{value:g}"


def _signed_count(value: float) -> str:
    return f"{value:+g}"


_Row = tuple[str, Callable[[ScenarioKpis], float | None], Callable[[float], str], Callable[[float], str]]


def _grade_coverage(grade: str) -> Callable[[ScenarioKpis], float | None]:
    def get(kpis: ScenarioKpis) -> float | None:
        return kpis.coverage_by_grade.get(grade)

    return get


def _rows(grades: Sequence[str]) -> list[_Row]:
    rows: list[_Row] = [
        ("covered value", lambda k: k.covered_value, _money, _signed_money),
        ("total cost", lambda k: k.total_cost, _money, _signed_money),
        ("coverage", lambda k: k.coverage, _percent, _points),
    ]
    for grade in grades:
        rows.append((f"  coverage {grade}", _grade_coverage(grade), _percent, _points))
    rows += [
        ("staffed deals", lambda k: k.staffed_opportunities, _count, _signed_count),
        ("filled slots", lambda k: k.filled_slots, _count, _signed_count),
        ("unfilled slots", lambda k: k.unfilled_slots, _count, _signed_count),
        ("utilization", lambda k: k.utilization, _percent, _points),
    ]
    return rows


def render_scenario(
    result: ScenarioResult,
    requests: Sequence[AllocationRequest],
    base: AllocationRequest,
    max_moves: int | None = 30,
) -> str:
    """The KPI table (one column per variant, deltas against the base) and each variant's moves.
    `requests` are the variants' changed requests (for the names of new people); `max_moves` None: all."""
    columns = [("base", None)] + [(v.name, v.comparison) for v in result.variants]
    base_kpis = kpis_of(result.base_plan)
    grades = sorted(
        {
            g
            for v in result.variants
            for g in (*v.comparison.base.coverage_by_grade, *v.comparison.variant.coverage_by_grade)
        }
    )
    table: list[list[str]] = [["status", result.base_plan.status, *(v.plan.status for v in result.variants)]]
    for label, get, show, show_delta in _rows(grades):
        line = [label]
        base_value = get(base_kpis)
        line.append(show(base_value) if base_value is not None else "-")
        for variant in result.variants:
            value = get(variant.comparison.variant)
            if value is None:
                line.append("-")
            elif base_value is None:
                line.append(show(value))
            else:
                line.append(f"{show(value)} ({show_delta(value - base_value)})")
        table.append(line)
    # Long variant names wrap over several header lines instead of widening their column.
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    widths[1:] = [max(width, 16) for width in widths[1:]]
    headers = [[""]] + [
        textwrap.wrap(name, width) or [""] for (name, _), width in zip(columns, widths[1:], strict=True)
    ]
    height = max(len(lines) for lines in headers)
    header_rows = [
        [lines[k - height + len(lines)] if k >= height - len(lines) else "" for lines in headers] for k in range(height)
    ]
    out = [f"Scenario: {result.name} (base and {len(result.variants)} variant(s))", ""]
    for row in [*header_rows, *table]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())

    names = {p.id: p.name or p.id for p in base.staff}
    for request in requests:
        names.update({p.id: p.name or p.id for p in request.staff if p.id not in names})

    def who(staff_id: str | None) -> str:
        return "(nobody)" if staff_id is None else f"{names.get(staff_id, staff_id)} ({staff_id})"

    for variant in result.variants:
        c = variant.comparison
        out.append("")
        out.append(
            f"{variant.name}: {len(c.moves)} move(s), {len(c.dropped_out)} dropped out, {len(c.joined)} joined, "
            f"{len(c.lead_changes)} lead change(s); deals staffed +{len(c.staffed)} / -{len(c.unstaffed)}"
        )
        if variant.plan.status in ("infeasible", "unknown"):
            detail = variant.plan.explanation.detail if variant.plan.explanation else "no plan found in time"
            out.append(f"  {variant.plan.status.upper()}: {detail}")
        shown = c.moves if max_moves is None else c.moves[:max_moves]
        if shown:
            out.append("  moves (slot: from -> to):")
        for move in shown:
            out.append(
                f"    {move.opportunity_id}/{move.demand_id}: {who(move.from_staff)} -> {who(move.to_staff)}"
                + (f"  [{move.kind}]" if move.kind in ("slot_removed", "slot_added") else "")
            )
        if len(shown) < len(c.moves):
            out.append(f"    … and {len(c.moves) - len(shown)} more (--moves 0 shows all, --json everything)")
        if c.dropped_out:
            out.append(
                "  dropped out: " + ", ".join(who(s.staff_id) + (" [removed]" if s.gone else "") for s in c.dropped_out)
            )
        if c.joined:
            out.append("  joined: " + ", ".join(who(s.staff_id) + (" [new]" if s.new else "") for s in c.joined))
        if c.lead_changes:
            out.append("  lead changes:")
            for change in c.lead_changes[: max_moves or None]:
                out.append(f"    {change.opportunity_id}: {who(change.from_staff)} -> {who(change.to_staff)}")
            if max_moves is not None and len(c.lead_changes) > max_moves:
                out.append(f"    … and {len(c.lead_changes) - max_moves} more")
    return "\n".join(out)
