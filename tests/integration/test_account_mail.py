"""Account emails through a real `celery -A worker worker`, real Redis and a real SMTP sink.

Invitation part: a lead invites through the web form, the web app publishes the task after
commit (its relay thread), the worker mints the link and mails it, and the link works.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from careteam import create_app
from careteam.clients.models import CareTeamMember
from careteam.enums import Discipline, MemberStatus
from careteam.extensions import db
from careteam.invitations.models import Invitation, InvitationStatus
from tests.factories import make_client, make_provider
from tests.harness import RedisServer, SMTPSink
from tests.helpers import SECRET_KEY, AuthActions, FreshContextClient, base_config, csrf_from
from tests.integration.celery_harness import CeleryLauncher, celery_env

pytestmark = pytest.mark.integration

BASE_URL = "https://careteam.example.org"
INVITE_LINK_RE = re.compile(re.escape(BASE_URL) + r"/invitations/[A-Za-z0-9._-]+")


@pytest.fixture
def invitation_web(
    app: Flask, tmp_root: str, broker: RedisServer, sink: SMTPSink
) -> Iterator[Flask]:
    """The web app as production runs it: Redis broker, emails published by a relay thread."""
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root)
    del config["CELERY"]  # production defaults, broker from REDIS_URL
    web = create_app(
        {
            **config,
            # Links are signed by the worker and read by the web app: one secret for both.
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": broker.url,
            "INVITATION_RELAY": "thread",
            "BASE_URL": BASE_URL,
            # The web app itself must not send: only the worker knows the sink.
            "MAIL_PORT": 9,
        }
    )
    web.test_client_class = FreshContextClient
    yield web
    web.extensions["celery"].close()
    with web.app_context():
        db.session.remove()
        db.engine.dispose()


def test_invitation_email_is_sent_by_the_worker_after_the_view_queues_it(
    app: Flask,
    invitation_web: Flask,
    broker: RedisServer,
    sink: SMTPSink,
    celery_launcher: CeleryLauncher,
) -> None:
    lead = make_provider(Discipline.THERAPIST, name="Tess Lindqvist", email="lead@example.com")
    record = make_client(lead, name="Avery Quinn")
    worker = celery_launcher.worker(
        celery_env(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            redis_url=broker.url,
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            BASE_URL=BASE_URL,
        )
    )
    browser = invitation_web.test_client()
    auth = AuthActions(browser)
    redirected = auth.login(lead.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    response = auth.post(
        f"/clients/{record.id}/invitations/new",
        {"email": "dana@example.com", "discipline": "dietitian"},
    )
    assert response.status_code == 302
    try:
        (message,) = sink.wait_for(1, timeout=30)
    except TimeoutError:
        pytest.fail("no invitation email\n" + worker.describe())
    assert message["To"] == "dana@example.com"
    assert "Tess Lindqvist" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Avery" not in text and "Avery" not in html
    (link,) = INVITE_LINK_RE.findall(text)
    assert link in html

    db.session.rollback()
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.send_count == 1 and invitation.sent_at is not None
    assert invitation.send_requested_at is None

    auth.logout()
    path = urlsplit(link).path
    form = browser.get(path)
    assert form.status_code == 200
    password = "a quiet meadow under snow"
    response = browser.post(
        path,
        data={
            "display_name": "Dana Reyes",
            "credentials": "RD",
            "password": password,
            "confirm": password,
            "csrf_token": csrf_from(form.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.ACCEPTED
    member = db.session.scalars(
        select(CareTeamMember)
        .where(CareTeamMember.client_id == record.id)
        .order_by(CareTeamMember.id.desc())
    ).first()
    assert member.status == MemberStatus.ACTIVE and member.provider.email == "dana@example.com"
    # A redelivered task (acks_late) sends nothing more.
    invitation_web.extensions["celery"].send_task("careteam.send_invitation", args=[invitation.id])
    with pytest.raises(TimeoutError):
        sink.wait_for(2, timeout=3)


# Password reset part (passwords helper): the forgot form queues the task from its thread,
# the worker mails the link, the link works once.

RESET_LINK_RE = re.compile(re.escape(BASE_URL) + r"/password/reset/[A-Za-z0-9._-]+")


def test_password_reset_email_is_sent_by_the_worker_and_the_link_works_once(
    app: Flask,
    invitation_web: Flask,
    broker: RedisServer,
    sink: SMTPSink,
    celery_launcher: CeleryLauncher,
) -> None:
    user = make_provider(email="reset.me@example.com")
    worker = celery_launcher.worker(
        celery_env(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            redis_url=broker.url,
            SMTP_HOST=sink.host,
            SMTP_PORT=str(sink.port),
            BASE_URL=BASE_URL,
        )
    )
    browser = invitation_web.test_client()

    def forgot(email: str):
        page = browser.get("/password/forgot")
        token = csrf_from(page.get_data(as_text=True))
        return browser.post("/password/forgot", data={"email": email, "csrf_token": token})

    unknown = forgot("nobody@example.com")
    known = forgot("Reset.Me@example.com")
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data() == known.get_data()
    try:
        (message,) = sink.wait_for(1, timeout=30)
    except TimeoutError:
        pytest.fail("no password reset email\n" + worker.describe())
    assert message["To"] == "reset.me@example.com"
    assert message["Subject"] == "Reset your CareTeam password"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    (link,) = RESET_LINK_RE.findall(text)
    assert f'href="{link}"' in html

    path = urlsplit(link).path
    form = browser.get(path)
    assert form.status_code == 200
    password = "lichen harbour sextant mildly"
    response = browser.post(
        path,
        data={
            "password": password,
            "confirm": password,
            "csrf_token": csrf_from(form.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert browser.get(path).status_code == 400  # spent
    redirected = AuthActions(browser).login(user.email, password)
    assert redirected.status_code == 302
    assert not redirected.headers["Location"].startswith("/login")
    # Nothing was ever sent for the unknown address.
    with pytest.raises(TimeoutError):
        sink.wait_for(2, timeout=3)
