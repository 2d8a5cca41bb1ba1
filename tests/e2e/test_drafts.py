"""End-to-end: a note being written is never lost (issue 13 item 1).

In real Chromium against a live server with a short idle timeout: the draft autosaves,
an idle logoff comes, keys typed while the "Are you still there?" dialog is open press
none of its buttons, and after logging in again the form gives the text back. Typing
alone keeps a session alive past its idle timeout.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from careteam.enums import Discipline
from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider
from tests.helpers import serve

pytestmark = pytest.mark.e2e

EMAIL = "dana.draft@example.com"
NOTE = "Robin said the new sleep routine helps; nightmares down to two a week. Plan: "


def log_in(page: Page, base: str, then: str | None = None) -> None:
    """Log in on the login page (the one already open when `then` is where it leads)."""
    if then is None:
        page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, EMAIL)
    expect(page).to_have_url(then or f"{base}/clients/")


@pytest.fixture
def idle_server(app, tmp_root: str) -> Iterator[str]:
    """Logoff after 12 idle seconds, the warning 9 seconds before."""
    with serve(app, tmp_root, SESSION_IDLE_TIMEOUT=12, SESSION_IDLE_WARNING=9) as url:
        yield url


def test_a_note_survives_an_idle_logoff_and_typing_does_not_answer_the_warning(
    app, idle_server, browser_page: Page, screenshot
):
    lead = make_provider(Discipline.THERAPIST, email=EMAIL, name="Dana Okafor")
    record = make_client(lead, name="Robin Record")
    page = browser_page
    log_in(page, idle_server)
    form_url = f"{idle_server}/clients/{record.id}/notes/new"
    page.goto(form_url)
    page.get_by_label("Title").fill("Sleep")
    page.get_by_label("Note").press_sequentially(NOTE, delay=5)
    status = page.locator("[data-draft-status]")
    expect(status).to_have_text(re.compile(r"^Draft saved \d\d:\d\d\."))
    expect(page.get_by_role("button", name="Discard draft")).to_be_visible()

    # The user stops typing: the warning opens. Whatever they type now answers nothing.
    warning = page.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_visible(timeout=12_000)
    stay = warning.get_by_role("button", name="Stay logged in")
    expect(stay).not_to_be_focused()
    expect(warning).to_be_focused()
    screenshot(page, "draft-idle-warning")
    for key in ("Enter", "Space", "a", "Enter"):
        page.keyboard.press(key)
    page.keyboard.type("more words\n")
    page.wait_for_timeout(500)
    expect(warning).to_be_visible()
    expect(page.get_by_label("Note")).to_have_value(NOTE)

    # Nobody chose: the session ends and the page leaves for the login page.
    expect(page).to_have_url(re.compile(r"/login\?reason=idle&next="), timeout=15_000)
    # Logging in again leads straight back to the form, and the text is there.
    log_in(page, idle_server, then=form_url)
    expect(page.get_by_label("Note")).to_have_value(NOTE)
    expect(page.get_by_label("Title")).to_have_value("Sleep")
    expect(status).to_contain_text("is back")
    screenshot(page, "draft-restored")

    # Posting it puts it on the timeline and the draft goes.
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.get_by_text("Your note was added to the timeline.")).to_be_visible()
    page.goto(form_url)
    expect(page.get_by_label("Note")).to_have_value("")
    expect(page.get_by_role("button", name="Discard draft")).to_be_hidden()


def test_discard_draft_empties_the_form(app, idle_server, browser_page: Page):
    lead = make_provider(Discipline.THERAPIST, email=EMAIL, name="Dana Okafor")
    record = make_client(lead, name="Robin Record")
    page = browser_page
    log_in(page, idle_server)
    form_url = f"{idle_server}/clients/{record.id}/notes/new"
    page.goto(form_url)
    page.get_by_label("Note").press_sequentially("To be thrown away", delay=5)
    expect(page.locator("[data-draft-status]")).to_contain_text("Draft saved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard draft").click()
    expect(page.locator("[data-draft-status]")).to_have_text("Draft discarded.")
    expect(page.get_by_label("Note")).to_have_value("")
    page.goto(form_url)
    expect(page.get_by_label("Note")).to_have_value("")


@pytest.fixture
def short_idle_server(app, tmp_root: str) -> Iterator[str]:
    """Logoff after 8 idle seconds, the warning 3 seconds before."""
    with serve(app, tmp_root, SESSION_IDLE_TIMEOUT=8, SESSION_IDLE_WARNING=3) as url:
        yield url


def test_typing_keeps_the_session_alive(app, short_idle_server, browser_page: Page):
    lead = make_provider(Discipline.THERAPIST, email=EMAIL, name="Dana Okafor")
    record = make_client(lead, name="Robin Record")
    page = browser_page
    log_in(page, short_idle_server)
    page.goto(f"{short_idle_server}/clients/{record.id}/notes/new")
    keepalives = []
    page.on(
        "request",
        lambda request: (
            keepalives.append(request) if "/session/keepalive" in request.url else None
        ),
    )
    # 14 seconds of steady typing, well past the 8-second idle timeout.
    long_note = "Steady typing for a long note. " * 7
    started = time.monotonic()
    page.get_by_label("Note").press_sequentially(long_note, delay=65, timeout=30_000)
    typed_for = time.monotonic() - started
    assert typed_for > 10
    expect(page.get_by_role("alertdialog")).to_be_hidden()
    # Throttled: one keep-alive per 2 s (a quarter of the idle timeout) while typing, not
    # one per keystroke (200 of them).
    assert typed_for / 2 - 2 <= len(keepalives) <= typed_for / 2 + 2
    # Never two at once: a keystroke arriving as the pending timer came due sent one
    # keep-alive for each (seen on a loaded machine: 11 in 16 s, two 4 ms apart).
    # The browser's own start times (ms), known once each response is in.
    page.wait_for_timeout(500)
    started_at = sorted(r.timing["startTime"] for r in keepalives if r.timing["startTime"] > 0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(started_at)]
    assert len(started_at) >= len(keepalives) - 1 and min(gaps) > 1000, gaps
    page.get_by_role("button", name="Add to timeline").click()
    expect(page).to_have_url(re.compile(rf"/clients/{record.id}#e\d+$"))
    expect(page.get_by_text("Your note was added to the timeline.")).to_be_visible()


def test_a_nutrition_update_autosaves_and_comes_back(
    app, live_server, browser_page: Page, screenshot
):
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    dietitian = make_provider(Discipline.DIETITIAN, email=EMAIL, name="Dee Dietitian")
    record = make_client(lead, name="Robin Record")
    add_member(record, dietitian, lead)
    page = browser_page
    log_in(page, live_server)
    form_url = f"{live_server}/clients/{record.id}/nutrition/new"
    page.goto(form_url)
    page.get_by_label("Meal plan change").check()
    details = "Add a bedtime snack: yoghurt and fruit. Keep three meals, two snacks."
    page.get_by_label("Details").press_sequentially(details, delay=5)
    expect(page.locator("[data-draft-status]")).to_contain_text("Draft saved")
    page.goto(f"{live_server}/clients/{record.id}")  # away, then back: a closed tab
    page.goto(form_url)
    expect(page.get_by_label("Details")).to_have_value(details)
    expect(page.get_by_label("Meal plan change")).to_be_checked()
    screenshot(page, "draft-nutrition")
