"""PNG plots from the result files: latency by size, covered value over time at L (CP-SAT and HiGHS),
latency against offered load.

    uv run python -m benchmarks.plots                 # reads and writes benchmarks/results/
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from benchmarks.generator import SIZES
from benchmarks.harness import RESULTS_DIR, Json

SMALL = "POST /v1/plans [small, sync]"


def _load(path: Path) -> Json | None:
    if not path.exists():
        return None
    data: Json = json.loads(path.read_text(encoding="utf-8"))
    return data


def _subtitle(data: Json) -> str:
    m = data.get("machine", {})
    label = f" — {data['label']}" if data.get("label") else ""
    return f"{m.get('cpu', '?')}, {m.get('usable_cores', '?')} cores, ortools {m.get('ortools', '?')}{label}"


def latency_by_size(results: Path, out: Path) -> Path | None:
    """Total engine milliseconds per instance, by size (log scale), with p50 and p95 marked."""
    runs = [(size, data) for size in SIZES if (data := _load(results / f"solve-{size}.json"))]
    if not runs:
        return None
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for x, (_size, data) in enumerate(runs):
        totals = [row["total_ms"] for row in data["instances"]]
        proven = [row["status"] == "optimal" for row in data["instances"]]
        axes.scatter(
            [x] * len(totals),
            totals,
            c=["tab:green" if p else "tab:orange" for p in proven],
            alpha=0.7,
            zorder=3,
        )
        summary = data["summary"]["total_ms"]
        axes.hlines([summary["p50"]], x - 0.25, x + 0.25, colors="black", linewidth=2, zorder=4)
        axes.hlines([summary["p95"]], x - 0.25, x + 0.25, colors="black", linestyles="dotted", zorder=4)
        limit = data["instances"][0]["time_limit_s"] * 1000
        axes.hlines([limit], x - 0.35, x + 0.35, colors="tab:red", linestyles="dashed", linewidth=1, zorder=2)
    axes.set_xticks(range(len(runs)), [f"{size}\n({len(d['instances'])} seeds)" for size, d in runs])
    axes.set_yscale("log")
    axes.set_ylabel("total ms (compile + solve + plan)")
    axes.set_title("Engine latency by size", fontsize=11)
    figure.suptitle(_subtitle(runs[0][1]), fontsize=8, y=0.02)
    axes.plot([], [], "o", color="tab:green", label="proven optimal")
    axes.plot([], [], "o", color="tab:orange", label="feasible (time limit)")
    axes.plot([], [], "-", color="black", label="p50")
    axes.plot([], [], ":", color="black", label="p95")
    axes.plot([], [], "--", color="tab:red", label="time limit")
    axes.legend(fontsize=8, loc="upper left")
    axes.grid(True, which="both", alpha=0.3)
    path = out / "latency-by-size.png"
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _steps(points: Sequence[Sequence[Any]], column: int, end: float) -> tuple[list[float], list[float]]:
    """A step line through (time, value) points, held to `end`."""
    xs: list[float] = []
    ys: list[float] = []
    for point in points:
        if point[column] is None:
            continue
        xs.append(point[0])
        ys.append(point[column])
    if xs:
        xs.append(max(end, xs[-1]))
        ys.append(ys[-1])
    return xs, ys


def value_over_time(results: Path, out: Path, size: str = "L") -> Path | None:
    """Best covered value (and bounds) against time for CP-SAT and HiGHS on each instance of `size`."""
    data = _load(results / f"peers-{size}.json")
    if not data or not data["instances"]:
        return None
    rows = data["instances"]
    figure, axes_list = plt.subplots(1, len(rows), figsize=(max(8.0, 5.5 * len(rows)), 4.8), squeeze=False)
    for axes, row in zip(axes_list[0], rows, strict=True):
        limit = row["time_limit_s"]
        # Solvers overrun their limits a little (HiGHS reports its first point after its root LP): show all.
        last = [p[0] for p in row["cp_sat"]["trace"] + row["highs"]["trace"]]
        end = max([limit * 1.05, *(t * 1.02 for t in last)])
        xs, ys = _steps(row["cp_sat"]["trace"], 1, end)
        axes.step(xs, ys, where="post", color="tab:blue", label="CP-SAT best plan")
        xs, ys = _steps(row["highs"]["trace"], 1, end)
        axes.step(xs, ys, where="post", color="tab:red", label="HiGHS best plan")
        xs, ys = _steps(row["highs"]["trace"], 2, end)
        axes.step(xs, ys, where="post", color="tab:red", linestyle="dotted", label="HiGHS bound")
        if row["cp_sat"]["source"] == "greedy":
            axes.text(
                0.02,
                0.5,
                "CP-SAT found no plan at level 1 in time:\nthe engine returned the greedy plan",
                transform=axes.transAxes,
                fontsize=8,
                color="tab:blue",
            )
        if row["cp_sat"]["status"] != "optimal":
            axes.axhline(row["cp_sat"]["bound"], color="tab:blue", linestyle="dotted", label="CP-SAT final bound")
        if row["lp"]["bound"]:
            axes.axhline(row["lp"]["bound"], color="grey", linestyle="dashed", label="LP relaxation bound")
        axes.axhline(row["greedy"]["covered_value"], color="tab:green", linestyle="dashdot", label="greedy")
        values = [v for v in (row["cp_sat"]["covered_value"], row["highs"]["covered_value"]) if v]
        top = max([row["lp"]["bound"] or 0, *values])
        axes.set_ylim(row["greedy"]["covered_value"] * 0.97, top * 1.01)
        axes.set_xlim(0, end)
        axes.set_title(f"{row['instance']}: {row['shape']['pairs']:,} pairs, {limit:g} s", fontsize=10)
        axes.set_xlabel("seconds since the solver's model build started")
        axes.set_ylabel("covered value")
        axes.grid(True, alpha=0.3)
    axes_list[0][0].legend(fontsize=7, loc="lower right")
    figure.suptitle(f"Covered value over time at {size}\n" + _subtitle(data), fontsize=9)
    path = out / f"value-over-time-{size}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def latency_vs_load(results: Path, out: Path) -> Path | None:
    """Small-request latency (intended start to answer) against the offered rate, per database."""
    runs = [(db, data) for db in ("sqlite", "postgres") if (data := _load(results / f"load-step-{db}.json"))]
    if not runs:
        return None
    figure, axes = plt.subplots(figsize=(7, 4.5))
    colors = {"sqlite": "tab:blue", "postgres": "tab:purple"}
    target = runs[0][1].get("p95_target_ms", 250)
    for db, data in runs:
        rates, p50, p95, p99 = [], [], [], []
        for step in data["steps"]:
            kind = step["summary"]["kinds"].get(SMALL)
            if not kind:
                continue
            latency = kind.get("intended_ms") or kind["response_ms"]
            rates.append(step["rate"])
            p50.append(latency["p50"])
            p95.append(latency["p95"])
            p99.append(latency["p99"])
        color = colors[db]
        axes.plot(rates, p50, "o-", color=color, alpha=0.5, label=f"{db} p50")
        axes.plot(rates, p95, "s-", color=color, label=f"{db} p95")
        axes.plot(rates, p99, "^:", color=color, alpha=0.7, label=f"{db} p99")
    axes.axhline(target, color="tab:red", linestyle="dashed", linewidth=1, label=f"p95 target {target:g} ms")
    axes.set_yscale("log")
    axes.set_xlabel("offered small synchronous requests per second (open model)")
    axes.set_ylabel("latency from intended start, ms")
    axes.set_title("Small requests: latency against offered load", fontsize=11)
    figure.suptitle(_subtitle(runs[0][1]), fontsize=8, y=0.02)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    path = out / "latency-vs-load.png"
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.plots", description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the result JSON files are")
    p.add_argument("--out", type=Path, default=None, help="where to write PNGs (default: --results)")
    p.add_argument("--value-size", default="L", help="size of the value-over-time plot (default L)")
    args = p.parse_args(argv)
    out = args.out or args.results
    out.mkdir(parents=True, exist_ok=True)
    made = {
        "latency by size (solve-<size>.json)": latency_by_size(args.results, out),
        f"value over time (peers-{args.value_size}.json)": value_over_time(args.results, out, args.value_size),
        "latency vs load (load-step-<db>.json)": latency_vs_load(args.results, out),
    }
    for what, path in made.items():
        print(f"{what}: {path if path else 'no input, skipped'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
