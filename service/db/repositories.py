"""Queries and state changes of requests, jobs, plans, idempotency keys and scenarios; callers own the transaction."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from service.db.base import utcnow
from service.db.models import ACTIVE_STATUSES, IdempotencyKey, Job, Scenario, ScenarioPlan, StoredPlan, StoredRequest

# Plan statuses of a solve that stopped before proving its answer.
CUT_SHORT = frozenset({"feasible", "unknown"})


def new_id() -> str:
    return str(uuid.uuid4())


def is_row_id(text: str) -> bool:
    """Whether `text` could be an id of ours (a canonical UUID); anything else is looked up nowhere."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _printable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a failure message may quote a request's strings.
    return text.replace("\x00", "\\x00")


class InvalidCursor(ValueError):
    """A page cursor that this service did not hand out."""


@dataclass(frozen=True)
class PageCursor:
    """Position after the last item of a page: the (created_at, id) of that item, newest-first order."""

    created_at: dt.datetime
    id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> PageCursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, sep, job_id = raw.partition("|")
            created_at = dt.datetime.fromisoformat(stamp)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise InvalidCursor(f"not a cursor from this service: {text!r}") from error
        if not sep or not is_row_id(job_id) or created_at.tzinfo is None:
            raise InvalidCursor(f"not a cursor from this service: {text!r}")
        return cls(created_at, job_id)


@dataclass(frozen=True)
class JobSummary:
    """One row of a plan list: the job and, when it produced one, its plan's headline figures."""

    job: Job
    plan_status: str | None
    cancelled: bool
    covered_value: float | None
    total_cost: float | None


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    tenant: str
    request_body: dict[str, Any]
    time_limit_s: float
    cancel_requested: bool
    attempts: int
    after_job_id: str | None = None


