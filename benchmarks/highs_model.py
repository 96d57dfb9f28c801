"""The CP-SAT model of service/solver/model.py as a MIP for HiGHS, from the same compiled Problem and the
same rows the engine's LP relaxation uses (service/solver/linear.py, one function per rule): the peer that
shows what a good open-source MIP solver does with the same decisions. Level 1 only: maximize covered
value, the only level the comparison is about. With integrality dropped the same rows give the LP
relaxation's bound.

Run it in its own process (`python -m benchmarks.highs_model in.pickle out.pickle`, see peers.py):
OR-Tools bundles its own libhighs.so.1, and whichever of the two loads first makes the other fail to
import, so this module must never import ortools (service.solver.problem and .greedy do not).
"""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import highspy
import numpy as np

from service.solver.greedy import Solution
from service.solver.linear import Columns, build_rows
from service.solver.problem import Problem

INF = highspy.kHighsInf


@dataclass
class MipModel:
    """A HiGHS model of level 1, ready to run."""

    problem: Problem
    columns: Columns
    lp: highspy.HighsLp
    fixed_one: list[int]  # pins
    build_ms: float

    @property
    def rows(self) -> int:
        return int(self.lp.num_row_)


def build(problem: Problem) -> MipModel:
    """Level 1 of the CP-SAT model as a HiGHS MIP (maximize covered value, scaled like CP-SAT's).
    H8 pins are column bounds."""
    started = time.perf_counter()
    linear = build_rows(problem)
    columns, rows, fixed_one = linear.columns, linear.rows, linear.fixed_one

    n = columns.count
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    cost = np.array(linear.objective, dtype=float)
    lower = np.zeros(n)
    lower[fixed_one] = 1.0
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.array(rows.lower, dtype=float)
    lp.row_upper_ = np.array(rows.upper, dtype=float)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(rows)
    lp.a_matrix_.start_ = np.array(rows.start, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(rows.index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(rows.value, dtype=float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    return MipModel(problem, columns, lp, fixed_one, (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------- running it


@dataclass
class HighsRun:
    """What HiGHS achieved: status, best covered value and bound (scaled like CP-SAT), their history."""

    status: str
    covered_value: float | None  # best integer solution's objective (None: no solution in time)
    bound: float | None
    wall_ms: float  # run() only; the model's build time is MipModel.build_ms
    solution: Solution | None
    # (seconds since run() started, best covered value, bound) at each improving solution and log line
    trace: list[tuple[float, float | None, float | None]] = field(default_factory=list)
    nodes: int = 0


def _highs(time_limit_s: float, threads: int | None, seed: int, log: bool) -> highspy.Highs:
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", log)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.setOptionValue("random_seed", seed)
    # CP-SAT proves exact optimality; HiGHS stops at a 0.01 % gap by default. The objective is an
    # integer (scaled value), so an absolute gap below 1 is a proof too.
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 0.999)
    if threads is not None:
        highs.setOptionValue("threads", threads)
    return highs


def solve_mip(
    model: MipModel,
    time_limit_s: float,
    threads: int | None = None,
    seed: int = 0,
    log: bool = False,
    start: Solution | None = None,
) -> HighsRun:
    """Branch and bound in HiGHS within time_limit_s; the history comes from its MIP callbacks.
    `start` is a feasible plan given as the incumbent (the greedy plan, as CP-SAT gets it as a hint)."""
    highs = _highs(time_limit_s, threads, seed, log)
    highs.passModel(model.lp)
    if start is not None:
        incumbent = highspy.HighsSolution()
        incumbent.col_value = plan_columns(model, start).tolist()
        incumbent.value_valid = True
        highs.setSolution(incumbent)
    trace: list[tuple[float, float | None, float | None]] = []

    def finite(value: float) -> float | None:
        return None if not np.isfinite(value) or abs(value) >= INF else float(value)

    def moved(old: float | None, new: float | None) -> bool:
        if old is None or new is None:
            return old is not new
        return abs(new - old) >= max(0.5, 1e-9 * abs(old))  # the objective is an integer; ignore float noise

    def record(event: highspy.HighsCallbackEvent) -> None:
        out = event.data_out
        point = (float(out.running_time), finite(out.mip_primal_bound), finite(out.mip_dual_bound))
        if not trace or moved(trace[-1][1], point[1]) or moved(trace[-1][2], point[2]):
            trace.append(point)

    # Improving solutions and log lines are rare; the interrupt check runs often and also carries both
    # bounds, so it fills in the bound's history (kept only when something changed).
    highs.cbMipImprovingSolution.subscribe(record)
    highs.cbMipLogging.subscribe(record)
    highs.cbMipInterrupt.subscribe(record)
    started = time.perf_counter()
    highs.run()
    wall_ms = (time.perf_counter() - started) * 1000
    info = highs.getInfo()
    status = highs.modelStatusToString(highs.getModelStatus())
    value: float | None = None
    solution: Solution | None = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        value = float(info.objective_function_value)
        x = np.asarray(highs.getSolution().col_value)
        solution = Solution(
            assigned=tuple(p for p, col in enumerate(model.columns.assign) if x[col] > 0.5),
            leads=tuple(q for q, col in enumerate(model.columns.lead) if x[col] > 0.5),
        )
    bound = finite(info.mip_dual_bound)
    final = (wall_ms / 1000, value, bound)
    if not trace or trace[-1][1:] != final[1:]:
        trace.append(final)
    return HighsRun(status, value, bound, wall_ms, solution, trace, int(info.mip_node_count))


def solve_lp(model: MipModel, time_limit_s: float, threads: int | None = None) -> HighsRun:
    """The LP relaxation of the same rows: its optimum bounds every plan's covered value from above.
    Interior point with crossover: dual simplex stalls for minutes on L (degenerate assignment rows),
    IPM proves it in about half a minute; crossover makes the status a checked "Optimal"."""
    highs = _highs(time_limit_s, threads, 0, False)
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("run_crossover", "on")
    lp = model.lp
    integrality = lp.integrality_
    lp.integrality_ = []
    try:
        highs.passModel(lp)
    finally:
        lp.integrality_ = integrality
    started = time.perf_counter()
    highs.run()
    wall_ms = (time.perf_counter() - started) * 1000
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    # Only a proven LP optimum is a bound; a dual objective of an unfinished simplex is not (yet).
    bound = float(info.objective_function_value) if status == "Optimal" else None
    return HighsRun(status, bound, bound, wall_ms, None)


def plan_columns(model: MipModel, solution: Solution) -> np.ndarray:
    """A plan as a column vector; auxiliary columns take their smallest consistent values
    (staffed / works = 1 exactly where an assignment needs them)."""
    problem = model.problem
    c = model.columns
    x = np.zeros(c.count)
    for p in solution.assigned:
        x[c.assign[p]] = 1.0
        pair = problem.pairs[p]
        opportunity = problem.slots[pair.slot].opportunity
        x[c.staffed[opportunity]] = 1.0
        works = c.works.get((pair.staff, opportunity))
        if works is not None:
            x[works] = 1.0
    for q in solution.leads:
        x[c.lead[q]] = 1.0
    return x


def row_activity_violations(model: MipModel, solution: Solution) -> int:
    """How many rows (and pins) a plan breaks when read in this model: 0 for any plan valid under
    H1-H9, which checks that the translation accepts what the CP-SAT model accepts."""
    x = plan_columns(model, solution)
    matrix = model.lp.a_matrix_
    start = np.asarray(matrix.start_)
    index = np.asarray(matrix.index_)
    value = np.asarray(matrix.value_)
    activity = np.add.reduceat(value * x[index], start[:-1]) if len(index) else np.zeros(0)
    # reduceat repeats a value for empty rows; there are none (every row has a column).
    lower = np.asarray(model.lp.row_lower_)
    upper = np.asarray(model.lp.row_upper_)
    broken = (activity < lower - 1e-6) | (activity > upper + 1e-6)
    broken_pins = sum(1 for col in model.fixed_one if x[col] < 0.5)
    return int(broken.sum()) + broken_pins


# --------------------------------------------------------------------------- the child process


def run_peer(
    problem: Problem,
    time_limit_s: float,
    threads: int | None = None,
    seed: int = 0,
    check: dict[str, Solution] | None = None,
    lp_time_limit_s: float | None = None,
    start: Solution | None = None,
    mip: bool = True,
) -> dict[str, Any]:
    """Build once, solve the MIP (unless `mip` is false) and the LP relaxation, and read the given plans
    in this model."""
    model = build(problem)
    branch_and_bound = solve_mip(model, time_limit_s, threads, seed, start=start) if mip else None
    lp = solve_lp(model, lp_time_limit_s if lp_time_limit_s is not None else max(time_limit_s, 60.0), threads)
    return {
        "version": str(highspy.Highs().version()),  # type: ignore[no-untyped-call]
        "columns": model.columns.count,
        "rows": model.rows,
        "nonzeros": len(model.lp.a_matrix_.index_),
        "build_ms": model.build_ms,
        "mip": asdict(branch_and_bound) if branch_and_bound is not None else None,
        "lp": asdict(lp),
        "violations": {name: row_activity_violations(model, plan) for name, plan in (check or {}).items()},
        "pairs": len(problem.pairs),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """in.pickle holds run_peer's keyword arguments; out.pickle gets its result."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m benchmarks.highs_model IN.pickle OUT.pickle", file=sys.stderr)
        return 2
    with open(args[0], "rb") as source:
        kwargs = pickle.load(source)
    result = run_peer(**kwargs)
    with open(args[1], "wb") as sink:
        pickle.dump(result, sink)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
