"""End-to-end: real Chromium against a live server, on each database backend."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from careteam.enums import Discipline
from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, TOTP_SECRET, make_client, make_provider

pytestmark = pytest.mark.e2e

# Not example.com: the app's Email() validator (email-validator) refuses the reserved
# ".test" domain, so such an account could not be added through "Add a provider".
THERAPIST_EMAIL = "riley.chen@example.com"
THERAPIST_NAME = "Riley Chen"
PSYCHIATRIST_EMAIL = "sam.okafor@example.com"
PSYCHIATRIST_NAME = "Sam Okafor"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, email)
    expect(page).to_have_url(f"{base}/clients/")
    expect(page.get_by_role("heading", level=1, name="My clients")).to_be_visible()


def care_team_row(page: Page, name: str):
    team = page.locator("#team")
    return team.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(name)))


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"page scrolls sideways: {widths}"


def test_therapist_builds_a_team_and_the_psychiatrist_sees_the_client(
    app, live_server, browser_page: Page, screenshot
):
    make_provider(email=THERAPIST_EMAIL, name=THERAPIST_NAME)
    make_provider(Discipline.PSYCHIATRIST, email=PSYCHIATRIST_EMAIL, name=PSYCHIATRIST_NAME)
    page, base = browser_page, live_server

    log_in(page, base, THERAPIST_EMAIL)
    expect(page.get_by_text(f"Welcome, {THERAPIST_NAME}.")).to_be_visible()
    expect(page.get_by_text("You are not on any client's team yet.")).to_be_visible()
    screenshot(page, "dashboard")

    page.get_by_role("link", name="Add a client").click()
    expect(page).to_have_url(f"{base}/clients/new")
    page.get_by_label("Full name").fill("Jamie Doe")
    page.get_by_label("Preferred name").fill("Jay")
    page.get_by_label("Pronouns").fill("they/them")
    page.get_by_label("Date of birth").fill("2001-04-12")
    page.get_by_label("Level of care").select_option("intensive_outpatient")
    page.get_by_role("button", name="Add client").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/clients/\d+$"))
    client_url = page.url
    expect(page.get_by_role("heading", level=1, name="Jamie Doe")).to_be_visible()
    expect(page.get_by_text("Jamie Doe was added. You are the team lead.")).to_be_visible()
    expect(
        page.get_by_text(f"{THERAPIST_NAME} joined the care team as Therapist.")
    ).to_be_visible()
    page.get_by_role("link", name="Team & level of care").click()
    expect(page).to_have_url(f"{client_url}/team")
    expect(care_team_row(page, THERAPIST_NAME)).to_contain_text("Team lead")

    page.get_by_role("link", name="Add a provider").click()
    expect(page).to_have_url(f"{client_url}/team/add")
    expect(page.get_by_role("heading", level=1, name="Add a provider to the team")).to_be_visible()
    page.get_by_label("Provider's email").fill(PSYCHIATRIST_EMAIL)
    page.get_by_label("Discipline on this team").select_option("psychiatrist")
    expect(page.get_by_label("Also a team lead")).not_to_be_checked()
    page.get_by_role("button", name="Add to team").click()

    expect(page).to_have_url(f"{client_url}/team")
    expect(page.get_by_text(f"{PSYCHIATRIST_NAME} is now on the team.")).to_be_visible()
    psychiatrist_row = care_team_row(page, PSYCHIATRIST_NAME)
    expect(psychiatrist_row).to_have_count(1)
    expect(psychiatrist_row.get_by_role("cell").first).to_have_text("Psychiatrist")
    expect(psychiatrist_row).not_to_contain_text("Team lead")
    screenshot(page, "client-page")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{base}/clients/")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    log_in(page, base, PSYCHIATRIST_EMAIL)
    client_link = page.get_by_role("link", name="Jamie Doe")
    expect(client_link).to_be_visible()
    client_row = page.get_by_role("row").filter(has=client_link)
    expect(client_row).to_contain_text("Intensive outpatient (IOP)")
    expect(client_row).to_contain_text("2 providers")
    screenshot(page, "psychiatrist-dashboard")

    client_link.click()
    expect(page).to_have_url(client_url)
    expect(page.get_by_role("heading", level=1, name="Jamie Doe")).to_be_visible()
    expect(
        page.get_by_text(f"{PSYCHIATRIST_NAME} joined the care team as Psychiatrist.")
    ).to_be_visible()
    page.get_by_role("link", name="Team & level of care").click()
    expect(care_team_row(page, THERAPIST_NAME)).to_contain_text("Team lead")
    expect(care_team_row(page, PSYCHIATRIST_NAME)).to_contain_text("You")
    # Only team leads manage the team.
    expect(page.get_by_role("link", name="Add a provider")).to_have_count(0)


def test_empty_full_name_is_reported_next_to_the_field(app, live_server, browser_page: Page):
    make_provider(email=THERAPIST_EMAIL, name=THERAPIST_NAME)
    page, base = browser_page, live_server
    log_in(page, base, THERAPIST_EMAIL)

    page.goto(f"{base}/clients/new")
    form = page.locator("form").filter(has=page.get_by_role("button", name="Add client"))
    # The server validates: the browser's own checks are off for this form.
    expect(form).to_have_attribute("novalidate", "")
    page.get_by_label("Pronouns").fill("she/her")
    page.get_by_role("button", name="Add client").click()

    expect(page).to_have_url(f"{base}/clients/new")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    full_name = page.get_by_label("Full name")
    expect(full_name).to_have_attribute("aria-invalid", "true")
    expect(full_name).to_have_attribute("aria-describedby", "full_name-error")
    error = page.locator("#full_name-error")
    expect(error).to_have_text("Enter the client's full name.")
    # Next to the field: in the same field group, just below the input.
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error").locator("#full_name")).to_have_count(1)
    field_box, error_box = full_name.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 24
    # What was typed is kept.
    expect(page.get_by_label("Pronouns")).to_have_value("she/her")


def _focused_id(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def test_login_form_is_reachable_and_usable_with_the_keyboard(
    app, live_server, browser_page: Page
):
    make_provider(email=THERAPIST_EMAIL, name=THERAPIST_NAME)
    page, base = browser_page, live_server
    page.goto(f"{base}/login")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(5):
        if _focused_id(page) == "email":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(THERAPIST_EMAIL)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    page.keyboard.press("Enter")

    # The two-factor step, by keyboard too: the code field, then Enter submits.
    expect(page).to_have_url(f"{base}/login/two-factor")
    for _ in range(8):
        if _focused_id(page) == "code":
            break
        page.keyboard.press("Tab")
    expect(page.get_by_label("Code")).to_be_focused()
    page.keyboard.type(pyotp.TOTP(TOTP_SECRET).now())
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{base}/clients/")
    expect(page.get_by_role("heading", level=1, name="My clients")).to_be_visible()


def test_login_and_dashboard_fit_a_phone_screen(app, live_server, phone_page: Page, screenshot):
    therapist = make_provider(email=THERAPIST_EMAIL, name=THERAPIST_NAME)
    make_client(therapist, name="Alexandria Montgomery-Fitzwilliam")
    make_client(therapist, name="Jamie Doe")
    page, base = phone_page, live_server

    page.goto(f"{base}/login")
    expect(page.get_by_role("heading", level=1, name="Log in to CareTeam")).to_be_visible()
    no_horizontal_scroll(page)
    screenshot(page, "phone-login")

    log_in(page, base, THERAPIST_EMAIL)
    expect(page.get_by_role("link", name="Jamie Doe")).to_be_visible()
    no_horizontal_scroll(page)
    screenshot(page, "phone-dashboard")
