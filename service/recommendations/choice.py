"""One choice under evaluation, a person pinned to a slot: its figures, how they read in words, and
the ranking of choices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from service.contract import ChoiceReason, Demand, Plan, SlotChange, Staff


@dataclass
class Choice:
    """One (person, slot) pin under evaluation."""

    staff: int
    opportunity: int
    slot: int
    demand: Demand
    member_cost: float
    on_slot: bool
    pinned: bool
    estimate: float = 0.0
    estimated_cost: float = 0.0
    reasons: list[ChoiceReason] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    plan: Plan | None = None  # the re-solve with the pin
    baseline: Plan | None = None
    exact: bool = False
    changes: list[SlotChange] = field(default_factory=list)  # demands filled differently than in the baseline
    lead_change: str = ""  # who must lead the deal instead, when the re-solve changes its lead

    @property
    def ruled_out(self) -> bool:
        return bool(self.reasons)

    def outcome(self, who: str, slot: str, limit: int) -> dict[str, Any]:
        # Someone already on the slot needs no re-solve: the baseline plan is the pinned optimum too.
        plan = self.plan if self.plan is not None or self.reasons or not self.on_slot else self.baseline
        delta_value, delta_cost = self.known_delta("covered_value"), self.known_delta("total_cost")
        return {
            "member_cost": round(self.member_cost, 2),
            "on_slot": self.on_slot,
            "pinned": self.pinned,
            "resolved": self.plan is not None,
            "feasible": self.feasible(),
            "status": plan.status if plan is not None else ("infeasible" if self.reasons else None),
            "covered_value": plan.objective.covered_value if plan is not None else None,
            "total_cost": plan.objective.total_cost if plan is not None else None,
            "delta_covered_value": delta_value,
            "delta_total_cost": delta_cost,
            "delta_covered_value_vs_baseline": delta_value,
            "delta_total_cost_vs_baseline": delta_cost,
            "exact": self.exact,
            "estimated_delta_covered_value": round(self.estimate, 2),
            "changed_slots": self.changes,
            "note": self._note(who, slot, limit, delta_value, delta_cost),
            "reasons": self.reasons,
            "detail": "; ".join(self.details),
        }

    def _note(self, who: str, slot: str, limit: int, delta_value: float | None, delta_cost: float | None) -> str:
        """The figures in words: what this choice displaces, or why there is no exact figure."""
        if self.reasons:
            return f"Cannot be chosen: {'; '.join(self.details)}."
        if self.pinned:
            return f"The request already pins {who} to {slot}: the baseline plan has this choice, every delta is 0."
        if self.plan is None and self.on_slot:
            return f"{who} is on {slot} in the baseline plan already: choosing them changes nothing, every delta is 0."
        estimate = f"{self.estimate:+,.2f}"
        if self.plan is None:
            return (
                f"Not re-solved: only the first {limit} of the pre-ranking are (limit). The estimate {estimate} "
                f"counts {slot}'s value and {who}'s own work in the baseline plan only; the exact change can be "
                "lower, even negative."
            )
        if delta_value is None or delta_cost is None:
            return f"The re-solve with {who} on {slot} ended without a plan ({self.plan.status})."
        cost = f"Total cost {delta_cost:+,.2f} against the baseline plan."
        if delta_value > 0.005:
            return (
                f"Covered value {delta_value:+,.2f}: the baseline plan was not proven optimal and the re-solve with "
                f"{who} on {slot} found a better one. {cost}"
            )
        if delta_value > -0.005:
            return f"No covered value lost: the plan with {who} on {slot} covers as much as the baseline plan. {cost}"
        gains = [c for c in self.changes if c.delta_covered_value > 0]
        losses = [c for c in self.changes if c.delta_covered_value < 0]
        gained = sum(c.delta_covered_value for c in gains)
        lost = sum(c.delta_covered_value for c in losses)
        text = (
            f"Covered value {delta_value:+,.2f} against the baseline plan. With {who} pinned to {slot}, the "
            f"re-solved plan fills {_changes_text(gains) or 'nothing new'}, together {gained:+,.2f}; the work it "
            f"displaces from the baseline plan, {_changes_text(losses)}, takes {lost:+,.2f}. {cost}"
        )
        if self.lead_change:
            text += f" {self.lead_change}"
        if abs(self.estimate - delta_value) > 0.005:
            text += (
                f" The estimate {estimate} counted only {slot}'s value and {who}'s own work; the rest comes from "
                "other people moving."
            )
        return text

    def feasible(self) -> bool | None:
        """False when ruled out or found infeasible, True when proven feasible, None when not known."""
        if self.reasons:
            return False
        if self.plan is not None:
            return self.plan.status in ("optimal", "feasible")
        return True if self.on_slot else None

    def known_delta(self, name: str) -> float | None:
        """The change of objective figure `name` against the baseline, when known: 0 for someone already
        on the slot, the re-solve's when it found a plan, else None."""
        if self.on_slot and self.plan is None:
            return 0.0
        if self.plan is None or self.plan.status not in ("optimal", "feasible"):
            return None
        return self.delta(name)

    def delta(self, name: str) -> float:
        assert self.plan is not None
        assert self.baseline is not None
        change: float = getattr(self.plan.objective, name) - getattr(self.baseline.objective, name)
        return round(change, 2)


def ranked(choices: Sequence[Choice]) -> list[Choice]:
    """Proven choices first by covered-value delta descending then cost delta ascending; then the
    unsolved by estimate; the infeasible last. Ties keep the order given (the problem's staff order)."""

    def key(choice: Choice) -> tuple[int, float, float, float]:
        feasible = choice.feasible()
        if feasible is False:
            return (2, 0.0, 0.0, choice.member_cost)
        if feasible is True:
            value = choice.known_delta("covered_value") or 0.0
            cost = choice.known_delta("total_cost") or 0.0
            return (0, -value, cost, choice.member_cost)
        return (1, -choice.estimate, choice.estimated_cost, choice.member_cost)

    return sorted(choices, key=key)


def who(person: Staff) -> str:
    """'Name (id)', or the id alone when the person has no other name."""
    return f"{person.name} ({person.id})" if person.name and person.name != person.id else person.id


def _changes_text(changes: Sequence[SlotChange], shown: int = 3) -> str:
    parts = [
        f"{c.opportunity_id}/{c.demand_id} {c.filled_in_baseline}->{c.filled_with_choice} "
        f"({c.delta_covered_value:+,.2f})"
        for c in changes[:shown]
    ]
    more = f" and {len(changes) - shown} more" if len(changes) > shown else ""
    return ", ".join(parts) + more
