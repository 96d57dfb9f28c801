"""Solve benchmark: the engine on seeded S/M/L/XL instances; per instance the phases' milliseconds, status,
covered value, bound and gap, per size p50/p95; JSON and a markdown table in benchmarks/results/.

    uv run python -m benchmarks.solve_bench --sizes S,M,L,XL
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.generator import Size
from benchmarks.harness import (
    RESULTS_DIR,
    Instance,
    Json,
    below_best_known,
    label_note,
    load_best_known,
    load_instance,
    machine,
    markdown_table,
    parse_sizes,
    relative_gap,
    seeds_for,
    summary,
    write_results,
)
from service.planning import build_plan
from service.solver.solve import Result, SolveParams, solve


def run_cpsat(
    instance: Instance,
    time_limit_s: float | None = None,
    num_workers: int | None = None,
    linearization_level: int | None = None,
    seed: int = 0,
    deterministic: bool = False,
    use_lns: bool | None = None,
) -> tuple[Json, Result]:
    """One engine solve as the service runs it (solve() then build_plan()), timed phase by phase.

    `trace` is CP-SAT's level-1 history: (seconds since solve() was called, covered value) per improving
    solution, from the on_solution hook; its time base includes the greedy hint and the model build."""
    problem = instance.problem
    limit = time_limit_s if time_limit_s is not None else instance.time_limit_s
    params = SolveParams(
        time_limit_s=limit,
        num_workers=num_workers,
        linearization_level=linearization_level,
        seed=seed,
        deterministic=deterministic,
        use_lns=use_lns,
    )
    points: list[tuple[float, float]] = []
    started = time.perf_counter()
    result = solve(problem, params, on_solution=lambda seconds, value: points.append((seconds, value)))
    solved = time.perf_counter()
    plan = build_plan(instance.request, problem, result, compile_ms=round(instance.compile_ms), started=started)
    finished = time.perf_counter()
    scale = problem.value_scale
    level_1 = result.levels[0] if result.levels else None
    # The hook's clock starts with level 1; shift it to the start of solve() (greedy hint + model build).
    offset = result.build_ms / 1000
    row = {
        "instance": instance.name,
        "size": instance.size,
        "seed": instance.seed,
        "shape": instance.shape(),
        "time_limit_s": limit,
        "status": result.status,
        "source": result.source,
        "workers": result.workers,
        "linearization_level": result.linearization_level,
        "compile_ms": round(instance.compile_ms, 1),
        "build_ms": result.build_ms,
        "solve_ms": result.solve_ms,
        "level_1_ms": level_1.wall_ms if level_1 else None,
        "level_1_status": level_1.status if level_1 else None,
        # Keyed by the level's name without the engine's detail ("covered_value (lns: 5 steps, ...)").
        "levels": {
            level.name.split(" ")[0]: {"status": level.status, "wall_ms": level.wall_ms, "detail": level.name}
            for level in result.levels
        },
        "plan_ms": round((finished - solved) * 1000, 1),
        "total_ms": round(instance.compile_ms + (finished - started) * 1000, 1),
        "covered_value": result.covered_value / scale,
        "bound": result.value_bound / scale,
        "gap": round(relative_gap(result.covered_value, result.value_bound), 6),
        "covered_value_scaled": result.covered_value,
        "bound_scaled": result.value_bound,
        "value_scale": scale,
        "total_cost": plan.objective.total_cost,
        "assignments": len(plan.assignments),
        "trace": [(round(seconds + offset, 4), value) for seconds, value in points],
    }
    return row, result


def size_summary(rows: Sequence[Json]) -> Json:
    return {
        "instances": len(rows),
        "status": dict(Counter(row["status"] for row in rows)),
        "total_ms": summary([row["total_ms"] for row in rows]),
        "solve_ms": summary([row["solve_ms"] for row in rows]),
        "level_1_ms": summary([row["level_1_ms"] for row in rows if row["level_1_ms"] is not None]),
        "cost_level_ms": summary(
            [row["levels"]["total_cost"]["wall_ms"] for row in rows if "total_cost" in row["levels"]]
        ),
        "build_ms": summary([row["build_ms"] for row in rows]),
        "compile_ms": summary([row["compile_ms"] for row in rows]),
        "gap": summary([row["gap"] for row in rows]),
    }


def _percent(fraction: float | None) -> str | None:
    return None if fraction is None else f"{100 * fraction:.2f}"


def table(size: Size, rows: Sequence[Json], totals: Json, label: str | None, out_dir: Path = RESULTS_DIR) -> str:
    """The markdown table; "below best known" compares with benchmarks/best_known.py's long runs."""
    header = [
        "instance",
        "pairs",
        "status",
        "compile ms",
        "build ms",
        "solve ms",
        "level-1 ms",
        "cost level ms",
        "total ms",
        "covered value",
        "bound",
        "gap %",
        "below best known %",
    ]
    best = load_best_known(size, out_dir)
    body: list[list[Any]] = [
        [
            row["instance"],
            row["shape"]["pairs"],
            row["status"],
            row["compile_ms"],
            row["build_ms"],
            row["solve_ms"],
            row["level_1_ms"],
            row["levels"].get("total_cost", {}).get("wall_ms"),
            row["total_ms"],
            row["covered_value"],
            row["bound"],
            f"{100 * row['gap']:.3f}",
            _percent(below_best_known(row["instance"], row["covered_value"], best)),
        ]
        for row in rows
    ]
    for q in ("p50", "p95"):
        body.append(
            [
                f"**{q}**",
                "",
                "",
                totals["compile_ms"][q],
                totals["build_ms"][q],
                totals["solve_ms"][q],
                totals["level_1_ms"].get(q),
                totals["cost_level_ms"].get(q),
                totals["total_ms"][q],
                "",
                "",
                f"{100 * totals['gap'][q]:.3f}",
                "",
            ]
        )
    statuses = ", ".join(f"{count} {status}" for status, count in totals["status"].items())
    return (
        f"### Solve benchmark, size {size} ({len(rows)} seeds; {statuses})\n\n"
        + label_note(label)
        + markdown_table(header, body)
    )


