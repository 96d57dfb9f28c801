"""Properties of the solver's plans on generated small requests: every plan passes the independent
checker (H1-H9, derived fields, objective, summaries, unfilled reasons)."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine

from tests.budget import examples
from tests.checker import check_plan, close, effective_policy
from tests.strategies import small_requests

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# No "explain" phase: it traces every line the solver runs, which turns a shrink of seconds into minutes.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
# Shrinking stops after 300 s by default, exactly pytest-timeout's limit, which then kills the report;
# a minute of shrinking (hypothesis is pinned, so this internal knob stays put) gives a readable failure.
engine.MAX_SHRINKING_SECONDS = 60


def solve(request: dict[str, Any]) -> dict[str, Any]:
    from service.contract import parse_request
    from service.planning import make_plan

    plan: dict[str, Any] = make_plan(parse_request(copy.deepcopy(request))).model_dump(mode="json")
    return plan


def has_fixings(request: dict[str, Any]) -> bool:
    return any(o.get("pinned") or o.get("lead_staff_id") for o in request["opportunities"])


def _dc(staff_id: str, rate: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": staff_id,
        "unit": {"kind": "delivery_center", "id": "dc", "region": "east"},
        "skills": {"cloud": 4},
        "hourly_rate": rate,
        "capacity_hours": 40,
        "can_lead": True,
        **extra,
    }


# Fixed requests that once broke a property, smallest first; each must pass like any generated one.
REGRESSIONS: dict[str, dict[str, Any]] = {
    # s4 alone costs 8h x 188 = 1504 > 1500: the reason is over_budget (s4 can lead); s0 is cheaper but
    # has max_opportunities 0. Reported as no_lead.
    "unaffordable deal is not no_lead": {
        "horizon": {"start": "2026-11-23", "weeks": 1},
        "staff": [_dc("s4", 188.0), _dc("s0", 80.0, max_opportunities=0)],
        "opportunities": [
            {
                "id": "o1",
                "grade": "A",
                "region": "east",
                "deal_value": 1_000_000,
                "win_probability": 0.5,
                "presales_budget": 1500,
                "demands": [
                    {"id": "d0", "skill": "cloud", "min_level": 1, "hours_per_week": 8, "start_week": 0, "end_week": 0}
                ],
            }
        ],
        "policy": {"lead_hours_per_week": 0},
        "options": {"time_limit_s": 10, "deterministic": True},
    },
    # Found by a new-user trial: s6 is cheap but has 12 h a week for a 16 h demand; s4 has the hours but
    # costs 1600 + 200 lead > 1500. Reported as no_lead; the documented reason is over_budget.
    "only the people with the hours are over budget": {
        "horizon": {"start": "2026-11-23", "weeks": 1},
        "staff": [
            {
                "id": "s4",
                "unit": {"kind": "local_office", "id": "office-east", "region": "east"},
                "skills": {"erp": 3},
                "hourly_rate": 100.0,
                "capacity_hours": 40,
                "can_lead": True,
            },
            {
                "id": "s6",
                "unit": {"kind": "local_office", "id": "office-east", "region": "east"},
                "skills": {"erp": 3},
                "hourly_rate": 50.0,
                "capacity_hours": 12,
                "can_lead": True,
            },
        ],
        "opportunities": [
            {
                "id": "o0",
                "grade": "C",
                "region": "east",
                "deal_value": 100_000,
                "win_probability": 0.5,
                "presales_budget": 1500,
                "demands": [
                    {"id": "d1", "skill": "erp", "min_level": 2, "hours_per_week": 16, "start_week": 0, "end_week": 0}
                ],
            }
        ],
        "options": {"time_limit_s": 10, "deterministic": True},
    },
}


def _describe(request: dict[str, Any], plan: dict[str, Any]) -> str:
    return (
        f"\nrequest: {json.dumps(request)}\nsolver: status {plan.get('status')} objective {plan.get('objective')}"
        f"\n  assignments {[(a['opportunity_id'], a['demand_id'], a['staff_id']) for a in plan['assignments']]}"
        f"\n  leads {[(x['opportunity_id'], x['staff_id']) for x in plan['leads']]}"
        f"\n  unfilled {[(u['opportunity_id'], u['demand_id'], u['slots'], u['reason']) for u in plan['unfilled']]}"
    )


@pytest.mark.parametrize("request_data", list(REGRESSIONS.values()), ids=list(REGRESSIONS))
def test_regression_requests_pass_checker(request_data: dict[str, Any]) -> None:
    plan = solve(request_data)
    assert plan["status"] in ("optimal", "feasible")
    report = check_plan(request_data, plan)
    assert report.violations == [], "\n".join(report.violations) + _describe(request_data, plan)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=HEALTH, phases=PHASES)
@given(small_requests())
def test_plan_passes_checker(request: dict[str, Any]) -> None:
    plan = solve(request)
    why = _describe(request, plan)
    if plan["status"] == "infeasible":
        assert has_fixings(request), "infeasible without pins or lead_staff_id" + why
        assert plan.get("explanation"), "an infeasible plan must explain itself" + why
        return
    assert plan["status"] in ("optimal", "feasible"), why
    report = check_plan(request, plan)
    assert report.violations == [], "\n".join(report.violations) + why
    objective = plan["objective"]
    assert close(objective["covered_value"], report.covered_value), why
    assert close(objective["total_cost"], report.total_cost), why
    assert objective["changes"] == report.changes, why


@settings(max_examples=examples(20), deadline=None, suppress_health_check=HEALTH, phases=PHASES)
@given(small_requests())
def test_resolving_with_own_plan_as_previous_changes_nothing(request: dict[str, Any]) -> None:
    """The previous plan is itself feasible, so an optimal re-solve keeps every assignment of it
    (changes 0), at the same covered value and no higher cost."""
    first = solve(request)
    if first["status"] != "optimal":
        return
    again = dict(request)
    again["previous_plan"] = [
        {k: a[k] for k in ("opportunity_id", "demand_id", "staff_id")} for a in first["assignments"]
    ]
    second = solve(again)
    why = _describe(again, second)
    assert second["status"] == "optimal", why
    report = check_plan(again, second)
    assert report.violations == [], "\n".join(report.violations) + why
    assert report.changes == 0, why
    n = max(len(first["assignments"]), 1)
    assert abs(report.covered_value - first["objective"]["covered_value"]) <= 0.01 * n + 1e-6 * abs(
        report.covered_value
    ), why
    assert report.total_cost <= first["objective"]["total_cost"] + 0.01 + 1e-6 * report.total_cost, why


def relaxed(request: dict[str, Any]) -> dict[str, Any]:
    """More hours, double budgets, no focus limits: every plan of the request stays valid."""
    looser = copy.deepcopy(request)
    for person in looser["staff"]:
        cap = person["capacity_hours"]
        person["capacity_hours"] = [min(c + 8, 168) for c in cap] if isinstance(cap, list) else min(cap + 8, 168)
        person["max_opportunities"] = None
    for opportunity in looser["opportunities"]:
        if opportunity.get("presales_budget") is not None:
            opportunity["presales_budget"] *= 2
    policy = looser.setdefault("policy", {})
    ratios = effective_policy(policy)["budget_ratio"]
    policy["budget_ratio"] = {grade: 2 * ratio for grade, ratio in ratios.items()}
    return looser


@settings(max_examples=examples(20), deadline=None, suppress_health_check=HEALTH, phases=PHASES)
@given(small_requests())
def test_relaxing_never_lowers_covered_value(request: dict[str, Any]) -> None:
    first = solve(request)
    if first["status"] != "optimal":
        return
    looser = relaxed(request)
    second = solve(looser)
    why = _describe(looser, second) + f"\noriginal objective {first['objective']}"
    assert second["status"] == "optimal", why
    n = max(len(first["assignments"]), 1)
    slack = 0.01 * n + 1e-6 * abs(first["objective"]["covered_value"])
    assert second["objective"]["covered_value"] >= first["objective"]["covered_value"] - slack, why


@settings(max_examples=examples(25), deadline=None, suppress_health_check=HEALTH, phases=PHASES)
@given(small_requests(), st.randoms(use_true_random=False))
def test_a_warm_start_changes_no_objective_level(request: dict[str, Any], rng: random.Random) -> None:
    """options.warm_start (any plan, even one that breaks rules here) is only a hint and a tie-break:
    the plan is as good on covered value, changes and cost as without it, and passes the checker."""
    first = solve(request)
    if first["status"] != "optimal":
        return
    people = [p["id"] for p in request["staff"]]
    warm_assignments = [
        {"opportunity_id": o["id"], "demand_id": d["id"], "staff_id": rng.choice(people)}
        for o in request["opportunities"]
        for d in o["demands"]
        if people and rng.random() < 0.6
    ]
    warm_leads = [
        {"opportunity_id": o["id"], "staff_id": rng.choice(people)}
        for o in request["opportunities"]
        if people and rng.random() < 0.5
    ]
    warm = copy.deepcopy(request)
    warm.setdefault("options", {})["warm_start"] = {"assignments": warm_assignments, "leads": warm_leads}
    second = solve(warm)
    why = _describe(warm, second) + f"\nwithout the warm start: {first['objective']}"
    assert second["status"] == "optimal", why
    report = check_plan(warm, second)
    assert report.violations == [], "\n".join(report.violations) + why
    assert second["objective"]["changes"] == first["objective"]["changes"], why
    n = max(len(first["assignments"]), 1)
    assert abs(second["objective"]["covered_value"] - first["objective"]["covered_value"]) <= 0.01 * n, why
    assert abs(second["objective"]["total_cost"] - first["objective"]["total_cost"]) <= 0.01 * n, why
