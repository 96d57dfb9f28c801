"""Build seeded, realistic allocation requests: the benchmark sizes S-XL and the three market stages."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence

from benchmarks.generator.impossible import Impossible
from benchmarks.generator.world import (
    BRANDS,
    CUSTOMERS,
    DC_ROLES,
    DC_ROLES_MATURE,
    DELIVERY_CENTERS,
    GIVEN_NAMES,
    GRADE_SHAPES,
    HOTLINE_REGION,
    HQ_REGION,
    INDUSTRY_PLATFORM,
    INDUSTRY_SKILLS,
    PIPELINE_STAGES,
    PLATFORM_SKILLS,
    PROJECTS,
    REGION_BY_NAME,
    ROLE_SKILLS,
    SIZE_PROFILES,
    SIZES,
    SKILLS,
    STAGE_PROFILES,
    STAGES,
    SURNAMES,
    Json,
    Profile,
    Region,
    Size,
    Stage,
)
from service import costing
from service.contract import Opportunity, Policy


def generate(size: Size, seed: int) -> Json:
    """A benchmark request of the given size; the same (size, seed) always gives the same request."""
    if size not in SIZE_PROFILES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    return _Builder(SIZE_PROFILES[size], seed).build()


def market(stage: Stage, seed: int = 7) -> Json:
    """A request for one market stage of DOMAIN.md: new market, fast growth or mature market."""
    if stage not in STAGE_PROFILES:
        raise ValueError(f"unknown market stage {stage!r}; choose one of {', '.join(STAGES)}")
    return _Builder(STAGE_PROFILES[stage], seed).build()


def contention(request: Json) -> dict[str, float]:
    """Demanded hours (slots x weeks x hours per week, and lead hours) against the staff's capacity."""
    weeks = int(request["horizon"]["weeks"])
    capacity = 0.0
    for person in request["staff"]:
        hours = person["capacity_hours"]
        capacity += sum(hours) if isinstance(hours, list) else hours * weeks
    policy = Policy.model_validate(request.get("policy", {}))
    demanded = 0.0
    lead = 0.0
    for opportunity in request["opportunities"]:
        deal = Opportunity.model_validate(opportunity)
        for demand in deal.demands:
            demanded += costing.demand_hours(demand) * demand.headcount
        if deal.demands:
            lead += costing.lead_hours(deal, policy)
    return {
        "demanded_hours": demanded,
        "lead_hours": lead,
        "capacity_hours": capacity,
        "ratio": demanded / capacity if capacity else math.inf,
        "ratio_with_leads": (demanded + lead) / capacity if capacity else math.inf,
    }


def _apportion(total: int, shares: Sequence[float], minimum: int = 0) -> list[int]:
    """Split `total` by `shares` (largest remainder), giving each part at least `minimum` when possible."""
    weight = sum(shares)
    exact = [total * s / weight for s in shares]
    counts = [max(minimum, math.floor(x)) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], -shares[i], i))
    i = 0
    while sum(counts) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts) > total:
        j = max(range(len(counts)), key=lambda k: (counts[k] - exact[k], k))
        counts[j] -= 1
    return counts