@dataclass(frozen=True)
class Recovery:
    """What start-up did with jobs an earlier process left unfinished. `waiting` maps a job whose
    predecessor (`after_job_id`) is itself requeued to that predecessor: it is queued but starts later."""

    requeued: list[str]
    failed: list[str]
    cancelled: list[str]
    waiting: dict[str, str] = field(default_factory=dict)


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # ------------------------------------------------------------------ creating

    def create(
        self,
        *,
        tenant: str,
        request_body: dict[str, Any],
        body_sha256: str,
        time_limit_s: float,
        idempotency_key: str | None = None,
        job_id: str | None = None,
        after_job_id: str | None = None,
    ) -> Job:
        """Store a request and its queued job (and the idempotency key); a reused key raises IntegrityError.
        With `after_job_id` the job starts only once that job has ended."""
        request = StoredRequest(id=new_id(), tenant=tenant, body=request_body, body_sha256=body_sha256)
        job = Job(
            id=job_id or new_id(),
            tenant=tenant,
            request_id=request.id,
            status="queued",
            time_limit_s=time_limit_s,
            cancel_requested=False,
            attempts=0,
            after_job_id=after_job_id,
        )
        self.session.add(request)
        self.session.flush()
        self.session.add(job)
        self.session.flush()
        if idempotency_key is not None:
            self.session.add(IdempotencyKey(tenant=tenant, key=idempotency_key, body_sha256=body_sha256, job_id=job.id))
            self.session.flush()
        return job

    def idempotency_key(self, tenant: str, key: str) -> IdempotencyKey | None:
        return self.session.get(IdempotencyKey, (tenant, key))

    # ------------------------------------------------------------------ reading

    def get(self, tenant: str, job_id: str, *, with_plan: bool = False, with_request: bool = False) -> Job | None:
        if not is_row_id(job_id):
            return None
        query = select(Job).where(Job.id == job_id, Job.tenant == tenant)
        if with_plan:
            query = query.options(selectinload(Job.plan))
        if with_request:
            query = query.options(selectinload(Job.request))
        return self.session.scalars(query).one_or_none()

    def many(self, tenant: str, job_ids: Sequence[str], *, with_plan: bool = False) -> dict[str, Job]:
        """The tenant's jobs among `job_ids`, by id (ids not found are absent)."""
        wanted = [job_id for job_id in job_ids if is_row_id(job_id)]
        if not wanted:
            return {}
        query = select(Job).where(Job.id.in_(wanted), Job.tenant == tenant)
        if with_plan:
            query = query.options(selectinload(Job.plan), selectinload(Job.request))
        return {job.id: job for job in self.session.scalars(query)}

    def get_any(self, job_id: str) -> Job | None:
        """A job whatever its tenant; for the job runner only, never for a client's request."""
        return self.session.get(Job, job_id)

    def active(self, tenant: str) -> Sequence[Job]:
        query = select(Job).where(Job.tenant == tenant, Job.status.in_(ACTIVE_STATUSES))
        return self.session.scalars(query).all()

    def page(self, tenant: str, limit: int, after: PageCursor | None = None) -> list[JobSummary]:
        """The tenant's jobs newest first, `limit` of them, starting after `after`."""
        query = (
            select(Job, StoredPlan.status, StoredPlan.cancelled, StoredPlan.covered_value, StoredPlan.total_cost)
            .outerjoin(StoredPlan, StoredPlan.id == Job.id)
            .where(Job.tenant == tenant)
            .order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                or_(Job.created_at < after.created_at, and_(Job.created_at == after.created_at, Job.id < after.id))
            )
        return [
            JobSummary(job, status, bool(cancelled), covered_value, total_cost)
            for job, status, cancelled, covered_value, total_cost in self.session.execute(query)
        ]

    # ------------------------------------------------------------------ the job runner's transitions

    def claim(self, job_id: str) -> ClaimedJob | None:
        """queued -> running, counting the attempt; None when the job is no longer queued."""
        job = self.session.scalars(
            select(Job).where(Job.id == job_id).options(selectinload(Job.request)).with_for_update()
        ).one_or_none()
        if job is None or job.status != "queued":
            return None
        job.status = "running"
        job.attempts += 1
        job.started_at = utcnow()
        job.detail = None
        return ClaimedJob(
            job.id,
            job.tenant,
            job.request.body,
            job.time_limit_s,
            job.cancel_requested,
            job.attempts,
            job.after_job_id,
        )

    def plan_body(self, job_id: str) -> dict[str, Any] | None:
        """The stored plan of a job, whatever its tenant (the job runner's own lookup), or None."""
        plan = self.session.get(StoredPlan, job_id)
        return plan.body if plan is not None else None

    def replace_request(self, job_id: str, body: dict[str, Any], body_sha256: str) -> None:
        """Store what a job is really solving, e.g. a variant's request once its warm start is known."""
        job = self.session.scalars(select(Job).where(Job.id == job_id).options(selectinload(Job.request))).one()
        job.request.body = body
        job.request.body_sha256 = body_sha256

    def finish(self, job_id: str, plan: dict[str, Any]) -> Job | None:
        """running -> done with its plan, marked cancelled when a cancel cut the solve short.

        A solve that proved its answer (optimal, infeasible) before the cancel took effect is reported as
        it is: the cancel changed nothing.
        """
        job = self._locked(job_id)
        if job is None or job.status != "running":
            return None
        plan = {**plan, "id": job.id}
        if job.cancel_requested and plan["status"] in CUT_SHORT:
            plan["cancelled"] = True
        objective = plan.get("objective") or {}
        self.session.add(
            StoredPlan(
                id=job.id,
                tenant=job.tenant,
                status=str(plan["status"]),
                cancelled=bool(plan.get("cancelled", False)),
                covered_value=float(objective.get("covered_value", 0.0)),
                total_cost=float(objective.get("total_cost", 0.0)),
                body=plan,
            )
        )
        job.status = "done"
        job.finished_at = utcnow()
        return job

    def fail(self, job_id: str, detail: str) -> Job | None:
        """running -> failed, or cancelled when a cancel was asked for (the job ends without a plan)."""
        job = self._locked(job_id)
        if job is None or job.status != "running":
            return None
        job.status = "cancelled" if job.cancel_requested else "failed"
        job.detail = _printable(detail)
        job.finished_at = utcnow()
        return job

    def requeue(self, job_id: str, *, uncount_attempt: bool) -> Job | None:
        """running -> queued, when the server stops before the solve could finish."""
        job = self._locked(job_id)
        if job is None or job.status != "running":
            return None
        job.status = "queued"
        job.started_at = None
        if uncount_attempt:
            job.attempts = max(0, job.attempts - 1)
        return job

    def cancel(self, tenant: str, job_id: str) -> tuple[Job, str] | None:
        """queued -> cancelled at once; running -> cancel_requested (the runner stops the solve).

        Returns the job and the status it had before, or None for an unknown id.
        """
        if not is_row_id(job_id):
            return None
        job = self.session.scalars(
            select(Job).where(Job.id == job_id, Job.tenant == tenant).with_for_update()
        ).one_or_none()
        if job is None:
            return None
        before = job.status
        if before == "queued":
            job.status = "cancelled"
            job.cancel_requested = True
            job.detail = "cancelled before the solve started"
            job.finished_at = utcnow()
        elif before == "running":
            job.cancel_requested = True
        return job, before

    def recover(self, max_attempts: int) -> Recovery:
        """Jobs a previous process left queued or running: run again, or end them with a reason."""
        jobs = self.session.scalars(
            select(Job).where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.created_at, Job.id).with_for_update()
        ).all()
        recovery = Recovery([], [], [])
        now = utcnow()
        for job in jobs:
            if job.status == "running" and job.cancel_requested:
                job.status, job.finished_at = "cancelled", now
                job.detail = "cancelled; the server stopped before the solve did, so no plan was kept"
                recovery.cancelled.append(job.id)
            elif job.status == "running" and job.attempts >= max_attempts:
                job.status, job.finished_at = "failed", now
                job.detail = (
                    f"the server stopped during each of {job.attempts} attempts to solve this request; "
                    "it is not tried again"
                )
                recovery.failed.append(job.id)
            else:
                job.status, job.started_at = "queued", None
                recovery.requeued.append(job.id)
        requeued = set(recovery.requeued)
        for job in jobs:
            if job.id in requeued and job.after_job_id in requeued:
                recovery.waiting[job.id] = job.after_job_id
        return recovery

    def _locked(self, job_id: str) -> Job | None:
        return self.session.scalars(select(Job).where(Job.id == job_id).with_for_update()).one_or_none()


