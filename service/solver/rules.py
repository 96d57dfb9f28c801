"""The hard rules that a plan built piece by piece can break, as arithmetic on the compiled problem's scaled
hours and cents: H3 capacity, H6 budget and H7 focus, each written once.

The ledger (ledger.py) applies them to a partial plan; the compile (problem.py) applies them to the empty
plan to drop the pairs and lead options that cannot hold even alone. The CP-SAT model and the linear rows
state the same rules over every plan at once (model.py, linear.py).
"""

from __future__ import annotations

from collections.abc import Sequence


def week_short(capacity: Sequence[int], used: Sequence[int] | None, first: int, last: int, hours: int) -> int | None:
    """H3: the first week of `first`..`last` in which `hours` more, on top of `used` (None: nothing booked),
    exceed `capacity`; None when they fit every week."""
    for week in range(first, last + 1):
        if (0 if used is None else used[week]) + hours > capacity[week]:
            return week
    return None


def within_budget(spent: int, cents: int, budget: int) -> bool:
    """H6: `cents` more on a deal that has `spent` stay within its `budget`."""
    return spent + cents <= budget


def focus_allows(limit: int | None, deals: int) -> bool:
    """H7: working on `deals` opportunities is within a person's max_opportunities (None: no limit)."""
    return limit is None or deals <= limit
