"""Parameter study of CP-SAT on level 1 (covered value): time to prove the optimum at M, covered value
reached at a fixed time at L, over num_workers x linearization_level and other levers.

    uv run python -m benchmarks.param_study --sizes M,L

Each configuration runs the engine's own model (service.solver.model.build_model, the level-1 objective
of covered_value_terms) with the greedy plan as hint, as service.solver.solve does, and changes one
thing. Level 1 is what decides both figures; levels 2 and 3 (changes, cost) run after it in the engine
and are not part of the study. Configurations:

- grid: num_workers in {1, 2, 4, 8} x linearization_level in {0, 1, 2}. This machine has 2 cores:
  more workers than cores time-share them, which is the point of measuring it here.
- the engine's own solve() at level 1 (above 4000 pairs it runs its large-neighbourhood search);
- levers, each against CP-SAT with the engine's per-size defaults (1 worker / LP 2 up to 4000 pairs,
  else 2 / LP 1):
  no greedy hint, presolve off, symmetry off / strongest, no LNS, a choice of full subsolvers for 2
  workers, and "region LNS": the full solve for 40 % of the time, then the rest spent re-optimizing one
  sales region at a time with everything outside it fixed (a decomposition by region; an exact split
  does not exist because delivery-center and hotline people serve every region, so the staff-
  opportunity graph is one connected component).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from benchmarks.generator import Size
from benchmarks.harness import (
    RESULTS_DIR,
    Instance,
    Json,
    label_note,
    load_instance,
    machine,
    markdown_table,
    parse_sizes,
    percentile,
    seeds_for,
    write_results,
)
from service.solver.greedy import Solution, greedy
from service.solver.model import Variables, build_model, covered_value_terms
from service.solver.problem import Problem
from service.solver.solve import SolveParams, default_linearization, default_workers, solve, upper_bound

DEFAULT_SEEDS: dict[Size, int] = {"S": 3, "M": 3, "L": 2, "XL": 1}


@dataclass(frozen=True)
class Config:
    """One way to run level 1. None for workers / linearization: the engine's choice for the size."""

    name: str
    workers: int | None = None
    linearization: int | None = None
    hint: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    region_lns: bool = False
    engine_solve: bool = False  # the engine's own solve(), level 1 (with its LNS on large problems)


GRID = [Config(f"workers={w} lin={lin}", workers=w, linearization=lin) for w in (1, 2, 4, 8) for lin in (0, 1, 2)]
LEVERS = [
    Config("engine solve()", engine_solve=True),
    Config("CP-SAT per-size defaults"),
    Config("no greedy hint", hint=False),
    Config("presolve off", parameters={"cp_model_presolve": False}),
    Config("symmetry off", parameters={"symmetry_level": 0}),
    Config("symmetry 4", parameters={"symmetry_level": 4}),
    Config("no LNS", parameters={"use_lns": False}),
    Config("2w default_lp+max_lp", workers=2, parameters={"subsolvers": ["default_lp", "max_lp"]}),
    Config("2w max_lp+core", workers=2, parameters={"subsolvers": ["max_lp", "core"]}),
    Config("2w max_lp+quick_restart", workers=2, parameters={"subsolvers": ["max_lp", "quick_restart"]}),
    Config("2w max_lp+lb_tree_search", workers=2, parameters={"subsolvers": ["max_lp", "lb_tree_search"]}),
    Config("region LNS", region_lns=True),
]
CONFIGS = {config.name: config for config in GRID + LEVERS}


@dataclass
class Outcome:
    status: str
    value: int  # scaled covered value (0 without a solution)
    bound: int
    seconds: float
    trace: list[tuple[float, float]]


class _Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float, offset: float = 0.0) -> None:
        super().__init__()
        self.started = started
        self.offset = offset
        self.points: list[tuple[float, float]] = []

    def on_solution_callback(self) -> None:
        self.points.append((self.offset + time.perf_counter() - self.started, self.objective_value))


