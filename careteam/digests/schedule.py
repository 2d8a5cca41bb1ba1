"""When a digest is due and when quiet hours end, in the user's own time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from careteam.enums import DigestFrequency


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (a time skipped by DST moves forward)."""
    return datetime.combine(day, clock, zone).astimezone(UTC)


def due_times(
    *, frequency: str, send_time: time, weekday: int, zone: ZoneInfo, around: datetime
) -> list[datetime]:
    """Scheduled instants from 8 days before to 8 days after `around`, in order."""
    if frequency == DigestFrequency.OFF:
        return []
    local_day = around.astimezone(zone).date()
    times = []
    for offset in range(-8, 9):
        day = local_day + timedelta(days=offset)
        if frequency == DigestFrequency.WEEKLY and day.weekday() != weekday:
            continue
        times.append(_at(day, send_time, zone))
    return sorted(set(times))


def next_due(
    *, frequency: str, send_time: time, weekday: int, zone: ZoneInfo, after: datetime
) -> datetime | None:
    """The first scheduled instant strictly after `after`."""
    for instant in due_times(
        frequency=frequency, send_time=send_time, weekday=weekday, zone=zone, around=after
    ):
        if instant > after:
            return instant
    return None


def latest_due(
    *, frequency: str, send_time: time, weekday: int, zone: ZoneInfo, at: datetime
) -> datetime | None:
    """The last scheduled instant at or before `at` (missed ones coalesce into it)."""
    found = None
    for instant in due_times(
        frequency=frequency, send_time=send_time, weekday=weekday, zone=zone, around=at
    ):
        if instant <= at:
            found = instant
    return found


def quiet_until(
    *, quiet_start: time | None, quiet_end: time | None, zone: ZoneInfo, at: datetime
) -> datetime | None:
    """When the user's quiet hours containing `at` end, or None if `at` is not quiet."""
    if quiet_start is None or quiet_end is None or quiet_start == quiet_end:
        return None
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if quiet_start < quiet_end:  # e.g. 13:00-14:00 the same day
        if quiet_start <= clock < quiet_end:
            return _end_after(local.date(), quiet_end, zone, at)
        return None
    # Over midnight, e.g. 22:00-07:00.
    if clock >= quiet_start:
        return _end_after(local.date() + timedelta(days=1), quiet_end, zone, at)
    if clock < quiet_end:
        return _end_after(local.date(), quiet_end, zone, at)
    return None


def _end_after(day: date, clock: time, zone: ZoneInfo, at: datetime) -> datetime:
    """The end of quiet hours, taking its second occurrence if the clocks went back."""
    end = _at(day, clock, zone)
    if end <= at:
        end = datetime.combine(day, clock, zone).replace(fold=1).astimezone(UTC)
    return end
