"""Every route x every kind of user, in one table (tests/authz_table.py). A route without
a row fails the suite.

The world is tests/authz_table.py's (the record of tests/worlds.py, other teams and
accounts), built once per module by the `authz_world` fixture; each case starts from its
snapshot.
"""

from __future__ import annotations

import pytest

from careteam.admin.services import set_active
from careteam.auth.models import User
from careteam.extensions import db
from tests.authz_table import ROLES, ROWS, world_url

# The policy and the routes do not depend on the database, and every route runs on
# PostgreSQL in its feature's tests; this table of ~540 requests runs on SQLite only.
pytestmark = pytest.mark.backends("sqlite")

API_PREFIX = "api."
CASES = [(ep, method, role, cells[role]) for ep, method, cells in ROWS for role in ROLES]


def test_every_route_has_a_row(app):
    """A new route (or method) without a row in TABLE fails here."""
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        # The JSON API takes tokens, not sessions: tests/test_api_authorization.py.
        if not rule.endpoint.startswith(API_PREFIX)
    }
    table = {(ep, method) for ep, method, _ in ROWS}
    assert routes - table == set(), "routes without an authorization row"
    assert table - routes == set(), "rows for routes that do not exist"


@pytest.mark.parametrize(("endpoint", "method", "role", "expected"), CASES)
def test_authorization(app, client, auth, authz_world, endpoint, method, role, expected):
    world = authz_world
    world["database"].restore(app)
    if role == "anon":
        token = auth.token("/login")
    else:
        response = auth.login(world["emails"][role])
        assert response.status_code == 302, f"{role} could not log in"
        token = auth.token(
            response.headers["Location"] if role != "deact" else "/settings/profile"
        )
        if role == "deact":
            set_active(
                actor=db.session.get(User, world["admin_id"]),
                user=db.session.get(User, world["ids"]["deact"]),
                active=False,
            )
    url = world_url(app, endpoint, world["url_args"])
    response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
    if expected == "login":
        assert response.status_code == 302, f"{role} {method} {url}"
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == int(expected), f"{role} {method} {url}"