def add_hint(model: cp_model.CpModel, problem: Problem, v: Variables, hint: Solution) -> None:
    """The same complete hint service.solver.solve gives: pairs, leads, staffed and works variables."""
    chosen = set(hint.assigned)
    for p, var in enumerate(v.assign):
        model.add_hint(var, p in chosen)
    leads = set(hint.leads)
    for q, var in enumerate(v.lead):
        model.add_hint(var, q in leads)
    staffed = {problem.lead_options[q].opportunity for q in hint.leads}
    for opportunity, var in v.staffed.items():
        model.add_hint(var, opportunity in staffed)
    working = {(problem.pairs[p].staff, problem.slots[problem.pairs[p].slot].opportunity) for p in chosen}
    for key, var in v.works.items():
        model.add_hint(var, key in working)


def _solver(problem: Problem, config: Config, time_limit_s: float, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    parameters = solver.parameters
    parameters.num_workers = config.workers or default_workers(problem)
    parameters.linearization_level = (
        config.linearization if config.linearization is not None else default_linearization(problem)
    )
    parameters.max_time_in_seconds = max(time_limit_s, 0.01)
    parameters.random_seed = seed
    for name, value in config.parameters.items():
        if isinstance(value, list):
            getattr(parameters, name).extend(value)
        else:
            setattr(parameters, name, value)
    return solver


def _solution(solver: cp_model.CpSolver, v: Variables) -> Solution:
    return Solution(
        assigned=tuple(p for p, var in enumerate(v.assign) if solver.boolean_value(var)),
        leads=tuple(q for q, var in enumerate(v.lead) if solver.boolean_value(var)),
    )


def level_one(
    problem: Problem, config: Config, time_limit_s: float, seed: int = 0, regions: Sequence[str] = ()
) -> Outcome:
    """Maximize covered value with one configuration; time counts from before the greedy hint.
    `regions` (the sales region of each opportunity) is needed by region LNS only."""
    if config.engine_solve:
        return _engine_level_one(problem, time_limit_s, seed)
    started = time.perf_counter()
    model, v = build_model(problem)
    model.maximize(cp_model.LinearExpr.weighted_sum(*covered_value_terms(problem, v)))
    hint = greedy(problem) if config.hint else None
    if hint is not None:
        add_hint(model, problem, v, hint)
    if config.region_lns:
        if len(regions) != len(problem.opportunity_ids):
            raise ValueError("region LNS needs the region of every opportunity")
        return _region_lns(problem, config, model, v, regions, hint, started, time_limit_s, seed)
    remaining = time_limit_s - (time.perf_counter() - started)
    solver = _solver(problem, config, remaining, seed)
    trace = _Trace(started)
    status = solver.solve(model, trace)
    seconds = time.perf_counter() - started
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Outcome(solver.status_name(status), 0, 0, seconds, trace.points)
    value = round(solver.objective_value)
    return Outcome(solver.status_name(status), value, round(solver.best_objective_bound), seconds, trace.points)


def _engine_level_one(problem: Problem, time_limit_s: float, seed: int) -> Outcome:
    """service.solver.solve.solve() as the service calls it, read at its first level. The engine gives
    level 1 about 80 % of its limit, so it gets time_limit_s / 0.8: level 1 has the same time as the others."""
    points: list[tuple[float, float]] = []
    result = solve(
        problem,
        SolveParams(time_limit_s=time_limit_s / 0.8, seed=seed),
        on_solution=lambda seconds, value: points.append((seconds, value)),
    )
    level = result.levels[0] if result.levels else None
    offset = result.build_ms / 1000
    seconds = offset + (level.wall_ms / 1000 if level else 0.0)
    status = level.status if level else result.status.upper()
    return Outcome(status, result.covered_value, result.value_bound, seconds, [(t + offset, v) for t, v in points])


def _region_of_pairs(problem: Problem, regions: Sequence[str]) -> dict[str, list[int]]:
    by_region: dict[str, list[int]] = defaultdict(list)
    for p, pair in enumerate(problem.pairs):
        by_region[regions[problem.slots[pair.slot].opportunity]].append(p)
    return by_region


def _region_lns(
    problem: Problem,
    config: Config,
    model: cp_model.CpModel,
    v: Variables,
    regions: Sequence[str],
    hint: Solution | None,
    started: float,
    time_limit_s: float,
    seed: int,
) -> Outcome:
    """Full solve for 40 % of the time, then one region at a time re-optimized with the rest fixed.
    Without a solution from the full solve the regions start from the greedy hint."""
    trace = _Trace(started)
    solver = _solver(problem, config, time_limit_s * 0.4 - (time.perf_counter() - started), seed)
    status = solver.solve(model, trace)
    if status == cp_model.OPTIMAL:
        value = round(solver.objective_value)
        return Outcome("OPTIMAL", value, value, time.perf_counter() - started, trace.points)
    if status == cp_model.FEASIBLE:
        best = _solution(solver, v)
        value = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
    elif hint is not None and status == cp_model.UNKNOWN:
        best = hint
        value = sum(problem.slots[problem.pairs[p].slot].value for p in hint.assigned)
        bound = upper_bound(problem)  # CP-SAT had no bound yet; every slot filled is one
        trace.points.append((time.perf_counter() - started, float(value)))
    else:
        return Outcome(solver.status_name(status), 0, 0, time.perf_counter() - started, trace.points)
    by_region = _region_of_pairs(problem, regions)
    leads_by_region: dict[str, list[int]] = defaultdict(list)
    for q, option in enumerate(problem.lead_options):
        leads_by_region[regions[option.opportunity]].append(q)
    order = sorted(by_region, key=lambda r: -len(by_region[r]))
    rounds = 0
    while time.perf_counter() - started < time_limit_s - 0.05:
        region = order[rounds % len(order)]
        rounds += 1
        chosen, leads = set(best.assigned), set(best.leads)
        neighbourhood = model.clone()
        free_pairs, free_leads = set(by_region[region]), set(leads_by_region[region])
        for p, var in enumerate(v.assign):
            if p not in free_pairs:
                neighbourhood.add(var == int(p in chosen))
        for q, var in enumerate(v.lead):
            if q not in free_leads:
                neighbourhood.add(var == int(q in leads))
        left = time_limit_s - (time.perf_counter() - started)
        share = max(left / max(len(order) - (rounds - 1) % len(order), 1), 0.05)
        sub = _solver(problem, config, min(share, left), seed + rounds)
        sub_trace = _Trace(started)
        sub_status = sub.solve(neighbourhood, sub_trace)
        if sub_status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and round(sub.objective_value) > value:
            value = round(sub.objective_value)
            best = _solution(sub, v)
            trace.points.extend(
                point for point in sub_trace.points if not trace.points or point[1] > trace.points[-1][1]
            )
    return Outcome("FEASIBLE", value, max(bound, value), time.perf_counter() - started, trace.points)


def run_instance(instance: Instance, configs: Sequence[Config], time_limit_s: float) -> list[Json]:
    regions = [o.region for o in instance.request.opportunities]
    rows = []
    for config in configs:
        outcome = level_one(instance.problem, config, time_limit_s, regions=regions)
        scale = instance.problem.value_scale
        rows.append(
            {
                "instance": instance.name,
                "config": config.name,
                "status": outcome.status,
                "seconds": round(outcome.seconds, 3),
                "proved": outcome.status == "OPTIMAL",
                "covered_value": outcome.value / scale,
                "bound": outcome.bound / scale,
                "trace": [(round(t, 4), value / scale) for t, value in outcome.trace],
            }
        )
        print(
            f"{instance.name:>5} {config.name:<28} {outcome.status:<9} {outcome.seconds:7.2f} s  "
            f"value {outcome.value / scale:,.0f}  bound {outcome.bound / scale:,.0f}",
            file=sys.stderr,
        )
    return rows


def prove_table(size: Size, rows: Sequence[Json], limit: float, label: str | None) -> tuple[str, Json]:
    """Time to prove level 1, per configuration: the median over seeds counts an unproven run as the limit."""
    by_config: dict[str, list[Json]] = defaultdict(list)
    for row in rows:
        by_config[row["config"]].append(row)
    instances = sorted({row["instance"] for row in rows}, key=lambda n: int(n.split("-")[1]))
    body = []
    medians: dict[str, float] = {}
    for name, runs in by_config.items():
        times = {run["instance"]: run["seconds"] if run["proved"] else None for run in runs}
        effective = [t if t is not None else limit for t in times.values()]
        medians[name] = percentile(effective, 50) or limit
        proved = sum(1 for t in times.values() if t is not None)
        cells = [f"{times[i]:.2f}" if times.get(i) is not None else f"> {limit:g}" for i in instances]
        body.append([name, *cells, f"{proved}/{len(runs)}", medians[name]])
    body.sort(key=lambda r: (-int(str(r[-2]).split("/")[0]), r[-1]))
    best = body[0][0] if body else None
    text = (
        f"### Parameter study at {size}: seconds to prove level 1 (limit {limit:g} s)\n\n"
        + label_note(label)
        + markdown_table(["configuration", *instances, "proved", "median s"], body)
        + f"\nFastest to prove: **{best}**.\n"
    )
    return text, {"metric": "seconds_to_prove", "limit_s": limit, "median_s": medians, "best": best}


def value_table(size: Size, rows: Sequence[Json], limit: float, label: str | None) -> tuple[str, Json]:
    """Covered value at the time limit, per configuration, as % below the best any configuration found."""
    best_known: dict[str, float] = defaultdict(float)
    for row in rows:
        best_known[row["instance"]] = max(best_known[row["instance"]], row["covered_value"])
    by_config: dict[str, list[Json]] = defaultdict(list)
    for row in rows:
        by_config[row["config"]].append(row)
    instances = sorted(best_known, key=lambda n: int(n.split("-")[1]))
    body = []
    medians: dict[str, float] = {}
    for name, runs in by_config.items():
        below = {
            run["instance"]: 100 * (1 - run["covered_value"] / best_known[run["instance"]])
            if best_known[run["instance"]]
            else 0.0
            for run in runs
        }
        medians[name] = percentile(list(below.values()), 50) or 0.0
        body.append([name, *[f"{below[i]:.3f}" if i in below else "–" for i in instances], f"{medians[name]:.3f}"])
    body.sort(key=lambda r: float(r[-1]))
    best = body[0][0] if body else None
    text = (
        f"### Parameter study at {size}: covered value at {limit:g} s, % below the best configuration\n\n"
        + label_note(label)
        + markdown_table(["configuration", *instances, "median %"], body)
        + f"\nBest covered value at {limit:g} s: **{best}** (0 = the best any configuration found).\n"
    )
    return text, {"metric": "percent_below_best", "limit_s": limit, "median_pct": medians, "best": best}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.param_study", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="M,L", help="comma-separated sizes (default M,L)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per size (default 3 at M, 2 at L)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--configs", default=None, help=f"comma-separated subset of: {'; '.join(CONFIGS)} (default: all)")
    p.add_argument("--prove-limit", type=float, default=60.0, help="seconds allowed to prove, at S and M")
    p.add_argument("--value-at", type=float, default=30.0, help="seconds after which value counts, at L and XL")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.configs:
        names = [n.strip() for n in args.configs.split(",") if n.strip()]
        unknown = [n for n in names if n not in CONFIGS]
        if unknown:
            raise SystemExit(f"unknown configuration(s) {unknown}; choose from: {'; '.join(CONFIGS)}")
        configs = [CONFIGS[n] for n in names]
    else:
        configs = list(CONFIGS.values())
    tables = []
    for size in parse_sizes(args.sizes):
        proving = size in ("S", "M")
        limit = args.prove_limit if proving else args.value_at
        count = args.seeds if args.seeds is not None else DEFAULT_SEEDS[size]
        rows: list[Json] = []
        for seed in seeds_for(size, count, args.first_seed):
            rows.extend(run_instance(load_instance(size, seed), configs, limit))
        text, verdict = (prove_table if proving else value_table)(size, rows, limit, args.label)
        payload = {
            "benchmark": "param_study",
            "size": size,
            "label": args.label,
            "machine": machine(),
            "summary": verdict,
            "configs": {c.name: {**c.__dict__} for c in configs},
            "runs": rows,
        }
        json_path, _ = write_results(f"params-{size}", payload, text, args.out)
        print(f"wrote {json_path}", file=sys.stderr)
        tables.append(text)
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
