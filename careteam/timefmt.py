"""Show stored UTC times in the viewer's time zone, and the time zones a user may choose."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_request_context
from flask_login import current_user

# The IANA zones a user may choose (profile, notification settings, the API): UTC and the
# Area/Location names, without the Etc/ aliases.
TIME_ZONES = [
    "UTC",
    *sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")),
]
_CHOOSABLE = frozenset(TIME_ZONES)

# The one way a date and a time of day are shown, on pages and in emails alike ("7 Dec
# 2026", "7 Dec 2026, 14:05"), always in the reader's own zone. No zone name follows: every
# time is the reader's local time (their zone is in their settings). CSV exports, the API and
# FHIR files keep ISO 8601 for machines.
DATE_FORMAT = "%-d %b %Y"
DATETIME_FORMAT = f"{DATE_FORMAT}, %H:%M"


def choosable_zone(name: str | None) -> str | None:
    """The IANA name if a user may have it as their zone (a browser's report, a form), else
    None. "UTC" and Area/Location names that zoneinfo knows; not aliases like "EST"."""
    if not name or len(name) > 64:
        return None
    name = name.strip()
    return name if name in _CHOOSABLE else None


def _viewer_zone() -> ZoneInfo:
    name = current_app.config.get("DISPLAY_TIMEZONE", "UTC")
    if has_request_context() and current_user.is_authenticated:
        name = current_user.time_zone or name
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(_viewer_zone()).strftime(DATETIME_FORMAT)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_viewer_zone()).date()
    return value.strftime(DATE_FORMAT)


def format_time(value: datetime | None) -> str:
    """The time of day (24-hour clock) in the viewer's zone, for lines already under a date."""
    if value is None:
        return ""
    return value.astimezone(_viewer_zone()).strftime("%H:%M")


def local_date(value: datetime) -> date:
    """The day a stored (UTC) time falls on for the current viewer."""
    return value.astimezone(_viewer_zone()).date()


def zone_of(user) -> ZoneInfo:
    """A user's time zone, UTC if unset or unknown."""
    try:
        return ZoneInfo(getattr(user, "time_zone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_for(user) -> date:
    """Today's date where the user is: the dates people type are dates of their own day."""
    return datetime.now(zone_of(user)).date()


def local_today() -> date:
    """Today's date for the current viewer (UTC outside a request)."""
    return datetime.now(_viewer_zone()).date()


def format_in_zone(value: datetime | None, zone: ZoneInfo) -> str:
    """A time in a given zone (emails are read by their recipient, not the viewer)."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime(DATETIME_FORMAT)


def ago(value: datetime, *, now: datetime | None = None) -> str:
    """How long ago, as a person says it: "just now", "1 minute ago", "3 hours ago",
    "12 days ago" (a time a little in the future, from clocks apart, is "just now")."""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def format_ago(value: datetime | None) -> str:
    """ "2 minutes ago, 7 Dec 2026, 14:02": how long ago, then when, in the viewer's zone."""
    if value is None:
        return ""
    return f"{ago(value)}, {format_datetime(value)}"
