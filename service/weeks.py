"""Weeks named by their dates, as the director's page names them: `W48 · 23 Nov` is week `w` of a horizon, the
ISO week number and the day of its first date (the horizon's start plus `w` weeks). Texts for people use these
names; the wire's week fields (`start_week`, `end_week`, `hours_by_week`) stay 0-based indexes."""

from __future__ import annotations

import datetime as dt

# English month abbreviations, fixed rather than the locale's (strftime("%b") follows LC_TIME).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def week_start(start: dt.date, week: int) -> dt.date:
    """The first day of week `week` (0-based) of a horizon that starts on `start`."""
    return start + dt.timedelta(weeks=week)


def week_label(start: dt.date, week: int) -> str:
    """`W48 · 23 Nov`: the ISO week of the horizon's week `week` and the day and month it starts."""
    day = week_start(start, week)
    return f"W{day.isocalendar()[1]} · {day.day} {MONTHS[day.month - 1]}"


def weeks_text(start: dt.date, first: int, last: int) -> str:
    """`week W48 · 23 Nov`, or `weeks W48 · 23 Nov – W51 · 14 Dec` for weeks `first`..`last` (inclusive)."""
    if first == last:
        return f"week {week_label(start, first)}"
    return f"weeks {week_label(start, first)} – {week_label(start, last)}"
