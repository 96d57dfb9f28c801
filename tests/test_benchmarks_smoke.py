"""The benchmark scripts run end to end on tiny instances, and the HiGHS peer is the same model as CP-SAT's.

No wall-clock assertion anywhere: these check that the tooling works and measures the right thing.
The real measurements are the `benchmark`-marked tests (skipped by default) and the scripts themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from benchmarks import (
    best_known,
    lns_levers,
    param_study,
    peers,
    plots,
    results_page,
    solve_bench,
    spread,
)
from benchmarks.harness import load_instance, percentile
from benchmarks.load.config import LoadConfig
from service.solver.greedy import greedy
from service.solver.model import build_model, covered_value_terms
from service.solver.relaxation import LpRelaxation
from service.solver.solve import SolveParams, solve
from tests.checker import hard_rule_violations


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(range(1, 11)), 95) == pytest.approx(9.55)


def test_load_config_offers_the_rate_through_enough_users() -> None:
    config = LoadConfig(small_rps=20, small_interval_s=2, async_per_min=1, scenario_per_min=0)
    assert config.small_users == 40
    assert config.user_interval(config.small_users, config.small_rps) == pytest.approx(2.0)
    assert config.async_users == 2  # one job a minute, each user submitting every two minutes
    assert config.scenario_users == 0
    assert LoadConfig(**{**config.__dict__, "small_rps": 0.3}).small_users == 1


@pytest.mark.parametrize("seed", [0, 1])
def test_highs_model_is_the_engine_model(seed: int) -> None:
    """Same optimum as CP-SAT, the engine's plans break none of its rows, its plan passes the independent
    checker, and the LP relaxation bounds both from above."""
    instance = load_instance("S", seed)
    problem = instance.problem
    result = solve(problem, SolveParams(time_limit_s=10, num_workers=1))
    assert result.status == "optimal"
    baseline = greedy(problem)
    assert baseline is not None
    assert result.solution is not None
    highs = peers.run_highs(instance, 10, None, None, {"cp-sat": result.solution, "greedy": baseline}, 10)

    assert highs["violations"] == {"cp-sat": 0, "greedy": 0}
    mip = highs["mip"]
    assert mip["status"] == "Optimal"
    assert round(mip["covered_value"]) == result.covered_value
    assert highs["lp"]["bound"] >= result.covered_value - 1e-6

    problem_pairs = problem.pairs
    assignments = []
    for p in mip["solution"]["assigned"]:
        slot = problem.slots[problem_pairs[p].slot]
        assignments.append(
            {
                "opportunity_id": problem.opportunity_ids[slot.opportunity],
                "demand_id": slot.demand_id,
                "staff_id": problem.staff_ids[problem_pairs[p].staff],
            }
        )
    leads = [
        {
            "opportunity_id": problem.opportunity_ids[problem.lead_options[q].opportunity],
            "staff_id": problem.staff_ids[problem.lead_options[q].staff],
        }
        for q in mip["solution"]["leads"]
    ]
    assert hard_rule_violations(instance.data, assignments, leads) == []


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The solve benchmark and the peers on one S instance each, written to a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    common = ["--sizes", "S", "--seeds", "1", "--time-limit", "3", "--out", str(out), "--label", "test"]
    assert solve_bench.main(common) == 0
    assert peers.main([*common, "--lp-time-limit", "5"]) == 0
    return out


def test_solve_bench_writes_json_and_table(results: Path) -> None:
    payload = json.loads((results / "solve-S.json").read_text())
    [row] = payload["instances"]
    assert row["status"] in ("optimal", "feasible")
    assert row["covered_value"] <= row["bound"]
    assert row["total_ms"] >= row["solve_ms"]
    assert payload["summary"]["total_ms"]["n"] == 1
    assert payload["machine"]["cores"] >= 1
    assert "| S-0 |" in (results / "solve-S.md").read_text()


def test_peers_compare_on_the_same_instance(results: Path) -> None:
    payload = json.loads((results / "peers-S.json").read_text())
    [row] = payload["instances"]
    assert row["model_check_rows_broken"] == {"greedy": 0, "cp-sat": 0}
    lp_bound = row["lp"]["bound"]
    for value in (row["greedy"]["covered_value"], row["cp_sat"]["covered_value"], row["highs"]["covered_value"]):
        assert value <= lp_bound * (1 + 1e-9)
    assert row["cp_sat"]["covered_value"] >= row["greedy"]["covered_value"]
    assert row["compare"]["cp_sat_gap_to_lp_pct"] >= 0


def test_best_known_keeps_the_best_long_run_and_solve_bench_compares_with_it(tmp_path: Path) -> None:
    common = ["--sizes", "S", "--seeds", "1", "--out", str(tmp_path), "--label", "test"]
    assert best_known.main([*common, "--time-limit", "2"]) == 0
    first = json.loads((tmp_path / "best-known-S.json").read_text())["instances"]["S-0"]
    assert first["covered_value"] > 0
    # A shorter run cannot lower what is known.
    assert best_known.main([*common, "--time-limit", "0.05"]) == 0
    again = json.loads((tmp_path / "best-known-S.json").read_text())["instances"]["S-0"]
    assert again["covered_value"] >= first["covered_value"]
    assert solve_bench.main([*common, "--time-limit", "2"]) == 0
    [row] = json.loads((tmp_path / "solve-S.json").read_text())["instances"]
    assert row["below_best_known"] == pytest.approx(
        (again["covered_value"] - row["covered_value"]) / again["covered_value"]
    )
    assert "below best known %" in (tmp_path / "solve-S.md").read_text()


def test_spread_runs_each_instance_with_several_solver_seeds(tmp_path: Path) -> None:
    common = ["--sizes", "S", "--seeds", "1", "--out", str(tmp_path)]
    assert best_known.main([*common, "--time-limit", "2"]) == 0
    known = json.loads((tmp_path / "best-known-S.json").read_text())["instances"]["S-0"]["covered_value"]
    assert spread.main([*common, "--runs", "2", "--label", "test"]) == 0
    payload = json.loads((tmp_path / "spread-S.json").read_text())
    assert [row["solver_seed"] for row in payload["runs"]] == [0, 1]
    for row in payload["runs"]:
        assert row["below_best_known"] == pytest.approx((known - row["covered_value"]) / known)
    entry = payload["summary"]["S-0"]
    belows = [100 * row["below_best_known"] for row in payload["runs"]]
    assert entry["runs"] == 2
    assert entry["worst"] == pytest.approx(max(belows), abs=1e-3)
    assert entry["within"] == sum(1 for b in belows if b <= 2.0)
    assert "within 2 %" in (tmp_path / "spread-S.md").read_text()


def test_plots_draw_from_the_results(results: Path, tmp_path: Path) -> None:
    assert plots.main(["--results", str(results), "--out", str(tmp_path), "--value-size", "S"]) == 0
    assert (tmp_path / "latency-by-size.png").stat().st_size > 0
    assert (tmp_path / "value-over-time-S.png").stat().st_size > 0


def test_param_study_runs_grid_levers_and_region_lns(tmp_path: Path) -> None:
    configs = "engine solve(),CP-SAT per-size defaults,workers=2 lin=0,no greedy hint,region LNS"
    argv = ["--sizes", "S", "--seeds", "1", "--configs", configs, "--prove-limit", "3", "--out", str(tmp_path)]
    assert param_study.main(argv) == 0
    payload = json.loads((tmp_path / "params-S.json").read_text())
    values = {run["covered_value"] for run in payload["runs"] if run["proved"]}
    assert len(values) == 1  # every configuration that proves finds the same optimum
    assert payload["summary"]["best"] in configs.split(",")


def test_lns_levers_compare_configurations_on_the_same_instance(tmp_path: Path) -> None:
    """Two configurations on L-0 for a second each: one row per configuration and instance, every plan at
    least the greedy start, the table names both."""
    configs = ["engine from the dispatcher's greedy order", "without the whole model (as at XL)"]
    argv = ["--seeds", "1", "--level-time", "1", "--configs", ",".join(configs), "--out", str(tmp_path)]
    assert lns_levers.main(argv) == 0
    payload = json.loads((tmp_path / "lns-levers-L.json").read_text())
    assert [row["config"] for row in payload["rows"]] == configs
    start = load_instance("L", 0).problem
    plan = greedy(start)
    assert plan is not None
    floor = sum(start.slots[start.pairs[p].slot].value for p in plan.assigned) / start.value_scale
    assert all(row["covered_value"] >= floor - 0.01 for row in payload["rows"])
    assert all(row["bound"] >= row["covered_value"] for row in payload["rows"])
    table = (tmp_path / "lns-levers-L.md").read_text()
    assert all(name in table for name in configs)


def test_lns_levers_append_replaces_only_the_configurations_run_again(tmp_path: Path) -> None:
    """With --append a run keeps the other configurations' rows of the results file and replaces its own."""
    common = ["--seeds", "1", "--level-time", "0.5", "--out", str(tmp_path), "--append"]
    assert lns_levers.main([*common, "--configs", "engine"]) == 0
    assert lns_levers.main([*common, "--configs", "without the LP relaxation"]) == 0
    assert lns_levers.main([*common, "--configs", "engine"]) == 0
    rows = json.loads((tmp_path / "lns-levers-L.json").read_text())["rows"]
    assert [row["config"] for row in rows] == ["without the LP relaxation", "engine"]
    assert "without the LP relaxation" in (tmp_path / "lns-levers-L.md").read_text()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lp_relaxations_bound_the_optimum_and_lean_rows_only_loosen_them(seed: int) -> None:
    """The proven optimum of covered value is at most the LP relaxation of every row (HiGHS on the peer's
    model), which is at most that of the lean rows guiding the search: the rows lean leaves out hold for
    every plan, so leaving them out can only loosen the relaxation, never cut a plan off."""
    problem = load_instance("S", seed).problem
    model, variables = build_model(problem)
    model.maximize(cp_model.LinearExpr.weighted_sum(*covered_value_terms(problem, variables)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    assert solver.solve(model) == cp_model.OPTIMAL
    optimum = round(solver.objective_value)
    every_row = {"problem": problem, "time_limit_s": 0.0, "lp_time_limit_s": 60.0, "mip": False}
    full = peers.highs_child(every_row, timeout_s=600)["lp"]["bound"]
    lean = LpRelaxation(problem).solve(60.0)
    assert full is not None
    assert lean is not None
    assert optimum - 1e-6 <= full <= lean.bound


# --------------------------------------------------------------------------- measurements (skipped by default)

SEEDED = [("S", seed) for seed in range(10)] + [("M", seed) for seed in range(10)] + [("L", s) for s in range(3)]


@pytest.mark.benchmark
@pytest.mark.parametrize(("size", "seed"), SEEDED, ids=[f"{size}-{seed}" for size, seed in SEEDED])
def test_engine_on_seeded_instance(size: str, seed: int) -> None:
    """One seeded instance at its size's time limit; figures go to stdout (run with -s), no timing assertion."""
    instance = load_instance(size, seed)  # type: ignore[arg-type]
    row, result = solve_bench.run_cpsat(instance)
    print(json.dumps({k: v for k, v in row.items() if k != "trace"}))
    assert result.status in ("optimal", "feasible")
    assert result.covered_value <= result.value_bound


def test_results_page_fills_each_placeholder_from_its_table(tmp_path: Path) -> None:
    (tmp_path / "solve-S.md").write_text("### heading\n\n| a |\n|---|\n| 1 |\n", encoding="utf-8")
    page = results_page.render("# R\n\n@@solve-S@@\n\n@@missing@@\n", tmp_path)
    assert "| 1 |" in page
    assert "### heading" not in page
    assert "no results yet" in page
    assert "@@" not in page
