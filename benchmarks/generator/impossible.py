"""Plants work that no plan can fill, one plant per unfilled reason, judged by the contract's own rules
and costing's own formulas so that the reason a plant aims for is the one the service will give."""

from __future__ import annotations

import random

from benchmarks.generator.world import PROJECTS, Json
from service import costing
from service.contract import Demand, Opportunity, Policy, Staff
from service.eligibility import is_qualified, may_lead

# How many opportunities a plant may try; keeps XL generation fast.
SEARCH_LIMIT = 600


class Impossible:
    """Plants demands that no plan can fill, one kind per unfilled reason, so that every reason shows up.

    Each plant is checked against the rules (H1, H2, H5, H6, H9) on the generated data, so the reason
    is really the one intended and not an earlier one. The plants edit the generated JSON in place; the
    checks read it through the contract's models, validated afresh after every edit.
    """

    def __init__(
        self,
        rng: random.Random,
        policy: Policy,
        weeks: int,
        staff: list[Json],
        opportunities: list[Json],
        *,
        spare_grade_a: bool = False,
    ) -> None:
        self.rng = rng
        self.policy = policy
        self.weeks = weeks
        self.staff = staff
        self.opportunities = opportunities
        self.spare_grade_a = spare_grade_a  # iron-triangle A deals keep their shape
        # The plants change capacities only, which no check reads: each person is validated once.
        self.people = {person["id"]: Staff.model_validate(person) for person in staff}
        self.by_skill: dict[str, list[Json]] = {}
        for person in staff:
            for skill in person["skills"]:
                self.by_skill.setdefault(skill, []).append(person)
        self.touched: set[str] = set()
        self.answers: dict[tuple[object, ...], list[Json]] = {}

    def inject(self, count: int) -> None:
        candidates = list(self.opportunities)
        self.rng.shuffle(candidates)
        candidates = [o for o in candidates if not (self.spare_grade_a and o["grade"] == "A")]
        for plant in (self._no_qualified_staff, self._no_lead, self._over_budget, self._no_capacity):
            done = 0
            for opportunity in candidates[:SEARCH_LIMIT]:
                if done == count:
                    break
                if opportunity["id"] not in self.touched and plant(opportunity):
                    self.touched.add(opportunity["id"])
                    done += 1

    def qualified(self, deal: Opportunity, demand: Demand, ignore_level: bool = False) -> list[Json]:
        """The people who pass H1, H2 and H9 for `demand` (H2 and H9 only with `ignore_level`)."""
        # Everyone listed under the skill has it at level 1 or more.
        level = 1 if ignore_level else demand.min_level
        # What H1, H2 and H9 read of the deal and the demand: the plants ask the same question many times.
        key = (deal.grade, deal.region, tuple(deal.excluded_staff), demand.skill, level, demand.remote_ok)
        found = self.answers.get(key)
        if found is None:
            probe = demand.model_copy(update={"min_level": level})
            found = self.answers[key] = [
                person
                for person in self.by_skill.get(demand.skill, [])
                if is_qualified(self.people[person["id"]], deal, probe, self.policy)
            ]
        return list(found)

    def leads(self, deal: Opportunity) -> list[Staff]:
        """The people who may lead the deal and are qualified for one of its demands (H5)."""
        found: dict[str, Staff] = {}
        for demand in deal.demands:
            for person in self.qualified(deal, demand):
                model = self.people[person["id"]]
                if may_lead(model, deal, self.policy):
                    found[model.id] = model
        return list(found.values())

    def _staffable(self, opportunity: Json) -> bool:
        """Every demand has someone qualified, a lead exists, and the cheapest way fits the budget."""
        deal = Opportunity.model_validate(opportunity)
        qualified = [self.qualified(deal, d) for d in deal.demands]
        if not all(qualified):
            return False
        leads = self.leads(deal)
        if not leads:
            return False
        cheapest_lead = min(costing.lead_cost(p, deal, self.policy) for p in leads)
        budget = costing.budget(deal, self.policy)
        return all(
            min(costing.member_cost(self.people[p["id"]], d, deal, self.policy) for p in people) + cheapest_lead
            <= budget
            for d, people in zip(deal.demands, qualified, strict=True)
        )

    def _no_qualified_staff(self, opportunity: Json) -> bool:
        """A skill level nobody who may serve this deal has (the specialist the region never hired)."""
        deal = Opportunity.model_validate(opportunity)
        for demand, model in zip(opportunity["demands"], deal.demands, strict=True):
            best = max((p["skills"][demand["skill"]] for p in self.qualified(deal, model, True)), default=0)
            if 3 <= best < 5 and len(opportunity["demands"]) > 1:
                demand["min_level"] = best + 1
                return True
        return False

    def _no_lead(self, opportunity: Json) -> bool:
        """Small remote work only the hotline can do, and no local office person to own the deal."""
        if opportunity["grade"] not in "CDE" or "hotline" not in self.policy.tiers[opportunity["grade"]]:
            return False
        hotline = [p for p in self.staff if p["unit"]["kind"] == "hotline"]
        local_skills = {
            s
            for p in self.staff
            if p["unit"]["kind"] == "local_office" and p["unit"]["region"] == opportunity["region"]
            for s in p["skills"]
        }
        for person in hotline:
            for skill, level in person["skills"].items():
                if skill in local_skills:
                    continue
                saved = opportunity["demands"]
                demand = dict(saved[0], skill=skill, id=skill, min_level=min(level, 3), remote_ok=True)
                opportunity["demands"] = [demand]
                deal = Opportunity.model_validate(opportunity)
                if self.qualified(deal, deal.demands[0]) and not self.leads(deal):
                    opportunity.pop("presales_budget", None)
                    if skill in PROJECTS:
                        opportunity["name"] = self.rng.choice(PROJECTS[skill])
                    return True
                opportunity["demands"] = saved
        return False

    def _over_budget(self, opportunity: Json) -> bool:
        """A rep who booked a token presales budget for work that needs days."""
        if not self._staffable(opportunity):
            return False
        opportunity["presales_budget"] = float(self.rng.choice((100, 120, 150)))
        return True

    def _no_capacity(self, opportunity: Json) -> bool:
        """The only people senior enough are on leave in a week the customer wants them."""
        deal = Opportunity.model_validate(opportunity)
        for demand, model in zip(opportunity["demands"], deal.demands, strict=True):
            candidates = self.qualified(deal, model, ignore_level=True)
            best = max((p["skills"][demand["skill"]] for p in candidates), default=0)
            top = [p for p in candidates if p["skills"][demand["skill"]] == best]
            if best < demand["min_level"] or not 1 <= len(top) <= 3:
                continue
            level = demand["min_level"]
            demand["min_level"] = best
            if not self._staffable(opportunity):
                demand["min_level"] = level
                continue
            week = self.rng.randint(demand["start_week"], demand["end_week"])
            for person in top:
                hours = person["capacity_hours"]
                if not isinstance(hours, list):
                    hours = [hours] * self.weeks
                    person["capacity_hours"] = hours
                hours[week] = 0
            return True
        return False
