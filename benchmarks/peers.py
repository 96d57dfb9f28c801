"""Peers on the same instances in the same run: the engine (CP-SAT) against the greedy allocator, the
same model as a MIP in HiGHS with the same time limit, and the LP relaxation's bound.

    uv run python -m benchmarks.peers --sizes S,M,L

Per instance, one after the other so that they never share the cores: greedy, the engine's solve(), then
HiGHS in a child process (OR-Tools and highspy bundle clashing copies of libhighs.so.1, see
highs_model.py). Reported: covered value against greedy, against HiGHS at equal time and against the
LP bound; the time CP-SAT needs to reach HiGHS's final covered value; and for the value both reach,
each solver's time to it (the "faster to the same covered value" figure).

Fairness: both get the greedy plan as a start (CP-SAT as a hint, HiGHS as its first incumbent; turn
that off with --no-highs-start). Times to a value count from the start of each solver's own model
build (CP-SAT: greedy + model; HiGHS: model), not the shared compile. HiGHS spends its whole time
limit on covered value; the engine keeps about a fifth of its limit for the cost level, so "equal time"
favours HiGHS slightly.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
    seeds_for,
    summary,
    write_results,
)
from benchmarks.solve_bench import run_cpsat
from service.solver.greedy import Solution, greedy
from service.solver.solve import evaluate

REPO = Path(__file__).resolve().parent.parent


def run_highs(
    instance: Instance,
    time_limit_s: float,
    threads: int | None,
    start: Solution | None,
    check: dict[str, Solution],
    lp_time_limit_s: float,
) -> Json:
    """highs_model.run_peer in a child process; the child is killed if it overstays its limits by far."""
    kwargs = {
        "problem": instance.problem,
        "time_limit_s": time_limit_s,
        "threads": threads,
        "check": check,
        "lp_time_limit_s": lp_time_limit_s,
        "start": start,
    }
    # The Python model build of XL takes a while; the solves themselves stop at their limits.
    return highs_child(kwargs, timeout_s=2 * (time_limit_s + lp_time_limit_s) + 600)


def highs_child(kwargs: Json, timeout_s: float) -> Json:
    """`python -m benchmarks.highs_model` on run_peer's keyword arguments, in its own process (OR-Tools and
    highspy cannot be loaded in one); its result, with the process's wall time as "process_ms"."""
    with tempfile.TemporaryDirectory(prefix="highs-peer-") as folder:
        source, sink = Path(folder) / "in.pickle", Path(folder) / "out.pickle"
        source.write_bytes(pickle.dumps(kwargs))
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.highs_model", str(source), str(sink)],
            cwd=REPO,
            timeout=timeout_s,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"HiGHS peer failed ({completed.returncode}): {completed.stderr[-2000:]}")
        result: Json = pickle.loads(sink.read_bytes())
        result["process_ms"] = (time.perf_counter() - started) * 1000
        return result


def first_time_at(trace: Sequence[Sequence[Any]], target: float, offset_s: float = 0.0) -> float | None:
    """Seconds at which a (seconds, value, ...) history first reaches `target` (scaled, integer-valued)."""
    for point in trace:
        if point[1] is not None and point[1] >= target - 0.5:
            return round(float(point[0]) + offset_s, 4)
    return None


def percent(a: float | None, b: float | None) -> float | None:
    """100 (a / b - 1): how much more a covers than b."""
    if a is None or b is None or b <= 0:
        return None
    return round(100 * (a / b - 1), 4)


def gap_percent(value: float | None, bound: float | None) -> float | None:
    if value is None or bound is None or bound <= 0:
        return None
    return round(100 * (bound - value) / bound, 4)


