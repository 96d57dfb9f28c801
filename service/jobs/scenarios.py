"""What-if scenarios as jobs: the base and every variant queued together, compared once all have ended.

Each side of a scenario is an ordinary job, so its plan is stored, listed, readable at `/v1/plans/{id}`
and survives a restart like any other. The scenario row links them; once every job has ended the
comparison (`service.whatif.assemble`) is computed from the stored requests and plans and kept with it.
Settling is idempotent and runs from whichever comes first: the watcher started at submission or at
start-up, a synchronous POST, or a GET.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from service.contract import AllocationRequest, Plan
from service.db.models import Job, Scenario
from service.db.repositories import JobRepository, PageCursor, ScenarioRepository
from service.jobs.runner import JobRunner
from service.whatif import ScenarioRequest, assemble, kpis_of, variant_requests

log = structlog.get_logger(__name__)

T = TypeVar("T")

PENDING_JOB = frozenset({"queued", "running"})


@dataclass(frozen=True)
class Side:
    """The base or one variant of a scenario: its job (plan id) and where that job is."""

    position: int  # 0 the base, i + 1 the variant variants[i]
    variant: str | None
    plan_id: str
    status: str  # the plan's status, or the job's while it has no plan
    detail: str | None


@dataclass(frozen=True)
class ScenarioView:
    """What a client may see of a scenario."""

    id: str
    name: str
    status: str  # queued | running | done | failed
    detail: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    body: dict[str, Any]
    sides: list[Side]
    result: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def _sides(scenario: Scenario, states: dict[str, tuple[str, str | None, str | None]]) -> list[Side]:
    found = []
    for link in scenario.plans:
        job_status, plan_status, detail = states.get(link.plan_id, ("failed", None, "the job is missing"))
        found.append(Side(link.position, link.variant, link.plan_id, plan_status or job_status, detail))
    return found


def _view(scenario: Scenario, states: dict[str, tuple[str, str | None, str | None]]) -> ScenarioView:
    sides = _sides(scenario, states)
    status = scenario.status
    if status == "pending":
        status = "queued" if all(side.status == "queued" for side in sides) else "running"
    return ScenarioView(
        id=scenario.id,
        name=scenario.name,
        status=status,
        detail=scenario.detail,
        created_at=scenario.created_at,
        finished_at=scenario.finished_at,
        body=scenario.body,
        sides=sides,
        result=scenario.result,
    )


def _side_name(position: int, variant: str | None) -> str:
    return "the base" if position == 0 else f"variant {variant!r} (variants[{position - 1}])"


def compare_jobs(scenario: Scenario, jobs: dict[str, Job]) -> tuple[dict[str, Any] | None, str | None] | None:
    """The comparison of a scenario whose jobs have all ended, or why there is none; None while one runs.

    `jobs` hold their plans and requests. Each variant is compared with the base using the request its
    job solved, which is exactly `apply_changes(base, changes)`.
    """
    links = scenario.plans
    if any(jobs[link.plan_id].status in PENDING_JOB for link in links):
        return None
    missing = [link for link in links if jobs[link.plan_id].plan is None]
    if missing:
        reasons = "; ".join(
            f"{_side_name(link.position, link.variant)} ended {jobs[link.plan_id].status} without a plan"
            + (f": {jobs[link.plan_id].detail}" if jobs[link.plan_id].detail else "")
            for link in missing
        )
        return None, f"no comparison: {reasons}"
    request = ScenarioRequest.model_validate(scenario.body)
    plans = [Plan.model_validate(jobs[link.plan_id].plan.body) for link in links]  # type: ignore[union-attr]
    requests = [AllocationRequest.model_validate(jobs[link.plan_id].request.body) for link in links[1:]]
    result = assemble(request, requests, plans[0], plans[1:])
    return {
        "base": kpis_of(result.base_plan).model_dump(mode="json"),
        "variants": [outcome.comparison.model_dump(mode="json", exclude={"base"}) for outcome in result.variants],
    }, None


class ScenarioRunner:
    """Submits scenarios through the job runner and settles them when their jobs have ended."""

    def __init__(self, sessions: sessionmaker[Session], runner: JobRunner) -> None:
        self._sessions = sessions
        self._runner = runner
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._settling = asyncio.Lock()  # one comparison at a time: each takes well under a second

    async def start(self) -> None:
        """Watch every scenario an earlier process left pending (its jobs were requeued by the job runner)."""
        for tenant, scenario_id in await self._db(lambda repo: repo.pending()):
            self._watch(tenant, scenario_id)

    async def stop(self) -> None:
        for task in self._watchers.values():
            task.cancel()
        await asyncio.gather(*self._watchers.values(), return_exceptions=True)
        self._watchers.clear()

    async def submit(self, tenant: str, scenario: ScenarioRequest) -> ScenarioView:
        """Queue the base and every variant (raises InvalidRequest for a variant that cannot be built)."""
        requests = await to_thread.run_sync(variant_requests, scenario)
        body = await to_thread.run_sync(lambda: scenario.model_dump(mode="json"))
        names = [variant.name for variant in scenario.variants]

        def record(session: Session, job_ids: list[str]) -> str:
            created = ScenarioRepository(session).create(
                tenant=tenant, name=scenario.name, body=body, plan_ids=job_ids, variant_names=names
            )
            return created.id

        _, scenario_id = await self._runner.submit_group(
            tenant, [scenario.base, *requests], record, warm_start_from_first=True
        )
        log.info("scenario.queued", scenario_id=scenario_id, tenant=tenant, variants=len(names))
        self._watch(tenant, scenario_id)
        view = await self.view(tenant, scenario_id)
        assert view is not None
        return view

    async def view(self, tenant: str, scenario_id: str) -> ScenarioView | None:
        def read(repo: ScenarioRepository) -> ScenarioView | None:
            scenario = repo.get(tenant, scenario_id)
            if scenario is None:
                return None
            return _view(scenario, repo.sides([link.plan_id for link in scenario.plans]))

        return await self._db(read)

    async def current(self, tenant: str, scenario_id: str) -> ScenarioView | None:
        """The scenario as it is, settled first if its jobs have all ended."""
        view = await self.view(tenant, scenario_id)
        if view is not None and not view.finished and all(s.status not in PENDING_JOB for s in view.sides):
            await self.settle(tenant, scenario_id)
            view = await self.view(tenant, scenario_id)
        return view

    async def wait(self, tenant: str, scenario_id: str) -> ScenarioView | None:
        """The scenario once settled (or as it is when the server stops first)."""
        view = await self.view(tenant, scenario_id)
        if view is None or view.finished:
            return view
        await asyncio.gather(*(self._runner.wait(tenant, side.plan_id) for side in view.sides))
        await self.settle(tenant, scenario_id)
        return await self.view(tenant, scenario_id)

    async def page(self, tenant: str, limit: int, after: PageCursor | None) -> list[ScenarioView]:
        def read(repo: ScenarioRepository) -> list[ScenarioView]:
            scenarios = repo.page(tenant, limit, after)
            pending = [link.plan_id for s in scenarios if s.status == "pending" for link in s.plans]
            states = repo.sides(pending)
            return [_view(s, states) for s in scenarios]

        return await self._db(read)

    async def settle(self, tenant: str, scenario_id: str) -> None:
        """Compare and store, once every job has ended; a no-op while one runs or once settled."""
        async with self._settling:
            await to_thread.run_sync(self._settle, tenant, scenario_id)

    def _settle(self, tenant: str, scenario_id: str) -> None:
        with self._sessions() as session:
            repo = ScenarioRepository(session)
            scenario = repo.get(tenant, scenario_id)
            if scenario is None or scenario.status != "pending":
                return
            jobs = JobRepository(session).many(tenant, [link.plan_id for link in scenario.plans], with_plan=True)
            try:
                settled = compare_jobs(scenario, jobs)
            except Exception as error:  # a bug in comparing must not leave the scenario pending forever
                log.exception("scenario.compare_failed", scenario_id=scenario_id)
                settled = None, f"the comparison failed: {type(error).__name__}: {error}"
        if settled is None:
            return
        result, detail = settled
        with self._sessions.begin() as session:
            if ScenarioRepository(session).settle(scenario_id, result=result, detail=detail):
                log.info("scenario.settled", scenario_id=scenario_id, status="done" if result else "failed")

    def _watch(self, tenant: str, scenario_id: str) -> None:
        async def watch() -> None:
            try:
                await self.wait(tenant, scenario_id)
            except Exception:
                log.exception("scenario.watch_failed", scenario_id=scenario_id)
            finally:
                self._watchers.pop(scenario_id, None)

        if scenario_id not in self._watchers:
            self._watchers[scenario_id] = asyncio.create_task(watch(), name=f"scenario-{scenario_id}")

    async def _db(self, work: Callable[[ScenarioRepository], T]) -> T:
        def run() -> T:
            with self._sessions.begin() as session:
                return work(ScenarioRepository(session))

        return await to_thread.run_sync(run)


__all__ = ["ScenarioRunner", "ScenarioView", "Side", "compare_jobs"]
