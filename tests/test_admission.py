"""What size of request is served within its time limit (service/admission.py): the count of qualified
pairs taken before compiling, the 422 for a request its time limit cannot serve, and the greedy plan when
the time left cannot build CP-SAT's model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.admission import copies
from benchmarks.generator import generate
from service.admission import MAX_QUALIFIED_PAIRS, measure, served_pairs, size_errors
from service.contract import AllocationRequest
from service.planning import make_plan
from service.solver.problem import compile_problem

ROOT = Path(__file__).resolve().parents[1]


def qualified_in_compile(request: AllocationRequest) -> int:
    return sum(len(candidates) for candidates in compile_problem(request).qualified)


@pytest.mark.parametrize(("size", "seed"), [("S", 0), ("S", 3), ("M", 0), ("M", 1), ("L", 0)])
def test_the_count_is_the_compiles_own_on_seeded_instances(size: str, seed: int) -> None:
    request = AllocationRequest.model_validate(generate(size, seed))
    assert measure(request).qualified_pairs == qualified_in_compile(request)


@pytest.mark.parametrize("name", ["fast-growth", "mature-market", "new-market"])
def test_the_count_is_the_compiles_own_on_the_market_scenarios(name: str) -> None:
    request = AllocationRequest.model_validate(json.loads((ROOT / "scenarios" / f"{name}.json").read_text()))
    assert measure(request).qualified_pairs == qualified_in_compile(request)


def test_excluded_staff_are_not_counted() -> None:
    document = copies(staff=6, deals=3)
    document["opportunities"][0]["excluded_staff"] = ["s-00001", "s-00002"]
    request = AllocationRequest.model_validate(document)
    assert measure(request).qualified_pairs == qualified_in_compile(request) == 6 * 3 - 2


def test_the_defect_reports_request_is_refused_up_front_saying_what_would_be_served() -> None:
    # 500 copies of the example's first person, 2,000 of its first deal: a million qualified pairs.
    request = AllocationRequest.model_validate(copies(staff=500, deals=2000, time_limit_s=5))
    assert measure(request).qualified_pairs == 1_000_000
    (error,) = size_errors(request)
    assert error.path == "options.time_limit_s"
    assert error.type == "request_too_large"
    assert "1,000,000 qualified" in error.message
    assert f"serves up to {served_pairs(5):,}" in error.message
    needed = int(error.message.split("raise time_limit_s to ")[1].split(" ")[0])
    longer = request.model_copy(update={"options": request.options.model_copy(update={"time_limit_s": needed})})
    assert size_errors(longer) == []


def test_a_request_beyond_the_memory_bound_is_refused_whatever_its_time_limit() -> None:
    request = AllocationRequest.model_validate(copies(staff=1000, deals=1600, time_limit_s=600))
    assert measure(request).qualified_pairs > MAX_QUALIFIED_PAIRS
    (error,) = size_errors(request)
    assert error.path == "staff"
    assert "whatever the time limit" in error.message


def test_the_cli_refuses_it_naming_the_field(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    path = tmp_path / "large.json"
    path.write_text(json.dumps(copies(staff=500, deals=2000, time_limit_s=30)))
    result = CliRunner().invoke(app, ["solve", str(path)])
    assert result.exit_code == 2
    assert "options.time_limit_s" in result.output


def test_with_no_time_left_for_the_model_the_greedy_plan_answers() -> None:
    # L-0's 18,500 pairs take about 0.5 s to model; with 0.3 s in all, the solve keeps the greedy plan
    # instead of spending the time building a model it cannot search.
    document = generate("L", 0)
    document["options"] = {"time_limit_s": 0.3}
    plan = make_plan(AllocationRequest.model_validate(document))
    assert plan.status == "feasible"
    assert plan.solver.name == "cp-sat (greedy plan)"
    assert plan.solver.levels == []
