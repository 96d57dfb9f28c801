"""The plan so far (service/progress.py): what the sink gets is a valid plan of the request, the latest one
found, no more often than the interval allows, and nothing once the report is closed; make_plan reports
while CP-SAT or the large-neighbourhood search runs."""

from __future__ import annotations

import json
import threading
import time
from functools import cache
from typing import Any

from service.contract import AllocationRequest, Plan
from service.planning import make_plan
from service.progress import Found, PlanSoFar
from service.solver.greedy import Solution
from service.solver.solve import Incumbent
from tests.api.workload import busy_request, small_request, wait_for
from tests.checker import check_plan

HOUR_S = 3600.0


class Sink:
    """Collects the documents a PlanSoFar sends, from its thread."""

    def __init__(self) -> None:
        self.documents: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, document: str) -> None:
        with self._lock:
            self.documents.append(json.loads(document))

    def count(self) -> int:
        with self._lock:
            return len(self.documents)


@cache
def small_plan() -> Plan:
    return make_plan(AllocationRequest.model_validate(small_request()))


def numbered_plans(built: list[Found]) -> Any:
    """A `build` that records what it was given and returns a plan whose covered value is its number."""

    def build(found: Found) -> Plan:
        built.append(found)
        plan = small_plan()
        objective = plan.objective.model_copy(update={"covered_value": float(found.improvements)})
        return plan.model_copy(update={"objective": objective})

    return build


def incumbent(number: int) -> Incumbent:
    return Incumbent("covered_value", 100, lambda: Solution(assigned=(number,), leads=()))


def test_only_the_latest_plan_is_built_and_not_more_often_than_the_interval() -> None:
    built: list[Found] = []
    sink = Sink()
    # The first report is due at once (the solve "began" two hours ago); the next only an hour after it.
    so_far = PlanSoFar(numbered_plans(built), sink, started=time.perf_counter() - 2 * HOUR_S, interval_s=HOUR_S)
    so_far.found(incumbent(1))
    wait_for(lambda: sink.count() or None, timeout_s=30, what="the first report")
    for number in range(2, 50):
        so_far.found(incumbent(number))
    so_far.close()
    assert sink.count() == 1
    (document,) = sink.documents
    assert document["phase"] == "covered_value"
    assert document["improvements"] == 1
    assert document["plan"]["objective"]["covered_value"] == 1.0
    assert len(built) == 1


def test_the_latest_plan_found_is_reported_and_nothing_after_close() -> None:
    built: list[Found] = []
    sink = Sink()
    so_far = PlanSoFar(numbered_plans(built), sink, started=time.perf_counter() - HOUR_S, interval_s=0.0)
    for number in range(1, 20):
        so_far.found(incumbent(number))
    latest = wait_for(
        lambda: sink.documents[-1] if sink.count() and sink.documents[-1]["improvements"] == 19 else None,
        timeout_s=30,
        what="the latest plan to be reported",
    )
    assert latest["plan"]["objective"]["covered_value"] == 19.0
    reported = [document["improvements"] for document in sink.documents]
    assert reported == sorted(set(reported)), "each report is newer than the one before"
    so_far.close()
    so_far.found(incumbent(20))
    count = sink.count()
    so_far.close()
    assert sink.count() == count
    assert all(found.solution.assigned != (20,) for found in built)


def test_make_plan_reports_valid_plans_of_the_request_while_it_searches() -> None:
    """An M request with a few seconds: the greedy plan first, then the search's, each a plan a client can
    use (every hard rule kept, figures consistent), none better than the final plan."""
    request_document = busy_request(time_limit_s=4.0)
    request = AllocationRequest.model_validate(request_document)
    sink = Sink()
    final = make_plan(request, on_progress=sink)
    assert sink.documents, "a search of four seconds reports its plan so far"
    for document in sink.documents:
        plan = document["plan"]
        assert plan["status"] == "feasible"
        assert check_plan(request_document, plan).violations == []
        objective = plan["objective"]
        assert objective["bound"] >= objective["covered_value"]
        assert objective["covered_value"] <= final.objective.covered_value + 0.01
    phases = [document["phase"] for document in sink.documents]
    assert set(phases) <= {"first_plan", "covered_value", "changes", "total_cost", "kept_warm_start"}
    values = [document["plan"]["objective"]["covered_value"] for document in sink.documents]
    assert values == sorted(values), "covered value never goes down while the search runs"
