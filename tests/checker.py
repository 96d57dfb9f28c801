"""Independent plan checker written from CONTRACT.md v1: hard rules H1-H9, derived quantities, objective,
summaries and unfilled reasons. Works on plain JSON dicts and imports nothing from `service`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GRADES = ("A", "B", "C", "D", "E")
UNIT_KINDS = ("delivery_center", "local_office", "hotline")
REASONS = ("no_qualified_staff", "no_lead", "over_budget", "no_capacity", "outranked")
STATUSES = ("optimal", "feasible", "infeasible")

DEFAULT_POLICY: dict[str, Any] = {
    "tiers": {
        "A": ["delivery_center", "local_office"],
        "B": ["delivery_center", "local_office"],
        "C": ["local_office", "hotline"],
        "D": ["local_office", "hotline"],
        "E": ["local_office", "hotline"],
    },
    "lead_units": {
        "A": ["delivery_center"],
        "B": ["delivery_center"],
        "C": ["local_office"],
        "D": ["local_office"],
        "E": ["local_office"],
    },
    "lead_hours_per_week": 2.0,
    "grade_weights": {"A": 5.0, "B": 4.0, "C": 3.0, "D": 2.0, "E": 1.0},
    "budget_ratio": {"A": 0.03, "B": 0.03, "C": 0.02, "D": 0.02, "E": 0.01},
    "travel_surcharge": 0.25,
}

PER_GRADE_KEYS = ("tiers", "lead_units", "grade_weights", "budget_ratio")
SCALAR_KEYS = ("lead_hours_per_week", "travel_surcharge")

# Tolerances fixed by the brief: money and value compare with 1e-6 relative plus 0.01 absolute;
# budgets (H6) with 1e-6 relative; hours (H3) with a hair of float noise.
REL_TOL = 1e-6
ABS_TOL = 0.01
HOURS_EPS = 1e-6

Key = tuple[str, str]  # (opportunity_id, demand_id)
Triple = tuple[str, str, str]  # (opportunity_id, demand_id, staff_id)


def close(a: float, b: float, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    """The brief's comparison of money and value: relative 1e-6 plus 0.01 absolute."""
    return abs(a - b) <= rel * max(abs(a), abs(b)) + abs_


def within_budget(cost: float, budget: float) -> bool:
    """H6 with the brief's 1e-6 relative tolerance (and a hair of absolute slack for a zero budget)."""
    return cost <= budget * (1 + REL_TOL) + 1e-9


