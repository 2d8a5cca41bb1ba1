"""End-to-end: the idle warning appears before the logoff, "Stay logged in" keeps the
session, and when the time is up the browser lands on the login page with the reason.

A live server with a 12-second idle timeout and a 9-second warning, in real Chromium.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from careteam import create_app
from careteam.enums import Role
from careteam.extensions import db
from tests.conftest import base_config
from tests.factories import PASSWORD, make_user
from tests.services import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def short_idle_server(app, tmp_root: str) -> Iterator[str]:
    live_app = create_app(
        {
            **base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root),
            "SERVER_NAME": None,
            "SESSION_IDLE_TIMEOUT": 12,
            "SESSION_IDLE_WARNING": 9,
        }
    )
    port = free_port()
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="idle-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with live_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_idle_warning_keeps_or_ends_the_session(app, short_idle_server, browser_page: Page):
    user = make_user(Role.CLIENT, email="idle.client@example.com")
    page = browser_page
    page.goto(short_idle_server + "/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/portal/"))

    warning = page.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_visible(timeout=8_000)  # 12 - 9 = 3 seconds after the page loaded
    stay = warning.get_by_role("button", name="Stay logged in")
    expect(stay).to_be_focused()
    stay.click()
    expect(warning).to_be_hidden()

    # Not answered this time: the session ends and the page goes to the login page.
    expect(warning).to_be_visible(timeout=8_000)
    expect(page).to_have_url(re.compile(r"/login\?reason=idle$"), timeout=15_000)
    expect(page.get_by_text("You were logged out because nothing happened")).to_be_visible()
    # The server agrees: the record is gone without logging in again.
    page.goto(short_idle_server + "/portal/")
    expect(page).to_have_url(re.compile(r"/login"))
