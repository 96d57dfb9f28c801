"""The model's formulation: H4 and H6 tied to `staffed` (the engine since session 6) against their plain
forms (before), on the same instances, one after the other.

    uv run python -m benchmarks.formulation --sizes M,L

Both forms accept exactly the same plans; they differ in their LP relaxation, which is what CP-SAT's
proof (M) and every LNS step (L) lean on:

- H4 plain: Σ assign ≤ headcount per demand; tight: Σ assign ≤ headcount × staffed(opportunity).
- H6 plain: cost ≤ budget; tight: cost ≤ budget × staffed(opportunity).

With the plain forms the LP fills a demand with two half-people while paying for half a lead (staffed is
only held above each assignment, not above their sum).

Per instance at M: the LP relaxation's bound of covered value (HiGHS, in a child process: see
highs_model.py) against the optimum, and the engine's `solve` (defaults, the size's 10 s) under each form:
status, level-1 and cost-level time, total. At L: level 1 alone by the LNS for 27 s under each form
(covered value, bound, distance to the best known plan). Writes results/formulation-<size>.{json,md}.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal
from unittest import mock

from ortools.sat.python import cp_model

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
    percentile,
    seeds_for,
    write_results,
)
from benchmarks.peers import highs_child
from service.solver import lns
from service.solver import solve as engine
from service.solver.greedy import warm_start
from service.solver.model import (
    HARD_RULES,
    Variables,
    add_budget,
    add_slots,
    build_model,
    spend,
)
from service.solver.problem import Problem

Formulation = Literal["tight", "plain"]
FORMULATIONS: tuple[Formulation, ...] = ("plain", "tight")


def add_slots_plain(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H4 as written before session 6: at most `headcount` people per demand, nothing more."""
    for slot_index, slot in enumerate(problem.slots):
        pairs = problem.pairs_by_slot[slot_index]
        if len(pairs) <= slot.headcount:
            continue
        if slot.headcount == 1:
            model.add_at_most_one(v.assign[p] for p in pairs)
        else:
            model.add(cp_model.LinearExpr.sum([v.assign[p] for p in pairs]) <= slot.headcount)


