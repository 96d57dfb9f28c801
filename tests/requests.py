"""Builders for tiny hand-built requests (plain dicts, as a CRM would send them)."""

from __future__ import annotations

from typing import Any


def person(
    staff_id: str,
    *,
    kind: str = "delivery_center",
    region: str = "east",
    skills: dict[str, int] | None = None,
    rate: float = 100.0,
    capacity: float | list[float] = 40,
    can_lead: bool = True,
    max_opportunities: int | None = None,
) -> dict[str, Any]:
    return {
        "id": staff_id,
        "name": staff_id,
        "role": "presales_engineer",
        "unit": {"kind": kind, "id": f"{kind}-{region}", "region": region},
        "skills": skills if skills is not None else {"erp": 4},
        "hourly_rate": rate,
        "capacity_hours": capacity,
        "can_lead": can_lead,
        "max_opportunities": max_opportunities,
    }


def demand(
    demand_id: str = "d1",
    *,
    skill: str = "erp",
    level: int = 3,
    hours: float = 10,
    start: int = 0,
    end: int = 1,
    headcount: int = 1,
    remote_ok: bool = False,
) -> dict[str, Any]:
    return {
        "id": demand_id,
        "skill": skill,
        "min_level": level,
        "hours_per_week": hours,
        "start_week": start,
        "end_week": end,
        "headcount": headcount,
        "remote_ok": remote_ok,
    }


def opportunity(
    opportunity_id: str = "o1",
    *,
    grade: str = "A",
    region: str = "east",
    value: float = 1_000_000,
    probability: float = 0.5,
    budget: float | None = None,
    demands: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "id": opportunity_id,
        "name": opportunity_id,
        "customer": "customer",
        "grade": grade,
        "stage": "solution",
        "region": region,
        "industry": "finance",
        "deal_value": value,
        "win_probability": probability,
        "demands": demands if demands is not None else [demand()],
        **extra,
    }
    if budget is not None:
        body["presales_budget"] = budget
    return body


def request(
    staff: list[dict[str, Any]],
    opportunities: list[dict[str, Any]],
    *,
    weeks: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "horizon": {"start": "2026-11-23", "weeks": weeks},
        "staff": staff,
        "opportunities": opportunities,
        "options": {"time_limit_s": 10, "deterministic": True},
        **extra,
    }
