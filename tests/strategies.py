"""Hypothesis strategies for valid allocation requests (plain dicts as in CONTRACT.md): tiny ones for the
brute force, small ones that exercise every field and rule."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.checker import GRADES, UNIT_KINDS, Facts

REGIONS = ("east", "south")
SKILLS = ("cloud", "erp", "crm")
DEAL_VALUES = (600_000, 1_000_000, 200_000, 5_000_000, 50_000, 123_456_789)
WIN_PROBABILITIES = (0.5, 0.3, 0.9, 0.1, 1.0, 0.333)
OPTIONS = {"time_limit_s": 10, "deterministic": True}

Draw = Any


def _maybe(draw: Draw, probability_true: float) -> bool:
    """A biased coin (hypothesis has no weighted booleans; this shrinks towards False)."""
    return draw(st.integers(0, 99)) < int(probability_true * 100)


def _staff(draw: Draw, index: int, weeks: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["delivery_center", "local_office", "hotline", "delivery_center", "local_office"]))
    region = draw(st.sampled_from(("east", "south", "central") if kind == "hotline" else ("east", "south", "east")))
    # Dense skills, mostly at a good level, so that most demands have someone qualified.
    levels = [draw(st.sampled_from([4, 5, 3, 2, 0])) for _ in SKILLS]
    skills = {skill: level for skill, level in zip(SKILLS, levels, strict=True) if level > 0}
    rate = draw(
        st.one_of(
            st.sampled_from([80.0, 50.0, 100.0, 150.0, 40.0]),
            st.integers(20, 200).map(float),
            st.sampled_from([87.5, 99.99, 133.33, 61.7]),
        )
    )
    if _maybe(draw, 0.3):
        capacity: Any = draw(
            st.lists(st.sampled_from([40, 16, 24, 8, 40, 20, 0, 4, 10.5]), min_size=weeks, max_size=weeks)
        )
    else:
        capacity = draw(st.sampled_from([40, 24, 16, 40, 20, 12, 8, 0, 7.5]))
    person: dict[str, Any] = {
        "id": f"s{index}",
        "name": f"Person {index}",
        "role": draw(st.sampled_from(["solution_architect", "presales_engineer", "test_engineer"])),
        "unit": {"kind": kind, "id": f"{kind}-{region}", "region": region},
        "skills": skills,
        "hourly_rate": rate,
        "capacity_hours": capacity,
        "can_lead": draw(st.sampled_from([True, False, True])),
    }
    focus = 0 if _maybe(draw, 0.05) else draw(st.sampled_from(["absent", 2, "null", 1, 3]))
    if focus == "null":
        person["max_opportunities"] = None
    elif focus != "absent":
        person["max_opportunities"] = focus
    return person


def _demand(draw: Draw, index: int, weeks: int, max_headcount: int, anchor: dict[str, Any] | None) -> dict[str, Any]:
    """A demand; with an anchor person, one whose skill and level that person has (so someone may qualify)."""
    start = draw(st.integers(0, weeks - 1))
    end = draw(st.integers(start, weeks - 1))
    if anchor is not None and anchor["skills"]:
        skill = draw(st.sampled_from(sorted(anchor["skills"])))
        min_level = draw(st.integers(1, anchor["skills"][skill]))
    else:
        skill = draw(st.sampled_from(SKILLS))
        min_level = draw(st.sampled_from([2, 1, 3, 4, 5]))
    demand: dict[str, Any] = {
        "id": f"d{index}",
        "skill": skill,
        "min_level": min_level,
        "hours_per_week": draw(st.sampled_from([8, 4, 16, 12, 2, 20, 7.5, 0.5, 2.5])),
        "start_week": start,
        "end_week": end,
    }
    headcount = draw(st.integers(1, max_headcount))
    if headcount > 1 or _maybe(draw, 0.3):
        demand["headcount"] = headcount
    remote = draw(st.sampled_from([True, "absent", False, True]))
    if anchor is not None and anchor["unit"]["kind"] == "hotline" and _maybe(draw, 0.8):
        remote = True
    if remote != "absent":
        demand["remote_ok"] = remote
    return demand


def _policy(draw: Draw) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    if _maybe(draw, 0.3):
        policy["lead_hours_per_week"] = draw(st.sampled_from([0, 2, 4]))
    if _maybe(draw, 0.3):
        policy["travel_surcharge"] = draw(st.sampled_from([0, 0.25, 0.5]))
    kinds = st.lists(st.sampled_from(UNIT_KINDS), min_size=0, max_size=3, unique=True)
    if _maybe(draw, 0.25):
        policy["tiers"] = draw(st.dictionaries(st.sampled_from(GRADES), kinds, min_size=1, max_size=2))
    if _maybe(draw, 0.25):
        policy["lead_units"] = draw(st.dictionaries(st.sampled_from(GRADES), kinds, min_size=1, max_size=2))
    if _maybe(draw, 0.2):
        policy["grade_weights"] = draw(
            st.dictionaries(st.sampled_from(GRADES), st.sampled_from([1, 2, 7, 10, 0]), min_size=1, max_size=2)
        )
    if _maybe(draw, 0.2):
        policy["budget_ratio"] = draw(
            st.dictionaries(
                st.sampled_from(GRADES), st.sampled_from([0, 0.005, 0.01, 0.05, 0.1]), min_size=1, max_size=2
            )
        )
    return policy


def _grade_and_region(draw: Draw, anchor: dict[str, Any] | None) -> tuple[str, str]:
    region = draw(st.sampled_from(("east", "south", "east", "east")))
    if anchor is None:
        return draw(st.sampled_from(GRADES)), region
    kind = anchor["unit"]["kind"]
    if kind == "delivery_center":
        return draw(st.sampled_from(("A", "B", "A", "C"))), region
    if kind == "local_office":
        return draw(st.sampled_from(("C", "D", "E", "C", "A"))), anchor["unit"]["region"]
    return draw(st.sampled_from(("C", "D", "E"))), region


@st.composite
def requests(
    draw: Draw,
    *,
    max_staff: int,
    max_opportunities: int,
    max_weeks: int,
    max_slots: int,
    max_demands: int = 3,
    max_headcount: int = 3,
) -> dict[str, Any]:
    """A valid request; pins and lead_staff_id are valid one by one (H1, H2, H9; H5 for the lead)."""
    weeks = draw(st.integers(1, max_weeks))
    n_staff = draw(st.integers(1, max_staff)) if _maybe(draw, 0.2) else max_staff
    staff = [_staff(draw, i, weeks) for i in range(n_staff)]
    policy = _policy(draw) if _maybe(draw, 0.6) else {}

    slots_left = max_slots
    opportunities: list[dict[str, Any]] = []
    for j in range(draw(st.integers(1, max_opportunities))):
        if slots_left <= 0:
            break
        # Most deals are built around an anchor person (a would-be lead) whose unit fits the grade and
        # region, so that plans have something to staff; the rest are drawn blindly.
        leaders = [s for s in staff if s["can_lead"] and s["unit"]["kind"] != "hotline"]
        anchor = None
        if _maybe(draw, 0.8):
            anchor = draw(st.sampled_from(leaders if leaders and _maybe(draw, 0.8) else staff))
        grade, region = _grade_and_region(draw, anchor)
        demands = []
        # An opportunity without demands is schema-valid: it has no window, no value and no lead.
        n_demands = 0 if _maybe(draw, 0.04) else draw(st.integers(1, max_demands))
        for k in range(n_demands):
            if slots_left <= 0:
                break
            demand_anchor = anchor if k == 0 else (draw(st.sampled_from(staff)) if _maybe(draw, 0.7) else None)
            demand = _demand(draw, k, weeks, min(max_headcount, slots_left), demand_anchor)
            slots_left -= demand.get("headcount", 1)
            demands.append(demand)
        opportunity: dict[str, Any] = {
            "id": f"o{j}",
            "name": f"Deal {j}",
            "customer": f"Customer {j}",
            "grade": grade,
            "stage": "qualified",
            "region": region,
            "industry": "finance",
            "deal_value": 0 if _maybe(draw, 0.04) else draw(st.sampled_from(DEAL_VALUES)),
            "win_probability": 0.0 if _maybe(draw, 0.04) else draw(st.sampled_from(WIN_PROBABILITIES)),
            "demands": demands,
        }
        if _maybe(draw, 0.5):
            opportunity["presales_budget"] = draw(
                st.sampled_from([10_000, 4000, 2500, 25_000, 1500, 6000, 800, 1_000_000, 300, 0])
            )
        if _maybe(draw, 0.15):
            opportunity["excluded_staff"] = draw(
                st.lists(st.sampled_from([s["id"] for s in staff]), min_size=1, max_size=2, unique=True)
            )
        opportunities.append(opportunity)

    request: dict[str, Any] = {
        "horizon": {"start": "2026-11-23", "weeks": weeks},
        "staff": staff,
        "opportunities": opportunities,
        "options": dict(OPTIONS),
    }
    if policy or _maybe(draw, 0.5):
        request["policy"] = policy

    facts = Facts(request)
    _boundary_budgets(draw, facts, opportunities)
    _add_pins_and_leads(draw, facts, opportunities)
    if facts.demand_order and _maybe(draw, 0.3):
        request["previous_plan"] = _previous_plan(draw, facts)
    return request


def _boundary_budgets(draw: Draw, facts: Facts, opportunities: list[dict[str, Any]]) -> None:
    """Some budgets exactly equal to one member plus one lead (the H6 boundary), or a cent below it."""
    for opportunity in opportunities:
        oid = opportunity["id"]
        leads = facts.eligible_leads(oid)
        members = [(key, sid) for key in facts.demand_order if key[0] == oid for sid in facts.qualified(key)]
        if not leads or not members or not _maybe(draw, 0.2):
            continue
        key, member = draw(st.sampled_from(members))
        lead = draw(st.sampled_from(leads))
        cost = facts.member_cost(member, key) + (0.0 if lead == member else facts.lead_cost(lead, oid))
        if lead != member and facts.qualifies(lead, key):
            cost += facts.member_cost(lead, key) if _maybe(draw, 0.5) else 0.0
        opportunity["presales_budget"] = round(cost - draw(st.sampled_from([0.0, 0.0, 0.01])), 2)


def _add_pins_and_leads(draw: Draw, facts: Facts, opportunities: list[dict[str, Any]]) -> None:
    for opportunity in opportunities:
        oid = opportunity["id"]
        if _maybe(draw, 0.08):
            candidates = [(d["id"], sid) for d in opportunity["demands"] for sid in facts.qualified((oid, d["id"]))]
            if candidates:
                pins = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))
                opportunity["pinned"] = [{"demand_id": did, "staff_id": sid} for did, sid in pins]
        if _maybe(draw, 0.12):
            leads = facts.eligible_leads(oid)  # lead_staff_id is not set yet: these are all the valid ones
            if leads:
                opportunity["lead_staff_id"] = draw(st.sampled_from(leads))


def _previous_plan(draw: Draw, facts: Facts) -> list[dict[str, str]]:
    qualified = [(oid, did, sid) for (oid, did) in facts.demand_order for sid in facts.qualified((oid, did))]
    anyone = [(oid, did, sid) for (oid, did) in facts.demand_order for sid in facts.staff_order]
    pool = st.sampled_from(qualified) if qualified and _maybe(draw, 0.8) else st.sampled_from(anyone)
    triples = draw(st.lists(pool, min_size=1, max_size=4, unique=True))
    return [{"opportunity_id": o, "demand_id": d, "staff_id": s} for o, d, s in triples]


def tiny_requests() -> st.SearchStrategy[dict[str, Any]]:
    """At most 4 staff, 3 opportunities, 5 demand slots: small enough for the brute force."""
    return requests(max_staff=4, max_opportunities=3, max_weeks=3, max_slots=5, max_demands=2, max_headcount=2)


def small_requests() -> st.SearchStrategy[dict[str, Any]]:
    """At most 8 staff, 6 opportunities, 4 weeks, headcount 1-3."""
    return requests(max_staff=8, max_opportunities=6, max_weeks=4, max_slots=18, max_demands=3, max_headcount=3)
