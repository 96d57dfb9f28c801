"""Queries and state changes of requests, jobs, plans, idempotency keys and scenarios; callers own the transaction."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Text, and_, case, cast, delete, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased, joinedload, selectinload, undefer

from service.db.base import utcnow
from service.db.models import ACTIVE_STATUSES, IdempotencyKey, Job, Scenario, ScenarioPlan, StoredPlan, StoredRequest

# Plan statuses of a solve that stopped before proving its answer.
CUT_SHORT = frozenset({"feasible", "unknown"})
# PostgreSQL NOTIFY channel of ended jobs; the payload is "<schema> <job id>" (service/jobs/listener.py).
JOB_ENDED_CHANNEL = "presales_job_ended"


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
    hidden: bool = False


# What a claim found: `claimed` (this attempt runs the job); `held` (another attempt holds a live lease on
# it); `waiting` (its predecessor has not ended); `closed` (the claim ended the job without a new attempt:
# too many attempts, or a cancel nobody can honour any more); `ended` (nothing left to do).
ClaimKind = Literal["claimed", "held", "waiting", "closed", "ended"]


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    job: ClaimedJob | None = None
    lease_left_s: float = 0.0  # `held`: how long the other attempt's lease still runs
    status: str | None = None  # `closed`: the status the job ended with


@dataclass(frozen=True)
class QueuedJob:
    """What an executor needs to hand a queued job to a solver: no request, only where to find it."""

    id: str
    time_limit_s: float
    request_bytes: int | None


@dataclass(frozen=True)
class Recovery:
    """What start-up did with jobs an earlier process left unfinished. `waiting` maps a job whose
    predecessor (`after_job_id`) is itself requeued to that predecessor: it is queued but starts later."""

    requeued: list[str]
    failed: list[str]
    cancelled: list[str]
    waiting: dict[str, str] = field(default_factory=dict)


def _tenant_lock_key(tenant: str) -> int:
    """A signed 64-bit advisory lock key of its own for each tenant's cap."""
    digest = hashlib.sha256(f"presales-allocator tenant cap:{tenant}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _queued(job: Job) -> QueuedJob:
    return QueuedJob(job.id, job.time_limit_s, job.request_bytes)


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
        request_bytes: int | None = None,
        hidden: bool = False,
        group_id: str | None = None,
        workspace_revision: int | None = None,
        started_at: dt.datetime | None = None,
    ) -> Job:
        """Store a request and its queued job (and the idempotency key); a reused key raises IntegrityError.
        With `after_job_id` the job starts only once that job has ended. A `hidden` job is the service's own
        solve (a recommendation's, `group_id` naming it): never listed, counted once per group. With
        `started_at` the job is stored running its first attempt, solved already, for finish() to end in the
        same transaction (the API process's inline solve)."""
        request = StoredRequest(id=new_id(), tenant=tenant, body=request_body, body_sha256=body_sha256)
        job = Job(
            id=job_id or new_id(),
            tenant=tenant,
            request_id=request.id,
            status="queued" if started_at is None else "running",
            started_at=started_at,
            time_limit_s=time_limit_s,
            cancel_requested=False,
            attempts=0 if started_at is None else 1,
            after_job_id=after_job_id,
            request_bytes=request_bytes,
            hidden=hidden,
            group_id=group_id,
            workspace_revision=workspace_revision,
        )
        self.session.add_all([request, job])
        self.session.flush()  # the request before the job (their relationship orders them)
        if idempotency_key is not None:
            # No relationship orders the key after its job: a flush of its own.
            self.session.add(IdempotencyKey(tenant=tenant, key=idempotency_key, body_sha256=body_sha256, job_id=job.id))
            self.session.flush()
        return job

    def idempotency_key(self, tenant: str, key: str) -> IdempotencyKey | None:
        return self.session.get(IdempotencyKey, (tenant, key))

    def lock_tenant(self, tenant: str) -> None:
        """Until the transaction ends, be the only one counting and adding this tenant's jobs, across every
        process on the database: a PostgreSQL advisory transaction lock. SQLite needs none: every
        transaction takes the write lock when it begins (service/db/engine.py)."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _tenant_lock_key(tenant)})

    # ------------------------------------------------------------------ reading

    def get(self, tenant: str, job_id: str, *, with_plan: bool = False, with_request: bool = False) -> Job | None:
        if not is_row_id(job_id):
            return None
        query = select(Job).where(Job.id == job_id, Job.tenant == tenant, Job.hidden.is_(False))
        # One row each: joined in the same query (a waiting request reads its job this way, often).
        if with_plan:
            query = query.options(joinedload(Job.plan), undefer(Job.progress))
        if with_request:
            query = query.options(joinedload(Job.request))
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

    def get_any(self, job_id: str, *, with_plan: bool = False) -> Job | None:
        """A job whatever its tenant; for the job runner only, never for a client's request."""
        if not with_plan:
            return self.session.get(Job, job_id)
        query = select(Job).where(Job.id == job_id).options(joinedload(Job.plan))
        return self.session.scalars(query).one_or_none()

    def active(self, tenant: str) -> Sequence[Job]:
        """The tenant's queued and running jobs, hidden ones aside (they count by group: active_groups)."""
        query = select(Job).where(Job.tenant == tenant, Job.status.in_(ACTIVE_STATUSES), Job.hidden.is_(False))
        return self.session.scalars(query).all()

    def active_count(self, tenant: str) -> int:
        """How many of the tenant's jobs `active` would return, counted by the database."""
        query = select(func.count()).where(Job.tenant == tenant, Job.status.in_(ACTIVE_STATUSES), Job.hidden.is_(False))
        return int(self.session.scalar(query) or 0)

    def active_groups(self, tenant: str) -> set[str]:
        """The groups (recommendations) of the tenant's queued or running hidden jobs."""
        query = (
            select(Job.group_id)
            .where(Job.tenant == tenant, Job.status.in_(ACTIVE_STATUSES), Job.hidden.is_(True))
            .distinct()
        )
        return {group for group in self.session.scalars(query) if group is not None}

    def page(self, tenant: str, limit: int, after: PageCursor | None = None) -> list[JobSummary]:
        """The tenant's jobs newest first, `limit` of them, starting after `after`."""
        query = (
            select(Job, StoredPlan.status, StoredPlan.cancelled, StoredPlan.covered_value, StoredPlan.total_cost)
            .outerjoin(StoredPlan, StoredPlan.id == Job.id)
            .where(Job.tenant == tenant, Job.hidden.is_(False))
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

    def claim(
        self,
        job_id: str,
        *,
        lease_s: float | None = None,
        max_attempts: int | None = None,
        now: dt.datetime | None = None,
    ) -> Claim:
        """Start an attempt: queued -> running, or a running job whose lease has run out (the attempt that
        held it is gone) taken over; either way the attempt is counted and holds the job for `lease_s`.
        Without `lease_s` (the local pool: one process runs every job) only a queued job is claimed.

        A job whose predecessor is still queued or running is left alone (`waiting`). A stale job that has
        had `max_attempts` attempts, or whose cancel nobody honoured, is ended here (`closed`).
        """
        now = now or utcnow()
        job = self.session.scalars(
            select(Job).where(Job.id == job_id).options(joinedload(Job.request)).with_for_update(of=Job)
        ).one_or_none()
        if job is None:
            return Claim("ended")
        if job.status == "queued":
            if job.after_job_id is not None:
                before = self.session.get(Job, job.after_job_id)
                if before is not None and before.status in ACTIVE_STATUSES:
                    return Claim("waiting")
        elif job.status == "running":
            if lease_s is None:
                return Claim("held")  # without leases (one process runs every job) nothing is taken over
            if job.lease_expires_at is not None and job.lease_expires_at > now:
                return Claim("held", lease_left_s=(job.lease_expires_at - now).total_seconds())
            if job.cancel_requested:
                job.status, job.finished_at, job.lease_expires_at = "cancelled", now, None
                job.progress = job.progress_at = None
                job.detail = "cancelled; the worker solving it was lost before the solve stopped, so no plan was kept"
                self._announce_end(job.id)
                return Claim("closed", status=job.status)
            if max_attempts is not None and job.attempts >= max_attempts:
                job.status, job.finished_at, job.lease_expires_at = "failed", now, None
                job.progress = job.progress_at = None
                job.detail = (
                    f"the worker solving this request was lost during each of {job.attempts} attempts; "
                    "it is not tried again"
                )
                self._announce_end(job.id)
                return Claim("closed", status=job.status)
        else:
            return Claim("ended")
        job.status = "running"
        job.attempts += 1
        job.started_at = now
        job.detail = None
        job.progress = job.progress_at = None  # an attempt taking over starts with no plan of its own
        job.lease_expires_at = None if lease_s is None else now + dt.timedelta(seconds=lease_s)
        return Claim(
            "claimed",
            ClaimedJob(
                job.id,
                job.tenant,
                job.request.body,
                job.time_limit_s,
                job.cancel_requested,
                job.attempts,
                job.after_job_id,
                job.hidden,
            ),
        )

    def renew(self, job_id: str, attempt: int, lease_s: float, now: dt.datetime | None = None) -> bool | None:
        """Extend attempt `attempt`'s lease; whether a cancel was asked for, or None when the attempt no
        longer holds the job (a newer attempt took it over, or it has ended)."""
        now = now or utcnow()
        row = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == "running")
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_s))
            .returning(Job.cancel_requested)
            .execution_options(synchronize_session="fetch")
        ).first()
        return None if row is None else bool(row[0])

    def save_progress(self, job_id: str, attempt: int, document: str, now: dt.datetime | None = None) -> bool:
        """Store attempt `attempt`'s plan so far (a JSON document, stored as it is: a large plan is neither
        decoded nor encoded again here) and when, if that attempt still runs the job (the same fence as its
        result); False when refused."""
        row = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == "running")
            .values(progress=self._json_text(document), progress_at=now or utcnow())
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        ).first()
        return row is not None

    def _json_text(self, document: str) -> ColumnElement[Any]:
        """An encoded JSON document as a value of a JSON column (PostgreSQL's `json` takes it by a cast)."""
        value = literal(document, Text)
        if self.session.get_bind().dialect.name == "postgresql":
            return cast(value, postgresql.JSON)
        return value

    def plan_body(self, job_id: str) -> dict[str, Any] | None:
        """The stored plan of a job, whatever its tenant (the job runner's own lookup), or None."""
        plan = self.session.get(StoredPlan, job_id)
        return plan.body if plan is not None else None

    def replace_request(self, job_id: str, body: dict[str, Any], body_sha256: str) -> None:
        """Store what a job is really solving, e.g. a variant's request once its warm start is known."""
        job = self.session.scalars(select(Job).where(Job.id == job_id).options(selectinload(Job.request))).one()
        job.request.body = body
        job.request.body_sha256 = body_sha256

    def _end_attempt(self, job_id: str, attempt: int, **values: Any) -> Any:
        """The fence: change the job only while attempt `attempt` still runs it. A newer attempt (the lease
        ran out and another worker took the job over) or an ended job makes this touch zero rows."""
        return self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts == attempt, Job.status == "running")
            .values(progress=None, progress_at=None, **values)  # the plan so far ends with its attempt
            .returning(Job.tenant, Job.cancel_requested, Job.status, Job.workspace_revision)
            .execution_options(synchronize_session="fetch")
        ).first()

    def finish(self, job_id: str, attempt: int, plan: dict[str, Any], now: dt.datetime | None = None) -> str | None:
        """running -> done with its plan, if attempt `attempt` still runs the job (else None: refused).

        The plan is marked cancelled when a cancel cut the solve short; a solve that proved its answer
        (optimal, infeasible) before the cancel took effect is reported as it is: the cancel changed nothing.
        """
        now = now or utcnow()
        row = self._end_attempt(job_id, attempt, status="done", finished_at=now, lease_expires_at=None)
        if row is None:
            return None
        tenant, cancel_requested, _, workspace_revision = row
        self._announce_end(job_id)
        plan = {**plan, "id": job_id}
        if workspace_revision is not None:  # a workspace proposal says which revision it was made from
            plan["workspace_revision"] = workspace_revision
        if cancel_requested and plan["status"] in CUT_SHORT:
            plan["cancelled"] = True
        objective = plan.get("objective") or {}
        self.session.add(
            StoredPlan(
                id=job_id,
                tenant=tenant,
                status=str(plan["status"]),
                cancelled=bool(plan.get("cancelled", False)),
                covered_value=float(objective.get("covered_value", 0.0)),
                total_cost=float(objective.get("total_cost", 0.0)),
                body=plan,
                created_at=now,
            )
        )
        self.session.flush()
        return "done"

    def fail(self, job_id: str, attempt: int, detail: str, now: dt.datetime | None = None) -> str | None:
        """running -> failed, or cancelled when a cancel was asked for (the job ends without a plan); None
        when attempt `attempt` no longer runs the job (refused)."""
        now = now or utcnow()
        row = self._end_attempt(
            job_id,
            attempt,
            status=case((Job.cancel_requested, "cancelled"), else_="failed"),
            detail=_printable(detail),
            finished_at=now,
            lease_expires_at=None,
        )
        if row is None:
            return None
        self._announce_end(job_id)
        return str(row[2])

    def _announce_end(self, job_id: str) -> None:
        """Tell the API processes listening on PostgreSQL that this job ended, so that a request waiting for it
        (in any process) answers at once instead of at its next poll. PostgreSQL delivers the notice at
        commit and drops it on rollback; on SQLite one process runs everything and wakes its own waiters."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_notify(:channel, current_schema() || ' ' || :job_id)"),
                {"channel": JOB_ENDED_CHANNEL, "job_id": job_id},
            )

    def requeue(self, job_id: str, attempt: int, *, uncount_attempt: bool) -> bool:
        """running -> queued, when the server stops before the solve could finish; False if refused."""
        values: dict[str, Any] = {"status": "queued", "started_at": None, "lease_expires_at": None}
        if uncount_attempt:
            values["attempts"] = Job.attempts - 1
        return self._end_attempt(job_id, attempt, **values) is not None

    def cancel(self, tenant: str, job_id: str) -> tuple[Job, str] | None:
        """queued -> cancelled at once; running -> cancel_requested (the solver stops and keeps its plan).

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
            self._announce_end(job_id)
        elif before == "running":
            job.cancel_requested = True
        return job, before

    def successors(self, job_id: str) -> list[QueuedJob]:
        """The queued jobs that waited for this one to end (a scenario's variants for its base)."""
        query = select(Job).where(Job.after_job_id == job_id, Job.status == "queued").order_by(Job.created_at, Job.id)
        return [_queued(job) for job in self.session.scalars(query)]

    def mark_published(self, job_ids: Sequence[str], now: dt.datetime | None = None) -> None:
        if job_ids:
            self.session.execute(
                update(Job)
                .where(Job.id.in_(list(job_ids)))
                .values(published_at=now or utcnow())
                .execution_options(synchronize_session=False)
            )

    def unpublished(self, older_than: dt.datetime, limit: int = 500) -> list[QueuedJob]:
        """Queued jobs created before `older_than` that were never handed to the broker (the process that
        took them died between its commit and its publish) and may start (no predecessor still active);
        rows another process is sweeping are skipped."""
        before = aliased(Job)
        predecessor_active = (
            select(before.id).where(before.id == Job.after_job_id, before.status.in_(ACTIVE_STATUSES)).exists()
        )
        query = (
            select(Job)
            .where(
                Job.status == "queued",
                Job.published_at.is_(None),
                Job.created_at < older_than,
                ~predecessor_active,
            )
            .order_by(Job.created_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_queued(job) for job in self.session.scalars(query)]

    def abandoned(self, stale_before: dt.datetime, published_before: dt.datetime, limit: int = 500) -> list[QueuedJob]:
        """Running jobs whose lease ran out before `stale_before` and that were not handed to the broker
        since `published_before`: normally the broker redelivers a dead worker's task; this is the net
        under it."""
        query = (
            select(Job)
            .where(
                Job.status == "running",
                Job.lease_expires_at < stale_before,
                or_(Job.published_at.is_(None), Job.published_at < published_before),
            )
            .order_by(Job.created_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_queued(job) for job in self.session.scalars(query)]

    def delete_hidden(self, job_ids: Sequence[str]) -> int:
        """Forget ended hidden jobs (their plans and requests too); active ones are kept."""
        jobs = self.session.scalars(
            select(Job).where(Job.id.in_(list(job_ids)), Job.hidden.is_(True), Job.status.not_in(ACTIVE_STATUSES))
        ).all()
        if not jobs:
            return 0
        ids = [job.id for job in jobs]
        request_ids = [job.request_id for job in jobs]
        self.session.execute(delete(StoredPlan).where(StoredPlan.id.in_(ids)))
        self.session.execute(delete(Job).where(Job.id.in_(ids)).execution_options(synchronize_session=False))
        self.session.execute(delete(StoredRequest).where(StoredRequest.id.in_(request_ids)))
        for job in jobs:
            self.session.expunge(job)
        return len(ids)

    def ended_hidden(self, finished_before: dt.datetime, limit: int = 500) -> list[str]:
        """Hidden jobs that ended before `finished_before`: whoever waited for them has given up."""
        query = (
            select(Job.id)
            .where(Job.hidden.is_(True), Job.status.not_in(ACTIVE_STATUSES), Job.finished_at < finished_before)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def recover(self, max_attempts: int) -> Recovery:
        """Jobs a previous process left queued or running: run again, or end them with a reason."""
        jobs = self.session.scalars(
            select(Job).where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.created_at, Job.id).with_for_update()
        ).all()
        recovery = Recovery([], [], [])
        now = utcnow()
        for job in jobs:
            if job.hidden:
                # A recommendation's solve: whoever waited for it went with the process.
                job.status, job.finished_at, job.lease_expires_at = "cancelled", now, None
                job.detail = "the server stopped while the recommendation this solve was for waited"
                recovery.cancelled.append(job.id)
            elif job.status == "running" and job.cancel_requested:
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
            job.lease_expires_at = job.progress = job.progress_at = None
        requeued = set(recovery.requeued)
        for job in jobs:
            if job.id in requeued and job.after_job_id in requeued:
                recovery.waiting[job.id] = job.after_job_id
        return recovery

    def queued(self, job_ids: Sequence[str]) -> list[QueuedJob]:
        """These jobs as an executor takes them, in the order given (ids not found are absent)."""
        found = {job.id: job for job in self.session.scalars(select(Job).where(Job.id.in_(list(job_ids))))}
        return [_queued(found[job_id]) for job_id in job_ids if job_id in found]


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
