"""Personal access tokens: the settings page that makes them, and what a token opens.

A token is shown once and stored only as a hash; it is listed with its prefix, scope,
expiry and last use; revoking it, its expiry and its user's deactivation end it at once.
Every use (refused ones too) is audited. Tokens open the API only, sessions never open
the API, and each token has its own rate limit.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from careteam.admin.services import set_active
from careteam.audit import AuditEvent
from careteam.auth.models import ApiToken
from careteam.auth.tokens import TOKEN_PREFIX, token_hash
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db, limiter, utcnow
from tests.factories import bearer, make_provider, make_token, make_user

PAGE = "/settings/tokens"
ME = "/api/v1/me"
PREFERENCES = "/api/v1/me/digest-preferences"
SECRET_RE = re.compile(r'id="new-token"[^>]*value="(ctp_[A-Za-z0-9_-]+)"')


def _token(user) -> ApiToken:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()


def _token_id(secret: str) -> int:
    return db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash(secret)))


def _create(auth, **fields):
    data = {"name": "EHR sync", "scope": "read", "days": "90", **fields}
    return auth.post(PAGE, data)


def _uses(token_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "use_api_token", AuditEvent.object_id == token_id)
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def provider(auth):
    user = make_provider(email="prov@example.com", name="Pat Provider")
    auth.login(user.email)
    return user


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CLIENT, Role.ADMIN])
def test_every_role_may_create_a_token_for_itself(client, auth, role):
    user = make_user(role, email=f"{role}@example.com")
    auth.login(user.email)
    assert client.get(PAGE).status_code == 200
    response = _create(auth, scope="write", days="7")
    assert response.status_code == 200
    token = _token(user)
    assert (token.scope, token.name) == ("write", "EHR sync")
    assert timedelta(days=6, hours=23) < token.expires_at - token.created_at <= timedelta(days=7)


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(client, auth, provider):
    response = _create(auth)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # Rendered by the POST itself: not flashed into the session, not cached.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "You will not see it again" in html
    match = SECRET_RE.search(html)
    assert match, "the new token is not on the page"
    secret = match.group(1)
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40

    token = _token(provider)
    assert token.token_hash == token_hash(secret)
    assert token.prefix == secret[:8]
    # The secret itself is nowhere in the database (sessions, audit detail, anything).
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            assert secret not in repr(tuple(row)), f"the secret is stored in {table.name}"
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "create_api_token")
    ).one()
    assert (audit.object_id, audit.actor_id) == (token.id, provider.id)

    # The page never shows it again, and the cookie session does not carry it.
    again = client.get(PAGE).get_data(as_text=True)
    assert secret not in again and "You will not see it again" not in again
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    # It works.
    assert client.get(ME, headers=bearer(secret)).json["token"]["id"] == token.id


def test_the_list_shows_each_token_and_its_last_use(client, auth, provider):
    live = make_token(provider, scope="read", name="Reporting script")
    make_token(provider, scope="write", name="Old laptop")
    old = db.session.scalars(select(ApiToken).where(ApiToken.name == "Old laptop")).one()
    old.revoked_at = utcnow()
    expired = ApiToken(
        user_id=provider.id,
        name="Last year's sync",
        prefix="ctp_Exp1",
        token_hash="0" * 64,
        scope="read",
        created_at=utcnow() - timedelta(days=400),
        expires_at=utcnow() - timedelta(days=35),
    )
    db.session.add(expired)
    db.session.commit()
    client.get(ME, headers=bearer(live), environ_base={"REMOTE_ADDR": "203.0.113.9"})

    html = client.get(PAGE).get_data(as_text=True)
    for name in ("Reporting script", "Old laptop", "Last year&#39;s sync"):
        assert name in html
    assert f"<code>{live[:8]}…</code>" in html
    assert "Read only" in html and "Read and write" in html
    assert "from 203.0.113.9" in html
    assert ">Active<" in html and ">Expired<" in html and "Revoked" in html
    # Only the live token can be revoked.
    assert html.count("/revoke") == 1
    assert live not in html


def test_times_are_shown_in_the_viewers_zone(client, auth, provider):
    provider.time_zone = "Asia/Tokyo"
    db.session.commit()
    make_token(provider, name="Zoned")
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Zoned"))
    # Tokyo's wall clock, in the one date format, with no zone name (item 11).
    local = token.created_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%-d %b %Y, %H:%M")
    page = client.get(PAGE).get_data(as_text=True)
    assert local in page and "UTC" not in page


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": ""}, "Give the token a name."),
        ({"name": "x" * 101}, "at most 100"),
        ({"scope": "admin"}, "Not a valid choice"),
        ({"days": "3650"}, "Not a valid choice"),
    ],
)
def test_refused_fields_create_nothing(client, auth, provider, fields, error):
    response = _create(auth, **fields)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert SECRET_RE.search(response.get_data(as_text=True)) is None
    assert db.session.scalars(select(ApiToken)).all() == []


def test_the_form_needs_its_csrf_token(client, auth, provider):
    response = client.post(PAGE, data={"name": "No CSRF", "scope": "read", "days": "90"})
    assert response.status_code == 400
    assert db.session.scalars(select(ApiToken)).all() == []
    token_id = _token_id(make_token(provider))
    revoke = client.post(f"{PAGE}/{token_id}/revoke")
    assert revoke.status_code == 400
    assert db.session.get(ApiToken, token_id).revoked_at is None


def test_logged_out_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_revoking_ends_the_token_at_once(client, auth, provider):
    secret = make_token(provider)
    assert client.get(ME, headers=bearer(secret)).status_code == 200
    token_id = _token_id(secret)
    response = auth.post(f"{PAGE}/{token_id}/revoke", {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == PAGE
    assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert "was revoked" in client.get(PAGE).get_data(as_text=True)

    refused = client.get(ME, headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert [e.action for e in db.session.scalars(select(AuditEvent))].count(
        "revoke_api_token"
    ) == 1
    # Revoking again changes nothing and is not an error.
    redirected = auth.post(f"{PAGE}/{token_id}/revoke")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == PAGE


def test_another_users_token_cannot_be_revoked(client, auth, provider):
    other = make_provider(email="other@example.com")
    secret = make_token(other)
    token_id = _token_id(secret)
    assert auth.post(f"{PAGE}/{token_id}/revoke").status_code == 404
    assert auth.post(f"{PAGE}/{token_id + 1000}/revoke").status_code == 404
    assert auth.post(f"{PAGE}/{token_id}/revoke", {"confirm": "yes"}).status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None
    assert client.get(ME, headers=bearer(secret)).status_code == 200
    # Nor is it listed.
    assert "ctp_" + secret[4:8] not in client.get(PAGE).get_data(as_text=True)


def test_an_expired_token_is_refused_and_the_refusal_audited(client):
    user = make_provider()
    secret = make_token(user)
    token = db.session.get(ApiToken, _token_id(secret))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(ME, headers=bearer(secret)).status_code == 401
    (use,) = _uses(token.id)
    assert (use.outcome, use.detail, use.actor_id) == (
        AuditOutcome.DENIED,
        "token expired",
        user.id,
    )


def test_deactivating_a_user_ends_their_tokens_at_once(client):
    admin = make_user(Role.ADMIN)
    user = make_provider()
    secrets = [make_token(user, name="one"), make_token(user, scope="read", name="two")]
    assert all(client.get(ME, headers=bearer(s)).status_code == 200 for s in secrets)
    set_active(actor=admin, user=user, active=False)
    for secret in secrets:
        assert client.get(ME, headers=bearer(secret)).status_code == 401
    assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken)))
    # Reactivating the account does not bring the tokens back.
    set_active(actor=admin, user=user, active=True)
    assert client.get(ME, headers=bearer(secrets[0])).status_code == 401


def test_an_inactive_account_is_refused_even_with_a_live_token(client):
    """Deactivation outside set_active (a direct change) still stops the token."""
    user = make_provider()
    secret = make_token(user)
    user.active = False
    db.session.commit()
    assert client.get(ME, headers=bearer(secret)).status_code == 401
    (use,) = _uses(_token_id(secret))
    assert (use.outcome, use.detail) == (AuditOutcome.DENIED, "account deactivated")


def test_a_read_only_token_may_read_but_not_write(client):
    user = make_provider()
    read = make_token(user, scope="read")
    write = make_token(user, scope="write", name="writer")
    current = client.get(PREFERENCES, headers=bearer(read))
    assert current.status_code == 200
    body = {**current.json, "send_when_empty": not current.json["send_when_empty"]}

    refused = client.put(PREFERENCES, json=body, headers=bearer(read))
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert client.get(PREFERENCES, headers=bearer(read)).json == current.json

    saved = client.put(PREFERENCES, json=body, headers=bearer(write))
    assert saved.status_code == 200
    assert saved.json["send_when_empty"] is body["send_when_empty"]


def test_every_use_is_audited_and_last_use_recorded(client):
    user = make_provider()
    secret = make_token(user)
    token_id = _token_id(secret)
    assert db.session.get(ApiToken, token_id).last_used_at is None
    before = utcnow()
    client.get(ME, headers=bearer(secret), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    client.get(PREFERENCES, headers=bearer(secret), environ_base={"REMOTE_ADDR": "198.51.100.8"})
    token = db.session.get(ApiToken, token_id)
    assert token.last_used_at >= before - timedelta(seconds=1)
    assert token.last_used_ip == "198.51.100.8"
    uses = _uses(token_id)
    assert [(u.outcome, u.detail, u.actor_id) for u in uses] == [
        (AuditOutcome.ALLOWED, "GET /api/v1/me", user.id),
        (AuditOutcome.ALLOWED, "GET /api/v1/me/digest-preferences", user.id),
    ]
    # A refused use (here: the token was revoked) is audited too.
    token.revoked_at = utcnow()
    db.session.commit()
    client.get(ME, headers=bearer(secret))
    assert _uses(token_id)[-1].outcome == AuditOutcome.DENIED
    assert _uses(token_id)[-1].detail == "token revoked"


def test_unknown_or_malformed_tokens_are_refused(client):
    make_token(make_provider())
    for header in (
        {"Authorization": "Bearer ctp_not-a-real-token"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "ctp_" + "a" * 300},
        {},
    ):
        response = client.get(ME, headers=header)
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_never_opens_the_api(client, auth, provider):
    assert client.get("/settings/profile").status_code == 200  # logged in
    assert client.get(ME).status_code == 401
    assert client.put(PREFERENCES, json={}).status_code == 401


def test_a_token_never_opens_a_web_page(client):
    user = make_provider()
    secret = make_token(user)
    for path in ("/clients/", "/settings/profile", PAGE):
        response = client.get(path, headers=bearer(secret))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login")
    # Nor does a request carrying one leave a session behind.
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_an_api_response_sets_no_cookie(client):
    secret = make_token(make_provider())
    response = client.get(ME, headers=bearer(secret))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def per_token_limit(app):
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_API_PER_TOKEN="3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_each_token_has_its_own_rate_limit(client, per_token_limit):
    user = make_provider()
    first, second = make_token(user, name="first"), make_token(user, name="second")
    for _ in range(3):
        assert client.get(ME, headers=bearer(first)).status_code == 200
    limited = client.get(ME, headers=bearer(first))
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert limited.json["status"] == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get(ME, headers=bearer(second)).status_code == 200
