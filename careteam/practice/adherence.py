"""Adherence: practices logged against the target, week by week in the client's own weeks.

Pure arithmetic on dates; services.py feeds it the counts of one grouped query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from careteam.enums import PracticePeriod

DEFAULT_WEEKS = 4


@dataclass(frozen=True)
class Week:
    """One Monday-to-Sunday week of an assignment: practices logged and the target."""

    start: date
    count: int
    target: int | None  # None: the assignment did not run that week
    current: bool = False

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def percent(self) -> int | None:
        if not self.target:
            return None
        return round(100 * self.count / self.target)

    @property
    def bar(self) -> int:
        """The bar's width in percent of the track, capped at a full bar."""
        return min(self.percent or 0, 100)

    @property
    def text(self) -> str:
        """The week as a sentence: the bar's text alternative."""
        if self.target is None:
            return "not assigned"
        times = "practice" if self.count == 1 else "practices"
        return f"{self.count} {times} of {self.target} ({self.percent}%)"


@dataclass(frozen=True)
class Adherence:
    """An assignment's last weeks, oldest first; the last one is the current week."""

    weeks: list[Week]

    @property
    def this_week(self) -> Week:
        return self.weeks[-1]

    @property
    def last_full_week(self) -> Week | None:
        return self.weeks[-2] if len(self.weeks) > 1 else None


def week_start(day: date) -> date:
    """The Monday of the week a day falls in."""
    return day - timedelta(days=day.weekday())


def week_starts(today: date, weeks: int = DEFAULT_WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks, the current one last."""
    monday = week_start(today)
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def week_target(
    *, target_count: int, period: str, starts_on: date, ends_on: date | None, monday: date
) -> int | None:
    """The target for one week, for the days of it the assignment runs (None if none).

    A full week asks for the per-day target times seven or the per-week target; a week
    the assignment starts or ends in asks for its share of that, rounded up.
    """
    first = max(monday, starts_on)
    last = monday + timedelta(days=6)
    if ends_on is not None:
        last = min(last, ends_on)
    days = (last - first).days + 1
    if days <= 0:
        return None
    if period == PracticePeriod.DAY:
        return target_count * days
    return math.ceil(target_count * days / 7)


def adherence(
    *,
    target_count: int,
    period: str,
    starts_on: date,
    ends_on: date | None,
    counts: dict[date, int],
    today: date,
    weeks: int = DEFAULT_WEEKS,
) -> Adherence:
    """Logs per week against the target, for the last `weeks` weeks up to `today`.

    `counts` maps a day to the number of practices logged that day.
    """
    result = []
    mondays = week_starts(today, weeks)
    for monday in mondays:
        end = monday + timedelta(days=6)
        count = sum(n for day, n in counts.items() if monday <= day <= end)
        target = week_target(
            target_count=target_count,
            period=period,
            starts_on=starts_on,
            ends_on=ends_on,
            monday=monday,
        )
        result.append(Week(monday, count, target, current=monday == mondays[-1]))
    return Adherence(result)