def run_size(size: Size, seeds: Sequence[int], args: argparse.Namespace) -> tuple[Json, str]:
    rows = []
    for seed in seeds:
        instance = load_instance(size, seed)
        row, _ = run_cpsat(
            instance,
            time_limit_s=args.time_limit,
            num_workers=args.workers,
            linearization_level=args.linearization,
            deterministic=args.deterministic,
            use_lns={"auto": None, "on": True, "off": False}[args.lns],
        )
        rows.append(row)
        print(
            f"{row['instance']:>6}: {row['status']:<8} total {row['total_ms']:>9.0f} ms "
            f"(level 1 {row['level_1_ms']} ms)  value {row['covered_value']:,.0f}  gap {100 * row['gap']:.3f} %",
            file=sys.stderr,
        )
    totals = size_summary(rows)
    payload = {"benchmark": "solve", "size": size, "label": args.label, "machine": machine(), "summary": totals}
    payload["instances"] = rows
    best = load_best_known(size, args.out)
    for row in rows:
        row["below_best_known"] = below_best_known(row["instance"], row["covered_value"], best)
    return payload, table(size, rows, totals, args.label, args.out)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.solve_bench", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="S,M,L,XL", help="comma-separated sizes (default S,M,L,XL)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per size (default 10 for S and M, 3 for L and XL)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=None, help="seconds (default: the size's own, 10/10/30/30)")
    p.add_argument("--workers", type=int, default=None, help="CP-SAT workers (default: the engine's per-size choice)")
    p.add_argument("--linearization", type=int, choices=(0, 1, 2), default=None)
    p.add_argument("--deterministic", action="store_true")
    p.add_argument(
        "--lns",
        choices=("auto", "on", "off"),
        default="auto",
        help="the engine's large-neighbourhood search (auto: above 4000 pairs unless --workers is given)",
    )
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory (default benchmarks/results)")
    p.add_argument("--label", default=None, help="what kind of run this is, written into every result")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    tables = []
    for size in parse_sizes(args.sizes):
        payload, text = run_size(size, seeds_for(size, args.seeds, args.first_seed), args)
        json_path, _ = write_results(f"solve-{size}", payload, text, args.out)
        print(f"wrote {json_path}", file=sys.stderr)
        tables.append(text)
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