def run_instance(instance: Instance, args: argparse.Namespace) -> Json:
    problem = instance.problem
    scale = problem.value_scale
    limit = args.time_limit if args.time_limit is not None else instance.time_limit_s

    started = time.perf_counter()
    baseline = greedy(problem)
    greedy_ms = (time.perf_counter() - started) * 1000
    greedy_value = evaluate(problem, baseline)[0] if baseline else 0

    cpsat, result = run_cpsat(instance, time_limit_s=limit)
    check = {"greedy": baseline} if baseline else {}
    if result.solution is not None:
        check["cp-sat"] = result.solution
    highs = run_highs(
        instance,
        limit,
        args.highs_threads,
        baseline if args.highs_start else None,
        check,
        args.lp_time_limit if args.lp_time_limit is not None else max(limit, 60.0),
    )
    mip, lp = highs["mip"], highs["lp"]
    highs_value = round(mip["covered_value"]) if mip["covered_value"] is not None else None
    highs_solution = mip["solution"]
    highs_checked = (
        evaluate(problem, Solution(tuple(highs_solution["assigned"]), tuple(highs_solution["leads"])))[0]
        if highs_solution
        else None
    )
    lp_bound = lp["bound"]
    cpsat_value = cpsat["covered_value_scaled"]
    highs_offset = highs["build_ms"] / 1000

    # "Time to the same value" only means something for a value beyond the greedy start both were given:
    # otherwise it measures when each first reported the start, not search.
    highs_improved = highs_value is not None and highs_value > greedy_value + 0.5
    common = min(cpsat_value, highs_value) if highs_value is not None else None
    if common is not None and common <= greedy_value + 0.5:
        common = None
    cpsat_to_common = first_time_at(cpsat["trace"], common) if common is not None else None
    highs_to_common = first_time_at(mip["trace"], common, highs_offset) if common is not None else None

    def real(value: float | None) -> float | None:
        return None if value is None else value / scale

    row: Json = {
        "instance": instance.name,
        "size": instance.size,
        "seed": instance.seed,
        "shape": instance.shape(),
        "time_limit_s": limit,
        "greedy": {"covered_value": real(greedy_value), "ms": round(greedy_ms, 2)},
        "cp_sat": {k: v for k, v in cpsat.items() if k not in ("shape", "instance", "size", "seed")},
        "highs": {
            "version": highs["version"],
            "status": mip["status"],
            "covered_value": real(highs_value),
            "covered_value_recomputed": real(highs_checked),
            "bound": real(mip["bound"]),
            "build_ms": round(highs["build_ms"], 1),
            "solve_ms": round(mip["wall_ms"], 1),
            "nodes": mip["nodes"],
            "columns": highs["columns"],
            "rows": highs["rows"],
            "nonzeros": highs["nonzeros"],
            "started_from_greedy": args.highs_start,
            # (seconds since the HiGHS model build started, best covered value, bound), real units
            "trace": [(round(t + highs_offset, 4), real(v), real(b)) for t, v, b in mip["trace"]],
        },
        "lp": {"status": lp["status"], "bound": real(lp_bound), "solve_ms": round(lp["wall_ms"], 1)},
        "model_check_rows_broken": highs["violations"],
        "compare": {
            "cp_sat_vs_greedy_pct": percent(cpsat_value, greedy_value),
            "cp_sat_vs_highs_pct": percent(cpsat_value, highs_value),
            "cp_sat_gap_to_lp_pct": gap_percent(cpsat_value, lp_bound),
            "highs_gap_to_lp_pct": gap_percent(highs_value, lp_bound),
            "greedy_gap_to_lp_pct": gap_percent(greedy_value, lp_bound),
            "highs_improved_greedy": highs_improved,
            "cp_sat_s_to_highs_final": (
                first_time_at(cpsat["trace"], highs_value) if highs_improved and highs_value is not None else None
            ),
            "common_value": real(common),
            "cp_sat_s_to_common": cpsat_to_common,
            "highs_s_to_common": highs_to_common,
            "speedup_to_common": (
                round(highs_to_common / cpsat_to_common, 3) if highs_to_common and cpsat_to_common else None
            ),
            # Time to a proven optimum of covered value: CP-SAT's level 1 (from solve(), so with its build),
            # HiGHS's MIP (from its build); None when not proven within the limit.
            "cp_sat_s_to_proof": (
                round((cpsat["build_ms"] + cpsat["level_1_ms"]) / 1000, 4)
                if cpsat["level_1_status"] == "OPTIMAL"
                else None
            ),
            "highs_s_to_proof": (
                round((highs["build_ms"] + mip["wall_ms"]) / 1000, 4) if mip["status"] == "Optimal" else None
            ),
        },
    }
    # The CP-SAT trace is kept in real units too, for the plots.
    row["cp_sat"]["trace"] = [(t, v / scale) for t, v in cpsat["trace"]]
    if any(highs["violations"].values()):
        print(f"WARNING {instance.name}: a valid plan breaks rows of the HiGHS model: {highs['violations']}")
    if highs_checked is not None and highs_value is not None and abs(highs_checked - highs_value) > 1:
        print(f"WARNING {instance.name}: HiGHS objective {highs_value} but its plan evaluates to {highs_checked}")
    return row


