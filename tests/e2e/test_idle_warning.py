"""End-to-end: the idle warning appears before the logoff, keys typed as it opens do not
answer it, "Stay logged in" keeps the session, and when the time is up the browser lands
on the login page with the reason.

A live server with a 12-second idle timeout and a 9-second warning, in real Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from careteam.enums import Role
from tests.factories import PASSWORD, make_user
from tests.helpers import serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def short_idle_server(app, tmp_root: str) -> Iterator[str]:
    with serve(app, tmp_root, SESSION_IDLE_TIMEOUT=12, SESSION_IDLE_WARNING=9) as url:
        yield url


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
    # The dialog takes the focus, not its button: keys typed as it opens press nothing.
    expect(warning).to_be_focused()
    expect(stay).not_to_be_focused()
    for key in ("Enter", "Space", "x", "Enter"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    expect(warning).to_be_visible()
    stay.click()
    expect(warning).to_be_hidden()

    # Not answered this time: the session ends and the page goes to the login page.
    expect(warning).to_be_visible(timeout=8_000)
    # The login page leads back to the page the user was on.
    expect(page).to_have_url(re.compile(r"/login\?reason=idle&next=%2Fportal%2F$"), timeout=15_000)
    expect(page.get_by_text("You were logged out because nothing happened")).to_be_visible()
    # The server agrees: the record is gone without logging in again.
    page.goto(short_idle_server + "/portal/")
    expect(page).to_have_url(re.compile(r"/login"))
