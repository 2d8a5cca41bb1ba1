"""Login throttling: rate limits per IP and per account, the lockout, and the admin unlock.

The rate limits are off in the shared test configuration (tests/helpers.py) because every
test logs in from one address; the `limits` fixture turns them on with small values.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from limits.storage import MemoryStorage, RedisStorage
from sqlalchemy import select

from careteam import create_app
from careteam.audit import AuditEvent
from careteam.auth import throttle
from careteam.auth.models import User
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db, limiter, utcnow
from tests.factories import PASSWORD, make_user
from tests.harness import free_port
from tests.helpers import base_config, csrf_from

GENERIC = "Email or password is incorrect."
LOGIN_PATH = "/login"


@pytest.fixture
def limits(app):
    """Rate limits on, generous unless a test narrows one, with empty counters."""
    app.config.update(
        RATELIMIT_ENABLED=True,
        RATELIMIT_LOGIN_PER_IP="1000 per minute",
        RATELIMIT_LOGIN_PER_ACCOUNT="1000 per minute",
        RATELIMIT_RESET_REQUEST_PER_IP="1000 per minute",
        RATELIMIT_RESET_REQUEST_PER_ACCOUNT="1000 per minute",
        RATELIMIT_STRENGTH_CHECK_PER_IP="1000 per minute",
    )
    limiter.reset()
    yield app.config
    limiter.reset()


def post_login(client, email: str, password: str = "wrong password, surely", ip: str = ""):
    token = csrf_from(client.get(LOGIN_PATH).get_data(as_text=True))
    environ = {"REMOTE_ADDR": ip} if ip else {}
    return client.post(
        LOGIN_PATH,
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def assert_plain_429(response) -> None:
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 3600
    body = response.get_data(as_text=True)
    assert "Too many attempts" in body
    assert "Wait a few minutes and try again." in body
    assert "Traceback" not in body and "per minute" not in body


# Rate limits ------------------------------------------------------------------------------


def test_login_is_limited_per_address(app, client, limits):
    limits["RATELIMIT_LOGIN_PER_IP"] = "3 per minute"
    for n in range(3):
        assert post_login(client, f"someone{n}@example.com").status_code == 200
    assert_plain_429(post_login(client, "someone-else@example.com"))
    # The page itself still loads, and another address may still try.
    assert client.get(LOGIN_PATH).status_code == 200
    assert post_login(client, "someone@example.com", ip="203.0.113.9").status_code == 200


def test_login_is_limited_per_submitted_account_whatever_the_address(app, client, limits):
    limits["RATELIMIT_LOGIN_PER_ACCOUNT"] = "2 per minute"
    user = make_user(Role.CLIENT)
    assert post_login(client, user.email, ip="203.0.113.1").status_code == 200
    # The same account, spelled differently and from another address.
    assert post_login(client, f"  {user.email.upper()} ", ip="203.0.113.2").status_code == 200
    assert_plain_429(post_login(client, user.email, password=PASSWORD, ip="203.0.113.3"))
    # Unknown addresses are limited alike, so the limit reveals nothing about accounts.
    for _ in range(2):
        assert post_login(client, "nobody@example.com").status_code == 200
    assert_plain_429(post_login(client, "nobody@example.com"))
    # Another account is not affected.
    other = make_user(Role.CLIENT)
    response = post_login(client, other.email, password=PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"


def test_rate_limit_keys_hold_no_email_address(app, limits):
    with app.test_request_context(LOGIN_PATH, method="POST", data={"email": " Ann@Example.com"}):
        key = throttle.submitted_account_key()
    with app.test_request_context(LOGIN_PATH, method="POST", data={"email": "ann@example.com"}):
        assert throttle.submitted_account_key() == key
    assert "ann" not in key.lower() and "example" not in key


def test_password_reset_request_is_limited_per_address_and_per_account(app, client, limits):
    limits["RATELIMIT_RESET_REQUEST_PER_ACCOUNT"] = "1 per hour"
    limits["RATELIMIT_RESET_REQUEST_PER_IP"] = "3 per minute"
    app.config["INVITATION_RELAY"] = "off"

    def forgot(email: str):
        token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
        return client.post("/password/forgot", data={"email": email, "csrf_token": token})

    assert forgot("a@example.com").status_code == 200
    assert_plain_429(forgot("a@example.com"))  # same address within the hour
    assert forgot("b@example.com").status_code == 200
    assert_plain_429(forgot("c@example.com"))  # fourth request from this IP in a minute


def test_strength_meter_is_limited_per_address(app, client, limits):
    limits["RATELIMIT_STRENGTH_CHECK_PER_IP"] = "2 per minute"
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))

    def ask():
        return client.post(
            "/password/strength",
            json={"password": "a long enough phrase"},
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )

    assert ask().status_code == 200
    assert ask().status_code == 200
    answer = ask()
    assert answer.status_code == 429
    assert answer.get_json() == {"error": "Too many attempts"}
    assert int(answer.headers["Retry-After"]) >= 1


def test_limits_can_be_switched_off(app, client, limits):
    limits["RATELIMIT_LOGIN_PER_IP"] = "1 per minute"
    limits["RATELIMIT_ENABLED"] = False
    for _ in range(3):
        assert post_login(client, "x@example.com").status_code == 200


def test_storage_is_redis_when_redis_url_is_set_and_memory_otherwise(app, tmp_root):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with_redis = create_app({**base_config(url, tmp_root), "REDIS_URL": "redis://10.0.0.1:6379/2"})
    cfg = with_redis.config
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://10.0.0.1:6379/2"
    options = cfg["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.5
    assert options["retry"].get_retries() == 0
    assert isinstance(with_redis.extensions["careteam.limiter"][0], RedisStorage)
    plain = create_app(base_config(url, tmp_root))
    assert plain.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert isinstance(plain.extensions["careteam.limiter"][0], MemoryStorage)
    # Each app keeps its own storage: building the Redis app did not move this one's counts.
    assert isinstance(app.extensions["careteam.limiter"][0], MemoryStorage)
    with app.test_request_context():
        assert limiter.storage is app.extensions["careteam.limiter"][0]


def test_dead_redis_lets_logins_through_quickly_and_the_lockout_still_counts(app, tmp_root):
    """Fail-open: a Redis outage must not lock every clinician out; the lockout still holds."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    outage_app = create_app(
        {
            **base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root),
            "REDIS_URL": dead,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_LOGIN_PER_IP": "1 per minute",
        }
    )
    user = make_user(Role.CLIENT)
    outage_client = outage_app.test_client()
    started = time.perf_counter()
    for _ in range(2):
        response = post_login(outage_client, user.email)
        assert response.status_code == 200
        assert GENERIC in response.get_data(as_text=True)
    assert time.perf_counter() - started < 5
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_login_count == 2
    with outage_app.app_context():
        db.session.remove()
        db.engine.dispose()


