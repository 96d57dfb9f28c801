"""Exhaustive search of the contract's lexicographic optimum for tiny requests, independent of the solver.

Every plan is enumerated: per opportunity, every choice of a staff subset (up to headcount) for each
demand and every choice of lead among the assigned people; plans are kept only when the checker's
hard-rule check passes. Only people who pass H1, H2 and H9 are tried for a demand: anyone else breaks a
hard rule whatever the rest of the plan is, so this prunes nothing feasible.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.checker import Facts, hard_rule_violations, recompute_objective

Row = dict[str, str]
Config = tuple[tuple[Row, ...], tuple[Row, ...]]  # (assignments, leads) of one opportunity


@dataclass
class Optimum:
    covered_value: float
    changes: int
    total_cost: float
    assignments: list[Row] = field(default_factory=list)
    leads: list[Row] = field(default_factory=list)
    feasible_plans: int = 0
    objectives: list[tuple[float, int, float]] = field(default_factory=list, repr=False)
    """(covered value, changes, total cost) of every feasible plan."""

    def as_tuple(self) -> tuple[float, int, float]:
        return (self.covered_value, self.changes, self.total_cost)


FLOAT_NOISE = 1e-9  # relative: sums of the same terms in another order differ by far less


def same_value(a: float, b: float) -> bool:
    """Equal up to float summation noise."""
    return abs(a - b) <= FLOAT_NOISE * max(1.0, abs(a), abs(b))


def _better(a: tuple[float, int, float], b: tuple[float, int, float]) -> bool:
    """a strictly better than b lexicographically, float noise aside."""
    if not same_value(a[0], b[0]):
        return a[0] > b[0]
    if a[1] != b[1]:
        return a[1] < b[1]
    return a[2] < b[2] and not same_value(a[2], b[2])


def opportunity_configs(facts: Facts, oid: str) -> list[Config]:
    """Every (assignments, leads) of one opportunity that passes the hard rules on its own."""
    o = facts.opportunities[oid]
    per_demand: list[list[tuple[str, ...]]] = []
    for d in o.get("demands", []):
        key = (oid, d["id"])
        qualified = facts.qualified(key)
        choices: list[tuple[str, ...]] = []
        for size in range(min(facts.headcount(key), len(qualified)) + 1):
            choices.extend(itertools.combinations(qualified, size))
        per_demand.append(choices)

    demand_ids = [d["id"] for d in o.get("demands", [])]
    configs: list[Config] = []
    for pick in itertools.product(*per_demand):
        rows = tuple(
            {"opportunity_id": oid, "demand_id": did, "staff_id": sid}
            for did, people in zip(demand_ids, pick, strict=True)
            for sid in people
        )
        team = sorted({r["staff_id"] for r in rows})
        lead_options: list[tuple[Row, ...]] = (
            [({"opportunity_id": oid, "staff_id": sid},) for sid in team] if team else [()]
        )
        for leads in lead_options:
            if not hard_rule_violations(facts, rows, leads, scope={oid}):
                configs.append((rows, leads))
    return configs


def brute_force(request: Mapping[str, Any]) -> Optimum | None:
    """The lexicographic optimum (max covered value, min changes, min cost), or None when no plan
    satisfies H1-H9 (only possible with pins or lead_staff_id)."""
    facts = Facts(request)
    order = facts.opportunity_order
    configs = {oid: opportunity_configs(facts, oid) for oid in order}
    if any(not configs[oid] for oid in order):
        return None

    best: Optimum | None = None
    objectives: list[tuple[float, int, float]] = []

    def descend(i: int, rows: list[Row], leads: list[Row]) -> None:
        nonlocal best
        if i == len(order):
            objective = recompute_objective(facts, rows, leads)
            triple = objective.as_tuple()
            objectives.append(triple)
            if best is None or _better(triple, best.as_tuple()):
                # The per-opportunity rules held one by one and H3/H7 on every prefix; the full check
                # is the authority for the plans that matter.
                problems = hard_rule_violations(facts, rows, leads)
                assert not problems, f"brute force assembled an invalid plan: {problems}"
                best = Optimum(*triple, assignments=list(rows), leads=list(leads))
            return
        for config_rows, config_leads in configs[order[i]]:
            new_rows = rows + list(config_rows)
            new_leads = leads + list(config_leads)
            # H3 and H7 only (empty scope): the per-opportunity rules were checked in opportunity_configs.
            if config_rows and hard_rule_violations(facts, new_rows, new_leads, scope=()):
                continue
            descend(i + 1, new_rows, new_leads)

    descend(0, [], [])
    if best is not None:
        best.feasible_plans = len(objectives)
        best.objectives = objectives
    return best
