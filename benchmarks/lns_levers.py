"""LNS levers at L: level 1 alone, by `service.solver.lns.LnsSearch`, under named configurations (its
LnsParams), so that a change to the search is judged on the same instances and time as the engine gives
level 1 (27 s of 30).

    uv run python -m benchmarks.lns_levers --seeds 6

Per configuration and instance: covered value after the time, its distance to the best known plan (where
results/best-known-L.json has one), the whole-model bound, steps and improvements. Runs of one
configuration differ by about 1 point on one instance (the steps that fit depend on wall time), so judge
configurations on the mean over several instances, and run them one after the other on a quiet machine.
Writes results/lns-levers-L.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from benchmarks.harness import (
    RESULTS_DIR,
    Json,
    below_best_known,
    label_note,
    load_best_known,
    load_instance,
    machine,
    markdown_table,
    write_results,
)
from service.solver.greedy import Solution, greedy, warm_start
from service.solver.lns import LnsLevel, LnsOutcome, LnsParams, LnsSearch
from service.solver.model import build_model, covered_value_terms
from service.solver.problem import Problem
from service.solver.solve import upper_bound

# name -> (first plan: the dispatcher's greedy order "value", or the engine's warm start "best" of both
# orders; LnsParams fields other than the time budget). Level 1 is guided by the LP relaxation unless told.
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "engine": ("best", {}),
    "engine from the dispatcher's greedy order": ("value", {}),
    "without the LP relaxation": ("best", {"lp_guide": False}),
    "without the whole model (as at XL)": ("best", {"whole_model": False}),
}


def search_level_1(problem: Problem, start: Solution, seconds: float, **params: Any) -> LnsOutcome:
    """Level 1 alone by the LNS from `start` for `seconds`, on the whole model, as the engine runs it."""
    model, variables = build_model(problem)
    terms = covered_value_terms(problem, variables)
    model.maximize(cp_model.LinearExpr.weighted_sum(*terms))
    level = LnsLevel(terms, maximize=True, trivial_bound=upper_bound(problem))
    params.setdefault("lp_guide", True)
    return LnsSearch(problem, model, variables, level, LnsParams(seconds, **params)).run(start)


def run_config(name: str, seeds: Sequence[int], level_s: float, best: dict[str, Json]) -> list[Json]:
    first, overrides = CONFIGS[name]
    rows = []
    for seed in seeds:
        instance = load_instance("L", seed)
        problem = instance.problem
        started = time.perf_counter()
        start = warm_start(problem) if first == "best" else greedy(problem)
        assert start is not None
        outcome = search_level_1(problem, start, level_s, **overrides)
        value = outcome.value / problem.value_scale
        below = below_best_known(instance.name, value, best)
        row = {
            "config": name,
            "instance": instance.name,
            "covered_value": round(value, 2),
            "bound": round(outcome.bound / problem.value_scale, 2),
            "below_best_known": below,
            "steps": outcome.steps,
            "improvements": outcome.improvements,
            "relaxation_steps": outcome.relaxation_steps,
            "relaxation_bound": None
            if outcome.relaxation_bound is None
            else round(outcome.relaxation_bound / problem.value_scale, 2),
            "seconds": round(time.perf_counter() - started, 2),
        }
        rows.append(row)
        shown = "–" if below is None else f"{below * 100:.2f} %"
        print(f"{name:>58} {instance.name}: {value:,.0f} (below best known {shown})", file=sys.stderr)
    return rows


def table(rows: Sequence[Json], seeds: Sequence[int], label: str | None) -> str:
    names = list(dict.fromkeys(row["config"] for row in rows))
    header = [
        "configuration",
        *[f"L-{s}" for s in seeds],
        "mean covered value",
        "mean below best known %",
        "mean bound",
        "mean steps",
    ]
    lines = []
    for name in names:
        mine = {row["instance"]: row for row in rows if row["config"] == name}
        values = [mine[f"L-{s}"]["covered_value"] for s in seeds]
        below = [mine[f"L-{s}"]["below_best_known"] for s in seeds if mine[f"L-{s}"]["below_best_known"] is not None]
        lines.append(
            [
                name,
                *values,
                statistics.mean(values),
                round(statistics.mean(below) * 100, 2) if below else None,
                statistics.mean(mine[f"L-{s}"]["bound"] for s in seeds),
                round(statistics.mean(mine[f"L-{s}"]["steps"] for s in seeds), 1),
            ]
        )
    title = f"### LNS levers, size L, level 1 alone ({len(seeds)} instances)\n\n"
    note = "Covered value after level 1's time; the mean below best known is over the instances that have one.\n"
    return title + label_note(label) + markdown_table(header, lines) + "\n" + note


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--seeds", type=int, default=6, help="instances L-0 .. L-(n-1) (default 6)")
    p.add_argument("--level-time", type=float, default=27.0, help="seconds of level 1 (default 27: 90 %% of 30)")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names from CONFIGS")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument(
        "--name",
        default="lns-levers-L",
        help="results file name (default lns-levers-L)",
    )
    p.add_argument(
        "--append",
        action="store_true",
        help="keep the other configurations' rows of the existing results file (this run's replace their own)",
    )
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    seeds = list(range(args.seeds))
    best = load_best_known("L", args.out)
    rows: list[Json] = []
    earlier = args.out / f"{args.name}.json"
    if args.append and earlier.exists():
        rows = [row for row in json.loads(earlier.read_text(encoding="utf-8"))["rows"] if row["config"] not in names]
    for name in names:
        rows += run_config(name, seeds, args.level_time, best)
    text = table(rows, seeds, args.label)
    payload = {"benchmark": "lns-levers", "size": "L", "label": args.label, "machine": machine(), "rows": rows}
    write_results(args.name, payload, text, args.out)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