# Lockout ----------------------------------------------------------------------------------


def _answer(response) -> tuple[int, str]:
    """Status and page without the per-request CSRF token."""
    body = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.get_data(as_text=True))
    return response.status_code, body


def _login_rows(user_id: int | None) -> list[tuple[str, str, str]]:
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == user_id).order_by(AuditEvent.id)
    )
    return [(row.action, row.outcome, row.detail) for row in rows]


def test_lockout_after_repeated_failures_refuses_the_right_password_alike(app, client):
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 3
    user = make_user(Role.CLIENT, email="dana@example.com")
    wrong = [post_login(client, user.email) for _ in range(3)]
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.failed_login_count == 3
    assert throttle.is_locked(user)
    minutes = (user.locked_until - utcnow()).total_seconds() / 60
    assert 14.9 < minutes <= 15
    locked = post_login(client, user.email, password=PASSWORD)
    assert _answer(locked) == _answer(wrong[-1])
    assert locked.status_code == 200 and GENERIC in locked.get_data(as_text=True)
    response = client.get("/portal/")
    assert response.status_code == 302  # not logged in
    assert response.headers["Location"] == "/login?next=%2Fportal%2F"
    assert _login_rows(user.id) == [
        ("create_user", AuditOutcome.ALLOWED, "client"),
        ("login", AuditOutcome.DENIED, "bad credentials"),
        ("login", AuditOutcome.DENIED, "bad credentials"),
        ("account_locked", AuditOutcome.ALLOWED, "3 failed attempts; locked for 15 minutes"),
        ("login", AuditOutcome.DENIED, "bad credentials"),
        ("login", AuditOutcome.DENIED, "locked"),
    ]


def test_locked_unknown_and_wrong_take_the_same_path(app, client, count_queries, monkeypatch):
    """The same hash work and the same number of statements, so timing cannot tell them apart."""
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 5
    known = make_user(Role.CLIENT)
    locked = make_user(Role.CLIENT)
    locked.failed_login_count = 5
    locked.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    verifications: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash_, password):
        verifications.append(hash_)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    cases = {
        "unknown": ("nobody@example.com", PASSWORD),
        "wrong": (known.email, "not the password"),
        "locked": (locked.email, PASSWORD),
    }
    seen = {}
    for case, (email, password) in cases.items():
        token = csrf_from(client.get(LOGIN_PATH).get_data(as_text=True))
        verifications.clear()
        with count_queries() as counter:
            response = client.post(
                LOGIN_PATH, data={"email": email, "password": password, "csrf_token": token}
            )
        seen[case] = (response.status_code, counter.count, len(verifications))
        assert GENERIC in response.get_data(as_text=True)
    assert seen["unknown"] == seen["wrong"] == seen["locked"], seen
    assert seen["unknown"][2] == 1  # one argon2 verification each
    db.session.expire_all()
    assert db.session.get(User, locked.id).failed_login_count == 5  # locked: not counted


