"""Immediate alerts survive a Redis outage: the outbox holds them until a worker drains it.

A provider posts urgent notes through the web app (Flask test client of an app with a real
REDIS_URL and the "thread" relay) while its Redis is stopped, or frozen so that it accepts
connections and never answers. The requests must neither fail nor wait for the broker;
once Redis is back, a real `celery -A worker worker` drains the outbox and each other team
member gets one alert email per note from a real SMTP sink. The normal path is here too:
with Redis up, the relay alone (no beat, no drain task) gets the alerts to the worker. Every
test runs on both database backends.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from flask import Flask
from sqlalchemy import select, update

from careteam import create_app
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.alerts.services import due_deliveries, fan_out, send_due
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests.services import preference_for
from careteam.enums import AlertStatus, Discipline
from careteam.extensions import db, utcnow
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider
from tests.harness import RedisServer, SMTPSink
from tests.helpers import AuthActions, FreshContextClient, base_config, csrf_from
from tests.integration.celery_harness import CeleryLauncher, CeleryProcess, celery_env

pytestmark = pytest.mark.integration

BASE_URL = "https://careteam.example.org"
NOTES = 3
# The drain leaves alerts younger than this to the relay (alerts.services.unprocessed_alerts).
DRAIN_GRACE = 10.0
# A request must never wait for the broker (Celery's own publish can block for a minute).
REQUEST_BUDGET = 2.0


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, since the test stops or freezes it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def web(app: Flask, tmp_root: str, own_redis: RedisServer, sink: SMTPSink) -> Iterator[Flask]:
    """The web app as production runs it: Redis broker, alerts relayed by a thread."""
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root)
    del config["CELERY"]  # production defaults, broker from REDIS_URL
    web = create_app(
        {
            **config,
            "REDIS_URL": own_redis.url,
            "ALERT_RELAY": "thread",
            "MAIL_SERVER": sink.host,
            "MAIL_PORT": sink.port,
            "BASE_URL": BASE_URL,
        }
    )
    web.test_client_class = FreshContextClient
    yield web
    web.extensions["celery"].close()
    with web.app_context():
        db.session.remove()
        db.engine.dispose()


def _team() -> tuple[User, list[User], Client]:
    lead = make_provider(Discipline.THERAPIST, name="Tess Lindqvist")
    others = [
        make_provider(Discipline.PSYCHIATRIST, name="Paul Okafor"),
        make_provider(Discipline.DIETITIAN, name="Dana Reyes"),
    ]
    record = make_client(lead, name="Alice Anders")
    # The initial level of care is an alert too; the relay fans it out at once, while the
    # lead is alone on the team (no recipient). Do that here, before the others join.
    for alert_id in db.session.scalars(select(OutboxAlert.id)):
        assert fan_out(alert_id) == 0
    for other in others:
        add_member(record, other, lead)
    return lead, others, record


def _post_urgent_notes(web: Flask, author: User, record: Client) -> list[float]:
    """Post NOTES urgent notes through the real form; return each POST's duration."""
    client = web.test_client()
    auth = AuthActions(client)
    redirected = auth.login(author.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    path = f"/clients/{record.id}/notes/new"
    token = csrf_from(client.get(path).get_data(as_text=True))
    durations = []
    for n in range(NOTES):
        started = time.monotonic()
        response = client.post(
            path,
            data={
                "body": f"Urgent SECRETNOTE{n}: stopped eating",
                "visibility": "team",
                "urgent": "y",
                "csrf_token": token,
            },
        )
        durations.append(time.monotonic() - started)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.headers["Location"].startswith(f"/clients/{record.id}")
    return durations


def _unprocessed() -> int:
    db.session.rollback()
    return len(
        list(db.session.scalars(select(OutboxAlert.id).where(OutboxAlert.processed_at.is_(None))))
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float, *procs: CeleryProcess):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see what the worker committed
        if check():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n" + "\n".join(p.describe() for p in procs))
        time.sleep(0.1)


def _worker(
    app: Flask, redis_server: RedisServer, sink: SMTPSink, launcher: CeleryLauncher
) -> CeleryProcess:
    """A real worker on this test's database, Redis and SMTP sink."""
    return launcher.worker(
        celery_env(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            redis_url=redis_server.url,
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            BASE_URL=BASE_URL,
        )
    )


def _drain_and_check(
    app: Flask,
    web: Flask,
    redis_server: RedisServer,
    sink: SMTPSink,
    launcher: CeleryLauncher,
    others: list[User],
) -> None:
    """Start a worker, send the beat's drain task, and expect one alert per note and member."""
    worker = _worker(app, redis_server, sink, launcher)
    # The drain leaves alerts younger than 10 s to the relay thread; the clock moves on here
    # instead of the test sleeping through that grace.
    db.session.execute(
        update(OutboxAlert)
        .where(OutboxAlert.processed_at.is_(None))
        .values(created_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    web.extensions["celery"].send_task("careteam.drain_alerts")

    expected = NOTES * len(others)
    sink.wait_for(expected, timeout=30)
    wait_until(
        lambda: (
            _unprocessed() == 0
            and {d.status for d in db.session.scalars(select(AlertDelivery))} == {AlertStatus.SENT}
        ),
        "every alert fanned out and sent",
        20,
        worker,
    )
    web.extensions["celery"].send_task("careteam.drain_alerts")  # a later tick: nothing more
    time.sleep(1.5)
    received = list(sink.messages)
    assert Counter(m["To"] for m in received) == {u.email: NOTES for u in others}
    deliveries = list(db.session.scalars(select(AlertDelivery)))
    assert len(deliveries) == expected
    assert {m["Message-ID"] for m in received} == {d.message_id for d in deliveries}
    for message in received:
        assert message["Subject"] == "CareTeam alert: urgent note"
        body = message.get_body(("plain",)).get_content()
        assert "SECRETNOTE" not in body  # minimal detail: no clinical text
        assert f"{BASE_URL}/clients/" in body


def test_with_redis_up_the_relay_alone_gets_urgent_notes_mailed_by_a_worker(
    app: Flask, web: Flask, own_redis: RedisServer, sink: SMTPSink, celery_launcher
) -> None:
    author, others, record = _team()
    worker = _worker(app, own_redis, sink, celery_launcher)

    _post_urgent_notes(web, author, record)
    posted = time.monotonic()

    expected = NOTES * len(others)
    received = sink.wait_for(expected, timeout=DRAIN_GRACE)
    latency = time.monotonic() - posted
    print(f"urgent notes to alert emails through the relay: {latency:.2f} s")
    assert latency < DRAIN_GRACE, worker.describe()  # beat's drain could not have sent them
    assert Counter(m["To"] for m in received) == {u.email: NOTES for u in others}
    # The worker records each delivery just after the SMTP server accepted it.
    wait_until(
        lambda: (
            {d.status for d in db.session.scalars(select(AlertDelivery))} == {AlertStatus.SENT}
        ),
        "every delivery recorded as sent",
        10,
        worker,
    )
    assert _unprocessed() == 0
    deliveries = list(db.session.scalars(select(AlertDelivery)))
    assert {m["Message-ID"] for m in received} == {d.message_id for d in deliveries}
    for message in received:
        assert message["Subject"] == "CareTeam alert: urgent note"
        assert "SECRETNOTE" not in message.get_body(("plain",)).get_content()  # minimal detail
        assert message["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/unsubscribe/alerts/")
    # One task per note, one email per member: nothing more arrives, nothing is left queued.
    time.sleep(1.5)
    assert len(sink.messages) == expected
    queue = redis.Redis.from_url(own_redis.url, socket_timeout=2)
    try:
        assert int(queue.llen("celery")) == 0
    finally:
        queue.close()


def test_posts_succeed_while_redis_is_stopped_and_alerts_go_out_after(
    app: Flask, web: Flask, own_redis: RedisServer, sink: SMTPSink, celery_launcher
) -> None:
    author, others, record = _team()
    own_redis.stop()  # the port stays reserved for the restart

    durations = _post_urgent_notes(web, author, record)

    assert max(durations) < REQUEST_BUDGET, durations
    assert _unprocessed() == NOTES  # the outbox holds every alert
    own_redis.start()  # same port, empty: whatever the relay tried to publish is gone
    _drain_and_check(app, web, own_redis, sink, celery_launcher, others)


def test_posts_succeed_while_redis_accepts_but_never_answers(
    app: Flask, web: Flask, own_redis: RedisServer, sink: SMTPSink, celery_launcher
) -> None:
    author, others, record = _team()
    own_redis.pause()  # SIGSTOP: connections are accepted, nothing answers

    durations = _post_urgent_notes(web, author, record)

    assert max(durations) < REQUEST_BUDGET, durations
    assert _unprocessed() == NOTES
    # Thawed, Redis may still take what a relay thread sent while it hung: the drain and
    # any such task then race, and each member still gets each alert once.
    own_redis.resume()
    _drain_and_check(app, web, own_redis, sink, celery_launcher, others)


def test_quiet_hours_hold_an_alert_until_they_end(app: Flask, sink: SMTPSink) -> None:
    app.config.update(MAIL_SERVER=sink.host, MAIL_PORT=sink.port, BASE_URL=BASE_URL)
    author, (sleeper, awake), record = _team()
    zone = ZoneInfo("America/New_York")
    sleeper.time_zone = zone.key
    local = utcnow().astimezone(zone)
    quiet_end = (local + timedelta(seconds=3)).replace(microsecond=0)
    pref = preference_for(sleeper)
    pref.quiet_start = (local - timedelta(hours=1)).time().replace(microsecond=0)
    pref.quiet_end = quiet_end.time()
    db.session.commit()
    note = post_note(actor=author, client=record, body="Urgent: call me", urgent=True)
    alert_id = db.session.scalar(select(OutboxAlert.id).where(OutboxAlert.entry_id == note.id))

    assert fan_out(alert_id, now=utcnow()) == 2  # now is inside the sleeper's quiet hours
    held = db.session.scalar(select(AlertDelivery).where(AlertDelivery.user_id == sleeper.id))
    assert held.deliver_after == quiet_end.astimezone(UTC)
    assert send_due(due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(1)] == [awake.email]
    assert send_due(due_deliveries()) == 0  # still quiet: held

    while utcnow() <= held.deliver_after:
        time.sleep(0.1)
    assert send_due(due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(2)] == [awake.email, sleeper.email]
    assert send_due(due_deliveries()) == 0
