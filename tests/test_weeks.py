"""Weeks named by their dates (service.weeks): the ISO week and the first day of a horizon's week."""

from __future__ import annotations

import datetime as dt

import pytest

from service.weeks import week_label, week_start, weeks_text

START = dt.date(2026, 11, 23)  # a Monday in ISO week 48


@pytest.mark.parametrize(
    ("start", "week", "label"),
    [
        (START, 0, "W48 · 23 Nov"),
        (START, 3, "W51 · 14 Dec"),
        (START, 5, "W53 · 28 Dec"),  # 2026 has 53 ISO weeks
        (START, 6, "W1 · 4 Jan"),  # and the next year starts again at W1
        (dt.date(2027, 1, 1), 0, "W53 · 1 Jan"),  # a Friday in the last ISO week of 2026
        (dt.date(2026, 11, 25), 1, "W49 · 2 Dec"),  # a horizon from a Wednesday: its weeks start on Wednesdays
    ],
)
def test_a_week_is_named_by_its_iso_week_and_first_day(start: dt.date, week: int, label: str) -> None:
    assert week_label(start, week) == label


def test_week_zero_is_the_horizon_start() -> None:
    assert week_start(START, 0) == START
    assert week_start(START, 2) == dt.date(2026, 12, 7)


def test_one_week_and_a_span_of_weeks() -> None:
    assert weeks_text(START, 1, 1) == "week W49 · 30 Nov"
    assert weeks_text(START, 0, 3) == "weeks W48 · 23 Nov – W51 · 14 Dec"
