"""Who is calling and what they may do: API keys carry a tenant and a role (CONTRACT v2, "Roles").

- `admin`: everything, webhooks included (a key without a role is an admin);
- `planner`: reads, solves, and writes the workspace (publish, confirm, release);
- `viewer`: reads only, and never sees an hourly rate, a cost or a budget: `redact_for_viewer` takes them
  out of every JSON answer (the API applies it to whatever a viewer's request returns, so no route can forget it).

A key is never stored or logged: the audit and the logs name it by `key_id`, a digest of the key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

Role = Literal["admin", "planner", "viewer"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
HIDDEN: Final = "[hidden]"

# Money in free text, as the explanations write it ("costs 12,480.00, the budget is 9,000.00").
_MONEY = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d{2}\b")


@dataclass(frozen=True)
class Principal:
    """The caller: their tenant, their role, and the id of the key they presented."""

    tenant: str
    role: Role
    key_id: str

    @property
    def may_write(self) -> bool:
        """Solve, run what-ifs, and change the workspace."""
        return self.role in ("admin", "planner")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_money(self) -> bool:
        """Whether hourly rates, costs and budgets may appear in answers to this caller."""
        return self.role != "viewer"


def key_id(key: str) -> str:
    """A stable, non-secret name for an API key (its SHA-256, shortened): what the audit records."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_grant(grant: str) -> tuple[str, Role]:
    """`tenant` or `tenant:role` (the part of an API_KEYS entry after the key) -> (tenant, role)."""
    tenant, _, role = grant.partition(":")
    role = role.strip() or "admin"
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return tenant.strip(), role


def is_money_key(key: str) -> bool:
    """A field that holds an hourly rate, a cost or a budget: `hourly_rate`, `cost`, `total_cost`,
    `member_cost`, `delta_total_cost_vs_baseline`, `budget`, `presales_budget`, `budget_ratio`, ..."""
    words = key.split("_")
    return key == "hourly_rate" or "cost" in words or "budget" in words


# The free-text fields that may name money: an explanation's detail, a recommendation's details and note, and
# the names a what-if's author gave it and its variants ("move 34,000 of budget from opp-0046 to opp-0001").
_TEXT_KEYS: Final = frozenset({"detail", "details", "note", "name", "variant"})


def redact_for_viewer(document: Any, *, text: bool = False) -> Any:
    """`document` without any hourly rate, cost or budget: such fields are dropped, and money figures in the
    free text of explanations, recommendations and what-if names are replaced by "[hidden]"."""
    if isinstance(document, dict):
        return {
            key: redact_for_viewer(value, text=key in _TEXT_KEYS)
            for key, value in document.items()
            if not is_money_key(str(key))
        }
    if isinstance(document, list):
        # An entry named after money (a solver level `{"name": "total_cost", "objective": ...}`) goes whole.
        return [
            redact_for_viewer(item, text=text)
            for item in document
            if not (isinstance(item, dict) and is_money_key(str(item.get("name", ""))))
        ]
    if text and isinstance(document, str):
        return _MONEY.sub(HIDDEN, document)
    return document
