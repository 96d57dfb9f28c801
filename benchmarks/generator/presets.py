"""The what-if files a presales director would run, written from the fast-growth market request.

Each file is a self-contained scenario (`POST /v1/scenarios` body): the base request is embedded, so a
file can be sent as it is. Who to hire, who leads most, which deal to regrade and which budget to move
are chosen from the base request's own optimal plan, so the files stay meaningful when the market
generator changes. Regenerate with:

    uv run python -m benchmarks.generator.presets -o scenarios/
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.generator.build import market
from benchmarks.generator.jsonfile import to_json
from service import costing
from service.contract import AllocationRequest, Plan, parse_request
from service.planning import make_plan
from service.whatif.changes import SetBudget, apply_changes, parse_scenario

Json = dict[str, Any]
OPTIONS: Json = {"time_limit_s": 5, "deterministic": True}
HIRE_NAMES = ("Qian Hao", "Lu Yan")


def fast_growth_base(seed: int = 7) -> Json:
    """The fast-growth market request, with small deterministic solves."""
    base = market("fast_growth", seed)
    base["options"] = dict(OPTIONS)
    return base


class _Market:
    """The base request, its plan, and the questions the presets ask of them."""

    def __init__(self, base: Json) -> None:
        self.data = base
        self.request: AllocationRequest = parse_request(base)
        self.plan: Plan = make_plan(self.request)
        self.opportunities = {o.id: o for o in self.request.opportunities}
        self.summaries = {o.opportunity_id: o for o in self.plan.opportunities}

    def hire_two_architects(self) -> tuple[str, list[Json]]:
        """Two local-office architects in the region with the most unfilled hours, skilled in its three
        most unfilled skills."""
        unfilled: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for u in self.plan.unfilled:
            if u.reason == "no_lead":
                continue
            opportunity = self.opportunities[u.opportunity_id]
            demand = next(d for d in opportunity.demands if d.id == u.demand_id)
            unfilled[opportunity.region][demand.skill] += u.slots * costing.demand_hours(demand)
        offices = {p.unit.region: p.unit for p in self.request.staff if p.unit.kind == "local_office"}
        region = max((r for r in unfilled if r in offices), key=lambda r: (sum(unfilled[r].values()), r))
        skills = [s for s, _ in sorted(unfilled[region].items(), key=lambda item: (-item[1], item[0]))][:3]
        while len(skills) < 3:
            skills.append(skills[-1])
        rates = [p.hourly_rate for p in self.request.staff if p.unit.id == offices[region].id]
        rate = float(round(statistics.median(rates) / 5) * 5 + 10)  # an architect earns a little more
        hires = []
        for k, (name, levels) in enumerate(zip(HIRE_NAMES, ((4, 4, 3), (4, 3, 4)), strict=True), start=1):
            hires.append(
                {
                    "op": "add_staff",
                    "staff": {
                        "id": f"{region}-hire-{k}",
                        "name": name,
                        "role": "solution_architect",
                        "unit": offices[region].model_dump(),
                        "skills": dict(zip(skills, levels, strict=True)),
                        "hourly_rate": rate,
                        "capacity_hours": 40,
                        "can_lead": True,
                        "max_opportunities": 4,
                    },
                }
            )
        return region, hires

    def top_delivery_center_lead(self) -> tuple[str, str]:
        """The delivery-center member who leads the most expected value in the base plan."""
        kind = {p.id: p.unit.kind for p in self.request.staff}
        led: dict[str, float] = defaultdict(float)
        for lead in self.plan.leads:
            if kind[lead.staff_id] == "delivery_center":
                led[lead.staff_id] += costing.expected_value(self.opportunities[lead.opportunity_id])
        staff_id = max(led, key=lambda s: (led[s], s))
        return staff_id, next(p.name for p in self.request.staff if p.id == staff_id)

    def largest(self, grade: str) -> str:
        """The opportunity of a grade with the largest expected value."""
        chosen = [o for o in self.request.opportunities if o.grade == grade]
        return max(chosen, key=lambda o: (costing.expected_value(o), o.id)).id

    def budget_moves(self, wanted: int = 2, tries: int = 6) -> list[tuple[str, float, str, float, float]]:
        """`wanted` moves (donor, donor budget after, recipient, amount, recipient budget after) of budget from
        the staffed deal with the most unspent budget to the most valuable deals with work over budget.

        Money only helps where people can be freed for the work, so the recipients are tried by solving:
        those where doubling the budget buys covered value come first; if too few do, the most valuable
        deal tried fills up the list, as a contrast (money alone does not staff it)."""
        donor = max(
            (s for s in self.plan.opportunities if s.lead_staff_id is not None),
            key=lambda s: (s.budget - s.cost, s.opportunity_id),
        )
        stuck = {u.opportunity_id for u in self.plan.unfilled if u.reason == "over_budget"} - {donor.opportunity_id}
        ranked = sorted(stuck, key=lambda o: (-costing.expected_value(self.opportunities[o]), o))[:tries]
        helped: list[tuple[str, float, str, float, float]] = []
        tried: list[tuple[str, float, str, float, float]] = []
        for opportunity_id in ranked:
            budget = self.summaries[opportunity_id].budget
            amount = float(math.ceil(budget / 1000) * 1000)
            move = (donor.opportunity_id, round(donor.budget - amount, 2), opportunity_id, amount, budget + amount)
            trial = [
                SetBudget(op="set_budget", opportunity_id=move[0], presales_budget=move[1]),
                SetBudget(op="set_budget", opportunity_id=move[2], presales_budget=move[4]),
            ]
            plan = make_plan(apply_changes(self.request, trial))
            better = plan.objective.covered_value > self.plan.objective.covered_value + 0.01
            (helped if better else tried).append(move)
            if len(helped) == wanted:
                break
        return (helped + tried)[:wanted]


def _describe(market_: _Market, opportunity_id: str) -> str:
    opportunity = market_.opportunities[opportunity_id]
    return f"{opportunity_id} ({opportunity.customer}, EV {costing.expected_value(opportunity):,.0f})"


def presets(seed: int = 7) -> dict[str, Json]:
    """File name -> scenario, for every what-if file."""
    base = fast_growth_base(seed)
    m = _Market(base)
    region, hires = m.hire_two_architects()
    hire = {"name": f"hire two architects in {region}", "changes": hires}
    lead_id, lead_name = m.top_delivery_center_lead()
    lose = {
        "name": f"lose {lead_name} ({lead_id}), the delivery center's top lead",
        "changes": [{"op": "remove_staff", "staff_id": lead_id}],
    }
    top_c, top_b = m.largest("C"), m.largest("B")
    budget_variants = [
        {
            "name": f"move {amount:,.0f} of budget from {donor} to {_describe(m, recipient)}",
            "changes": [
                {"op": "set_budget", "opportunity_id": donor, "presales_budget": donor_after},
                {"op": "set_budget", "opportunity_id": recipient, "presales_budget": recipient_after},
            ],
        }
        for donor, donor_after, recipient, amount, recipient_after in m.budget_moves()
    ]
    scenarios: dict[str, Json] = {
        "whatif-hire-two-architects.json": {
            "name": f"Fast-growth market: hire two solution architects in the {region} office",
            "variants": [hire],
        },
        "whatif-lose-dc-lead.json": {
            "name": "Fast-growth market: lose the delivery center's top lead",
            "variants": [lose],
        },
        "whatif-raise-rates-10.json": {
            "name": "Fast-growth market: internal rates up 10%",
            "variants": [
                {"name": "all rates +10%", "changes": [{"op": "scale_rates", "factor": 1.1}]},
                {
                    "name": "delivery-center rates +10%",
                    "changes": [{"op": "scale_rates", "factor": 1.1, "unit_kind": "delivery_center"}],
                },
            ],
        },
        "whatif-regrade-to-A.json": {
            "name": "Fast-growth market: regrade a deal to A",
            "variants": [
                {
                    "name": f"regrade {_describe(m, top_c)} from C to A",
                    "changes": [{"op": "set_grade", "opportunity_id": top_c, "grade": "A"}],
                },
                {
                    "name": f"regrade {_describe(m, top_b)} from B to A",
                    "changes": [{"op": "set_grade", "opportunity_id": top_b, "grade": "A"}],
                },
            ],
        },
        "whatif-move-budget.json": {
            "name": "Fast-growth market: move presales budget from a deal that underspends to one stuck over budget",
            "variants": budget_variants,
        },
        "whatif-fast-growth.json": {
            "name": "Fast-growth market: hire two architects, or lose the top delivery-center lead",
            "variants": [hire, lose],
        },
    }
    for scenario in scenarios.values():
        scenario["base"] = base
        # Key order as in CONTRACT.md: name, base, variants.
        scenario["variants"] = scenario.pop("variants")
        parse_scenario(scenario)
    return scenarios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=Path("scenarios"), help="directory to write into")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fast-growth market")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for name, scenario in presets(args.seed).items():
        (args.output / name).write_text(to_json(scenario), encoding="utf-8")
        print(f"wrote {args.output / name}: {', '.join(v['name'] for v in scenario['variants'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
