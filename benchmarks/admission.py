"""What the engine serves within a time limit: the seconds per qualified pair to the greedy plan (compile,
greedy, the plan's building), the figure service/admission.py refuses requests by, and whole answers of
large requests against their time limits.

Requests are built as the defect report built them: the example request's first person and first deal,
copied (`--staff` people, `--deals` deals), so every person qualifies for every deal's first demand.

    uv run python -m benchmarks.admission calibrate --sizes 100x400 250x1000 500x2000
    uv run python -m benchmarks.admission answer --staff 500 --deals 2000 --time-limit 5 30 60
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from pathlib import Path
from typing import Any

from service.admission import SECONDS_PER_QUALIFIED_PAIR, measure, size_errors
from service.contract import AllocationRequest
from service.planning import make_greedy_plan, make_plan
from service.solver.greedy import greedy
from service.solver.problem import compile_problem

# The contract's example request, as the service ships it for its OpenAPI examples.
EXAMPLE = Path(__file__).resolve().parents[1] / "service" / "api" / "examples" / "small-request.json"


def copies(staff: int, deals: int, time_limit_s: float = 10.0) -> dict[str, Any]:
    """The example's first person `staff` times and its first deal `deals` times."""
    example = json.loads(EXAMPLE.read_text())
    person, deal = example["staff"][0], example["opportunities"][0]
    request = copy.deepcopy(example)
    request["staff"] = [{**person, "id": f"s-{i:05d}"} for i in range(staff)]
    request["opportunities"] = [{**copy.deepcopy(deal), "id": f"o-{i:05d}"} for i in range(deals)]
    request["options"] = {"time_limit_s": time_limit_s}
    return request


def calibrate(sizes: list[str]) -> None:
    print("| request | qualified pairs | compile s | greedy s | plan s | to greedy plan s | µs / pair |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        staff, deals = (int(part) for part in size.split("x"))
        request = AllocationRequest.model_validate(copies(staff, deals))
        pairs = measure(request).qualified_pairs
        started = time.perf_counter()
        problem = compile_problem(request)
        compiled = time.perf_counter()
        greedy(problem)
        greedy_s = time.perf_counter() - compiled
        started_plan = time.perf_counter()
        make_greedy_plan(request)
        whole = time.perf_counter() - started_plan
        compile_s = compiled - started
        plan_s = max(whole - compile_s - greedy_s, 0.0)
        print(
            f"| {staff} x {deals} | {pairs:,} | {compile_s:.2f} | {greedy_s:.2f} | {plan_s:.2f} | {whole:.2f} "
            f"| {whole / max(pairs, 1) * 1e6:.1f} |",
            flush=True,
        )
    print(f"\nservice/admission.py counts {SECONDS_PER_QUALIFIED_PAIR * 1e6:.0f} µs per qualified pair (with margin).")


def answer(staff: int, deals: int, limits: list[float]) -> None:
    print("| request | time_limit_s | admitted | answer | wall s | covered value | source | peak RSS MB |")
    print("|---|---:|---|---|---:|---:|---|---:|")
    for limit in limits:
        request = AllocationRequest.model_validate(copies(staff, deals, limit))
        errors = size_errors(request)
        if errors:
            print(f"| {staff} x {deals} | {limit:g} | no | 422: {errors[0].message} | | | | |", flush=True)
            continue
        started = time.perf_counter()
        plan = make_plan(request)
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"| {staff} x {deals} | {limit:g} | yes | {plan.status} | {wall:.1f} | {plan.kpis.covered_value:,.0f} "
            f"| {plan.solver.name} | {peak:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    calibration = commands.add_parser("calibrate", help="seconds per qualified pair to the greedy plan")
    calibration.add_argument("--sizes", nargs="+", default=["100x400", "250x1000", "500x2000"])
    answering = commands.add_parser("answer", help="whole answers of one request size against time limits")
    answering.add_argument("--staff", type=int, default=500)
    answering.add_argument("--deals", type=int, default=2000)
    answering.add_argument("--time-limit", type=float, nargs="+", default=[5.0, 30.0, 60.0])
    arguments = parser.parse_args()
    if arguments.command == "calibrate":
        calibrate(arguments.sizes)
    else:
        answer(arguments.staff, arguments.deals, arguments.time_limit)


if __name__ == "__main__":
    main()
