"""Login rate limits on a real Redis: counts shared through Redis, and a hung Redis.

Several web replicas share their counts only through Redis, so this is what production
relies on. A Redis that stops answering (SIGSTOP, not a refused connection) must cost a
login no more than the short storage timeout, and let it through (fail-open).
"""

from __future__ import annotations

import contextlib
import time

import pytest
import redis

from careteam import create_app
from careteam.enums import Role
from careteam.extensions import db
from tests.factories import make_user
from tests.helpers import base_config, csrf_from

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_apps(app, tmp_root, redis_server):
    """Two apps (two replicas) on the test database, both counting in the real Redis."""
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    with contextlib.closing(client):
        client.flushdb()
    config = {
        **base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root),
        "REDIS_URL": redis_server.url,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_LOGIN_PER_IP": "1000 per minute",
        "RATELIMIT_LOGIN_PER_ACCOUNT": "3 per minute",
    }
    apps = [create_app(config), create_app(config)]
    yield apps
    for built in apps:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


def _login(client, email: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": "wrong", "csrf_token": token})


def test_replicas_share_the_per_account_count_through_redis(app, redis_apps, redis_server):
    user = make_user(Role.CLIENT, email="shared.count@example.com")
    first, second = (built.test_client() for built in redis_apps)
    assert _login(first, user.email).status_code == 200
    assert _login(second, user.email).status_code == 200
    assert _login(first, user.email).status_code == 200
    blocked = _login(second, user.email)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    with contextlib.closing(client):
        keys = [key.decode() for key in client.keys("*")]
    assert any("careteam-limits" in key for key in keys), keys
    assert not any("shared.count" in key or "example.com" in key for key in keys), keys


def test_a_hung_redis_costs_a_login_one_short_timeout_and_lets_it_through(
    app, redis_apps, redis_server
):
    user = make_user(Role.CLIENT)
    web = redis_apps[0].test_client()
    token = csrf_from(web.get("/login").get_data(as_text=True))
    redis_server.pause()
    try:
        started = time.perf_counter()
        response = web.post(
            "/login", data={"email": user.email, "password": "wrong", "csrf_token": token}
        )
        elapsed = time.perf_counter() - started
    finally:
        redis_server.resume()
    assert response.status_code == 200
    assert b"Email or password is incorrect." in response.data
    assert elapsed < 3, f"a hung Redis held the login for {elapsed:.1f} s"
