"""The runtime package stands alone: nothing under service/ imports the benchmarks or the tests."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "service"
OUTSIDE = ("benchmarks", "tests")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (function-level imports included), with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            found.append((node.lineno, node.module))
    return found


def test_the_scan_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import json\n\ndef f():\n    from benchmarks.generator import generate\n")
    assert imported_modules(sample) == [(1, "json"), (4, "benchmarks.generator")]


def test_service_imports_no_benchmark_or_test_code() -> None:
    files = sorted(SERVICE.rglob("*.py"))
    assert len(files) > 20  # the scan looks at the real package
    offending = [
        f"{path.relative_to(SERVICE.parent)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.split(".")[0] in OUTSIDE
    ]
    assert offending == []


def called_names(path: Path, *, passed: bool = False) -> set[str]:
    """The names a file calls: `f(...)` and `anything.f(...)` both give `f`; with `passed`, also the names
    handed to a call as arguments (`partial(f, ...)`, `executor.submit(f, ...)`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        for target in [node.func, *(node.args if passed else [])]:
            if isinstance(target, ast.Name):
                found.add(target.id)
            elif isinstance(target, ast.Attribute):
                found.add(target.attr)
    return found


def modules_calling(names: set[str], *, importing: str | None = None, passed: bool = False) -> set[str]:
    """The service's modules that call any of `names` (those that import `importing`, when given)."""
    found = set()
    for path in sorted(SERVICE.rglob("*.py")):
        if importing is not None and importing not in {module for _, module in imported_modules(path)}:
            continue
        if called_names(path, passed=passed) & names:
            found.add(str(path.relative_to(SERVICE.parent)))
    return found


def test_the_request_to_plan_path_exists_once() -> None:
    """A stored request becomes a stored plan in one place for every executor and every kind of job (plans,
    a scenario's sides, a recommendation's hidden solves): service/jobs/attempt.py claims the attempt,
    builds its solve input and records the outcome behind the attempt's fence; the planner itself runs in
    one function (service/jobs/pool.py's solve_here, in a local solver process, a Celery worker, or the API
    process for a small synchronous request, whose job attempt.py stores in one transaction). A
    second path, e.g. an executor that stores plans or calls the planner itself, fails here."""
    attempt_transitions = {"claim", "finish", "fail", "requeue", "save_progress"}
    assert modules_calling(attempt_transitions, importing="service.db.repositories") == {"service/jobs/attempt.py"}
    assert modules_calling({"run_attempt"}, passed=True) == {"service/jobs/local.py", "service/jobs/worker.py"}
    # The planner by name: the CLI's one-off solve (nothing stored), and the one solve of the executors.
    assert modules_calling({"make_plan", "solve_json"}) == {"service/cli.py", "service/jobs/pool.py"}
    # ...run in a solver process of the local pool, a Celery worker, or an API process (a small inline solve).
    assert modules_calling({"solve_here"}, passed=True) == {
        "service/jobs/pool.py",
        "service/jobs/worker.py",
        "service/jobs/runner.py",
    }


def test_the_path_check_sees_a_second_path(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import service.planning\n\ndef f(r, pool):\n    pool.submit(g, r)\n    return service.planning.make_plan(r)\n"
    )
    assert "make_plan" in called_names(sample)
    assert "g" not in called_names(sample)
    assert "g" in called_names(sample, passed=True)
