"""The generator's command line: write one seeded request, a benchmark size or a market stage.

Sizes default to seed 0, market stages to seed 7 (the seed of scenarios/*.json):

    uv run python -m benchmarks.generator M --seed 1 -o m1.json
    uv run python -m benchmarks.generator fast_growth -o scenarios/fast-growth.json --csv

`--csv` also writes the workspace's CSV pair beside the JSON file (fast-growth.staff.csv and
fast-growth.opportunities.csv): see csvpair.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from benchmarks.generator.build import contention, generate, market
from benchmarks.generator.csvpair import write_csv_pair
from benchmarks.generator.jsonfile import to_json
from benchmarks.generator.world import SIZES, STAGES, Size, Stage


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generator",
        description="Write a seeded allocation request: a benchmark size or a market stage.",
    )
    parser.add_argument("kind", choices=[*SIZES, *STAGES], help="S, M, L, XL, or a market stage")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0 for sizes, 7 for stages)")
    parser.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    parser.add_argument("--summary", action="store_true", help="print counts and contention to stderr")
    parser.add_argument(
        "--csv",
        action="store_true",
        help="also write the workspace CSV pair beside the output: NAME.staff.csv and NAME.opportunities.csv",
    )
    args = parser.parse_args(argv)
    if args.csv and not args.output.endswith(".json"):
        parser.error("--csv needs -o NAME.json: the CSV files are written beside it")
    started = time.perf_counter()
    if args.kind in SIZES:
        request = generate(cast(Size, args.kind), 0 if args.seed is None else args.seed)
    else:
        request = market(cast(Stage, args.kind), 7 if args.seed is None else args.seed)
    elapsed = time.perf_counter() - started
    text = to_json(request)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    if args.csv:
        write_csv_pair(request, Path(args.output))
    if args.summary:
        figures = contention(request)
        demands = sum(len(o["demands"]) for o in request["opportunities"])
        print(
            f"{args.kind}: {len(request['staff'])} staff, {len(request['opportunities'])} opportunities, "
            f"{demands} demands, {request['horizon']['weeks']} weeks; demanded {figures['demanded_hours']:.0f} h "
            f"(+{figures['lead_hours']:.0f} h leads) vs capacity {figures['capacity_hours']:.0f} h = "
            f"{figures['ratio']:.2f}x ({figures['ratio_with_leads']:.2f}x with leads); generated in {elapsed:.2f} s",
            file=sys.stderr,
        )
    return 0
