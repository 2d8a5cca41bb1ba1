"""End-to-end on a phone: the client reads their team and logs a practice.

Real Chromium at 390x844 (mobile viewport rules, touch) against a live server, on each
database backend. The roster is screenshot to test-artifacts/portal-roster-<backend>.png.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from careteam.clients import services as clients
from careteam.enums import Discipline, GoalDirection, LevelOfCare, Role, Visibility
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice
from careteam.record.services import post_note
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e

CLIENT_EMAIL = "jamie.doe@example.com"
SKILL = "Box breathing"
REFLECTION = "Calmer before the exam."
# Apple's and WCAG 2.5.5's minimum size of a target a finger taps.
TAP = 44


def _seed() -> None:
    lead = make_provider(Discipline.THERAPIST, name="Riley Chen", email="riley@example.com")
    lead.credentials = "LCPC, R-DMT"
    lead.phone = "+1 555 0100"
    lead.share_phone = True
    lead.practice_name = "Harbor Counseling"
    psych = make_provider(Discipline.PSYCHIATRIST, name="Sam Okafor", email="sam@example.com")
    psych.credentials = "MD"
    psych.share_email = True
    db.session.commit()
    own = make_user(Role.CLIENT, email=CLIENT_EMAIL, name="Jamie Doe")
    record = make_client(lead, name="Jamie Doe", level=LevelOfCare.INTENSIVE_OUTPATIENT)
    add_member(record, psych, lead)
    clients.link_portal_account(actor=lead, client=record, email=own.email)
    goal = create_goal(
        actor=lead,
        client=record,
        fields=GoalFields(
            title="Sleep through the night",
            measure="Nights with 7 hours of sleep",
            unit="nights a week",
            baseline=Decimal(2),
            target=Decimal(5),
            direction=GoalDirection.UP,
            target_date=date.today() + timedelta(days=90),
            owner_id=lead.id,
            shared_with_client=True,
        ),
    )
    for weeks_ago, value in ((3, 2), (2, 3), (1, 3)):
        check_in(
            actor=lead,
            client=record,
            goal=goal,
            measured_on=date.today() - timedelta(weeks=weeks_ago),
            value=Decimal(value),
        )
    post_note(
        actor=lead,
        client=record,
        body="Great work this week. Bring your sleep diary on Tuesday.",
        visibility=Visibility.CLIENT,
    )
    assign_practice(
        actor=lead,
        client=record,
        fields=AssignmentFields(
            skill=SKILL,
            target_count=1,
            period="day",
            starts_on=date.today() - timedelta(days=7),
            instructions="Breathe in for 4, hold for 4, out for 4, hold for 4.",
        ),
    )


def _assert_phone_layout(page: Page) -> None:
    """One column, no sideways scrolling, and every tap target at least 44 px."""
    # A heading shows before the stylesheet has arrived on a busy machine: measure the page
    # as styled (a CI run once measured every target unstyled, about 20 px high).
    page.wait_for_load_state("load")
    sizes = page.evaluate(
        """() => {
          const shown = e => e.offsetParent !== null;
          const text = e => (e.textContent || e.name || e.type || '').trim().slice(0, 40);
          // A radio or checkbox is tapped through its row with the label.
          const target = e => e.matches('input[type=radio], input[type=checkbox]')
            ? (e.closest('.field-check, label') || e) : e;
          // Links on their own (not words inside a sentence, which WCAG exempts).
          const alone = e => e.parentElement.textContent.trim() === e.textContent.trim();
          const targets = [
            ...document.querySelectorAll(
              'main button, main input:not([type=hidden]), main select, main textarea,'
              + ' main summary, main a.button'),
            ...[...document.querySelectorAll('main a:not(.button), .site-header a,'
              + ' .site-header button')].filter(alone),
          ].filter(shown);
          return {
            scroll: document.documentElement.scrollWidth,
            inner: window.innerWidth,
            lefts: [...document.querySelectorAll('.portal .cards > li')]
              .map(e => Math.round(e.getBoundingClientRect().left)),
            small: targets
              .map(e => [text(e), Math.round(target(e).getBoundingClientRect().height)])
              .filter(([, h]) => h < 44),
          };
        }"""
    )
    assert sizes["scroll"] <= sizes["inner"], f"the page scrolls sideways: {sizes}"
    assert len(set(sizes["lefts"])) <= 1, f"cards side by side on a phone: {sizes['lefts']}"
    assert sizes["small"] == [], f"tap targets under {TAP}px: {sizes['small']}"


def test_client_reads_the_roster_and_logs_a_practice_on_a_phone(
    app, live_server, phone_page: Page, screenshot
):
    _seed()
    page, base = phone_page, live_server

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(CLIENT_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_role("heading", level=1, name="Hello, Jamie Doe")).to_be_visible()

    team = page.locator("section", has=page.get_by_role("heading", name="My team"))
    riley = team.get_by_role("listitem").filter(has_text="Riley Chen")
    expect(riley).to_contain_text("LCPC, R-DMT")
    expect(riley).to_contain_text("Care coordinator")
    expect(riley).to_contain_text("+1 555 0100")
    sam = team.get_by_role("listitem").filter(has_text="Sam Okafor")
    expect(sam).to_contain_text("Psychiatrist")
    expect(sam).to_contain_text("sam@example.com")
    expect(page.get_by_text("Intensive outpatient (IOP)").first).to_be_visible()
    _assert_phone_layout(page)
    team.scroll_into_view_if_needed()
    screenshot(page, "portal-roster")

    page.get_by_role("link", name="Log a practice").first.click()
    expect(page).to_have_url(f"{base}/portal/practice/")
    expect(page.get_by_role("heading", level=1, name="My practice")).to_be_visible()
    card = page.locator(".card", has=page.get_by_role("heading", name=SKILL))
    expect(card).to_contain_text("This week: 0 of 7")
    _assert_phone_layout(page)

    card.get_by_role("link", name=re.compile("Log a practice")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SKILL)
    _assert_phone_layout(page)
    page.get_by_label("4", exact=True).check()
    page.get_by_label("Reflection").fill(REFLECTION)
    page.get_by_role("button", name="Log this practice").click()

    expect(page).to_have_url(f"{base}/portal/practice/")
    expect(page.get_by_text(f"your practice of “{SKILL}” was logged")).to_be_visible()
    card = page.locator(".card", has=page.get_by_role("heading", name=SKILL))
    expect(card).to_contain_text("This week: 1 of 7")
    expect(page.get_by_text(REFLECTION)).to_be_visible()
    expect(page.get_by_text("rated 4 of 5")).to_be_visible()
    screenshot(page, "portal-practice-logged")

    page.goto(f"{base}/portal/")
    practice = page.locator("section", has=page.get_by_role("heading", name="My practice"))
    expect(practice).to_contain_text("This week: 1 of 7")
