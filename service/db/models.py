"""Tables: every allocation request, the job that solves it, the plan it produced, idempotency keys,
what-if scenarios with the jobs of their base and variants, and each tenant's workspace (settings, staff,
opportunities, bookings, audit).

A job and its plan share one id, the id clients see in `/v1/plans/{id}`. Plans are their own table so
that scenario comparisons can reference several plans by id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal, get_args

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db.base import Base, utcnow

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
JOB_STATUSES: Final[tuple[JobStatus, ...]] = get_args(JobStatus)
ACTIVE_STATUSES: Final[tuple[JobStatus, ...]] = ("queued", "running")
# A scenario is pending until every one of its jobs has ended, then done (compared) or failed.
ScenarioStatus = Literal["pending", "done", "failed"]
SCENARIO_STATUSES: Final[tuple[ScenarioStatus, ...]] = get_args(ScenarioStatus)

Tenant = String(200)
RowId = String(36)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StoredRequest(Base):
    """An allocation request as validated (defaults filled in), kept so a job can run again after a restart."""

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    body: Mapped[dict[str, Any]]
    body_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(Base):
    """One solve of one request: queued -> running -> done | failed | cancelled."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_tenant_created_at", "tenant", "created_at", "id"),
        Index("ix_jobs_status", "status"),
        Index("ix_jobs_after_job_id", "after_job_id"),
    )

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    time_limit_s: Mapped[float] = mapped_column(Float)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    # A job that starts only once this one has ended, warm-started from its plan (a scenario's variants).
    after_job_id: Mapped[str | None] = mapped_column(RowId)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # Size of the request's canonical JSON: small requests take the express lane.
    request_bytes: Mapped[int | None]
    # Until when the attempt under way holds the job: a solver renews it while it works; once it has passed,
    # another worker may take the job over (as a new attempt).
    lease_expires_at: Mapped[dt.datetime | None]
    # When the job was last handed to a broker; a queued job never handed over is published by the sweep.
    published_at: Mapped[dt.datetime | None]
    # A solve the service makes for itself, not a plan of the tenant's (a recommendation's baseline or one of
    # its re-solves): never listed; `group_id` names the recommendation, which counts once against the cap.
    hidden: Mapped[bool] = mapped_column(default=False)
    group_id: Mapped[str | None] = mapped_column(RowId)
    # A workspace proposal: the workspace revision its request was built from (None: a v1 request).
    workspace_revision: Mapped[int | None]
    # While running: the attempt's plan so far (service/progress.py's JSON document) and when it was stored,
    # written about once a second by the attempt that holds the job; cleared when an attempt starts or ends.
    # Deferred: lists and transitions never load it, only a read of the job with its plan does.
    progress: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    progress_at: Mapped[dt.datetime | None]

    request: Mapped[StoredRequest] = relationship(lazy="raise")
    plan: Mapped[StoredPlan | None] = relationship(back_populates="job", lazy="raise")


class StoredPlan(Base):
    """A plan as returned to the client (its JSON), with the few fields lists and scenarios need."""

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_tenant_created_at", "tenant", "created_at", "id"),)

    id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    status: Mapped[str] = mapped_column(String(16))
    cancelled: Mapped[bool] = mapped_column(default=False)
    covered_value: Mapped[float] = mapped_column(Float)
    total_cost: Mapped[float] = mapped_column(Float)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(back_populates="plan", lazy="raise")


class IdempotencyKey(Base):
    """A client's Idempotency-Key: the request it first came with and the job that answers it."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(Tenant, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Scenario(Base):
    """A what-if scenario as posted (validated), and once its solves have ended, the comparison."""

    __tablename__ = "scenarios"
    __table_args__ = (
        CheckConstraint(_in("status", SCENARIO_STATUSES), name="status"),
        Index("ix_scenarios_tenant_created_at", "tenant", "created_at", "id"),
        Index("ix_scenarios_status", "status"),
    )

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    result: Mapped[dict[str, Any] | None]
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]

    plans: Mapped[list[ScenarioPlan]] = relationship(
        lazy="raise", order_by="ScenarioPlan.position", cascade="all, delete-orphan"
    )


class ScenarioPlan(Base):
    """The job (and so the plan, which shares its id) of one side of a scenario.

    `position` 0 is the base, `position` i + 1 the variant `variants[i]`, whose name is kept in `variant`.
    The reference is to `jobs.id`, because the plan row only exists once the solve has ended.
    """

    __tablename__ = "scenario_plans"

    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant: Mapped[str | None] = mapped_column(String(200))
    plan_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)


# --------------------------------------------------------------------------- the workspace (CONTRACT v2)

BookingStatus = Literal["tentative", "confirmed", "broken", "completed", "released", "replaced"]
BOOKING_STATUSES: Final[tuple[BookingStatus, ...]] = get_args(BookingStatus)
# The bookings the next request carries: confirmed ones as pins and leads, tentative ones as previous_plan.
LIVE_BOOKINGS: Final[tuple[BookingStatus, ...]] = ("tentative", "confirmed")
BookingKind = Literal["assignment", "lead"]


class Workspace(Base):
    """A tenant's workspace: its revision (one more per change), the horizon and policy, the plan of record."""

    __tablename__ = "workspaces"

    tenant: Mapped[str] = mapped_column(Tenant, primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    horizon: Mapped[dict[str, Any]]
    policy: Mapped[dict[str, Any]]
    plan_of_record_id: Mapped[str | None] = mapped_column(RowId)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkspaceStaff(Base):
    """One person of a workspace's roster, as a v1 `staff` object."""

    __tablename__ = "workspace_staff"

    tenant: Mapped[str] = mapped_column(Tenant, primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    body: Mapped[dict[str, Any]]


class WorkspaceOpportunity(Base):
    """One deal of a workspace's pipeline, as a v1 `opportunity` object without pins or a fixed lead."""

    __tablename__ = "workspace_opportunities"

    tenant: Mapped[str] = mapped_column(Tenant, primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    body: Mapped[dict[str, Any]]


class Booking(Base):
    """One person on one demand (an assignment) or leading one deal (a lead), from a published plan.

    Weeks count from the workspace's horizon start, as the demands' do; they move with it."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(_in("status", BOOKING_STATUSES), name="status"),
        CheckConstraint(_in("kind", get_args(BookingKind)), name="kind"),
        Index("ix_bookings_tenant_status", "tenant", "status"),
        Index("ix_bookings_tenant_staff_id", "tenant", "staff_id"),
        Index("ix_bookings_tenant_opportunity_id", "tenant", "opportunity_id"),
    )

    id: Mapped[str] = mapped_column(RowId, primary_key=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    kind: Mapped[str] = mapped_column(String(16))
    opportunity_id: Mapped[str] = mapped_column(String(200))
    demand_id: Mapped[str | None] = mapped_column(String(200))
    staff_id: Mapped[str] = mapped_column(String(200))
    start_week: Mapped[int]
    end_week: Mapped[int]
    hours_per_week: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    plan_id: Mapped[str] = mapped_column(RowId)
    revision: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One write to a workspace: who (the key's id, never the key), what, when, and the revision it made."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_tenant_revision", "tenant", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(Tenant)
    revision: Mapped[int]
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(400))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
