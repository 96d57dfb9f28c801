"""Wire models of the HTTP API beyond the contract's request and plan: job states, pages, problems."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "failed", "cancelled", "optimal", "feasible", "infeasible", "unknown"]


class JobState(BaseModel):
    """A job without a plan to show: still `queued` or `running`, or ended `failed` / `cancelled`.

    Right after an asynchronous submission it may also carry a finished plan's status; GET the plan then.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    status: JobStatus
    detail: str | None = Field(default=None, description="Why a job failed or was cancelled, or what happens next.")


class PlanSummary(BaseModel):
    """One entry of the plan list: the job and its plan's headline figures (GET the plan for the rest)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: JobStatus
    cancelled: bool = False
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    covered_value: float | None = None
    total_cost: float | None = None
    detail: str | None = None


class PlanPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[PlanSummary]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next, older page; null on the last page."
    )


class ProblemFieldError(BaseModel):
    path: str = Field(description="Where in the request, e.g. `opportunities[3].demands[0].end_week`.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemFieldError] | None = Field(default=None, description="422 only: every offending field.")


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Literal["reachable"]
    solver_processes: int
