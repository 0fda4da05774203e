"""Calendar arithmetic of legal delays, shared by the services: « deux mois », « trente ans » counted from a date.

A delay that ends on a day the target month lacks (31 → a 30-day month, 29 February → a common year) ends on that
month's last day, as the courts count it.
"""
from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (negative: before), clamped to the last day of the target month."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` plus ``years`` (29 February → 28 February of a common year)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))
