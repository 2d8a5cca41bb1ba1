"""Digest schedules and quiet hours in the user's own time zone, across DST changes.

Pure functions of careteam/digests/schedule.py: no app, no database.
2026 transitions: New York springs forward on 8 March and falls back on 1 November
(at 02:00 local); Berlin on 29 March and 25 October (at 02:00 and 03:00 local).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from careteam.digests.schedule import latest_due, next_due, quiet_until
from careteam.enums import DigestFrequency

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)

# (zone, transition day, length of that local day in hours)
TRANSITIONS = [
    pytest.param(NEW_YORK, date(2026, 3, 8), 23, id="new_york-spring"),
    pytest.param(NEW_YORK, date(2026, 11, 1), 25, id="new_york-fall"),
    pytest.param(BERLIN, date(2026, 3, 29), 23, id="berlin-spring"),
    pytest.param(BERLIN, date(2026, 10, 25), 25, id="berlin-fall"),
]


def local(zone: ZoneInfo, day: date, clock: time, fold: int = 0) -> datetime:
    """An aware UTC instant for a local wall-clock time."""
    return datetime.combine(day, clock, zone).replace(fold=fold).astimezone(UTC)


def daily(after: datetime, zone: ZoneInfo, at: time = time(8, 0)) -> datetime | None:
    return next_due(
        frequency=DigestFrequency.DAILY, send_time=at, weekday=0, zone=zone, after=after
    )


def series(zone: ZoneInfo, start: datetime, n: int, **schedule) -> list[datetime]:
    """The next n scheduled instants after start, each computed from the previous one."""
    out, after = [], start
    for _ in range(n):
        after = next_due(zone=zone, after=after, **schedule)
        assert after is not None
        out.append(after)
    return out


@pytest.mark.parametrize(("zone", "day", "day_hours"), TRANSITIONS)
def test_daily_0800_arrives_at_0800_local_once_a_day_across_dst(zone, day, day_hours):
    start = local(zone, day - timedelta(days=5), time(12, 0))
    due = series(
        zone,
        start,
        10,
        frequency=DigestFrequency.DAILY,
        send_time=time(8, 0),
        weekday=0,
    )
    local_times = [d.astimezone(zone) for d in due]
    assert {t.time() for t in local_times} == {time(8, 0)}
    assert [t.date() for t in local_times] == [
        day - timedelta(days=4) + timedelta(days=i) for i in range(10)
    ]
    gaps = [(b - a) / HOUR for a, b in pairwise(due)]
    # Only the gap that spans the transition night differs from 24 h.
    transition_gap = gaps.index(day_hours)
    assert local_times[transition_gap + 1].date() == day
    assert gaps[:transition_gap] + gaps[transition_gap + 1 :] == [24] * 8


@pytest.mark.parametrize(("zone", "day", "day_hours"), TRANSITIONS)
def test_weekly_arrives_on_its_weekday_at_its_local_time_across_dst(zone, day, day_hours):
    weekday = day.weekday()  # the transition days are Sundays: the schedule crosses one
    start = local(zone, day - timedelta(days=22), time(12, 0))
    due = series(
        zone,
        start,
        6,
        frequency=DigestFrequency.WEEKLY,
        send_time=time(9, 15),
        weekday=weekday,
    )
    local_times = [d.astimezone(zone) for d in due]
    assert {t.weekday() for t in local_times} == {weekday}
    assert {t.time() for t in local_times} == {time(9, 15)}
    assert day in [t.date() for t in local_times]
    gaps = sorted((b - a) / HOUR for a, b in pairwise(due))
    assert gaps == sorted([7 * 24] * 4 + [7 * 24 - 24 + day_hours])


@pytest.mark.parametrize("weekday", range(7))
def test_weekly_picks_the_next_matching_weekday(weekday):
    after = local(NEW_YORK, date(2026, 6, 3), time(12, 0))  # a Wednesday
    due = next_due(
        frequency=DigestFrequency.WEEKLY,
        send_time=time(8, 0),
        weekday=weekday,
        zone=NEW_YORK,
        after=after,
    )
    assert due is not None
    when = due.astimezone(NEW_YORK)
    assert when.weekday() == weekday
    assert when.time() == time(8, 0)
    assert timedelta(0) < due - after <= timedelta(days=7)


def test_the_due_time_itself_is_not_due_again():
    """next_due is strictly after; calling it with a due time moves to the next one."""
    due = local(BERLIN, date(2026, 7, 1), time(8, 0))
    assert daily(due, BERLIN) == due + timedelta(days=1)
    assert daily(due - timedelta(microseconds=1), BERLIN) == due


@pytest.mark.parametrize(
    ("zone", "day", "expected_local"),
    [
        (NEW_YORK, date(2026, 3, 8), time(3, 30)),
        (BERLIN, date(2026, 3, 29), time(3, 30)),
    ],
)
def test_a_send_time_inside_the_spring_gap_happens_once_that_day(zone, day, expected_local):
    """02:30 does not exist that day: the digest moves forward by the gap, once."""
    due = series(
        zone,
        local(zone, day - timedelta(days=2), time(12, 0)),
        4,
        frequency=DigestFrequency.DAILY,
        send_time=time(2, 30),
        weekday=0,
    )
    local_times = [d.astimezone(zone) for d in due]
    assert [t.date() for t in local_times] == [day + timedelta(days=i) for i in range(-1, 3)]
    assert [t.time() for t in local_times] == [
        time(2, 30),
        expected_local,
        time(2, 30),
        time(2, 30),
    ]
    # 02:30 standard time is 03:30 summer time: the same UTC hour as the day before.
    assert [(b - a) / HOUR for a, b in pairwise(due)] == [24, 23, 24]


@pytest.mark.parametrize(
    ("zone", "day", "clock"),
    [
        (NEW_YORK, date(2026, 11, 1), time(1, 30)),
        (BERLIN, date(2026, 10, 25), time(2, 30)),
    ],
)
def test_a_send_time_in_the_repeated_fall_hour_happens_once_that_day(zone, day, clock):
    """The wall clock shows it twice; the digest goes at the first one only."""
    due = series(
        zone,
        local(zone, day - timedelta(days=1), time(12, 0)),
        2,
        frequency=DigestFrequency.DAILY,
        send_time=clock,
        weekday=0,
    )
    assert due[0] == local(zone, day, clock, fold=0)
    assert due[1].astimezone(zone).date() == day + timedelta(days=1)
    assert (due[1] - due[0]) / HOUR == 25


def test_off_has_no_due_time():
    now = datetime(2026, 5, 5, 12, tzinfo=UTC)
    for fn, key in ((next_due, "after"), (latest_due, "at")):
        kwargs = {key: now}
        assert (
            fn(
                frequency=DigestFrequency.OFF,
                send_time=time(8, 0),
                weekday=0,
                zone=BERLIN,
                **kwargs,
            )
            is None
        )


def test_latest_due_coalesces_missed_daily_schedules():
    """After three days of outage, there is one window, ending at the latest 08:00."""
    at = local(NEW_YORK, date(2026, 3, 10), time(9, 45))  # missed 7, 8 (DST), 9 March
    kwargs = {"frequency": DigestFrequency.DAILY, "send_time": time(8, 0), "weekday": 0}
    latest = latest_due(zone=NEW_YORK, at=at, **kwargs)
    assert latest == local(NEW_YORK, date(2026, 3, 10), time(8, 0))
    # Exactly at the due time it is due; a moment before, the previous one is the latest.
    assert latest_due(zone=NEW_YORK, at=latest, **kwargs) == latest
    before = latest_due(zone=NEW_YORK, at=latest - timedelta(seconds=1), **kwargs)
    assert before == local(NEW_YORK, date(2026, 3, 9), time(8, 0))
    assert (latest - before) / HOUR == 24
    # And next_due from the coalesced window end moves on to the next day.
    assert daily(latest, NEW_YORK) == local(NEW_YORK, date(2026, 3, 11), time(8, 0))


def test_latest_due_coalesces_missed_weekly_schedules():
    kwargs = {"frequency": DigestFrequency.WEEKLY, "send_time": time(8, 0), "weekday": 4}
    at = local(BERLIN, date(2026, 4, 1), time(7, 0))  # a Wednesday; the last Friday 27 March
    latest = latest_due(zone=BERLIN, at=at, **kwargs)
    assert latest == local(BERLIN, date(2026, 3, 27), time(8, 0))
    later = latest_due(zone=BERLIN, at=at + timedelta(days=6), **kwargs)  # missed 3 April too
    assert later == local(BERLIN, date(2026, 4, 3), time(8, 0))


# Quiet hours ------------------------------------------------------------------


def quiet(start: time | None, end: time | None, zone: ZoneInfo, at: datetime):
    return quiet_until(quiet_start=start, quiet_end=end, zone=zone, at=at)


@pytest.mark.parametrize(
    ("clock", "ends_at"),
    [
        (time(12, 59), None),
        (time(13, 0), time(14, 0)),
        (time(13, 30), time(14, 0)),
        (time(13, 59, 59), time(14, 0)),
        (time(14, 0), None),
        (time(23, 0), None),
    ],
)
def test_quiet_hours_within_one_day(clock, ends_at):
    day = date(2026, 6, 10)
    result = quiet(time(13, 0), time(14, 0), BERLIN, local(BERLIN, day, clock))
    assert result == (local(BERLIN, day, ends_at) if ends_at else None)


@pytest.mark.parametrize(
    ("clock", "ends_on", "ends_at"),
    [
        (time(21, 59), None, None),
        (time(22, 0), 1, time(7, 0)),
        (time(23, 30), 1, time(7, 0)),
        (time(0, 0), 0, time(7, 0)),
        (time(3, 0), 0, time(7, 0)),
        (time(7, 0), None, None),
        (time(12, 0), None, None),
    ],
)
def test_quiet_hours_over_midnight(clock, ends_on, ends_at):
    day = date(2026, 6, 10)
    result = quiet(time(22, 0), time(7, 0), NEW_YORK, local(NEW_YORK, day, clock))
    expected = None if ends_at is None else local(NEW_YORK, day + timedelta(days=ends_on), ends_at)
    assert result == expected


@pytest.mark.parametrize(
    ("start", "end"), [(None, None), (time(22, 0), None), (None, time(7, 0)), (time(9), time(9))]
)
def test_no_quiet_hours_unless_both_ends_differ(start, end):
    at = local(NEW_YORK, date(2026, 6, 10), time(9, 0))
    assert quiet(start, end, NEW_YORK, at) is None


@pytest.mark.parametrize(
    ("zone", "night", "hours_left"),
    [
        # 23:00 the evening before the change to 07:00 local: 7 h in spring, 9 h in fall.
        (NEW_YORK, date(2026, 3, 7), 7),
        (NEW_YORK, date(2026, 10, 31), 9),
        (BERLIN, date(2026, 3, 28), 7),
        (BERLIN, date(2026, 10, 24), 9),
    ],
)
def test_quiet_hours_over_a_dst_night_end_at_local_wall_clock(zone, night, hours_left):
    at = local(zone, night, time(23, 0))
    until = quiet(time(22, 0), time(7, 0), zone, at)
    assert until is not None
    assert until.astimezone(zone).date() == night + timedelta(days=1)
    assert until.astimezone(zone).time() == time(7, 0)
    assert (until - at) / HOUR == hours_left


def test_quiet_hours_ending_inside_the_spring_gap_end_when_the_clock_jumps():
    at = local(NEW_YORK, date(2026, 3, 7), time(23, 0))
    until = quiet(time(22, 0), time(2, 30), NEW_YORK, at)
    assert until == local(NEW_YORK, date(2026, 3, 8), time(3, 30))  # 02:30 EST == 03:30 EDT
    assert until.astimezone(NEW_YORK).time() == time(3, 30)


# Quiet hours that start or end around the transitions (the repeated or skipped hour).
WINDOWS = [
    (time(0, 0), time(1, 30)),
    (time(1, 0), time(2, 30)),
    (time(2, 15), time(3, 0)),
    (time(1, 15), time(1, 45)),
    (time(22, 0), time(7, 0)),
    (time(23, 30), time(2, 10)),
]
QUIET_NIGHTS = [
    pytest.param(
        zone,
        day,
        start,
        end,
        id=f"{label}-{start:%H%M}-{end:%H%M}",
    )
    for zone, day, label in [
        (NEW_YORK, date(2026, 3, 8), "new_york-spring"),
        (NEW_YORK, date(2026, 11, 1), "new_york-fall"),
        (BERLIN, date(2026, 3, 29), "berlin-spring"),
        (BERLIN, date(2026, 10, 25), "berlin-fall"),
    ]
    for start, end in WINDOWS
]


@pytest.mark.parametrize(("zone", "day", "start", "end"), QUIET_NIGHTS)
def test_quiet_hours_always_end_in_the_future(zone, day, start, end):
    """Every 5 minutes through a DST night, the held-until time is after the moment held."""
    at = local(zone, day - timedelta(days=1), time(20, 0))
    stop = at + timedelta(hours=14)
    problems = []
    while at < stop:
        until = quiet(start, end, zone, at)
        if until is not None and until <= at:
            problems.append((at.astimezone(zone).isoformat(), until.astimezone(zone).isoformat()))
        at += timedelta(minutes=5)
    assert problems == []
