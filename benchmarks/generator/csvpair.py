"""A generated request as the workspace's CSV pair: NAME.staff.csv and NAME.opportunities.csv beside NAME.json.

The files are the service's own export (service/workspace/csv_files.py), so they import into a workspace as
they are. A request's pins, fixed leads and previous_plan are not written: in a workspace, bookings do that.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.generator.world import Json
from service.contract import parse_request
from service.workspace.csv_files import opportunities_csv, staff_csv


def csv_pair(request: Json) -> tuple[str, str]:
    """The text of staff.csv and of opportunities.csv for `request`."""
    parsed = parse_request(request)
    return staff_csv(parsed.staff), opportunities_csv(parsed.opportunities)


def csv_paths(json_path: Path) -> tuple[Path, Path]:
    """scenarios/new-market.json -> scenarios/new-market.staff.csv, scenarios/new-market.opportunities.csv."""
    stem = json_path.name.removesuffix(".json")
    return json_path.with_name(f"{stem}.staff.csv"), json_path.with_name(f"{stem}.opportunities.csv")


def write_csv_pair(request: Json, json_path: Path) -> tuple[Path, Path]:
    """Write the pair beside `json_path`, byte for byte as csv_pair gives it (lines end with CRLF, as in RFC 4180)."""
    paths = csv_paths(json_path)
    for path, text in zip(paths, csv_pair(request), strict=True):
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(text)
    return paths
