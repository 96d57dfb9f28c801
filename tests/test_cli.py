"""The console script as a user runs it: summaries, JSON output, and clear errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

EXAMPLE = Path(__file__).parents[2] / "shared" / "examples" / "small-request.json"
runner = CliRunner()


def test_solve_prints_a_readable_summary() -> None:
    result = runner.invoke(app, ["solve", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Plan status: optimal" in result.output
    assert "Covered value 8,172,727.27" in result.output
    assert "Total cost 14,800.00" in result.output
    assert "opp-E1/crm x1: no_lead" in result.output
    assert "13,200.00 / 60,000.00" in result.output  # cost against budget of opp-A1


def test_solve_json_and_output_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    result = runner.invoke(app, ["solve", str(EXAMPLE), "--json", "-o", str(target)])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    written = json.loads(target.read_text())
    assert printed["objective"] == written["objective"]
    assert written["status"] == "optimal"
    assert {a["staff_id"] for a in written["assignments"]} == {"dc-01", "south-01", "hot-01"}


def test_invalid_request_names_the_field_and_fails(tmp_path: Path) -> None:
    body = json.loads(EXAMPLE.read_text())
    body["opportunities"][0]["demands"][0]["end_week"] = 9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(body))
    result = runner.invoke(app, ["solve", str(bad)])
    assert result.exit_code == 2
    assert "opportunities[0].demands[0].end_week" in result.output
    assert "Traceback" not in result.output


def test_broken_json_and_missing_file_fail_cleanly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["solve", str(broken)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output
    assert "line 1" in result.output
    missing = runner.invoke(app, ["solve", str(tmp_path / "missing.json")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output


def test_python_dash_m_service_works() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "service", "solve", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["objective"]["total_cost"] == 14800.0


def test_binary_file_and_unwritable_output_fail_cleanly_before_solving(tmp_path: Path) -> None:
    binary = tmp_path / "request.json"
    binary.write_bytes(b"\xff\xfe\x00binary")
    result = runner.invoke(app, ["solve", str(binary)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output
    for target in (tmp_path / "missing-folder" / "plan.json", tmp_path):
        result = runner.invoke(app, ["solve", str(EXAMPLE), "-o", str(target)])
        assert result.exit_code == 2, result.output
        assert "Plan status" not in result.output  # refused before solving
        assert "Traceback" not in result.output


def test_a_request_that_is_not_an_object_is_named_as_such(tmp_path: Path) -> None:
    bad = tmp_path / "null.json"
    bad.write_text("null")
    result = runner.invoke(app, ["solve", str(bad)])
    assert result.exit_code == 2
    assert "(request): must be a JSON object" in result.output
