"""Daylight-saving changes through the real dispatcher (tests/test_schedule.py covers the
pure schedule functions): beat ticks every ten minutes, for days around each change, for a
provider in New York and one in London with the default daily 08:00 digest.

2026 transitions: New York springs forward on 8 March and falls back on 1 November;
London on 29 March and 25 October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from careteam.digests import schedule
from careteam.digests import services as digests
from careteam.digests.models import Digest
from careteam.enums import DigestFrequency
from careteam.extensions import db
from tests.factories import make_provider

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
TICK = timedelta(minutes=10)
EIGHT = time(8, 0)


def local_eight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, EIGHT, zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        pytest.param(NEW_YORK, date(2026, 3, 8), id="new_york-spring"),
        pytest.param(LONDON, date(2026, 3, 29), id="london-spring"),
        pytest.param(LONDON, date(2026, 10, 25), id="london-fall"),
        pytest.param(NEW_YORK, date(2026, 11, 1), id="new_york-fall"),
    ],
)
def test_each_local_day_opens_one_window_at_0800_local_across_dst(app, zone, day):
    start = datetime.combine(day - timedelta(days=1), time(0, 0), UTC)
    end = datetime.combine(day + timedelta(days=2), time(0, 0), UTC)
    users = {}
    for tz in (NEW_YORK, LONDON):
        user = make_provider()
        pref = digests.save_preferences(
            user=user, time_zone=tz.key, frequency=DigestFrequency.DAILY, send_time=EIGHT
        )
        # As the dispatcher would have left it at `start` (saving computed it from today).
        pref.next_due_at = schedule.next_due(
            frequency=DigestFrequency.DAILY, send_time=EIGHT, weekday=0, zone=tz, after=start
        )
        db.session.commit()
        users[user.id] = tz

    opened_at: dict[int, datetime] = {}
    now = start
    while now < end:
        for digest_id in digests.dispatch_due(now, user_ids=list(users)):
            opened_at[digest_id] = now
        now += TICK

    rows = db.session.scalars(select(Digest).order_by(Digest.user_id, Digest.window_end)).all()
    assert {row.id for row in rows} == set(opened_at)  # every window came from a tick
    for user_id, tz in users.items():
        windows = [row for row in rows if row.user_id == user_id]
        local = [row.window_end.astimezone(tz) for row in windows]
        days = [moment.date() for moment in local]
        around = [day + timedelta(days=n) for n in range(-3, 4)]
        expected = [d for d in around if start <= local_eight(d, tz) < end - TICK]
        assert days == expected, (tz.key, days)  # exactly one window a local day
        assert {moment.time() for moment in local} == {EIGHT}, tz.key
        # Opened by the first tick at 08:00 or the next one (DIGEST_SETTLE_SECONDS), never
        # before 08:00.
        for row in windows:
            assert timedelta(0) <= opened_at[row.id] - row.window_end <= TICK, row.window_end
        if tz == zone:  # this zone's clocks changed: 08:00 moved by an hour in UTC
            offsets = {moment.utcoffset() for moment in local}
            assert len(offsets) == 2, offsets
