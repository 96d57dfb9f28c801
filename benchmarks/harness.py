"""What every benchmark script shares: seeded instances, the machine they ran on, percentiles, result files."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

from benchmarks.generator import SIZE_PROFILES, SIZES, Size, generate
from service.contract import AllocationRequest, parse_request
from service.solver.problem import Problem, compile_problem

Json = dict[str, Any]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The floor: at least 10 seeds where a solve takes seconds, 3 where it takes half a minute.
DEFAULT_SEEDS: dict[Size, int] = {"S": 10, "M": 10, "L": 3, "XL": 3}


@dataclass(frozen=True)
class Instance:
    """One seeded request, parsed and compiled, with what that cost."""

    size: Size
    seed: int
    data: Json
    request: AllocationRequest
    problem: Problem
    compile_ms: float  # parse_request + compile_problem

    @property
    def name(self) -> str:
        return f"{self.size}-{self.seed}"

    @property
    def time_limit_s(self) -> float:
        """The profile's own limit: what a client would ask for at this size."""
        return float(SIZE_PROFILES[self.size].time_limit_s)

    def shape(self) -> Json:
        problem = self.problem
        return {
            "staff": len(problem.staff_ids),
            "opportunities": len(problem.opportunity_ids),
            "slots": len(problem.slots),
            "pairs": len(problem.pairs),
            "lead_options": len(problem.lead_options),
            "weeks": problem.weeks,
        }


def load_instance(size: Size, seed: int) -> Instance:
    data = generate(size, seed)
    started = time.perf_counter()
    request = parse_request(data)
    problem = compile_problem(request)
    return Instance(size, seed, data, request, problem, (time.perf_counter() - started) * 1000)


def parse_sizes(text: str) -> list[Size]:
    sizes = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {unknown}; choose from {', '.join(SIZES)}")
    return [cast(Size, s) for s in sizes]


def seeds_for(size: Size, count: int | None, first: int = 0) -> list[int]:
    return list(range(first, first + (count if count is not None else DEFAULT_SEEDS[size])))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> Json:
    """p50, p95, min, max and mean of a list of figures, rounded for reading."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "min": _round(min(values)),
        "max": _round(max(values)),
        "mean": _round(sum(values) / len(values)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def relative_gap(value: float, bound: float) -> float:
    """(bound - value) / bound, the contract's gap; 0 when the bound is 0."""
    return (bound - value) / bound if bound > 0 else 0.0


def machine() -> Json:
    """Where the figures come from: they mean little without it."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory": memory,
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "python": platform.python_version(),
        "ortools": version("ortools"),
        "highspy": _version_or_none("highspy"),
        "commit": _git_commit(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _version_or_none(package: str) -> str | None:
    try:
        return version(package)
    except Exception:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_results(name: str, payload: Json, table: str, out_dir: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """<out>/<name>.json and <out>/<name>.md; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(table, encoding="utf-8")
    return json_path, md_path


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def label_note(label: str | None) -> str:
    """A line that says what kind of run made a table (e.g. smoke figures on a busy machine)."""
    return f"_Run label: **{label}**._\n\n" if label else ""


def best_known_path(size: Size, out_dir: Path = RESULTS_DIR) -> Path:
    return out_dir / f"best-known-{size}.json"


def load_best_known(size: Size, out_dir: Path = RESULTS_DIR) -> dict[str, Json]:
    """Instance name -> its best known entry; empty when no long run was made."""
    for directory in (out_dir, RESULTS_DIR):
        path = best_known_path(size, directory)
        if path.exists():
            entries: dict[str, Json] = json.loads(path.read_text(encoding="utf-8"))["instances"]
            return entries
    return {}


def below_best_known(instance: str, covered_value: float, best: dict[str, Json]) -> float | None:
    """How far (relative, 0.01 = 1 %) a covered value is below the instance's best known one."""
    entry = best.get(instance)
    if entry is None or entry["covered_value"] <= 0:
        return None
    best_value = float(entry["covered_value"])
    return (best_value - covered_value) / best_value
