"""Absolute links in emails: the same URLs url_for gives under BASE_URL, from any context."""

from __future__ import annotations

import pytest
from flask import url_for

from careteam.links import external_url, unsubscribe_url, user_id_from_unsubscribe_token


@pytest.mark.parametrize(
    "base",
    ["https://careteam.example.org", "https://care.example.org/team/", "http://127.0.0.1:5000"],
)
def test_external_links_are_what_url_for_gives_under_the_base_url(app, base):
    app.config["BASE_URL"] = base
    links = [
        ("clients.show", {"client_id": 7, "_anchor": "e12"}),
        ("clients.team", {"client_id": 7, "_anchor": "emergency-access"}),
        ("portal.home", {}),
        ("invitations.accept", {"token": "a.b-c_d"}),
        ("clients.dashboard", {"q": "Robin Ray"}),
    ]
    built = [external_url(endpoint, **dict(values)) for endpoint, values in links]
    origin = "/".join(base.split("/")[:3])  # scheme://host[:port]
    with app.test_request_context(base_url=base.rstrip("/")):  # paths under the base's prefix
        expected = [origin + url_for(endpoint, **values) for endpoint, values in links]
    assert built == expected
    assert built[0] == f"{base.rstrip('/')}/clients/7#e12"


def test_a_changed_base_url_changes_the_links(app):
    app.config["BASE_URL"] = "https://one.example.org"
    assert external_url("portal.home") == "https://one.example.org/portal/"
    app.config["BASE_URL"] = "https://two.example.org/sub"
    assert external_url("portal.home") == "https://two.example.org/sub/portal/"
    token = unsubscribe_url(42).rsplit("/", 1)[1]
    assert user_id_from_unsubscribe_token(token) == 42
