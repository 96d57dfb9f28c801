"""run_scenario(scenario) -> ScenarioResult: solve the base, then every variant warm-started from the base
plan, and compare each with the base.

Each variant's request is the base with its changes applied and the base plan as `options.warm_start`
(`warm_started(request, base_plan)`): the solver starts from the base plan and, among the plans that are
equally good on all three objective levels, returns one that keeps as much of it as it can, so that the
comparison shows the moves the change causes and not equal-cost swaps elsewhere. The warm start changes no
objective level: the variant's covered value, changes and cost are those of solving the changed request
without it. Every solve is one call on an AllocationRequest, so a caller with a process pool can run the
variants in parallel: `service.planning.solve_json(request_json)` is the picklable solve, and `assemble(...)` builds the
result from the plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from service.contract import AllocationRequest, ContractModel, LeadChoice, Plan, PlannedAssignment, WarmStart
from service.planning import make_plan, solve_json
from service.whatif.changes import Change, ScenarioRequest, variant_requests
from service.whatif.compare import Comparison, compare

PlanSolver = Callable[[AllocationRequest], Plan]


class VariantOutcome(ContractModel):
    name: str
    changes: list[Change]
    plan: Plan
    comparison: Comparison


class ScenarioResult(ContractModel):
    name: str
    base_plan: Plan
    variants: list[VariantOutcome]


def warm_start_of(plan: Plan) -> WarmStart:
    """A plan's assignments and leads as a warm start for another request."""
    return WarmStart(
        assignments=[
            PlannedAssignment(opportunity_id=a.opportunity_id, demand_id=a.demand_id, staff_id=a.staff_id)
            for a in plan.assignments
        ],
        leads=[LeadChoice(opportunity_id=lead.opportunity_id, staff_id=lead.staff_id) for lead in plan.leads],
    )


def warm_started(request: AllocationRequest, base_plan: Plan | None) -> AllocationRequest:
    """The request a variant is solved as: its changed request with the base plan as `options.warm_start`
    (unchanged when there is no base plan, e.g. the base's solve failed)."""
    if base_plan is None:
        return request
    options = request.options.model_copy(update={"warm_start": warm_start_of(base_plan)})
    return request.model_copy(update={"options": options})


def assemble(
    scenario: ScenarioRequest,
    requests: Sequence[AllocationRequest],
    base_plan: Plan,
    variant_plans: Sequence[Plan],
) -> ScenarioResult:
    """The result from already-solved plans; `requests` and `variant_plans` follow `scenario.variants`."""
    if not len(requests) == len(variant_plans) == len(scenario.variants):
        raise ValueError(f"{len(scenario.variants)} variants, {len(requests)} requests and {len(variant_plans)} plans")
    return ScenarioResult(
        name=scenario.name,
        base_plan=base_plan,
        variants=[
            VariantOutcome(
                name=variant.name,
                changes=variant.changes,
                plan=plan,
                comparison=compare(scenario.base, base_plan, request, plan),
            )
            for variant, request, plan in zip(scenario.variants, requests, variant_plans, strict=True)
        ],
    )


def run_scenario(
    scenario: ScenarioRequest, solve: PlanSolver = make_plan, *, executor: Executor | None = None
) -> ScenarioResult:
    """Solve the base and each variant, then compare. Raises InvalidRequest for an invalid variant.

    The base is solved first, then each variant warm-started from its plan. Without `executor` the
    plans are solved one after the other with `solve`. With one, the base and then the variants (all at
    once) are sent to `solve_json` on it, e.g. a ProcessPoolExecutor, and `solve` is not used.
    """
    changed = variant_requests(scenario)
    if executor is None:
        base_plan = solve(scenario.base)
        requests = [warm_started(request, base_plan) for request in changed]
        plans = [solve(request) for request in requests]
    else:
        base_plan = Plan.model_validate_json(executor.submit(solve_json, scenario.base.model_dump_json()).result())
        requests = [warm_started(request, base_plan) for request in changed]
        futures = [executor.submit(solve_json, r.model_dump_json()) for r in requests]
        plans = [Plan.model_validate_json(future.result()) for future in futures]
    return assemble(scenario, requests, base_plan, plans)
