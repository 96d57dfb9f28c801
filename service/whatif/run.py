"""run_scenario(scenario) -> ScenarioResult: solve the base and every variant, and compare each with the base.

Every solve is one independent call on an AllocationRequest, so a caller with a process pool can run
them in parallel: `variant_requests(scenario)` gives the requests, `solve_variant(request_json)` is the
picklable solve, and `assemble(...)` builds the result from the plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from service.contract import AllocationRequest, ContractModel, Plan
from service.planning import make_plan
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


def solve_variant(request_json: str) -> str:
    """One solve as a picklable top-level function: request JSON in, plan JSON out.

    The variant's plan is exactly what solving its changed request directly gives: no state is shared
    with the base's solve (the request's own options, e.g. `deterministic`, decide reproducibility).
    """
    request = AllocationRequest.model_validate_json(request_json)
    return make_plan(request).model_dump_json()


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

    Without `executor` the plans are solved one after the other with `solve`. With one, every request
    (base and variants at once) is sent to `solve_variant` on it, e.g. a ProcessPoolExecutor, and
    `solve` is not used. Variants are solved plainly, not warm-started from the base plan: the solver
    offers no hint hook yet, and `previous_plan` would change the objective.
    """
    requests = variant_requests(scenario)
    if executor is None:
        base_plan = solve(scenario.base)
        plans = [solve(request) for request in requests]
    else:
        futures = [executor.submit(solve_variant, r.model_dump_json()) for r in [scenario.base, *requests]]
        base_plan, *plans = [Plan.model_validate_json(future.result()) for future in futures]
    return assemble(scenario, requests, base_plan, plans)