def test_attempts_during_a_lock_neither_count_nor_extend_it(app, client):
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 2
    user = make_user(Role.CLIENT)
    for _ in range(2):
        post_login(client, user.email)
    db.session.expire_all()
    until = db.session.get(User, user.id).locked_until
    for _ in range(4):
        post_login(client, user.email)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.failed_login_count, user.locked_until) == (2, until)


def test_lock_expires_and_the_next_run_of_failures_locks_twice_as_long(app, client, auth):
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 2
    user = make_user(Role.CLIENT)
    for _ in range(2):
        post_login(client, user.email)
    user.locked_until = utcnow() - timedelta(seconds=1)  # the 15 minutes are over
    db.session.commit()
    for _ in range(2):
        post_login(client, user.email)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.failed_login_count == 4
    assert 29.9 < (user.locked_until - utcnow()).total_seconds() / 60 <= 30
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = auth.login(user.email)
    assert response.status_code == 302  # expired: the right password works
    assert response.headers["Location"] == "/portal/"
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.failed_login_count, user.locked_until) == (0, None)


def test_lock_length_doubles_up_to_the_cap(app):
    app.config.update(LOGIN_LOCKOUT_MINUTES=15, LOGIN_LOCKOUT_MAX_MINUTES=240)
    assert [throttle.lock_minutes(n) for n in range(1, 7)] == [15, 30, 60, 120, 240, 240]
    assert throttle.lock_minutes(10_000) == 240


def test_a_successful_login_clears_earlier_failures(app, client, auth):
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 3
    user = make_user(Role.CLIENT)
    for _ in range(2):
        post_login(client, user.email)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"
    auth.logout()
    for _ in range(2):
        post_login(client, user.email)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.failed_login_count == 2 and not throttle.is_locked(user)


def test_deactivated_account_with_the_right_password_is_not_counted(app, client):
    user = make_user(Role.CLIENT)
    user.active = False
    db.session.commit()
    response = post_login(client, user.email, password=PASSWORD)
    assert GENERIC in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_login_count == 0


# Admin unlock -----------------------------------------------------------------------------


def test_admin_sees_the_lock_and_unlocks_the_account(app, client, auth):
    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 2
    user = make_user(Role.CLIENT, email="locked.out@example.com")
    for _ in range(2):
        post_login(client, user.email)
    admin = make_user(Role.ADMIN)
    auth.login(admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Locked until" in page
    assert f'action="/admin/users/{user.id}/unlock"' in page
    response = auth.post(f"/admin/users/{user.id}/unlock")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    page = client.get("/admin/users").get_data(as_text=True)
    assert "locked.out@example.com was unlocked and can log in again." in page
    assert "Locked until" not in page
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.failed_login_count, user.locked_until) == (0, None)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unlock_user")).one()
    assert (row.actor_id, row.object_id, row.outcome) == (admin.id, user.id, "allowed")
    auth.logout()
    redirected = auth.login(user.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/portal/"


def test_unlocking_an_unlocked_account_changes_nothing(app, client, auth):
    user = make_user(Role.CLIENT)
    auth.login(make_user(Role.ADMIN).email)
    response = auth.post(f"/admin/users/{user.id}/unlock", follow_redirects=True)
    assert "Nothing to change: the account is not locked." in response.get_data(as_text=True)
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "unlock_user")
    ).all()


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CLIENT])
def test_only_admins_unlock(app, client, auth, role):
    target = make_user(Role.CLIENT)
    target.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    auth.login(make_user(role).email)
    assert auth.post(f"/admin/users/{target.id}/unlock").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, target.id).locked_until is not None


def test_unlock_needs_the_csrf_token(app, client, auth):
    target = make_user(Role.CLIENT)
    auth.login(make_user(Role.ADMIN).email)
    assert client.post(f"/admin/users/{target.id}/unlock").status_code == 400


def test_a_password_reset_lifts_the_lock(app, client):
    """The owner proves they read the account's email; the guessed password is gone."""
    from careteam.auth.reset import make_token

    app.config["LOGIN_LOCKOUT_THRESHOLD"] = 3
    user = make_user(Role.CLIENT, email="dana@example.com")
    for _ in range(3):
        post_login(client, user.email)
    db.session.expire_all()
    assert throttle.is_locked(db.session.get(User, user.id))
    token = make_token(db.session.get(User, user.id))
    page = client.get(f"/password/reset/{token}")
    new_password = "quiet harbour lantern 58"
    response = client.post(
        f"/password/reset/{token}",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "password": new_password,
            "confirm": new_password,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert not throttle.is_locked(user) and user.failed_login_count == 0
    redirected = post_login(client, user.email, password=new_password)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/portal/"
