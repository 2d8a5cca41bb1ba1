"""Logging in and out, and sessions the server can revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from careteam.auth.models import UserSession
from careteam.enums import Role
from careteam.extensions import db, utcnow
from tests.factories import PASSWORD, make_provider, make_user


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'<label for="email">Email</label>' in response.data


@pytest.mark.parametrize(
    ("role", "home"),
    [(Role.PROVIDER, "/clients/"), (Role.CLIENT, "/portal/"), (Role.ADMIN, "/admin/users")],
)
def test_login_sends_each_role_home(app, auth, role, home):
    user = make_user(role)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == home


def test_email_is_case_insensitive(app, auth):
    user = make_provider(email="Dana@Example.com")
    assert auth.login("  DANA@example.COM ").headers["Location"] == "/clients/"
    assert user.email == "dana@example.com"


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "deactivated"])
def test_login_failure_is_generic(app, auth, case):
    user = make_provider()
    email, password = user.email, PASSWORD
    if case == "wrong password":
        password = "not the password at all"
    elif case == "unknown email":
        email = "nobody@example.com"
    else:
        user.active = False
        db.session.commit()
    response = auth.login(email, password)
    assert response.status_code == 200
    assert b"Email or password is incorrect." in response.data
    redirected = auth._client.get("/clients/")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/login?next=%2Fclients%2F"


def test_login_requires_csrf_token(app, client):
    user = make_provider()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"This form has expired" in response.data


def test_next_parameter_only_follows_local_paths(app, client, auth):
    # Two-factor off for this provider, so the password step itself redirects; that `next`
    # also survives the code step is checked in tests/test_two_factor.py.
    app.config["TWO_FACTOR_REQUIRED_FOR_PROVIDERS"] = False
    user = make_provider(two_factor=False)
    token = auth.token("/login")
    ok = client.post(
        "/login?next=/settings/profile",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert ok.headers["Location"] == "/settings/profile"
    auth.logout()
    token = auth.token("/login")
    evil = client.post(
        "/login?next=//evil.example/x",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert evil.headers["Location"] == "/clients/"


def test_session_cookie_flags(app, auth):
    user = make_provider()
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    # A lifetime of hours, not Flask's default 31 days; no remember-me cookie at all.
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=12)
    assert "remember_token" not in "".join(response.headers.getlist("Set-Cookie"))


def test_production_cookies_are_secure(app):
    from careteam import create_app

    prod = create_app({"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True


def test_logout_revokes_the_session_on_the_server(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    assert client.get("/clients/").status_code == 200
    stolen = client.get_cookie("careteam_session", domain="careteam.test").value
    auth.logout()
    # Replaying the cookie copied before logout opens nothing.
    client.set_cookie("careteam_session", stolen, domain="careteam.test")
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert row.revoked_at is not None


def test_session_id_rotates_at_login(app, client, auth):
    user = make_provider()
    client.get("/login")
    before = client.get_cookie("careteam_session", domain="careteam.test").value
    auth.login(user.email)
    after = client.get_cookie("careteam_session", domain="careteam.test").value
    assert before != after
    # The pre-login cookie is not logged in.
    client.set_cookie("careteam_session", before, domain="careteam.test")
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"


def test_idle_session_expires(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    row.last_seen_at = utcnow() - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"


def test_absolute_session_lifetime(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"


def test_deactivation_ends_live_sessions(app, client, auth):
    from careteam.admin.services import set_active

    admin = make_user(Role.ADMIN)
    user = make_provider()
    auth.login(user.email)
    assert client.get("/clients/").status_code == 200
    set_active(actor=admin, user=user, active=False)
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fclients%2F"


def test_password_hash_is_argon2id(app):
    user = make_provider()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
