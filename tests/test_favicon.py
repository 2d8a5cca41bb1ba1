"""The site has its own icon (issue 13 item 16): every page links an SVG favicon from
static/, and /favicon.ico, which browsers ask for on their own, answers 200 with an ICO
file instead of a 404 in every log."""

from __future__ import annotations

import struct

import pytest

from tests.factories import make_provider

pytestmark = pytest.mark.backends("sqlite")


def test_favicon_ico_is_served_to_everyone(app, client, auth):
    for logged_in in (False, True):
        if logged_in:
            auth.login(make_provider().email)
        response = client.get("/favicon.ico")
        assert response.status_code == 200
        assert response.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
        body = response.data
        reserved, kind, count = struct.unpack("<HHH", body[:6])
        assert (reserved, kind) == (0, 1) and count >= 1  # an ICO directory
        width, height = body[6], body[7]
        assert (width, height) == (32, 32)
        response.close()


def test_every_page_links_the_svg_icon(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert b'viewBox="0 0 32 32"' in svg.data
    svg.close()