class ScenarioRepository:
    """Scenarios and the jobs of their base (position 0) and variants (position i + 1)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, *, tenant: str, name: str, body: dict[str, Any], plan_ids: Sequence[str], variant_names: Sequence[str]
    ) -> Scenario:
        """Store a pending scenario linked to its jobs: `plan_ids[0]` solves the base, the others the variants."""
        if len(plan_ids) != len(variant_names) + 1:
            raise ValueError(f"{len(plan_ids)} jobs for a base and {len(variant_names)} variants")
        scenario = Scenario(id=new_id(), tenant=tenant, name=name, body=body, status="pending")
        scenario.plans = [
            ScenarioPlan(position=position, variant=None if position == 0 else variant_names[position - 1], plan_id=p)
            for position, p in enumerate(plan_ids)
        ]
        self.session.add(scenario)
        self.session.flush()
        return scenario

    def get(self, tenant: str, scenario_id: str) -> Scenario | None:
        if not is_row_id(scenario_id):
            return None
        query = (
            select(Scenario)
            .where(Scenario.id == scenario_id, Scenario.tenant == tenant)
            .options(selectinload(Scenario.plans))
        )
        return self.session.scalars(query).one_or_none()

    def pending(self) -> list[tuple[str, str]]:
        """(tenant, id) of every scenario not yet compared, whatever its tenant; for start-up only."""
        query = select(Scenario.tenant, Scenario.id).where(Scenario.status == "pending").order_by(Scenario.created_at)
        return [(tenant, scenario_id) for tenant, scenario_id in self.session.execute(query)]

    def page(self, tenant: str, limit: int, after: PageCursor | None = None) -> list[Scenario]:
        """The tenant's scenarios newest first (with their plan links), `limit` of them, after `after`."""
        query = (
            select(Scenario)
            .where(Scenario.tenant == tenant)
            .options(selectinload(Scenario.plans))
            .order_by(Scenario.created_at.desc(), Scenario.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(
                or_(
                    Scenario.created_at < after.created_at,
                    and_(Scenario.created_at == after.created_at, Scenario.id < after.id),
                )
            )
        return list(self.session.scalars(query))

    def sides(self, plan_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """(job status, plan status or None, job detail) by job id: where each side of a scenario is."""
        if not plan_ids:
            return {}
        query = (
            select(Job.id, Job.status, StoredPlan.status, Job.detail)
            .outerjoin(StoredPlan, StoredPlan.id == Job.id)
            .where(Job.id.in_(list(plan_ids)))
        )
        rows = self.session.execute(query)
        return {job_id: (status, plan_status, detail) for job_id, status, plan_status, detail in rows}

    def settle(self, scenario_id: str, *, result: dict[str, Any] | None, detail: str | None) -> bool:
        """pending -> done with its comparison (`result`), or failed with `detail`; False if already settled."""
        scenario = self.session.scalars(
            select(Scenario).where(Scenario.id == scenario_id).with_for_update()
        ).one_or_none()
        if scenario is None or scenario.status != "pending":
            return False
        scenario.status = "done" if result is not None else "failed"
        scenario.result = result
        scenario.detail = None if detail is None else _printable(detail)
        scenario.finished_at = utcnow()
        return True
