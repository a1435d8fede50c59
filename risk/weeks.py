"""ISO weeks, the unit of the area index, the weekly report and monitoring: one definition of a
week's label ("2026-W09") and of its Monday. Times are naive Asia/Shanghai wall time."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

import pandas as pd

from features.errors import DisputeRiskError

_WEEK: Final = re.compile(r"(\d{4})-W(\d{2})")


def iso_week(when: pd.Timestamp | datetime | date) -> str:
    """The ISO week a day falls in.

    >>> iso_week(pd.Timestamp("2027-01-01")), iso_week(pd.Timestamp("2026-11-22 23:59"))
    ('2026-W53', '2026-W47')
    """
    year, week, _ = pd.Timestamp(when).isocalendar()
    return f"{year}-W{week:02d}"


def monday(when: object) -> pd.Timestamp:
    """00:00 of the Monday that starts the week of ``when``.

    >>> monday(pd.Timestamp("2026-03-01 23:59"))
    Timestamp('2026-02-23 00:00:00')
    """
    day = pd.Timestamp(when).normalize()
    return day - pd.Timedelta(days=day.weekday())


def week_start(week: str) -> pd.Timestamp:
    """The Monday (00:00) that starts an ISO week.

    >>> week_start("2026-W47")
    Timestamp('2026-11-16 00:00:00')
    >>> week_start("2026-47")
    Traceback (most recent call last):
    ...
    features.errors.DisputeRiskError: week must be an ISO week like 2026-W47, got '2026-47'
    """
    match = _WEEK.fullmatch(str(week))
    try:
        assert match is not None
        return pd.Timestamp(date.fromisocalendar(int(match[1]), int(match[2]), 1))
    except (AssertionError, ValueError):
        raise DisputeRiskError(f"week must be an ISO week like 2026-W47, got {week!r}") from None