def size_summary(rows: Sequence[Json]) -> Json:
    def values(key: str) -> list[float]:
        return [row["compare"][key] for row in rows if row["compare"][key] is not None]

    return {
        "instances": len(rows),
        **{
            key: summary(values(key))
            for key in (
                "cp_sat_vs_greedy_pct",
                "cp_sat_vs_highs_pct",
                "cp_sat_gap_to_lp_pct",
                "highs_gap_to_lp_pct",
                "greedy_gap_to_lp_pct",
                "cp_sat_s_to_highs_final",
                "cp_sat_s_to_common",
                "highs_s_to_common",
                "speedup_to_common",
                "cp_sat_s_to_proof",
                "highs_s_to_proof",
            )
        },
        "cp_sat_status": _count(row["cp_sat"]["status"] for row in rows),
        "highs_status": _count(row["highs"]["status"] for row in rows),
    }


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def table(size: Size, rows: Sequence[Json], totals: Json, label: str | None) -> str:
    header = [
        "instance",
        "greedy",
        "CP-SAT (status)",
        "HiGHS (status)",
        "LP bound",
        "vs greedy %",
        "vs HiGHS %",
        "CP-SAT gap to LP %",
        "HiGHS gap to LP %",
        "CP-SAT s to HiGHS final",
        "same value: CP-SAT s / HiGHS s",
        "speed-up",
        "proof: CP-SAT level 1 s / HiGHS s",
    ]
    body: list[list[Any]] = []
    for row in rows:
        c = row["compare"]
        body.append(
            [
                row["instance"],
                row["greedy"]["covered_value"],
                f"{row['cp_sat']['covered_value']:,.0f} ({row['cp_sat']['status']})",
                f"{row['highs']['covered_value'] or 0:,.0f} ({row['highs']['status']})",
                row["lp"]["bound"],
                c["cp_sat_vs_greedy_pct"],
                c["cp_sat_vs_highs_pct"],
                c["cp_sat_gap_to_lp_pct"],
                c["highs_gap_to_lp_pct"],
                c["cp_sat_s_to_highs_final"],
                f"{_seconds(c['cp_sat_s_to_common'])} / {_seconds(c['highs_s_to_common'])}",
                c["speedup_to_common"],
                f"{_seconds(c['cp_sat_s_to_proof'])} / {_seconds(c['highs_s_to_proof'])}",
            ]
        )
    for q in ("p50", "p95"):
        body.append(
            [
                f"**{q}**",
                "",
                "",
                "",
                "",
                totals["cp_sat_vs_greedy_pct"].get(q),
                totals["cp_sat_vs_highs_pct"].get(q),
                totals["cp_sat_gap_to_lp_pct"].get(q),
                totals["highs_gap_to_lp_pct"].get(q),
                totals["cp_sat_s_to_highs_final"].get(q),
                f"{_seconds(totals['cp_sat_s_to_common'].get(q))} / {_seconds(totals['highs_s_to_common'].get(q))}",
                totals["speedup_to_common"].get(q),
                f"{_seconds(totals['cp_sat_s_to_proof'].get(q))} / {_seconds(totals['highs_s_to_proof'].get(q))}",
            ]
        )
    limit = rows[0]["time_limit_s"] if rows else None
    broken = {
        row["instance"]: row["model_check_rows_broken"] for row in rows if any(row["model_check_rows_broken"].values())
    }
    check = (
        "The CP-SAT and greedy plans broke no row of the HiGHS model on any instance (the translation accepts them)."
        if not broken
        else f"WARNING: valid plans broke rows of the HiGHS model: {broken}."
    )
    return (
        f"### Peers, size {size} ({len(rows)} seeds, {limit} s each)\n\n"
        + label_note(label)
        + markdown_table(header, body)
        + "\nCovered values in the request's money units; percentages relative; times in seconds from the start "
        "of each solver's own model build; a time is – when there is nothing to time (HiGHS or CP-SAT did not "
        f"improve the greedy start both are given, or no proof within the limit). {check}\n"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="S,M,L", help="comma-separated sizes (default S,M,L; XL takes long)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per size (default 10 for S and M, 3 for L and XL)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=None, help="seconds for both solvers (default: the size's)")
    p.add_argument("--lp-time-limit", type=float, default=None, help="seconds for the LP (default max(limit, 60))")
    p.add_argument("--highs-threads", type=int, default=None, help="HiGHS threads option (default: HiGHS's)")
    p.add_argument("--no-highs-start", dest="highs_start", action="store_false", help="HiGHS without greedy start")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    tables = []
    for size in parse_sizes(args.sizes):
        rows = []
        for seed in seeds_for(size, args.seeds, args.first_seed):
            row = run_instance(load_instance(size, seed), args)
            c = row["compare"]
            print(
                f"{row['instance']:>6}: greedy {row['greedy']['covered_value']:,.0f}  "
                f"cp-sat {row['cp_sat']['covered_value']:,.0f} ({row['cp_sat']['status']})  "
                f"highs {row['highs']['covered_value'] or 0:,.0f} ({row['highs']['status']})  "
                f"lp {row['lp']['bound'] or 0:,.0f}  to common value cp-sat {c['cp_sat_s_to_common']} s "
                f"highs {c['highs_s_to_common']} s",
                file=sys.stderr,
            )
            rows.append(row)
        totals = size_summary(rows)
        text = table(size, rows, totals, args.label)
        payload = {"benchmark": "peers", "size": size, "label": args.label, "machine": machine(), "summary": totals}
        payload["instances"] = rows
        json_path, _ = write_results(f"peers-{size}", payload, text, args.out)
        print(f"wrote {json_path}", file=sys.stderr)
        tables.append(text)
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
