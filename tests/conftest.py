"""Suite-wide settings: the hypothesis profiles, and the grouping that parallel runs (pytest-xdist) need.

Hypothesis profiles, chosen by HYPOTHESIS_PROFILE:

- "dev", the default outside CI: properties run a quarter of their examples (tests/budget.py), at least
  10 and at most 25 for a property that states no count, each run drawing fresh ones;
- "ci", the default when CI=true (hypothesis's own CI profile): every property at full strength,
  derandomized, so that a CI failure reproduces;
- "full": full strength with fresh random examples, for a thorough local run.

Parallel runs: pyproject's addopts start one pytest-xdist worker per core with `--dist loadgroup`. Each
worker has its own temporary folders, SQLite files and PostgreSQL schema (tests/db/targets.py), its own
solver pool and free loopback ports. Tests of one module that share an expensive module-scoped fixture
(a real server and Chromium in each browser test module) are kept on one worker by an xdist group per
module, so that each module's fixture starts once instead of once per worker. A test marked `alone`
(one that measures wall-clock time) runs while no other worker runs a test: see `one_at_a_time`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=25)
settings.register_profile("full", settings.get_profile("default"))
# Hypothesis itself loads "ci" when it detects CI (CI=true); HYPOTHESIS_PROFILE overrides either way.
# Loaded here, before any test module is imported, so that tests/budget.py sees it at decoration time.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or settings.get_current_profile_name())
if settings.get_current_profile_name() == "default":
    settings.load_profile("dev")

# Folders whose test modules share module-scoped fixtures too costly to start once per worker.
ONE_WORKER_PER_MODULE = ("browser",)


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {settings.get_current_profile_name()} (HYPOTHESIS_PROFILE=dev|ci|full)"


@pytest.hookimpl(tryfirst=True)  # before xdist's worker names the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name
        if folder in ONE_WORKER_PER_MODULE and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"{folder}/{item.path.stem}"))


@pytest.fixture(autouse=True)
def one_at_a_time(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist, a test marked `alone` runs while no other worker runs a test.

    Two locks in the folder the run's workers share: every test holds `tests.lock` shared while it runs
    and passes through `alone.gate` before it starts; an `alone` test holds the gate, so that no other
    test starts, then waits for `tests.lock` alone, that is for the tests running elsewhere to end.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    shared = tmp_path_factory.getbasetemp().parent
    alone = request.node.get_closest_marker("alone") is not None
    with open(shared / "alone.gate", "a") as gate, open(shared / "tests.lock", "a") as tests:
        fcntl.flock(gate, fcntl.LOCK_EX)
        if not alone:
            fcntl.flock(gate, fcntl.LOCK_UN)
        fcntl.flock(tests, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(gate, fcntl.LOCK_UN)
