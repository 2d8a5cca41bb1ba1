"""The admin's System health page shows human times (issue 13 item 16): "2 minutes ago,
7 Dec 2026, 09:02" in the viewer's time zone, never the ISO strings of /healthz (which
keeps them, for machines)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from careteam.enums import Role
from careteam.extensions import db
from careteam.health.models import Heartbeat
from careteam.timefmt import ago
from tests.factories import make_user

pytestmark = pytest.mark.backends("sqlite")

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_heartbeats_show_as_time_ago_and_local_time(app, client, auth):
    now = datetime.now(UTC)
    beat_at = now - timedelta(minutes=2, seconds=5)
    worker_at = now - timedelta(hours=3, minutes=1)
    db.session.add_all(
        [
            Heartbeat(name="beat", last_seen_at=beat_at),
            Heartbeat(name="worker", last_seen_at=worker_at),
        ]
    )
    admin = make_user(Role.ADMIN)
    admin.time_zone = "America/New_York"
    db.session.commit()
    auth.login(admin.email)

    html = client.get("/admin/health").get_data(as_text=True)
    body = html.split("<main", 1)[1]
    zone = ZoneInfo("America/New_York")
    beat_local = beat_at.astimezone(zone).strftime("%-d %b %Y, %H:%M")
    worker_local = worker_at.astimezone(zone).strftime("%-d %b %Y, %H:%M")
    assert f"2 minutes ago, {beat_local}" in body
    assert f"3 hours ago, {worker_local}" in body
    # The machine-readable time stays in the datetime attribute only.
    text = re.sub(r"<[^>]+>", " ", body)
    assert not ISO.search(text), ISO.search(text)
    assert f'datetime="{beat_at.isoformat()}"' in body

    # /healthz keeps ISO 8601 for load balancers and scripts.
    health = client.get("/healthz").get_json()
    assert health["beat"]["last_tick"] == beat_at.isoformat()


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=1, seconds=10), "1 minute ago"),
        (timedelta(minutes=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1, hours=2), "1 day ago"),
        (timedelta(days=12), "12 days ago"),
        (timedelta(seconds=-30), "just now"),  # clocks a little apart
    ],
)
def test_ago_reads_like_a_person_would_say_it(delta, expected):
    now = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    assert ago(now - delta, now=now) == expected
