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
