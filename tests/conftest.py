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
(a real server and Chromium in each browser test module, the clusters of tests/distributed/test_cluster.py
and test_hosts.py) are kept on one worker (`ModuleGroups`), so that the fixture starts once, not once per worker.
A test marked `alone` (one that measures wall-clock time) runs while no other worker runs a test: see
`one_at_a_time`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from xdist.scheduler import LoadGroupScheduling

settings.register_profile("dev", max_examples=25)
settings.register_profile("full", settings.get_profile("default"))
# Hypothesis itself loads "ci" when it detects CI (CI=true); HYPOTHESIS_PROFILE overrides either way.
# Loaded here, before any test module is imported, so that tests/budget.py sees it at decoration time.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or settings.get_current_profile_name())
if settings.get_current_profile_name() == "default":
    settings.load_profile("dev")

# Test modules (or folders of them) whose tests share a module-scoped fixture too costly to start once per
# worker: a real server and Chromium, a cluster of API processes and Celery workers.
ONE_WORKER_PER_MODULE = (
    "tests/browser/",
    "tests/distributed/test_cluster.py",
    "tests/distributed/test_suites.py",
    "tests/distributed/test_hosts.py",
)


class ModuleGroups(LoadGroupScheduling):
    """`--dist loadgroup`, with each module of ONE_WORKER_PER_MODULE as one group.

    Groups are told by node id, since pytest-xdist's own `xdist_group` mark has no effect on pytest 9.2:
    it renames `item._nodeid`, which structured node ids no longer read (pytest-xdist issue 1386), and the
    tests are then spread as if unmarked. A mark that starts working again is still honoured.
    """

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::")[0]
        return module if module.startswith(ONE_WORKER_PER_MODULE) else super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadGroupScheduling | None:
    return ModuleGroups(config, log) if config.getvalue("dist") == "loadgroup" else None


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {settings.get_current_profile_name()} (HYPOTHESIS_PROFILE=dev|ci|full)"


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
