"""Automatic logoff: idle timeout and absolute lifetime, the keep-alive, the warning's markup."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from careteam import create_app
from careteam.auth.models import UserSession
from careteam.config import Config
from careteam.enums import Role
from careteam.extensions import db, utcnow
from tests.factories import make_user
from tests.helpers import base_config

KEEPALIVE = "/session/keepalive"


def _session_row(user) -> UserSession:
    db.session.expire_all()
    return db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))


def test_defaults_are_15_minutes_idle_and_12_hours_absolute():
    assert timedelta(minutes=15) == Config.SESSION_IDLE_TIMEOUT
    assert timedelta(hours=12) == Config.PERMANENT_SESSION_LIFETIME
    assert timedelta(minutes=2) == Config.SESSION_IDLE_WARNING


def test_timeouts_are_configurable_in_seconds_from_the_environment(app, tmp_root, monkeypatch):
    monkeypatch.setenv("CARETEAM_SESSION_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("CARETEAM_SESSION_IDLE_WARNING", "90")
    monkeypatch.setenv("CARETEAM_PERMANENT_SESSION_LIFETIME", "28800")
    built = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root))
    assert built.config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=10)
    assert built.config["SESSION_IDLE_WARNING"] == timedelta(seconds=90)
    assert built.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)


@pytest.mark.parametrize(("idle_minutes", "logged_in"), [(14, True), (15, False)])
def test_server_ends_a_session_idle_for_15_minutes(app, client, auth, idle_minutes, logged_in):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    row = _session_row(user)
    row.last_seen_at = utcnow() - timedelta(
        minutes=idle_minutes, seconds=1 if not logged_in else 0
    )
    db.session.commit()
    response = client.get("/portal/")
    if logged_in:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_keepalive_extends_the_session(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    token = auth.token("/portal/")
    row = _session_row(user)
    row.last_seen_at = utcnow() - timedelta(minutes=14, seconds=30)
    db.session.commit()
    response = client.post(KEEPALIVE, headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["Cache-Control"] == "no-store"
    assert 895 <= int(response.headers["X-Session-Expires-In"]) <= 900
    assert utcnow() - _session_row(user).last_seen_at < timedelta(seconds=5)
    # Ten more minutes pass: without the keep-alive the session would have ended by now.
    row = _session_row(user)
    row.last_seen_at -= timedelta(minutes=10)
    db.session.commit()
    assert client.get("/portal/").status_code == 200


def test_keepalive_reports_the_absolute_end_when_it_comes_first(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    token = auth.token("/portal/")
    row = _session_row(user)
    row.expires_at = utcnow() + timedelta(minutes=3)
    db.session.commit()
    response = client.post(KEEPALIVE, headers={"X-CSRFToken": token})
    assert 175 <= int(response.headers["X-Session-Expires-In"]) <= 180


def test_keepalive_needs_a_login(app, client, auth):
    token = auth.token("/login")
    response = client.post(KEEPALIVE, headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_keepalive_needs_the_csrf_token(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    response = client.post(KEEPALIVE)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_keepalive_cannot_revive_an_ended_session(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(user.email)
    token = auth.token("/portal/")
    row = _session_row(user)
    row.last_seen_at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    response = client.post(KEEPALIVE, headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fsession%2Fkeepalive"
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fportal%2F"


def _body_tag(html: str) -> str:
    match = re.search(r"<body[^>]*>", html)
    assert match
    return match.group(0)


@pytest.mark.parametrize("role", [Role.CLIENT, Role.PROVIDER, Role.ADMIN])
def test_logged_in_pages_carry_the_warning(app, client, auth, role):
    user = make_user(role)
    auth.login(user.email)
    row = _session_row(user)
    row.last_seen_at = utcnow() - timedelta(seconds=30)  # within LAST_SEEN_RESOLUTION
    db.session.commit()
    html = client.get("/settings/profile").get_data(as_text=True)
    body = _body_tag(html)
    left = int(re.search(r'data-idle-logoff-in="(\d+)"', body).group(1))
    assert 865 <= left <= 870  # what the server will allow, not a fresh 15 minutes
    assert 'data-idle-warning="120"' in body
    assert 'data-idle-timeout="900"' in body
    assert f'data-keepalive-url="{KEEPALIVE}"' in body
    assert 'data-login-url="/login?reason=idle"' in body
    assert '<dialog id="idle-warning"' in html and 'role="alertdialog"' in html
    assert "Stay logged in" in html
    assert '<script src="/static/js/idle-warning.js" defer></script>' in html
    # No inline script: every script comes from a file (the CSP forbids inline ones).
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_logged_out_pages_have_no_warning(app, client):
    html = client.get("/login").get_data(as_text=True)
    assert _body_tag(html) == "<body>"
    assert "idle-warning" not in html


def test_login_page_says_why_after_an_idle_logoff(app, client):
    html = client.get("/login?reason=idle").get_data(as_text=True)
    assert "You were logged out because nothing happened for 15 minutes." in html
    assert "nothing happened" not in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(("autosave", "refreshed"), [(False, True), (True, False)])
def test_a_drafts_autosave_is_not_activity(app, client, auth, autosave, refreshed):
    """drafts.js saves as the idle warning opens: that must not keep the session alive
    behind the user's back (typing counts through the keep-alive instead)."""
    user = make_user(Role.PROVIDER)
    auth.login(user.email)
    token = auth.token()
    row = _session_row(user)
    row.last_seen_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    if autosave:
        headers["X-CareTeam-Autosave"] = "1"
    client.post("/clients/1/drafts", headers=headers)
    assert (utcnow() - _session_row(user).last_seen_at < timedelta(seconds=5)) is refreshed