class _Builder:
    """One generation run: a seeded random stream and the request assembled from it."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self.profile = profile
        self.rng = random.Random(seed)
        self.weeks = profile.weeks
        self.regions = [REGION_BY_NAME[name] for name in profile.regions]
        merged = Policy.model_validate(profile.policy)
        self.policy = merged
        self.tiers: dict[str, list[str]] = {g: list(kinds) for g, kinds in merged.tiers.items()}
        self.lead_units: dict[str, list[str]] = {g: list(kinds) for g, kinds in merged.lead_units.items()}
        self.budget_ratio: dict[str, float] = {g: r for g, r in merged.budget_ratio.items()}
        self.names: set[str] = set()
        self.customers: dict[tuple[str, str], list[str]] = {}
        self.key_accounts: list[tuple[str, str, str]] = []
        # Seniors (level 3+) per (region or unit kind, skill), and those of them who may lead.
        self.supply: dict[tuple[str, str], int] = {}
        self.lead_supply: dict[tuple[str, str], int] = {}
        self.experts = 0

    # ----------------------------------------------------------------- staff

    def build(self) -> Json:
        staff = self._staff()
        opportunities = self._opportunities(staff)
        impossible = Impossible(
            self.rng, self.policy, self.weeks, staff, opportunities, spare_grade_a=self.profile.iron_triangle
        )
        impossible.inject(max(1, self.profile.opportunities // 200))
        request: Json = {
            "horizon": {"start": self.profile.start, "weeks": self.weeks},
            "staff": staff,
            "opportunities": opportunities,
        }
        if self.profile.policy:
            request["policy"] = json.loads(json.dumps(self.profile.policy))
        request["options"] = {"time_limit_s": self.profile.time_limit_s}
        return request

    def _person_name(self) -> str:
        rng = self.rng
        for _ in range(50):
            name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN_NAMES)}"
            if name not in self.names:
                break
        self.names.add(name)
        return name

    def _staff(self) -> list[Json]:
        p = self.profile
        n_dc = round(p.staff * p.delivery_center_share)
        n_hotline = round(p.staff * p.hotline_share)
        n_local = p.staff - n_dc - n_hotline
        width = max(3, len(str(p.staff)))
        staff: list[Json] = []
        dc_units = self._delivery_center_units(n_dc)
        # Roles by quota, not by lot, so that even a three-person center has an architect and a consultant.
        roles = DC_ROLES_MATURE if p.iron_triangle else DC_ROLES
        dc_roles = [
            r for (r, _), n in zip(roles, _apportion(n_dc, [w for _, w in roles]), strict=True) for _ in range(n)
        ]
        self.rng.shuffle(dc_roles)
        for i, ((unit_id, industries), role) in enumerate(zip(dc_units, dc_roles, strict=True), start=1):
            staff.append(self._delivery_center_member(f"dc-{i:0{width}d}", unit_id, industries, role))
        per_region = _apportion(n_local, [r.weight for r in self.regions], minimum=1)
        for region, count in zip(self.regions, per_region, strict=True):
            for i in range(1, count + 1):
                staff.append(self._local_member(f"{region.name}-{i:0{width}d}", region, head=i == 1))
        for i in range(1, n_hotline + 1):
            staff.append(self._hotline_member(f"hot-{i:0{width}d}"))
        return staff

    def _delivery_center_units(self, count: int) -> list[tuple[str, tuple[str, ...]]]:
        # Finance is the largest cluster at headquarters; the others share the rest.
        per_unit = _apportion(count, [0.3, 0.3, 0.2, 0.2], minimum=1 if count >= 4 else 0)
        units: list[tuple[str, tuple[str, ...]]] = []
        for (unit_id, industries), n in zip(DELIVERY_CENTERS, per_unit, strict=True):
            units.extend([(unit_id, industries)] * n)
        return units

    def _capacity(self) -> int | list[int]:
        """Mostly full time; some part-timers; some with a week or two of leave inside the horizon."""
        rng = self.rng
        weekly = rng.choice((20, 24, 32)) if rng.random() < 0.12 else 40
        if self.weeks >= 4 and rng.random() < 0.15:
            hours = [weekly] * self.weeks
            for week in rng.sample(range(self.weeks), rng.choice((1, 1, 2))):
                hours[week] = 0
            return hours
        return weekly

    def _max_opportunities(self, unlimited: float) -> int | None:
        return None if self.rng.random() < unlimited else self.rng.randint(2, 6)

    def _delivery_center_member(self, staff_id: str, unit_id: str, industries: tuple[str, ...], role: str) -> Json:
        rng = self.rng
        industry = rng.choice(industries)
        if role in ("industry_consultant", "customer_lead_expert"):
            # Industry experts are hired industry by industry, so that every industry has one before any has two.
            industry = tuple(INDUSTRY_SKILLS)[self.experts % len(INDUSTRY_SKILLS)]
            unit_id = next(unit for unit, covered in DELIVERY_CENTERS if industry in covered)
            self.experts += 1
        home = INDUSTRY_SKILLS[industry]
        skills: dict[str, int] = {}
        if role in ("industry_consultant", "customer_lead_expert"):
            skills[home[0]] = 5 if role == "customer_lead_expert" else rng.choice((4, 5))
            for other in rng.sample(home[1:], min(len(home) - 1, rng.randint(0, 2))):
                skills[other] = rng.choice((3, 4))
            if rng.random() < 0.5:
                skills["solution-management"] = rng.choice((3, 4))
        elif role == "solution_manager":
            skills["solution-management"] = rng.choice((4, 4, 5))
            skills[rng.choice(home)] = rng.choice((3, 4))
        elif role == "solution_architect":
            platform = INDUSTRY_PLATFORM[industry]
            skills[rng.choice(platform)] = rng.choice((4, 5))
            for other in rng.sample(PLATFORM_SKILLS, rng.randint(0, 1)):
                skills.setdefault(other, rng.choice((3, 4)))
            skills.setdefault(rng.choice(home), rng.choice((3, 4)))
        elif role == "test_engineer":
            skills["testing"] = rng.choice((4, 4, 5))
            skills[rng.choice(home)] = 3
        else:
            skills[rng.choice(home)] = rng.choice((3, 4, 5))
            skills.setdefault(rng.choice(PLATFORM_SKILLS), rng.choice((3, 4)))
            skills.setdefault("testing", 3)
        # Delivery-center people have worked across their center's industries: a broader bench.
        cluster = next(covered for unit, covered in DELIVERY_CENTERS if unit == unit_id)
        breadth = [x for i in cluster for x in INDUSTRY_SKILLS[i] if x not in skills]
        for other in rng.sample(breadth, min(len(breadth), rng.randint(1, 2))):
            if len(skills) < 5:
                skills[other] = rng.choice((3, 3, 4))
        top = max(skills.values())
        rate = min(180, 110 + (top - 3) * 25 + rng.uniform(0, 20))
        can_lead = rng.random() < (0.4 if role in ("test_engineer", "delivery_engineer") else 0.95)
        return self._person(staff_id, role, ("delivery_center", unit_id, HQ_REGION), skills, rate, can_lead, 0.2)

    def _local_member(self, staff_id: str, region: Region, head: bool) -> Json:
        """A local-office member; the office's head is an account/solution manager who may lead."""
        rng = self.rng
        skills: dict[str, int] = {}
        industries = [name for name, _ in region.industries]
        weights = [w for _, w in region.industries]
        role = "account_solution_manager" if head or rng.random() < 0.25 else "presales_engineer"
        wanted = rng.choice((2, 3, 3)) - (role == "account_solution_manager")
        while len(skills) < wanted:
            if rng.random() < 0.75:
                industry = rng.choices(industries, weights)[0]
                skill = rng.choice(INDUSTRY_SKILLS[industry])
            else:
                skill = rng.choice((*PLATFORM_SKILLS, "testing"))
            skills.setdefault(skill, rng.choice(self.profile.local_levels))
        if role == "account_solution_manager":
            skills["solution-management"] = rng.choice((2, 3, 3, 4))
        top = max(skills.values())
        rate = min(110, 60 + (top - 2) * 14 + rng.uniform(0, 20))
        can_lead = head or rng.random() < (0.8 if role == "account_solution_manager" else 0.45)
        unit = ("local_office", f"office-{region.name}", region.name)
        return self._person(staff_id, role, unit, skills, rate, can_lead, 0.25)

    def _hotline_member(self, staff_id: str) -> Json:
        rng = self.rng
        # Remote work is mostly platform demos and testing, plus a product or two of some industry.
        skills: dict[str, int] = {}
        for skill in rng.sample((*PLATFORM_SKILLS, "testing"), 2):
            skills[skill] = rng.choice((2, 3, 3, 3, 4))
        industry_skills = [s for s in SKILLS if s not in (*PLATFORM_SKILLS, *ROLE_SKILLS)]
        for skill in rng.sample(industry_skills, rng.randint(1, 2)):
            skills[skill] = rng.choice((2, 3, 3, 3, 4))
        top = max(skills.values())
        rate = min(60, 40 + (top - 2) * 7 + rng.uniform(0, 8))
        unit = ("hotline", "hotline", HOTLINE_REGION)
        return self._person(staff_id, "hotline_engineer", unit, skills, rate, False, 0.5)

    def _person(
        self,
        staff_id: str,
        role: str,
        unit: tuple[str, str, str],
        skills: dict[str, int],
        rate: float,
        can_lead: bool,
        unlimited: float,
    ) -> Json:
        kind, unit_id, region = unit
        person: Json = {
            "id": staff_id,
            "name": self._person_name(),
            "role": role,
            "unit": {"kind": kind, "id": unit_id, "region": region},
            "skills": skills,
            "hourly_rate": float(round(rate / 5) * 5),
            "capacity_hours": self._capacity(),
            "can_lead": can_lead,
        }
        limit = self._max_opportunities(unlimited)
        if limit is not None or self.rng.random() < 0.5:
            person["max_opportunities"] = limit
        return person

    # ----------------------------------------------------------------- opportunities

    def _customer(self, region: Region, industry: str) -> str:
        rng = self.rng
        known = self.customers.setdefault((region.name, industry), [])
        if known and rng.random() < 0.25:
            return rng.choice(known)
        template = rng.choice(CUSTOMERS[industry])
        name = template.format(
            city=rng.choice(region.cities), province=rng.choice(region.provinces), brand=rng.choice(BRANDS)
        )
        known.append(name)
        return name

    def _choose_key_accounts(self) -> None:
        rng = self.rng
        names: set[str] = set()
        while len(self.key_accounts) < self.profile.key_accounts:
            region = rng.choices(self.regions, [r.weight for r in self.regions])[0]
            industry = rng.choices([i for i, _ in region.industries], [w for _, w in region.industries])[0]
            name = self._customer(region, industry)
            if name not in names:
                names.add(name)
                self.key_accounts.append((region.name, industry, name))

    def _opportunities(self, staff: list[Json]) -> list[Json]:
        p = self.profile
        rng = self.rng
        self._choose_key_accounts()
        for person in staff:
            # Local people count for their own region; the delivery center and the hotline for every region.
            kind = person["unit"]["kind"]
            where = person["unit"]["region"] if kind == "local_office" else kind
            for skill, level in person["skills"].items():
                if level >= 3:
                    self.supply[where, skill] = self.supply.get((where, skill), 0) + 1
                    if person["can_lead"]:
                        self.lead_supply[where, skill] = self.lead_supply.get((where, skill), 0) + 1
        grades = [
            g
            for g, n in zip(p.grades, _apportion(p.opportunities, list(p.grades.values())), strict=True)
            for _ in range(n)
        ]
        rng.shuffle(grades)
        width = max(4, len(str(p.opportunities)))
        opportunities: list[Json] = []
        local_by_region: dict[str, list[str]] = {}
        for person in staff:
            if person["unit"]["kind"] == "local_office":
                local_by_region.setdefault(person["unit"]["region"], []).append(person["id"])
        for i, grade in enumerate(grades, start=1):
            opportunity = self._opportunity(f"opp-{i:0{width}d}", grade)
            # Now and then a customer refuses someone (a former competitor's consultant, a bad history).
            nearby = local_by_region.get(opportunity["region"], [])
            if nearby and rng.random() < 0.02:
                opportunity["excluded_staff"] = [rng.choice(nearby)]
            opportunities.append(opportunity)
        return opportunities

    def _opportunity(self, opportunity_id: str, grade: str) -> Json:
        rng = self.rng
        shape = GRADE_SHAPES[grade]
        if self.key_accounts and grade in "AB" and rng.random() < 0.85:
            region_name, industry, customer = rng.choice(self.key_accounts)
            region = REGION_BY_NAME[region_name]
        else:
            region = rng.choices(self.regions, [r.weight for r in self.regions])[0]
            industry = self._industry(region, grade)
            customer = self._customer(region, industry)
        stage, low, high, intensity = self._stage()
        win_probability = round(rng.uniform(low, high) * 20) / 20
        low_value, high_value = shape.value
        position = rng.random()  # where the deal sits in its grade's value range, 0 smallest to 1 largest
        deal_value = _round_money(low_value * (high_value / low_value) ** position)
        # The larger the deal within its grade, the longer the presales work it asks for.
        intensity *= 0.6 + 0.8 * position
        if self.profile.iron_triangle and grade == "A":
            demands = self._iron_triangle(industry)
        else:
            demands = self._demands(grade, industry, region.name, intensity)
        primary = demands[0]["skill"]
        projects = PROJECTS.get(primary) or PROJECTS[INDUSTRY_SKILLS[industry][0]]
        name = rng.choice(projects)
        if rng.random() < 0.15:
            name += rng.choice((" phase 2", " pilot", " (Xinchuang)"))
        opportunity: Json = {
            "id": opportunity_id,
            "name": name,
            "customer": customer,
            "grade": grade,
            "stage": stage,
            "region": region.name,
            "industry": industry,
            "deal_value": deal_value,
            "win_probability": win_probability,
        }
        if rng.random() < shape.explicit_budget:
            # A budget the sales director approved by hand, above or below what the ratio would give.
            derived = costing.budget(Opportunity.model_validate({**opportunity, "demands": demands}), self.policy)
            opportunity["presales_budget"] = float(max(500, round(derived * rng.uniform(0.6, 2.0), -2)))
        opportunity["demands"] = demands
        return opportunity

    def _industry(self, region: Region, grade: str) -> str:
        """The region's industry mix, tilted towards industries someone here could own a deal in."""
        sources = [region.name if kind == "local_office" else kind for kind in self.lead_units[grade]]
        weights = []
        for industry, share in region.industries:
            owners = sum(self.lead_supply.get((where, s), 0) for where in sources for s in INDUSTRY_SKILLS[industry])
            weights.append(share * (0.05 + min(3, owners)))
        return self.rng.choices([i for i, _ in region.industries], weights)[0]

    def _stage(self) -> tuple[str, float, float, float]:
        stage, _, low, high, intensity = self.rng.choices(PIPELINE_STAGES, [s[1] for s in PIPELINE_STAGES])[0]
        return stage, low, high, intensity

    def _window(self, grade: str, intensity: float) -> tuple[int, int]:
        """An opportunity's active window: start week and length, inside the horizon."""
        low, high = GRADE_SHAPES[grade].span
        # The load stretches key deals fully and mid-size deals half as much; small deals stay small.
        load = self.profile.load
        scale = intensity * {"A": load, "B": load, "C": 1 + (load - 1) / 2}.get(grade, 1.0)
        length = round(self.rng.randint(low, high) * scale)
        length = max(1, min(self.weeks, length))
        start = self.rng.randint(0, self.weeks - length)
        return start, length

    def _pick_skills(
        self, choices: Sequence[str], grade: str, region: str, count: int, lead: bool = False
    ) -> list[str]:
        """Distinct skills, favouring those the bench has: a firm pursues the deals it can staff, and a
        deal's main skill is usually one that someone who may own the deal has."""
        pool = list(choices)
        kinds = self.lead_units[grade] if lead else self.tiers[grade]
        supply = self.lead_supply if lead else self.supply
        sources = [region if kind == "local_office" else kind for kind in kinds]
        weights = [0.05 + min(3, sum(supply.get((where, s), 0) for where in sources)) for s in pool]
        picked: list[str] = []
        while pool and len(picked) < count:
            i = self.rng.choices(range(len(pool)), weights)[0]
            picked.append(pool.pop(i))
            weights.pop(i)
        return picked

    def _demands(self, grade: str, industry: str, region: str, intensity: float) -> list[Json]:
        rng = self.rng
        shape = GRADE_SHAPES[grade]
        start, length = self._window(grade, intensity)
        count = rng.choice(shape.demands)
        home = INDUSTRY_SKILLS[industry]
        skills = self._pick_skills(home, grade, region, 1, lead=True)
        extras = [s for s in (*home, *INDUSTRY_PLATFORM[industry], "testing") if s not in skills]
        if grade in "AB":
            extras.append("solution-management")
        skills += self._pick_skills(extras, grade, region, count - 1)
        demands: list[Json] = []
        for k, skill in enumerate(skills):
            # The deal's owner does the main work on site; demos, documents and tests go remote.
            remote = rng.random() < (shape.remote_ok if k else shape.remote_ok / 3)
            hours = rng.choice(shape.hours)
            if k == 0:
                first, last = start, start + length - 1
            elif remote and grade in "CDE":
                # Remote support of a small deal runs alongside it from start to end.
                first, last, hours = start, start + length - 1, max(hours, 8)
            else:
                sub = rng.randint(max(1, (length + 1) // 2), length)
                first = start + rng.randint(0, length - sub)
                last = first + sub - 1
            level = rng.choice(shape.min_level)
            if skill in ("testing", "solution-management"):
                level = min(level, 4)
            demands.append(_demand(skill, skill, level, hours, first, last, rng.choice(shape.headcount), remote))
        return demands

    def _iron_triangle(self, industry: str) -> list[Json]:
        """A key-account A deal: customer-lead expert, solution manager and solution architect, long-planned."""
        rng = self.rng
        length = rng.randint(max(1, self.weeks * 3 // 4), self.weeks)
        start = rng.randint(0, self.weeks - length)
        end = start + length - 1
        architect_from = start + rng.randint(0, max(0, length // 4))
        demands = [
            _demand("customer-lead", INDUSTRY_SKILLS[industry][0], 5, rng.choice((8, 12)), start, end, 1, False),
            _demand("solution-manager", "solution-management", 4, rng.choice((12, 16)), start, end, 1, False),
            _demand(
                "solution-architect",
                rng.choice(INDUSTRY_PLATFORM[industry]),
                4,
                rng.choice((16, 20, 24)),
                architect_from,
                end,
                rng.choice((1, 2, 2)),
                False,
            ),
        ]
        if rng.random() < 0.5:
            poc = rng.randint(2, max(2, length // 3))
            poc_start = rng.randint(start, end - poc + 1)
            demands.append(
                _demand(
                    "poc-testing",
                    "testing",
                    rng.choice((3, 4)),
                    16,
                    poc_start,
                    poc_start + poc - 1,
                    rng.choice((1, 2)),
                    True,
                )
            )
        return demands


def _demand(
    demand_id: str, skill: str, level: int, hours: int, first: int, last: int, headcount: int, remote_ok: bool
) -> Json:
    demand: Json = {
        "id": demand_id,
        "skill": skill,
        "min_level": level,
        "hours_per_week": hours,
        "start_week": first,
        "end_week": last,
    }
    if headcount != 1:
        demand["headcount"] = headcount
    if remote_ok:
        demand["remote_ok"] = True
    return demand


def _round_money(value: float) -> float:
    """Round a deal value to three significant figures, as salespeople quote it."""
    digits = max(0, math.floor(math.log10(value)) - 2)
    return float(round(value / 10**digits) * 10**digits)
