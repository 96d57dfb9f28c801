"""A partial plan on the compiled problem, and whether more work fits it: one method per hard rule a plan
built piece by piece can break (H3 capacity, H4 slots, H5 one lead, H6 budget, H7 focus), on the problem's
scaled hours and cents.

The CP-SAT model (model.py) and the linear rows (linear.py) state these rules over every plan at once; the
ledger checks them as work is booked one piece at a time. Greedy books its plan here, the search's deal
steps ask what the rest of the plan leaves, explanations and recommendations ask what would fit. H1, H2
and H9 are the compile's (service/eligibility.py: only qualified pairs exist) and H8 is `pins_held`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from service.solver import rules
from service.solver.problem import Problem


class Ledger:
    """Hours booked by person and week, deals by person, spend by deal, people by slot, lead by deal.

    Work is booked as compiled pairs and lead options (`add_pair`, `add_lead`), or as a lead's role alone
    (`add_lead_role`: hours and deal, no cost: a lead the request fixes before any option is chosen).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self._used: dict[int, list[int]] = {}  # staff -> scaled hours by week
        self._deals: dict[int, dict[int, int]] = {}  # staff -> opportunity -> bookings on it (H7)
        self._work: dict[tuple[int, int], int] = {}  # (staff, opportunity) -> pairs booked (H5)
        self.spent: defaultdict[int, int] = defaultdict(int)  # cents by opportunity (H6)
        self.filled: dict[int, list[int]] = {}  # slot -> staff on it (H4)
        self.leads: dict[int, list[int]] = {}  # opportunity -> staff leading it (H5: one at most)

    @classmethod
    def of(cls, problem: Problem, pairs: Iterable[int], leads: Iterable[int] = ()) -> Ledger:
        """The ledger of a (partial) plan: its pairs and lead options."""
        ledger = cls(problem)
        for p in pairs:
            ledger.add_pair(p)
        for q in leads:
            ledger.add_lead(q)
        return ledger

    # ----------------------------------------------------------------- booking

    def _hours(self, staff: int, first: int, last: int, hours: int) -> None:
        used = self._used.get(staff)
        if used is None:
            used = self._used[staff] = [0] * self.problem.weeks
        for week in range(first, last + 1):
            used[week] += hours

    def _join(self, staff: int, opportunity: int, count: int) -> None:
        deals = self._deals.setdefault(staff, {})
        left = deals.get(opportunity, 0) + count
        if left:
            deals[opportunity] = left
        else:
            del deals[opportunity]

    def add_work(self, staff: int, slot: int, cost: int = 0) -> None:
        """`staff` on one place of `slot`, at `cost` cents (a compiled pair, or any qualified person)."""
        s = self.problem.slots[slot]
        self._hours(staff, s.start_week, s.end_week, s.hours_per_week)
        self._join(staff, s.opportunity, 1)
        key = (staff, s.opportunity)
        self._work[key] = self._work.get(key, 0) + 1
        self.spent[s.opportunity] += cost
        self.filled.setdefault(slot, []).append(staff)

    def remove_work(self, staff: int, slot: int, cost: int = 0) -> None:
        s = self.problem.slots[slot]
        self._hours(staff, s.start_week, s.end_week, -s.hours_per_week)
        self._join(staff, s.opportunity, -1)
        self._work[(staff, s.opportunity)] -= 1
        self.spent[s.opportunity] -= cost
        self.filled[slot].remove(staff)

    def add_pair(self, p: int) -> None:
        pair = self.problem.pairs[p]
        self.add_work(pair.staff, pair.slot, pair.cost)

    def remove_pair(self, p: int) -> None:
        pair = self.problem.pairs[p]
        self.remove_work(pair.staff, pair.slot, pair.cost)

    def add_lead_role(self, staff: int, opportunity: int) -> None:
        """The lead's hours over the deal's active window and the deal in their focus, without a cost."""
        window = self.problem.windows[opportunity]
        if window is None:
            return
        self._hours(staff, window[0], window[1], self.problem.lead_hours_per_week)
        self._join(staff, opportunity, 1)
        self.leads.setdefault(opportunity, []).append(staff)

    def add_lead(self, q: int) -> None:
        option = self.problem.lead_options[q]
        self.add_lead_role(option.staff, option.opportunity)
        self.spent[option.opportunity] += option.cost

    def remove_lead(self, q: int) -> None:
        option = self.problem.lead_options[q]
        window = self.problem.windows[option.opportunity]
        if window is not None:
            self._hours(option.staff, window[0], window[1], -self.problem.lead_hours_per_week)
            self._join(option.staff, option.opportunity, -1)
            self.leads[option.opportunity].remove(option.staff)
        self.spent[option.opportunity] -= option.cost

    # ----------------------------------------------------------------- H3 capacity

    def used(self, staff: int, week: int) -> int:
        used = self._used.get(staff)
        return 0 if used is None else used[week]

    def hours_left(self, staff: int) -> list[int]:
        """Each week's capacity less the hours booked."""
        capacity = self.problem.capacity[staff]
        used = self._used.get(staff)
        return list(capacity) if used is None else [c - u for c, u in zip(capacity, used, strict=True)]

    def week_short(self, staff: int, first: int, last: int, hours: int) -> int | None:
        """H3: the first week of `first`..`last` in which `hours` more do not fit `staff`'s capacity."""
        return rules.week_short(self.problem.capacity[staff], self._used.get(staff), first, last, hours)

    def has_hours(self, staff: int, first: int, last: int, hours: int) -> bool:
        return self.week_short(staff, first, last, hours) is None

    def slot_has_hours(self, staff: int, slot: int) -> bool:
        """H3 for `staff` taking one place of `slot`."""
        s = self.problem.slots[slot]
        return self.has_hours(staff, s.start_week, s.end_week, s.hours_per_week)

    def lead_has_hours(self, staff: int, opportunity: int) -> bool:
        """H3 for `staff` leading `opportunity` (lead hours every week of its active window)."""
        window = self.problem.windows[opportunity]
        return window is None or self.has_hours(staff, window[0], window[1], self.problem.lead_hours_per_week)

    # ----------------------------------------------------------------- H4 slots

    def slot_full(self, slot: int) -> bool:
        """H4: every place of the slot is taken."""
        return len(self.filled.get(slot, ())) >= self.problem.slots[slot].headcount

    def slot_has_room(self, staff: int, slot: int) -> bool:
        """H4: the slot has a free place, and `staff` is not on it already."""
        return not self.slot_full(slot) and staff not in self.filled.get(slot, ())

    def slot_overfilled(self, slot: int) -> bool:
        return len(self.filled.get(slot, ())) > self.problem.slots[slot].headcount

    # ----------------------------------------------------------------- H5 one lead

    def works_on(self, staff: int, opportunity: int) -> bool:
        """Whether `staff` fills a slot of `opportunity` (H5: its lead must)."""
        return self._work.get((staff, opportunity), 0) > 0

    def lead_breaks(self, opportunity: int) -> bool:
        """H5 for a finished deal: one lead exactly when someone works on it, and the lead works on it."""
        staffed = any(self.filled.get(slot) for slot in self.problem.slots_by_opportunity[opportunity])
        leads = self.leads.get(opportunity, [])
        if not leads:
            return staffed
        return len(leads) > 1 or not self.works_on(leads[0], opportunity)

    # ----------------------------------------------------------------- H6 budget

    def budget_allows(self, opportunity: int, cents: int) -> bool:
        """H6: `cents` more on `opportunity` stay within its budget."""
        return rules.within_budget(self.spent[opportunity], cents, self.problem.budgets[opportunity])

    # ----------------------------------------------------------------- H7 focus

    def deals_with(self, staff: int, opportunity: int) -> int:
        """How many deals `staff` works on with `opportunity` among them."""
        deals = self._deals.get(staff, {})
        return len(deals) + (opportunity not in deals)

    def focus_allows(self, staff: int, opportunity: int) -> bool:
        """H7: `staff`'s deals, `opportunity` among them, stay within their max_opportunities."""
        return rules.focus_allows(self.problem.max_opportunities[staff], self.deals_with(staff, opportunity))

    def focus_left(self, staff: int) -> int | None:
        """How many more deals `staff` may join (None: no limit)."""
        limit = self.problem.max_opportunities[staff]
        return None if limit is None else limit - len(self._deals.get(staff, {}))

    # ----------------------------------------------------------------- a whole plan

    def pins_held(self) -> bool:
        """H8: every pinned pair is booked."""
        problem = self.problem
        return all(problem.pairs[p].staff in self.filled.get(problem.pairs[p].slot, ()) for p in problem.pinned_pairs)

    def broken_rules(self) -> list[str]:
        """The rules the booked plan breaks as a finished plan, by id (empty: a valid plan)."""
        problem = self.problem
        broken = []
        people = range(len(problem.staff_ids))
        if any(self.week_short(s, 0, problem.weeks - 1, 0) is not None for s in people):
            broken.append("H3")
        if any(self.slot_overfilled(slot) for slot in self.filled):
            broken.append("H4")
        if any(self.lead_breaks(o) for o in range(len(problem.opportunity_ids))):
            broken.append("H5")
        if any(not rules.within_budget(spent, 0, problem.budgets[o]) for o, spent in self.spent.items()):
            broken.append("H6")
        if any(not rules.focus_allows(problem.max_opportunities[s], len(self._deals.get(s, {}))) for s in people):
            broken.append("H7")
        if not self.pins_held():
            broken.append("H8")
        return broken
