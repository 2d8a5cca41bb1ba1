"""Every state-changing form refuses a request without its CSRF token, and saves nothing.

The routes come from the authorization table (tests/authz_table.py), so a new POST
route is swept here as soon as it has its row. Each is posted by a user the table allows
(the lead first), with a body that lacks only the token.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careteam.extensions import db
from tests.authz_table import ROWS, visit_as

pytestmark = pytest.mark.backends("sqlite")

# Signed links that are their own credential: mail clients post to them (RFC 8058).
EXEMPT = {"digests.unsubscribe_post", "digests.unsubscribe_alerts_post"}
PREFERRED = ["lead", "member", "admin", "client", "anon"]
REFUSED = {"403", "404", "login"}


def _poster(cells: dict[str, str]) -> str | None:
    return next((role for role in PREFERRED if cells[role] not in REFUSED), None)


POSTS = [
    (endpoint, role)
    for endpoint, method, cells in ROWS
    if method == "POST" and endpoint not in EXEMPT and (role := _poster(cells)) is not None
]


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_the_sweep_covers_the_forms(app):
    assert len(POSTS) > 40
    assert {"clients.new", "record.new_note", "auth.login", "auth.logout"} <= {e for e, _ in POSTS}


@pytest.mark.parametrize(("endpoint", "role"), POSTS)
def test_a_post_without_its_csrf_token_is_refused(app, client, auth, authz_world, endpoint, role):
    url = visit_as(app, auth, authz_world, endpoint, role)
    db.session.remove()
    before = _row_counts()
    response = client.post(url, data={"comment": "x", "body": "x", "reason": "x"})
    assert response.status_code == 400, f"{role} POST {url}"
    assert "This form has expired" in response.get_data(as_text=True)
    db.session.remove()
    assert _row_counts() == before, f"{role} POST {url} without a token changed the database"
