"""How hard property tests work under the active hypothesis profile (registered in tests/conftest.py).

A property states its full strength, `@settings(max_examples=examples(150), ...)`: that is what CI runs
(profile "ci", loaded when CI=true) and what HYPOTHESIS_PROFILE=full runs. The default profile outside CI,
"dev", runs a quarter of it (at least 10, never more than the full count) with fresh random examples on
every run, so that the README's test command stays short while CI keeps every property at full strength.
Work that max_examples does not bound (schemathesis' coverage phase) asks `full_strength()`.
"""

from __future__ import annotations

import math

from hypothesis import settings

FULL_PROFILES = frozenset({"ci", "full"})
DEV_SHARE = 0.25
DEV_FLOOR = 10


def full_strength() -> bool:
    """Whether properties run at full strength: under the "ci" and "full" profiles."""
    return settings.get_current_profile_name() in FULL_PROFILES


def examples(full: int) -> int:
    """`full` at full strength, a quarter of it (at least 10) otherwise."""
    if full_strength():
        return full
    return min(full, max(DEV_FLOOR, math.ceil(full * DEV_SHARE)))