def add_budget_plain(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """H6 as written before session 6: cost within the budget, whether or not the deal is staffed."""
    for opportunity in v.staffed:
        spent = spend(problem, v, opportunity)
        if spent is not None:
            model.add(spent <= problem.budgets[opportunity])


Rule = Callable[[cp_model.CpModel, Problem, Variables], None]
PLAIN_FORMS: dict[Rule, Rule] = {add_slots: add_slots_plain, add_budget: add_budget_plain}
PLAIN_RULES = tuple(PLAIN_FORMS.get(rule, rule) for rule in HARD_RULES)


@contextlib.contextmanager
def formulation(name: Formulation) -> Iterator[None]:
    """Within the block, the engine (solve and the LNS steps) builds its models with `name`'s rules."""
    if name == "tight":
        yield
        return
    builder: Callable[..., Any] = functools.partial(build_model, rules=PLAIN_RULES)
    with mock.patch.object(engine, "build_model", builder), mock.patch.object(lns, "build_model", builder):
        yield


def lp_bound(problem: Problem, name: Formulation) -> float | None:
    """The LP relaxation's optimum of covered value (scaled) under `name`, by HiGHS in a child process."""
    kwargs = {"problem": problem, "time_limit_s": 0.0, "lp_time_limit_s": 120.0, "formulation": name, "mip": False}
    bound = highs_child(kwargs, timeout_s=900)["lp"]["bound"]
    return None if bound is None else float(bound)


def _level_ms(result: engine.Result, prefix: str) -> int | None:
    return next((level.wall_ms for level in result.levels if level.name.startswith(prefix)), None)


def run_m(instance: Instance) -> list[Json]:
    problem = instance.problem
    rows: list[Json] = []
    optimum: float | None = None
    for name in FORMULATIONS:
        with formulation(name):
            started = time.perf_counter()
            result = engine.solve(problem, engine.SolveParams(time_limit_s=instance.time_limit_s))
            total_ms = (time.perf_counter() - started) * 1000
        if result.status == "optimal" or result.levels[0].status == "OPTIMAL":
            optimum = float(result.covered_value)
        rows.append(
            {
                "instance": instance.name,
                "formulation": name,
                "status": result.status,
                "level_1_ms": _level_ms(result, "covered_value"),
                "cost_level_ms": _level_ms(result, "total_cost"),
                "total_ms": round(total_ms),
                "covered_value": result.covered_value / problem.value_scale,
                "cost": result.cost,
            }
        )
    for row in rows:
        bound = lp_bound(problem, row["formulation"])
        row["lp_bound"] = None if bound is None else bound / problem.value_scale
        row["lp_above_optimum"] = None if bound is None or not optimum else (bound - optimum) / optimum
        print(
            f"{instance.name} {row['formulation']:>5}: {row['status']} total {row['total_ms']} ms, "
            f"LP {_percent(row['lp_above_optimum'])} above the optimum",
            file=sys.stderr,
        )
    return rows


def run_l(instance: Instance, level_s: float, best: dict[str, Json]) -> list[Json]:
    problem = instance.problem
    start = warm_start(problem)
    assert start is not None
    rows = []
    for name in FORMULATIONS:
        with formulation(name):
            outcome = engine.search_covered_value(problem, start, level_s)
        value = outcome.value / problem.value_scale
        rows.append(
            {
                "instance": instance.name,
                "formulation": name,
                "covered_value": round(value, 2),
                "bound": round(outcome.bound / problem.value_scale, 2),
                "below_best_known": below_best_known(instance.name, value, best),
                "steps": outcome.steps,
                "improvements": outcome.improvements,
            }
        )
        print(f"{instance.name} {name:>5}: {value:,.0f}", file=sys.stderr)
    return rows


def _percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{fraction * 100:.2f} %"


def table_m(rows: Sequence[Json], label: str | None) -> str:
    header = [
        "instance",
        "LP above optimum, plain",
        "LP above optimum, tight",
        "status plain / tight",
        "level 1 ms plain / tight",
        "cost level ms plain / tight",
        "total ms plain",
        "total ms tight",
    ]
    lines: list[list[Any]] = []
    by_instance: dict[str, dict[str, Json]] = {}
    for row in rows:
        by_instance.setdefault(row["instance"], {})[row["formulation"]] = row
    for instance, pair in by_instance.items():
        plain, tight = pair["plain"], pair["tight"]
        lines.append(
            [
                instance,
                _percent(plain["lp_above_optimum"]),
                _percent(tight["lp_above_optimum"]),
                f"{plain['status']} / {tight['status']}",
                f"{plain['level_1_ms']} / {tight['level_1_ms']}",
                f"{plain['cost_level_ms']} / {tight['cost_level_ms']}",
                plain["total_ms"],
                tight["total_ms"],
            ]
        )

    def p50(name: str, key: str) -> float | None:
        values = [float(r[key]) for r in rows if r["formulation"] == name and r[key] is not None]
        return percentile(values, 50)

    def proven(name: str) -> int:
        return sum(1 for r in rows if r["formulation"] == name and r["status"] == "optimal")

    lines.append(
        [
            "**p50**",
            _percent(p50("plain", "lp_above_optimum")),
            _percent(p50("tight", "lp_above_optimum")),
            f"{proven('plain')} / {proven('tight')} optimal",
            f"{p50('plain', 'level_1_ms'):.0f} / {p50('tight', 'level_1_ms'):.0f}",
            f"{p50('plain', 'cost_level_ms'):.0f} / {p50('tight', 'cost_level_ms'):.0f}",
            p50("plain", "total_ms"),
            p50("tight", "total_ms"),
        ]
    )
    title = f"### Formulation, size M ({len(by_instance)} instances): H4 and H6 plain against tied to staffed\n\n"
    note = (
        "LP above optimum: the LP relaxation's bound of covered value (HiGHS) over the proven optimum. "
        "Times: the engine's `solve` with its defaults and the size's 10 s, same process, plain first.\n"
    )
    return title + label_note(label) + markdown_table(header, lines) + "\n" + note


def table_l(rows: Sequence[Json], label: str | None, level_s: float) -> str:
    instances = list(dict.fromkeys(row["instance"] for row in rows))
    header = ["formulation", *instances, "mean covered value", "mean below best known %", "mean bound"]
    lines = []
    for name in FORMULATIONS:
        mine = {row["instance"]: row for row in rows if row["formulation"] == name}
        values = [mine[i]["covered_value"] for i in instances]
        below = [mine[i]["below_best_known"] for i in instances if mine[i]["below_best_known"] is not None]
        lines.append(
            [
                name,
                *values,
                statistics.mean(values),
                round(statistics.mean(below) * 100, 2) if below else None,
                statistics.mean(mine[i]["bound"] for i in instances),
            ]
        )
    title = f"### Formulation, size L ({len(instances)} instances): level 1 alone by the LNS, {level_s:g} s\n\n"
    return title + label_note(label) + markdown_table(header, lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default="M", help="M and/or L (default M)")
    p.add_argument("--seeds", type=int, default=None, help="instances per size (default: 10 at M, 6 at L)")
    p.add_argument("--level-time", type=float, default=27.0, help="seconds of level 1 at L (default 27)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sizes: list[Size] = parse_sizes(args.sizes)
    for size in sizes:
        if size not in ("M", "L"):
            raise SystemExit("this study runs at M and L")
        count = args.seeds if args.seeds is not None else (10 if size == "M" else 6)
        rows: list[Json] = []
        if size == "M":
            for seed in seeds_for(size, count):
                rows += run_m(load_instance(size, seed))
            text = table_m(rows, args.label)
        else:
            best = load_best_known("L", args.out)
            for seed in seeds_for(size, count):
                rows += run_l(load_instance(size, seed), args.level_time, best)
            text = table_l(rows, args.label, args.level_time)
        payload = {"benchmark": "formulation", "size": size, "label": args.label, "machine": machine(), "rows": rows}
        write_results(f"formulation-{size}", payload, text, args.out)
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
