"""Best known plans: the engine run for a long time (default 300 s) on seeded instances, so that the
size's normal time limit can be judged against the best covered value anyone has found for them.

    uv run python -m benchmarks.best_known --sizes L --time-limit 300

Writes results/best-known-{size}.json. A later run only ever raises an instance's best known value (and
lowers its best bound), so the file holds the best of every long run made; solve_bench reads it and
reports each plan's distance to it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.generator import Size
from benchmarks.harness import (
    RESULTS_DIR,
    Json,
    label_note,
    load_best_known,
    load_instance,
    machine,
    markdown_table,
    parse_sizes,
    relative_gap,
    seeds_for,
    write_results,
)
from benchmarks.solve_bench import run_cpsat


def run(size: Size, seeds: Sequence[int], time_limit_s: float, out_dir: Path, label: str | None) -> str:
    known = load_best_known(size, out_dir)
    runs: list[Json] = []
    for seed in seeds:
        instance = load_instance(size, seed)
        row, _ = run_cpsat(instance, time_limit_s=time_limit_s)
        entry = known.get(instance.name)
        improved = entry is None or row["covered_value"] > entry["covered_value"]
        if improved:
            known[instance.name] = {
                "covered_value": row["covered_value"],
                "total_cost": row["total_cost"],
                "time_limit_s": time_limit_s,
                "status": row["status"],
                "commit": machine()["commit"],
                "bound": min(row["bound"], entry["bound"]) if entry else row["bound"],
            }
        elif row["bound"] < entry["bound"]:  # type: ignore[index]
            known[instance.name]["bound"] = row["bound"]
        runs.append({**row, "trace": row["trace"][-50:], "improved_best_known": improved})
        print(
            f"{instance.name:>6}: {row['status']:<8} {row['covered_value']:,.0f} in {time_limit_s:.0f} s "
            f"(best known {known[instance.name]['covered_value']:,.0f})",
            file=sys.stderr,
        )
    header = ["instance", "this run", "status", "best known", "best bound", "best known gap to bound %"]
    body = [
        [
            name,
            next((r["covered_value"] for r in runs if r["instance"] == name), None),
            next((r["status"] for r in runs if r["instance"] == name), None),
            entry["covered_value"],
            entry["bound"],
            f"{100 * relative_gap(entry['covered_value'], entry['bound']):.2f}",
        ]
        for name, entry in sorted(known.items())
    ]
    text = (
        f"### Best known plans, size {size} (engine runs of {time_limit_s:.0f} s)\n\n"
        + label_note(label)
        + markdown_table(header, body)
    )
    payload = {
        "benchmark": "best-known",
        "size": size,
        "label": label,
        "machine": machine(),
        "instances": known,
        "runs": runs,
    }
    write_results(f"best-known-{size}", payload, text, out_dir)
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.best_known", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="L", help="comma-separated sizes (default L)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per size (default 3 for L and XL)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, default=300.0, help="seconds per instance (default 300)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--label", default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for size in parse_sizes(args.sizes):
        print(run(size, seeds_for(size, args.seeds, args.first_seed), args.time_limit, args.out, args.label))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
