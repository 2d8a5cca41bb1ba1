"""The alerts' normal path: Redis is up, the after-commit relay publishes, a worker sends.

A provider posts an urgent note through the web app (Flask test client of an app with a
real REDIS_URL and the "thread" relay). Once the request's transaction commits, the relay
thread publishes `careteam.process_alert(alert_id)`; a real `celery -A worker worker` fans
it out and mails each other member from a real SMTP sink. No beat runs and no drain task is
sent, so the email can only have come through the relay (and it must come before the
drain's 10 s grace would even have let beat take the alert). Runs on both database
backends.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from careteam import create_app
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.alerts.services import fan_out
from careteam.enums import AlertStatus, Discipline
from careteam.extensions import db
from tests.conftest import AuthActions, FreshContextClient, base_config, csrf_from
from tests.factories import add_member, make_client, make_provider
from tests.integration.conftest import CeleryLauncher, celery_env
from tests.services import RedisServer, SMTPSink

pytestmark = pytest.mark.integration

BASE_URL = "https://careteam.example.org"
SECRET = "SECRETRELAYNOTE"
# The drain leaves alerts younger than this to the relay (alerts.services.unprocessed_alerts).
DRAIN_GRACE = 10.0


@pytest.fixture
def web(app: Flask, tmp_root: str, broker: RedisServer, sink: SMTPSink) -> Iterator[Flask]:
    """The web app as production runs it: Redis broker, alerts relayed by a thread."""
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root)
    del config["CELERY"]  # production defaults, broker from REDIS_URL
    web = create_app(
        {
            **config,
            "REDIS_URL": broker.url,
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


def _queued(broker: RedisServer) -> int:
    client = redis.Redis.from_url(broker.url, socket_timeout=2)
    try:
        return int(client.llen("celery"))
    finally:
        client.close()


def test_an_urgent_note_is_relayed_after_commit_and_mailed_by_a_worker(
    app: Flask, web: Flask, broker: RedisServer, sink: SMTPSink, celery_launcher: CeleryLauncher
) -> None:
    lead = make_provider(Discipline.THERAPIST, name="Tess Lindqvist")
    others = [
        make_provider(Discipline.PSYCHIATRIST, name="Paul Okafor"),
        make_provider(Discipline.DIETITIAN, name="Dana Reyes"),
    ]
    record = make_client(lead, name="Alice Anders")
    # The initial level of care is an alert for a team of one: nobody to tell.
    for alert_id in db.session.scalars(select(OutboxAlert.id)):
        assert fan_out(alert_id) == 0
    for other in others:
        add_member(record, other, lead)
    worker = celery_launcher.worker(
        celery_env(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            redis_url=broker.url,
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            BASE_URL=BASE_URL,
        )
    )

    client = web.test_client()
    assert AuthActions(client).login(lead.email).status_code == 302
    path = f"/clients/{record.id}/notes/new"
    token = csrf_from(client.get(path).get_data(as_text=True))
    response = client.post(
        path,
        data={
            "body": f"Urgent {SECRET}: stopped eating",
            "visibility": "team",
            "urgent": "y",
            "csrf_token": token,
        },
    )
    posted = time.monotonic()
    assert response.status_code == 302, response.get_data(as_text=True)

    received = sink.wait_for(len(others), timeout=DRAIN_GRACE)
    latency = time.monotonic() - posted
    print(f"urgent note to alert emails through the relay: {latency:.2f} s")
    assert latency < DRAIN_GRACE, worker.describe()  # beat's drain could not have sent it
    assert Counter(m["To"] for m in received) == {u.email: 1 for u in others}
    # The worker records each delivery just after the SMTP server accepted it.
    deadline = time.monotonic() + 10
    while True:
        db.session.rollback()  # see what the worker committed
        deliveries = list(db.session.scalars(select(AlertDelivery)))
        if {d.status for d in deliveries} == {AlertStatus.SENT} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {d.status for d in deliveries} == {AlertStatus.SENT}, worker.describe()
    alert = db.session.scalars(select(OutboxAlert).where(OutboxAlert.entry_id.is_not(None))).one()
    assert alert.processed_at is not None
    assert {m["Message-ID"] for m in received} == {d.message_id for d in deliveries}
    for message in received:
        assert message["Subject"] == "CareTeam alert: urgent note"
        assert SECRET not in message.get_body(("plain",)).get_content()  # minimal detail
        assert message["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/unsubscribe/alerts/")
    # One task, one email per member: nothing more arrives, nothing is left queued.
    time.sleep(1.5)
    assert len(sink.messages) == len(others)
    assert _queued(broker) == 0
