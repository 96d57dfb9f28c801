"""What size of request the engine serves within a time limit.

The engine's work grows with the qualified (person, demand) pairs: every one is compiled, ranked by the
greedy plan, and read again when the plan explains what it leaves open. That count is taken here before
anything is compiled, from a table of people by skill, level and unit, so that a request whose greedy
plan alone could not be ready within its `time_limit_s` is refused up front with a 422 that says why and
what would be served, instead of being acknowledged and then ending without a plan. A request admitted
here always gets at least the greedy plan within its time limit (service/planning.py keeps the time
for it); CP-SAT improves on it with whatever time is left.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from service.contract import AllocationRequest, Demand, FieldError, Opportunity, Staff
from service.eligibility import has_skill, unit_breach

# Seconds of compile, greedy plan and plan building per qualified pair, measured at XL on a 2-core
# machine (benchmarks/admission.py, RESULTS.md), times two for a machine busy with other solves.
SECONDS_PER_QUALIFIED_PAIR = 6.0e-5
# Memory: a solver process holds about 2.5 kB per qualified pair with its CP-SAT model (1 M pairs: 2.5 GB).
MAX_QUALIFIED_PAIRS = 1_500_000


@dataclass(frozen=True)
class Size:
    """The engine's work for one request, counted before compiling it."""

    qualified_pairs: int

    @property
    def seconds_needed(self) -> float:
        """Wall time to the greedy plan, with its margin."""
        return self.qualified_pairs * SECONDS_PER_QUALIFIED_PAIR


def served_pairs(time_limit_s: float) -> int:
    """The most qualified pairs served within `time_limit_s`."""
    return min(MAX_QUALIFIED_PAIRS, int(time_limit_s / SECONDS_PER_QUALIFIED_PAIR))


def measure(request: AllocationRequest) -> Size:
    """Count the pairs that pass H1, H2 and H9, without building them: people are grouped by unit (H2 is
    decided by the unit alone) and counted by skill level (H1), so the work is per demand and unit, not
    per demand and person. The rules themselves are service/eligibility.py's (`unit_breach`, `has_skill`)."""
    units: dict[tuple[str, str], Staff] = {}  # one person standing for each unit kind and region
    at_least: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)  # unit -> skill -> count by level
    for person in request.staff:
        unit = (person.unit.kind, person.unit.region)
        units.setdefault(unit, person)
        by_skill = at_least[unit]
        for skill, level in person.skills.items():
            counts = by_skill.setdefault(skill, [0] * 7)
            counts[level] += 1
    for by_skill in at_least.values():
        for counts in by_skill.values():
            for level in range(5, 0, -1):  # counts[level] becomes: people at that level or above
                counts[level] += counts[level + 1]
    staff_by_id = {person.id: person for person in request.staff}
    serves: dict[tuple[tuple[str, str], str, str, bool], bool] = {}
    total = 0
    for opportunity in request.opportunities:
        for demand in opportunity.demands:
            for kind_and_region, representative in units.items():
                at_level = at_least[kind_and_region].get(demand.skill)
                if at_level is None:
                    continue
                key = (kind_and_region, opportunity.grade, opportunity.region, demand.remote_ok)
                if key not in serves:
                    serves[key] = unit_breach(representative, opportunity, demand, request.policy) is None
                if serves[key]:
                    total += at_level[demand.min_level]
            total -= _excluded(opportunity, demand, staff_by_id, request)
    return Size(total)


def _excluded(
    opportunity: Opportunity, demand: Demand, staff_by_id: dict[str, Staff], request: AllocationRequest
) -> int:
    """People counted above (they pass H1 and H2) whom H9 excludes from the deal."""
    count = 0
    for staff_id in set(opportunity.excluded_staff):
        person = staff_by_id.get(staff_id)
        if (
            person is not None
            and has_skill(person, demand)
            and unit_breach(person, opportunity, demand, request.policy) is None
        ):
            count += 1
    return count


def size_errors(request: AllocationRequest, at: str = "") -> list[FieldError]:
    """The 422 for a request too large for its time limit (empty when it is served); `at` prefixes the
    paths when the request sits inside another body (`base.`, `request.`)."""
    size = measure(request)
    limit = request.options.time_limit_s
    if size.qualified_pairs > MAX_QUALIFIED_PAIRS:
        return [
            FieldError(
                f"{at}staff",
                f"{size.qualified_pairs:,} qualified (person, demand) pairs: the engine serves at most "
                f"{MAX_QUALIFIED_PAIRS:,} in one request, whatever the time limit; split the pipeline "
                "(by region or by quarter) or send fewer people or deals",
                "request_too_large",
            )
        ]
    if size.seconds_needed <= limit:
        return []
    needed = min(math.ceil(size.seconds_needed), 600)
    return [
        FieldError(
            f"{at}options.time_limit_s",
            f"{size.qualified_pairs:,} qualified (person, demand) pairs need at least {needed} s for a plan; "
            f"within {limit:g} s the engine serves up to {served_pairs(limit):,}: raise time_limit_s to "
            f"{needed} or more, or send fewer people or deals",
            "request_too_large",
        )
    ]
