"""Wire models of the HTTP API beyond the contract's request and plan: job states, scenarios, pages, problems."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.contract import Plan
from service.whatif import Change, KpiDeltas, LeadChange, Move, ScenarioKpis, SlotChange, StaffChange, StaffMove

JobStatus = Literal["queued", "running", "failed", "cancelled", "optimal", "feasible", "infeasible", "unknown"]

CANCELLED_DESCRIPTION = (
    "True when a cancel ended the job: with status `cancelled` it kept no plan (cancelled before its solve "
    "started, or the solve did not stop and was ended); with a plan's status (`feasible`, `unknown`) the plan "
    "is the best found before the cancel stopped the solve. False while the job is queued or running, and when "
    "the solve proved its answer before a cancel took effect."
)


SearchPhase = Literal["first_plan", "covered_value", "changes", "total_cost", "kept_warm_start"]


class JobProgress(BaseModel):
    """How far a running job's solve has come. The figures are those of `plan`, the best plan found so far;
    they stay null until the search has one (the request is still being compiled)."""

    model_config = ConfigDict(extra="forbid")

    attempt: int = Field(
        ge=1, description="Which attempt at the job this is: a job is tried again when the process solving it is lost."
    )
    elapsed_s: float = Field(ge=0, description="Seconds since this attempt started, at the time of the answer.")
    time_limit_s: float = Field(description="The request's time limit: the final plan comes within it.")
    phase: SearchPhase | None = Field(
        default=None,
        description="Where the search was when it found the plan so far: `first_plan` (the greedy plan it starts "
        "from), then the objective level it improves, in order: `covered_value`, `changes` (against "
        "`previous_plan`), `total_cost`, `kept_warm_start` (a scenario variant's tie-break).",
    )
    found_after_s: float | None = Field(
        default=None, description="Seconds after the attempt's solve began (compile included) that the plan was found."
    )
    improvements: int | None = Field(default=None, ge=0, description="Better plans the search has found so far.")
    covered_value: float | None = Field(default=None, description="The plan so far's covered value.")
    total_cost: float | None = Field(default=None, description="The plan so far's total cost.")
    bound: float | None = Field(
        default=None, description="No plan can cover more value than this (as known when the plan was found)."
    )
    gap: float | None = Field(default=None, description="(bound - covered_value) / bound: 0 means proven optimal.")
    updated_at: dt.datetime | None = Field(default=None, description="When the plan so far was stored.")


class JobState(BaseModel):
    """A job without a final plan to show: still `queued` or `running`, or ended `failed` / `cancelled`.

    While `running`, `progress` says how far the solve has come and `plan` is the best plan found so far
    (status `feasible`; updated about once a second, absent until the search has one). Once the job ends,
    GET answers with the final plan itself. Right after an asynchronous submission it may also carry a
    finished plan's status; GET the plan then.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    status: JobStatus
    cancelled: bool = Field(default=False, description=CANCELLED_DESCRIPTION)
    detail: str | None = Field(default=None, description="Why a job failed or was cancelled, or what happens next.")
    progress: JobProgress | None = Field(default=None, description="Only while running: how far the solve has come.")
    plan: Plan | None = Field(
        default=None,
        description="Only while running, once the search has one: the best plan so far (status `feasible`).",
    )

    @model_validator(mode="after")
    def _a_cancelled_job_says_so(self) -> Self:
        self.cancelled = self.cancelled or self.status == "cancelled"
        return self


class PlanSummary(BaseModel):
    """One entry of the plan list: the job and its plan's headline figures (GET the plan for the rest)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: JobStatus
    cancelled: bool = Field(default=False, description=CANCELLED_DESCRIPTION)
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    covered_value: float | None = None
    total_cost: float | None = None
    detail: str | None = None

    @model_validator(mode="after")
    def _a_cancelled_job_says_so(self) -> Self:
        # Only a plan carries its own flag; a job that ended `cancelled` has none, and must not read as
        # `cancelled: false` beside its own status.
        self.cancelled = self.cancelled or self.status == "cancelled"
        return self


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
    variant: str | None = Field(
        default=None, description="Scenarios only: the name of the variant whose `changes[j]` the path is in."
    )


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
    solver_processes: int = Field(description="This process's solver processes (0 with Celery workers).")
    solver_processes_ready: int
    broker: Literal["reachable"] | None = Field(default=None, description="With Celery (BROKER_URL) only.")
    workers: int | None = Field(
        default=None, description="With Celery only: the workers that answered a ping (checked every few seconds)."
    )


ScenarioStatus = Literal["queued", "running", "done", "failed"]


class ScenarioSide(BaseModel):
    """The base of a scenario: its plan (a job of its own) and, once solved, its KPIs."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(
        description="GET /v1/plans/{plan_id} for the plan, /v1/plans/{plan_id}/request for its request."
    )
    status: JobStatus = Field(description="The plan's status, or its job's while it has no plan.")
    detail: str | None = None
    kpis: ScenarioKpis | None = Field(default=None, description="Null until the scenario is compared.")


class VariantResult(ScenarioSide):
    """One variant: its changes, its plan, its KPIs with deltas against the base (variant − base), and
    who moved where. The lists are empty until the scenario is compared."""

    name: str
    changes: list[Change]
    deltas: KpiDeltas | None = None
    moves: list[Move] = Field(
        default_factory=list,
        description="Per slot: `from_staff` replaced by `to_staff`; null `from_staff`: the slot became filled; "
        "null `to_staff`: it became unfilled.",
    )
    staff_moves: list[StaffMove] = Field(default_factory=list, description="Per person: the slots left and taken.")
    dropped_out: list[StaffChange] = Field(default_factory=list, description="Worked in the base, not here.")
    joined: list[StaffChange] = Field(default_factory=list, description="Work here, not in the base.")
    filled: list[SlotChange] = Field(default_factory=list, description="Demands with more slots filled.")
    unfilled: list[SlotChange] = Field(default_factory=list, description="Demands with fewer slots filled.")
    lead_changes: list[LeadChange] = Field(default_factory=list)
    staffed: list[str] = Field(default_factory=list, description="Opportunities staffed here and not in the base.")
    unstaffed: list[str] = Field(default_factory=list, description="Opportunities staffed in the base, not here.")


class ScenarioComparison(BaseModel):
    """A what-if scenario: queued or running while its plans are solved, then `done` with the comparison
    (or `failed` when a plan could not be had, with the reason in `detail`)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    status: ScenarioStatus
    detail: str | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    base: ScenarioSide
    variants: list[VariantResult]


class ScenarioSummary(BaseModel):
    """One entry of the scenario list (GET the scenario for the comparison)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    status: ScenarioStatus
    detail: str | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    base_plan_id: str
    variants: list[str] = Field(description="The variants' names.")


class ScenarioPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScenarioSummary]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next, older page; null on the last page."
    )