def effective_policy(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """Policy with defaults applied; a partial per-grade map keeps the defaults of the grades it omits."""
    policy = policy or {}
    merged: dict[str, Any] = {}
    for key in PER_GRADE_KEYS:
        merged[key] = {**DEFAULT_POLICY[key], **(policy.get(key) or {})}
    for key in SCALAR_KEYS:
        value = policy.get(key)
        merged[key] = float(DEFAULT_POLICY[key] if value is None else value)
    return merged


@dataclass(frozen=True)
class ObjectiveValue:
    covered_value: float
    total_cost: float
    changes: int

    def as_tuple(self) -> tuple[float, int, float]:
        """Lexicographic order of the contract: covered value, changes, cost."""
        return (self.covered_value, self.changes, self.total_cost)


@dataclass
class CheckReport:
    violations: list[str] = field(default_factory=list)
    covered_value: float = 0.0
    total_cost: float = 0.0
    changes: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def objective(self) -> ObjectiveValue:
        return ObjectiveValue(self.covered_value, self.total_cost, self.changes)


class Facts:
    """The contract's derived quantities for one request, computed once."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self.request = request
        self.weeks = int(request["horizon"]["weeks"])
        self.policy = effective_policy(request.get("policy"))
        self.staff: dict[str, Mapping[str, Any]] = {s["id"]: s for s in request.get("staff", [])}
        self.staff_order = [s["id"] for s in request.get("staff", [])]
        self.opportunities: dict[str, Mapping[str, Any]] = {o["id"]: o for o in request.get("opportunities", [])}
        self.opportunity_order = [o["id"] for o in request.get("opportunities", [])]
        self.demands: dict[Key, Mapping[str, Any]] = {}
        self.demand_order: list[Key] = []
        for o in request.get("opportunities", []):
            for d in o.get("demands", []):
                self.demands[(o["id"], d["id"])] = d
                self.demand_order.append((o["id"], d["id"]))

        self.capacity: dict[str, list[float]] = {}
        for sid, s in self.staff.items():
            cap = s["capacity_hours"]
            if isinstance(cap, list):
                self.capacity[sid] = [float(c) for c in cap]
            else:
                self.capacity[sid] = [float(cap)] * self.weeks

        self.ev: dict[str, float] = {}
        self.budget: dict[str, float] = {}
        self.window: dict[str, tuple[int, int] | None] = {}
        self.excluded: dict[str, set[str]] = {}
        self.hours: dict[Key, float] = {}
        self.value: dict[Key, float] = {}
        for oid, o in self.opportunities.items():
            ev = float(o["deal_value"]) * float(o["win_probability"])
            self.ev[oid] = ev
            if o.get("presales_budget") is not None:
                self.budget[oid] = float(o["presales_budget"])
            else:
                self.budget[oid] = float(self.policy["budget_ratio"][o["grade"]]) * ev
            demands = o.get("demands", [])
            if demands:
                self.window[oid] = (
                    min(int(d["start_week"]) for d in demands),
                    max(int(d["end_week"]) for d in demands),
                )
            else:
                self.window[oid] = None
            self.excluded[oid] = set(o.get("excluded_staff") or [])
            total = 0.0
            for d in demands:
                h = float(d["hours_per_week"]) * (int(d["end_week"]) - int(d["start_week"]) + 1)
                self.hours[(oid, d["id"])] = h
                total += h * int(d.get("headcount", 1))
            weight = float(self.policy["grade_weights"][o["grade"]])
            for d in demands:
                key = (oid, d["id"])
                self.value[key] = weight * ev * self.hours[key] / total if total > 0 else 0.0

        self.previous: set[Triple] = {
            (p["opportunity_id"], p["demand_id"], p["staff_id"]) for p in request.get("previous_plan") or []
        }
        self._qualified: dict[Key, list[str]] = {}

    # ----------------------------------------------------------------- per-pair quantities

    def headcount(self, key: Key) -> int:
        return int(self.demands[key].get("headcount", 1))

    def demand_weeks(self, key: Key) -> range:
        d = self.demands[key]
        return range(int(d["start_week"]), int(d["end_week"]) + 1)

    def opportunity_weeks(self, oid: str) -> range:
        window = self.window[oid]
        return range(0) if window is None else range(window[0], window[1] + 1)

    def skill_problem(self, sid: str, key: Key) -> str | None:
        """H1, or None when the person has the skill level."""
        d = self.demands[key]
        level = self.staff[sid].get("skills", {}).get(d["skill"], 0)
        if level < int(d["min_level"]):
            return f"{sid} has {d['skill']} level {level} < min_level {d['min_level']}"
        return None

    def tier_problem(self, sid: str, key: Key) -> str | None:
        """H2, or None when the unit may serve the demand."""
        oid, _ = key
        o = self.opportunities[oid]
        d = self.demands[key]
        unit = self.staff[sid]["unit"]
        kind = unit["kind"]
        if kind not in self.policy["tiers"][o["grade"]]:
            return f"{sid} is a {kind} member, tiers[{o['grade']}] = {self.policy['tiers'][o['grade']]}"
        if kind == "local_office" and unit["region"] != o["region"]:
            return f"{sid} is in the {unit['region']} local office, {oid} is in region {o['region']}"
        if kind == "hotline" and not d.get("remote_ok", False):
            return f"{sid} is a hotline member and {oid}/{key[1]} is not remote_ok"
        return None

    def is_excluded(self, sid: str, oid: str) -> bool:
        return sid in self.excluded[oid]

    def qualifies(self, sid: str, key: Key) -> bool:
        """H1, H2 and H9 for one (person, demand) pair."""
        return (
            self.skill_problem(sid, key) is None
            and self.tier_problem(sid, key) is None
            and not self.is_excluded(sid, key[0])
        )

    def qualified(self, key: Key) -> list[str]:
        if key not in self._qualified:
            self._qualified[key] = [sid for sid in self.staff_order if self.qualifies(sid, key)]
        return self._qualified[key]

    def lead_unit_ok(self, sid: str, oid: str) -> bool:
        s = self.staff[sid]
        return (
            bool(s.get("can_lead", False))
            and s["unit"]["kind"] in self.policy["lead_units"][self.opportunities[oid]["grade"]]
        )

    def eligible_leads(self, oid: str) -> list[str]:
        """People who may lead oid by the `no_lead` definition: can_lead, unit kind in lead_units[grade],
        qualified for one of its demands (so not excluded), and lead_staff_id when that is given."""
        o = self.opportunities[oid]
        fixed = o.get("lead_staff_id")
        found = []
        for sid in self.staff_order:
            if fixed is not None and sid != fixed:
                continue
            if not self.lead_unit_ok(sid, oid) or self.is_excluded(sid, oid):
                continue
            if any(self.qualifies(sid, (oid, d["id"])) for d in o.get("demands", [])):
                found.append(sid)
        return found

    def able_leads(self, oid: str) -> list[str]:
        """Eligible leads who could actually lead oid in an empty plan: max_opportunities is not 0, and
        they have the lead hours in every week of its window plus the hours of one demand they qualify
        for in that demand's weeks. A stricter reading of `no_lead`, which the checker also accepts."""
        lhpw = self.policy["lead_hours_per_week"]
        window = self.opportunity_weeks(oid)
        found = []
        for sid in self.eligible_leads(oid):
            if self.staff[sid].get("max_opportunities") == 0:
                continue
            for d in self.opportunities[oid].get("demands", []):
                key = (oid, d["id"])
                if not self.qualifies(sid, key):
                    continue
                weeks = set(self.demand_weeks(key))
                hpw = float(d["hours_per_week"])
                if all(lhpw + (hpw if w in weeks else 0.0) <= self.capacity[sid][w] + HOURS_EPS for w in window):
                    found.append(sid)
                    break
        return found

    def member_cost(self, sid: str, key: Key) -> float:
        oid, _ = key
        s = self.staff[sid]
        rate = float(s["hourly_rate"])
        travels = (
            not self.demands[key].get("remote_ok", False)
            and s["unit"]["kind"] != "hotline"
            and s["unit"]["region"] != self.opportunities[oid]["region"]
        )
        factor = 1 + self.policy["travel_surcharge"] if travels else 1.0
        return self.hours[key] * rate * factor

    def lead_hours(self, oid: str) -> float:
        return self.policy["lead_hours_per_week"] * len(self.opportunity_weeks(oid))

    def lead_cost(self, sid: str, oid: str) -> float:
        return self.lead_hours(oid) * float(self.staff[sid]["hourly_rate"])


def facts_of(request: Mapping[str, Any] | Facts) -> Facts:
    return request if isinstance(request, Facts) else Facts(request)


def _triple(a: Mapping[str, Any]) -> Triple:
    return (str(a.get("opportunity_id")), str(a.get("demand_id")), str(a.get("staff_id")))


# --------------------------------------------------------------------------- hard rules


def hard_rule_violations(
    request: Mapping[str, Any] | Facts,
    assignments: Sequence[Mapping[str, Any]],
    leads: Sequence[Mapping[str, Any]],
    scope: Iterable[str] | None = None,
) -> list[str]:
    """H1-H9 for a set of assignments and leads (only ids are read; hours and costs come from the formulas).

    `scope` limits the per-opportunity rules (H1, H2, H4, H5, H6, H8, H9) to some opportunities, for a
    partial plan; the per-person rules H3 and H7 always look at everything given. None = every opportunity.
    """
    facts = facts_of(request)
    in_scope = set(facts.opportunity_order) if scope is None else set(scope)
    v: list[str] = []

    valid: list[Triple] = []
    for a in assignments:
        oid, did, sid = _triple(a)
        if oid not in facts.opportunities:
            v.append(f"REF: assignment names unknown opportunity {oid!r}")
        elif (oid, did) not in facts.demands:
            v.append(f"REF: assignment names unknown demand {did!r} of {oid}")
        elif sid not in facts.staff:
            v.append(f"REF: assignment on {oid}/{did} names unknown staff {sid!r}")
        else:
            valid.append((oid, did, sid))
    valid_leads: list[tuple[str, str]] = []
    for lead in leads:
        oid, sid = str(lead.get("opportunity_id")), str(lead.get("staff_id"))
        if oid not in facts.opportunities:
            v.append(f"REF: lead names unknown opportunity {oid!r}")
        elif sid not in facts.staff:
            v.append(f"REF: lead of {oid} names unknown staff {sid!r}")
        else:
            valid_leads.append((oid, sid))

    scoped = [t for t in valid if t[0] in in_scope]

    # H1, H2, H9 per assignment
    for oid, did, sid in scoped:
        problem = facts.skill_problem(sid, (oid, did))
        if problem:
            v.append(f"H1: {oid}/{did}: {problem}")
        problem = facts.tier_problem(sid, (oid, did))
        if problem:
            v.append(f"H2: {oid}/{did}: {problem}")
        if facts.is_excluded(sid, oid):
            v.append(f"H9: {sid} is in excluded_staff of {oid} but is assigned to {did}")

    # H4 slots
    per_demand: dict[Key, Counter[str]] = defaultdict(Counter)
    for oid, did, sid in scoped:
        per_demand[(oid, did)][sid] += 1
    for key, people in per_demand.items():
        for sid, count in people.items():
            if count > 1:
                v.append(f"H4: {sid} fills {count} slots of {key[0]}/{key[1]}")
        if len(people) > facts.headcount(key):
            v.append(f"H4: {key[0]}/{key[1]} has {len(people)} distinct staff > headcount {facts.headcount(key)}")

    # H5 one lead
    assigned_by_opp: dict[str, set[str]] = defaultdict(set)
    for oid, _, sid in valid:
        assigned_by_opp[oid].add(sid)
    leads_by_opp: dict[str, list[str]] = defaultdict(list)
    for oid, sid in valid_leads:
        leads_by_opp[oid].append(sid)
    for oid in facts.opportunity_order:
        if oid not in in_scope:
            continue
        team = assigned_by_opp.get(oid, set())
        its_leads = leads_by_opp.get(oid, [])
        if not team:
            if its_leads:
                v.append(f"H5: {oid} has no assignment but has lead(s) {its_leads}")
            continue
        if len(its_leads) != 1:
            v.append(f"H5: {oid} is staffed and has {len(its_leads)} leads {its_leads}, needs exactly one")
        fixed = facts.opportunities[oid].get("lead_staff_id")
        grade = facts.opportunities[oid]["grade"]
        for sid in its_leads:
            if sid not in team:
                v.append(f"H5: lead {sid} of {oid} is assigned to none of its demands")
            if not facts.staff[sid].get("can_lead", False):
                v.append(f"H5: lead {sid} of {oid} has can_lead false")
            kind = facts.staff[sid]["unit"]["kind"]
            if kind not in facts.policy["lead_units"][grade]:
                v.append(
                    f"H5: lead {sid} of {oid} is a {kind} member, "
                    f"lead_units[{grade}] = {facts.policy['lead_units'][grade]}"
                )
            if fixed is not None and sid != fixed:
                v.append(f"H5: lead of {oid} is {sid}, lead_staff_id is {fixed}")

    # H6 budget
    cost_by_opp: dict[str, float] = defaultdict(float)
    for oid, did, sid in scoped:
        cost_by_opp[oid] += facts.member_cost(sid, (oid, did))
    for oid, sid in valid_leads:
        if oid in in_scope:
            cost_by_opp[oid] += facts.lead_cost(sid, oid)
    for oid, cost in cost_by_opp.items():
        if not within_budget(cost, facts.budget[oid]):
            v.append(f"H6: {oid} costs {cost:.2f} > budget {facts.budget[oid]:.2f}")

    # H3 capacity and H7 focus, over everything given
    load: dict[str, list[float]] = {sid: [0.0] * facts.weeks for sid in facts.staff}
    works_on: dict[str, set[str]] = defaultdict(set)
    for oid, did, sid in valid:
        hpw = float(facts.demands[(oid, did)]["hours_per_week"])
        for w in facts.demand_weeks((oid, did)):
            if 0 <= w < facts.weeks:
                load[sid][w] += hpw
        works_on[sid].add(oid)
    for oid, sid in valid_leads:
        lhpw = facts.policy["lead_hours_per_week"]
        for w in facts.opportunity_weeks(oid):
            if 0 <= w < facts.weeks:
                load[sid][w] += lhpw
        works_on[sid].add(oid)
    for sid in facts.staff_order:
        for w, hours in enumerate(load[sid]):
            cap = facts.capacity[sid][w]
            if hours > cap + HOURS_EPS * max(1.0, cap):
                v.append(f"H3: staff {sid} week {w} has {hours:g}h > capacity {cap:g}")
        limit = facts.staff[sid].get("max_opportunities")
        if limit is not None and len(works_on[sid]) > int(limit):
            v.append(
                f"H7: {sid} works on {len(works_on[sid])} opportunities {sorted(works_on[sid])} "
                f"> max_opportunities {limit}"
            )

    # H8 pins
    present = set(valid)
    for oid in facts.opportunity_order:
        if oid not in in_scope:
            continue
        for pin in facts.opportunities[oid].get("pinned") or []:
            if (oid, pin["demand_id"], pin["staff_id"]) not in present:
                v.append(f"H8: pin {pin['staff_id']} on {oid}/{pin['demand_id']} is not in the plan")
    return v


# --------------------------------------------------------------------------- objective


def recompute_objective(
    request: Mapping[str, Any] | Facts,
    assignments: Sequence[Mapping[str, Any]],
    leads: Sequence[Mapping[str, Any]],
    previous_plan: Sequence[Mapping[str, Any]] | None = None,
) -> ObjectiveValue:
    """Covered value, total cost and changes from the contract's formulas (unknown ids are ignored).

    `previous_plan` defaults to the request's own previous_plan."""
    facts = facts_of(request)
    covered = 0.0
    cost = 0.0
    present: set[Triple] = set()
    for a in assignments:
        oid, did, sid = _triple(a)
        if (oid, did) in facts.demands and sid in facts.staff:
            covered += facts.value[(oid, did)]
            cost += facts.member_cost(sid, (oid, did))
            present.add((oid, did, sid))
    for lead in leads:
        oid, sid = str(lead.get("opportunity_id")), str(lead.get("staff_id"))
        if oid in facts.opportunities and sid in facts.staff:
            cost += facts.lead_cost(sid, oid)
    if previous_plan is None:
        previous = facts.previous
    else:
        previous = {(p["opportunity_id"], p["demand_id"], p["staff_id"]) for p in previous_plan}
    changes = len(previous - present)
    return ObjectiveValue(covered, cost, changes)


# --------------------------------------------------------------------------- unfilled reasons


def reason_truths(request: Mapping[str, Any] | Facts, key: Key) -> dict[str, tuple[bool, str]]:
    """For one demand, whether each unfilled reason is true by the contract's definitions, with why."""
    facts = facts_of(request)
    oid = key[0]
    d = facts.demands[key]
    qualified = facts.qualified(key)
    headcount = facts.headcount(key)
    truths: dict[str, tuple[bool, str]] = {}

    truths["no_qualified_staff"] = (
        len(qualified) < headcount,
        f"{len(qualified)} qualified {qualified} for headcount {headcount}",
    )

    # no_lead and over_budget are accepted under the contract's reading (anyone eligible may lead) and
    # under the stricter one (only a lead who fits in an empty plan counts); `outranked` is ruled out only
    # by the contract's reading, so either answer passes where the two readings differ.
    leads = facts.eligible_leads(oid)
    able_leads = facts.able_leads(oid)
    truths["no_lead"] = (
        not able_leads,
        f"eligible leads of {oid}: {leads}, of whom fit in an empty plan: {able_leads}",
    )

    # over_budget by the contract: the cheapest member plus the cheapest eligible lead. The stricter
    # reading (also accepted): the lead must fit in an empty plan and must work on the deal too, so a lead
    # other than the member adds the cost of their cheapest demand of the opportunity.
    budget = facts.budget[oid]
    cheapest_member = min((facts.member_cost(s, key) for s in qualified), default=float("inf"))
    cheapest_lead = min((facts.lead_cost(s, oid) for s in leads), default=float("inf"))
    contract_over = not within_budget(cheapest_member + cheapest_lead, budget)
    strict_cost = min(
        (
            facts.member_cost(m, key) + facts.lead_cost(lead, oid) + _lead_work_cost(facts, lead, m, key)
            for m in qualified
            if facts.staff[m].get("max_opportunities") != 0
            for lead in able_leads
        ),
        default=float("inf"),
    )
    hpw = float(d["hours_per_week"])
    able = [
        s
        for s in qualified
        if facts.staff[s].get("max_opportunities") != 0
        and all(facts.capacity[s][w] + HOURS_EPS >= hpw for w in facts.demand_weeks(key))
    ]
    # The project's documented reading (README, "Unfilled reasons"), also accepted: when someone qualified
    # has the hours, the budget is judged with the people who could do the work, members with the hours
    # and leads who fit, each lead also paying for a demand of the deal they have the hours for.
    working_cost = min(
        (
            facts.member_cost(m, key) + facts.lead_cost(lead, oid) + _lead_work_cost(facts, lead, m, key, True)
            for m in able
            for lead in able_leads
        ),
        default=float("inf"),
    )
    truths["over_budget"] = (
        not within_budget(strict_cost, budget) or (bool(able) and not within_budget(working_cost, budget)),
        f"cheapest member {cheapest_member:.2f} + cheapest eligible lead {cheapest_lead:.2f}; "
        f"cheapest member with a fitting lead who also works {strict_cost:.2f}; "
        f"the same among people with the hours {working_cost:.2f}; budget {budget:.2f}",
    )

    truths["no_capacity"] = (not able, f"qualified people with {hpw:g}h free every week: {able}")

    # Slot by slot: the slots beyond the qualified count are `no_qualified_staff`; a slot that has a
    # qualified candidate is `outranked` when it could be staffed alone (see slot_limits for the counts).
    others = [r for r, holds in (("no_lead", not leads), ("over_budget", contract_over)) if holds]
    others += ["no_capacity"] if truths["no_capacity"][0] else []
    if not qualified:
        truths["outranked"] = (False, "nobody is qualified")
    else:
        truths["outranked"] = (not others, f"true reasons: {others}" if others else "staffable alone")
    return truths


def _lead_work_cost(facts: Facts, lead: str, member: str, key: Key, with_hours: bool = False) -> float:
    """What the lead adds in member cost when someone else takes the slot: their cheapest demand of the
    opportunity (the same demand only when it has a second slot); with `with_hours`, only demands the lead
    has the hours for in an empty plan."""
    if lead == member:
        return 0.0
    oid = key[0]
    costs = [
        facts.member_cost(lead, (oid, d["id"]))
        for d in facts.opportunities[oid].get("demands", [])
        if facts.qualifies(lead, (oid, d["id"]))
        and (d["id"] != key[1] or facts.headcount(key) >= 2)
        and (
            not with_hours
            or all(
                facts.capacity[lead][w] + HOURS_EPS >= float(d["hours_per_week"])
                for w in facts.demand_weeks((oid, d["id"]))
            )
        )
    ]
    return min(costs, default=float("inf"))


def slot_limits(request: Mapping[str, Any] | Facts, key: Key, assigned: int) -> dict[str, int]:
    """How many unfilled slots of a demand each reason can explain, slot by slot: with q qualified people,
    headcount h and a assigned, h - q slots have no qualified person and q - a slots have a candidate."""
    facts = facts_of(request)
    q = len(facts.qualified(key))
    h = facts.headcount(key)
    unfilled = max(h - assigned, 0)
    limits = dict.fromkeys(REASONS, unfilled)
    limits["no_qualified_staff"] = max(h - q, 0)
    limits["outranked"] = max(q - assigned, 0)
    return limits


# --------------------------------------------------------------------------- the full check


def check_plan(request: Mapping[str, Any], plan: Mapping[str, Any]) -> CheckReport:
    """Check a plan dict against a request dict; every violation names its rule or field."""
    facts = Facts(request)
    assignments = list(plan.get("assignments") or [])
    leads = list(plan.get("leads") or [])
    v: list[str] = []

    if plan.get("status") not in STATUSES:
        v.append(f"status: {plan.get('status')!r} is not one of {STATUSES}")

    v.extend(hard_rule_violations(facts, assignments, leads))
    v.extend(_assignment_field_violations(facts, assignments, leads))

    objective = recompute_objective(facts, assignments, leads)
    v.extend(_objective_violations(objective, plan.get("objective") or {}, len(assignments), plan.get("status")))
    v.extend(_opportunity_summary_violations(facts, assignments, leads, plan.get("opportunities")))
    v.extend(_staff_summary_violations(facts, assignments, leads, plan.get("staff")))
    v.extend(_unfilled_violations(facts, assignments, plan.get("unfilled")))
    return CheckReport(v, objective.covered_value, objective.total_cost, objective.changes)


def _assignment_field_violations(
    facts: Facts, assignments: Sequence[Mapping[str, Any]], leads: Sequence[Mapping[str, Any]]
) -> list[str]:
    v = []
    for a in assignments:
        oid, did, sid = _triple(a)
        if (oid, did) not in facts.demands or sid not in facts.staff:
            continue
        d = facts.demands[(oid, did)]
        where = f"assignment {oid}/{did}/{sid}"
        if a.get("start_week") != d["start_week"] or a.get("end_week") != d["end_week"]:
            v.append(
                f"assignment: {where} weeks {a.get('start_week')}..{a.get('end_week')} "
                f"!= demand {d['start_week']}..{d['end_week']}"
            )
        if not _close_number(a.get("hours"), facts.hours[(oid, did)]):
            v.append(f"assignment: {where} hours {a.get('hours')} != {facts.hours[(oid, did)]:g}")
        cost = facts.member_cost(sid, (oid, did))
        if not _close_number(a.get("cost"), cost):
            v.append(f"assignment: {where} cost {a.get('cost')} != {cost:.2f}")
    for lead in leads:
        oid, sid = str(lead.get("opportunity_id")), str(lead.get("staff_id"))
        if oid not in facts.opportunities or sid not in facts.staff:
            continue
        if not _close_number(lead.get("hours"), facts.lead_hours(oid)):
            v.append(f"lead: {oid}/{sid} hours {lead.get('hours')} != {facts.lead_hours(oid):g}")
        if not _close_number(lead.get("cost"), facts.lead_cost(sid, oid)):
            v.append(f"lead: {oid}/{sid} cost {lead.get('cost')} != {facts.lead_cost(sid, oid):.2f}")
    return v


def _close_number(reported: Any, expected: float, abs_: float = ABS_TOL) -> bool:
    if isinstance(reported, bool) or not isinstance(reported, (int, float)):
        return False
    return close(float(reported), expected, abs_=abs_)


def _objective_violations(
    objective: ObjectiveValue, reported: Mapping[str, Any], n: int, status: Any = None
) -> list[str]:
    v = []
    if not _close_number(reported.get("covered_value"), objective.covered_value):
        v.append(
            f"objective: covered_value {reported.get('covered_value')} != recomputed {objective.covered_value:.2f}"
        )
    if not _close_number(reported.get("total_cost"), objective.total_cost):
        v.append(f"objective: total_cost {reported.get('total_cost')} != recomputed {objective.total_cost:.2f}")
    if reported.get("changes") != objective.changes:
        v.append(f"objective: changes {reported.get('changes')} != recomputed {objective.changes}")
    bound = reported.get("bound")
    if isinstance(bound, (int, float)) and not isinstance(bound, bool):
        # bound is an upper bound on covered value; values may be rounded to cents per slot.
        slack = ABS_TOL * (1 + n) + REL_TOL * abs(objective.covered_value)
        if bound < objective.covered_value - slack:
            v.append(f"objective: bound {bound} < covered_value {objective.covered_value:.2f}")
        if status == "optimal" and bound > objective.covered_value + slack:
            v.append(f"objective: status optimal but bound {bound} > covered_value {objective.covered_value:.2f}")
    else:
        v.append(f"objective: bound {bound!r} is not a number")
    gap = reported.get("gap")
    if not isinstance(gap, (int, float)) or isinstance(gap, bool) or gap < -REL_TOL:
        v.append(f"objective: gap {gap!r} is not a non-negative number")
    elif status == "optimal" and gap > ABS_TOL * (1 + n):
        v.append(f"objective: status optimal but gap {gap}")
    return v


def _opportunity_summary_violations(
    facts: Facts,
    assignments: Sequence[Mapping[str, Any]],
    leads: Sequence[Mapping[str, Any]],
    summaries: Any,
) -> list[str]:
    v: list[str] = []
    if not isinstance(summaries, list):
        return [f"opportunities: summary list missing ({summaries!r})"]
    cost: dict[str, float] = defaultdict(float)
    value: dict[str, float] = defaultdict(float)
    for a in assignments:
        oid, did, sid = _triple(a)
        if (oid, did) in facts.demands and sid in facts.staff:
            cost[oid] += facts.member_cost(sid, (oid, did))
            value[oid] += facts.value[(oid, did)]
    for lead in leads:
        oid, sid = str(lead.get("opportunity_id")), str(lead.get("staff_id"))
        if oid in facts.opportunities and sid in facts.staff:
            cost[oid] += facts.lead_cost(sid, oid)
    seen: Counter[str] = Counter(str(s.get("opportunity_id")) for s in summaries)
    for oid, count in seen.items():
        if oid not in facts.opportunities:
            v.append(f"opportunities: summary of unknown opportunity {oid!r}")
        elif count > 1:
            v.append(f"opportunities: {oid} is summarized {count} times")
    for oid in facts.opportunity_order:
        if oid not in seen:
            v.append(f"opportunities: no summary for {oid}")
    for s in summaries:
        oid = str(s.get("opportunity_id"))
        if oid not in facts.opportunities:
            continue
        if s.get("grade") != facts.opportunities[oid]["grade"]:
            v.append(f"opportunities: {oid} grade {s.get('grade')!r} != {facts.opportunities[oid]['grade']!r}")
        if not _close_number(s.get("budget"), facts.budget[oid]):
            v.append(f"opportunities: {oid} budget {s.get('budget')} != {facts.budget[oid]:.2f}")
        if not _close_number(s.get("cost"), cost[oid]):
            v.append(f"opportunities: {oid} cost {s.get('cost')} != recomputed {cost[oid]:.2f}")
        if not _close_number(s.get("covered_value"), value[oid]):
            v.append(f"opportunities: {oid} covered_value {s.get('covered_value')} != recomputed {value[oid]:.2f}")
        coverage = s.get("coverage")
        if not isinstance(coverage, (int, float)) or not -REL_TOL <= coverage <= 1 + REL_TOL:
            v.append(f"opportunities: {oid} coverage {coverage!r} is not in [0, 1]")
    return v


def _staff_summary_violations(
    facts: Facts,
    assignments: Sequence[Mapping[str, Any]],
    leads: Sequence[Mapping[str, Any]],
    summaries: Any,
) -> list[str]:
    """hours_by_week counts member hours plus lead hours, as H3 does."""
    v: list[str] = []
    if not isinstance(summaries, list):
        return [f"staff: summary list missing ({summaries!r})"]
    load: dict[str, list[float]] = {sid: [0.0] * facts.weeks for sid in facts.staff}
    works_on: dict[str, set[str]] = defaultdict(set)
    for a in assignments:
        oid, did, sid = _triple(a)
        if (oid, did) in facts.demands and sid in facts.staff:
            for w in facts.demand_weeks((oid, did)):
                if 0 <= w < facts.weeks:
                    load[sid][w] += float(facts.demands[(oid, did)]["hours_per_week"])
            works_on[sid].add(oid)
    for lead in leads:
        oid, sid = str(lead.get("opportunity_id")), str(lead.get("staff_id"))
        if oid in facts.opportunities and sid in facts.staff:
            for w in facts.opportunity_weeks(oid):
                if 0 <= w < facts.weeks:
                    load[sid][w] += facts.policy["lead_hours_per_week"]
            works_on[sid].add(oid)
    seen: Counter[str] = Counter(str(s.get("staff_id")) for s in summaries)
    for sid, count in seen.items():
        if sid not in facts.staff:
            v.append(f"staff: summary of unknown staff {sid!r}")
        elif count > 1:
            v.append(f"staff: {sid} is summarized {count} times")
    for sid in facts.staff_order:
        if sid not in seen:
            v.append(f"staff: no summary for {sid}")
    for s in summaries:
        sid = str(s.get("staff_id"))
        if sid not in facts.staff:
            continue
        hours = s.get("hours_by_week")
        if not isinstance(hours, list) or len(hours) != facts.weeks:
            v.append(f"staff: {sid} hours_by_week {hours!r} does not have {facts.weeks} weeks")
        elif not all(_close_number(h, e, abs_=HOURS_EPS) for h, e in zip(hours, load[sid], strict=True)):
            v.append(f"staff: {sid} hours_by_week {hours} != recomputed {[round(h, 6) for h in load[sid]]}")
        if set(s.get("opportunities") or []) != works_on[sid]:
            v.append(f"staff: {sid} opportunities {s.get('opportunities')} != {sorted(works_on[sid])}")
        credited = sum(facts.ev[oid] for oid in works_on[sid])
        if not _close_number(s.get("credited_value"), credited):
            v.append(f"staff: {sid} credited_value {s.get('credited_value')} != recomputed {credited:.2f}")
        utilization = s.get("utilization")
        if not isinstance(utilization, (int, float)) or utilization < 0:
            v.append(f"staff: {sid} utilization {utilization!r} is not a non-negative number")
    return v


def _unfilled_violations(facts: Facts, assignments: Sequence[Mapping[str, Any]], unfilled: Any) -> list[str]:
    v: list[str] = []
    if not isinstance(unfilled, list):
        return [f"unfilled: list missing ({unfilled!r})"]
    assigned: dict[Key, set[str]] = defaultdict(set)
    for a in assignments:
        oid, did, sid = _triple(a)
        assigned[(oid, did)].add(sid)
    reported: dict[Key, int] = defaultdict(int)
    by_reason: dict[tuple[Key, str], int] = defaultdict(int)
    truths_cache: dict[Key, dict[str, tuple[bool, str]]] = {}
    for entry in unfilled:
        key = (str(entry.get("opportunity_id")), str(entry.get("demand_id")))
        where = f"unfilled {key[0]}/{key[1]}"
        if key not in facts.demands:
            v.append(f"unfilled: entry names unknown demand {key[0]}/{key[1]}")
            continue
        slots = entry.get("slots")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            v.append(f"unfilled: {where} slots {slots!r} is not a positive integer")
            continue
        reported[key] += slots
        reason = entry.get("reason")
        if reason not in REASONS:
            v.append(f"unfilled: {where} reason {reason!r} is not one of {REASONS}")
            continue
        if key not in truths_cache:
            truths_cache[key] = reason_truths(facts, key)
        true, why = truths_cache[key][reason]
        if not true:
            v.append(f"unfilled: {where} reason {reason} is not true ({why})")
        by_reason[(key, reason)] += slots
    for (key, reason), slots in by_reason.items():
        limit = slot_limits(facts, key, len(assigned.get(key, set())))[reason]
        if slots > limit:
            v.append(
                f"unfilled: {key[0]}/{key[1]} gives {slots} slots reason {reason}, at most {limit} can have it "
                f"({len(facts.qualified(key))} qualified, headcount {facts.headcount(key)}, "
                f"{len(assigned.get(key, set()))} assigned)"
            )
    for key in facts.demand_order:
        missing = facts.headcount(key) - len(assigned.get(key, set()))
        if reported.get(key, 0) != max(missing, 0):
            v.append(
                f"unfilled: {key[0]}/{key[1]} reports {reported.get(key, 0)} unfilled slots, "
                f"headcount {facts.headcount(key)} - assigned {len(assigned.get(key, set()))} = {missing}"
            )
    return v


# --------------------------------------------------------------------------- reference plans


def reference_plan(
    request: Mapping[str, Any] | Facts,
    assignments: Sequence[Mapping[str, Any]],
    leads: Sequence[Mapping[str, Any]],
    status: str = "optimal",
) -> dict[str, Any]:
    """A complete plan dict for the given assignment and lead ids, every derived field computed from the
    contract's formulas and each unfilled slot given the first true reason. For hand-built test plans and
    for showing what the brute force found; it checks nothing."""
    facts = facts_of(request)
    rows = [_triple(a) for a in assignments]
    lead_rows = [(str(lead["opportunity_id"]), str(lead["staff_id"])) for lead in leads]
    objective = recompute_objective(facts, [_row(t) for t in rows], [_lead_row(r) for r in lead_rows])
    plan_assignments = [
        {
            **_row((oid, did, sid)),
            "start_week": facts.demands[(oid, did)]["start_week"],
            "end_week": facts.demands[(oid, did)]["end_week"],
            "hours": facts.hours[(oid, did)],
            "cost": facts.member_cost(sid, (oid, did)),
        }
        for oid, did, sid in rows
    ]
    plan_leads = [
        {**_lead_row((oid, sid)), "hours": facts.lead_hours(oid), "cost": facts.lead_cost(sid, oid)}
        for oid, sid in lead_rows
    ]

    unfilled = []
    for key in facts.demand_order:
        assigned = len({sid for oid, did, sid in rows if (oid, did) == key})
        missing = facts.headcount(key) - assigned
        if missing <= 0:
            continue
        truths = reason_truths(facts, key)
        limits = slot_limits(facts, key, assigned)
        nobody = min(missing, limits["no_qualified_staff"])
        if nobody:
            unfilled.append(_unfilled_row(key, nobody, "no_qualified_staff"))
        if missing - nobody:
            reason = next(r for r in REASONS[1:] if truths[r][0])
            unfilled.append(_unfilled_row(key, missing - nobody, reason))

    opportunities = []
    for oid in facts.opportunity_order:
        cost = sum(facts.member_cost(s, (o, d)) for o, d, s in rows if o == oid)
        cost += sum(facts.lead_cost(s, o) for o, s in lead_rows if o == oid)
        value = sum(facts.value[(o, d)] for o, d, _ in rows if o == oid)
        possible = sum(facts.value[key] * facts.headcount(key) for key in facts.demand_order if key[0] == oid)
        opportunities.append(
            {
                "opportunity_id": oid,
                "grade": facts.opportunities[oid]["grade"],
                "budget": facts.budget[oid],
                "cost": cost,
                "covered_value": value,
                "coverage": value / possible if possible > 0 else 0.0,
            }
        )

    staff = []
    for sid in facts.staff_order:
        hours = [0.0] * facts.weeks
        works_on: set[str] = set()
        for oid, did, s in rows:
            if s == sid:
                works_on.add(oid)
                for w in facts.demand_weeks((oid, did)):
                    hours[w] += float(facts.demands[(oid, did)]["hours_per_week"])
        for oid, s in lead_rows:
            if s == sid:
                works_on.add(oid)
                for w in facts.opportunity_weeks(oid):
                    hours[w] += facts.policy["lead_hours_per_week"]
        capacity = sum(facts.capacity[sid])
        staff.append(
            {
                "staff_id": sid,
                "hours_by_week": hours,
                "utilization": sum(hours) / capacity if capacity > 0 else 0.0,
                "opportunities": sorted(works_on),
                "credited_value": sum(facts.ev[oid] for oid in works_on),
            }
        )

    return {
        "id": "reference",
        "status": status,
        "objective": {
            "covered_value": objective.covered_value,
            "total_cost": objective.total_cost,
            "changes": objective.changes,
            "bound": objective.covered_value,
            "gap": 0.0,
        },
        "assignments": plan_assignments,
        "leads": plan_leads,
        "unfilled": unfilled,
        "opportunities": opportunities,
        "staff": staff,
        "timing": {"build_ms": 0, "solve_ms": 0, "total_ms": 0},
        "solver": {"name": "reference", "version": "0", "workers": 1, "seed": 0},
    }


def _unfilled_row(key: Key, slots: int, reason: str) -> dict[str, Any]:
    return {"opportunity_id": key[0], "demand_id": key[1], "slots": slots, "reason": reason, "detail": ""}


def _row(t: Triple) -> dict[str, str]:
    return {"opportunity_id": t[0], "demand_id": t[1], "staff_id": t[2]}


def _lead_row(r: tuple[str, str]) -> dict[str, str]:
    return {"opportunity_id": r[0], "staff_id": r[1]}
