"""End-to-end, issue 13's "done means": one day of a therapist, a dietitian and a client,
in real Chromium whose clock is in Chicago, through the day-one fixes together.

- The therapist (the team lead) logs in for the first time: her browser's zone is taken
  (item 11). *Needs my attention* leads to the urgent note itself, pinned until she presses
  Seen (item 6). The Team page shows her colleague's phone (item 9). She corrects the
  client's preferred name and date of birth; the header shows age and birth date (item 10).
  A note she is writing survives a closed tab (item 1). Ending a membership asks first
  (item 4).
- The dietitian works in pounds: the weight is stored in kilograms, a second weight on the
  same day asks first, and "Client sees it" says the client sees it (item 8).
- The client sees the open weight in the portal with its chart, reads "Who viewed my
  record" grouped by provider and day, finds no "Log a practice" with nothing assigned,
  is told how to reach a provider who shares nothing, and prints their record (items 8, 9,
  14).

Screenshots: test-artifacts/day-one-*-<backend>.png.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from careteam.clients import services as clients
from careteam.clients.models import Client
from careteam.enums import Discipline, Role, Visibility
from careteam.extensions import db
from careteam.nutrition.models import NutritionUpdate
from careteam.record.services import post_note
from tests.e2e.helpers import DESKTOP, PHONE, enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e

ZONE = "America/Chicago"
THERAPIST = "dana.okafor@example.com"
DIETITIAN = "noor.haddad@example.com"
PSYCHIATRIST = "sam.lee@example.com"
CLIENT = "alex.rivera@example.com"
DRAFT = "Alex named three triggers for late-night eating; we practised urge surfing. Next: "


def _seed() -> Client:
    dana = make_provider(Discipline.THERAPIST, email=THERAPIST, name="Dana Okafor")
    noor = make_provider(Discipline.DIETITIAN, email=DIETITIAN, name="Noor Haddad")
    sam = make_provider(Discipline.PSYCHIATRIST, email=PSYCHIATRIST, name="Sam Lee")
    # Noor keeps her phone from clients; Dana shares hers.
    noor.phone, noor.share_phone = "+1 555 0142", False
    dana.phone, dana.share_phone = "+1 555 0100", True
    own = make_user(Role.CLIENT, email=CLIENT, name="Alex Rivera")
    record = make_client(dana, name="Alex Rivera")
    add_member(record, noor, dana)
    add_member(record, sam, dana)
    clients.link_portal_account(actor=dana, client=record, email=own.email)
    post_note(
        actor=sam,
        client=record,
        title="Missed two doses",
        body="Stopped sertraline for two days; please ask about it in session.",
        urgent=True,
    )
    post_note(
        actor=dana,
        client=record,
        title="For Alex",
        body="Keep the food and mood diary this week.",
        visibility=Visibility.CLIENT,
    )
    db.session.commit()
    return record


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, email)


def _context(browser, viewport: dict, **options):
    context = browser.new_context(viewport=viewport, timezone_id=ZONE, **options)
    context.set_default_timeout(10_000)
    return context


def _therapist(browser, base: str, record: Client, screenshot) -> None:
    context = _context(browser, DESKTOP)
    page = context.new_page()
    client_url = f"{base}/clients/{record.id}"
    try:
        _log_in(page, base, THERAPIST)
        attention = page.get_by_role("region", name="Needs my attention")
        expect(attention).to_contain_text("1 urgent note not yet seen")
        screenshot(page, "day-one-therapist-dashboard")
        attention.get_by_role("link", name="1 urgent note not yet seen").click()
        expect(page).to_have_url(re.compile(rf"{re.escape(client_url)}#e\d+$"))
        pinned = page.get_by_role("region", name="Urgent, not yet seen by you")
        expect(pinned).to_contain_text("Missed two doses")
        # Times are Chicago's, in the one format, with no "UTC" anywhere (item 11).
        assert "UTC" not in page.locator("main").inner_text()
        screenshot(page, "day-one-therapist-pinned")
        pinned.get_by_role("button", name="Seen").click()
        expect(page.get_by_text("Marked as seen.")).to_be_visible()
        expect(page.get_by_role("region", name="Urgent, not yet seen by you")).to_have_count(0)

        # The team sees each other's numbers, shared with clients or not (item 9).
        page.goto(f"{client_url}/team")
        expect(page.locator("main")).to_contain_text("+1 555 0142")

        # The lead corrects the client's details (item 10), from the record's header.
        page.goto(client_url)
        page.get_by_role("link", name="Correct details").click()
        page.get_by_label("Preferred name").fill("Al")
        page.get_by_label("Date of birth").fill("1990-05-01")
        page.get_by_role("button", name="Save corrections").click()
        expect(page.locator("main")).to_contain_text("born 1 May 1990")
        age = date.today().year - 1990 - ((date.today().month, date.today().day) < (5, 1))
        expect(page.locator("main")).to_contain_text(str(age))
        screenshot(page, "day-one-therapist-details")

        # A note being written survives a closed tab (item 1).
        page.goto(f"{client_url}/notes/new")
        page.get_by_label("Title").fill("Session 6")
        page.get_by_label("Note").press_sequentially(DRAFT, delay=5)
        expect(page.locator("[data-draft-status]")).to_contain_text("Draft saved")
        page.close()
        page = context.new_page()
        page.goto(f"{client_url}/notes/new")
        expect(page.get_by_label("Note")).to_have_value(DRAFT)
        expect(page.get_by_label("Title")).to_have_value("Session 6")
        screenshot(page, "day-one-therapist-draft-back")
        page.get_by_label("Note").press_sequentially("keep the diary.", delay=5)
        page.get_by_role("button", name="Add to timeline").click()
        expect(page.get_by_text("Your note was added to the timeline.")).to_be_visible()
        expect(page.locator("main")).to_contain_text("keep the diary.")

        # Ending a membership asks first and says what will happen (item 4).
        page.goto(f"{client_url}/team")
        page.get_by_role("link", name="End membership of Noor Haddad").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("End", re.I))
        expect(page.locator("main")).to_contain_text("Noor Haddad")
        screenshot(page, "day-one-therapist-confirm-end")
        page.get_by_role("link", name="Cancel").click()
        expect(page.locator("main")).to_contain_text("Noor Haddad")
    finally:
        context.close()


def _dietitian(browser, base: str, record: Client, screenshot) -> None:
    context = _context(browser, DESKTOP)
    page = context.new_page()
    try:
        _log_in(page, base, DIETITIAN)
        page.goto(f"{base}/settings/profile")
        page.get_by_label("Weights in").select_option("lb")
        page.get_by_role("button", name="Save profile").click()

        form_url = f"{base}/clients/{record.id}/nutrition/new"
        for attempt in range(2):
            page.goto(form_url)
            page.get_by_label("Weight", exact=True).check()
            page.get_by_label("Weight (lb)").fill("150")
            page.get_by_role("button", name="Add update").click()
            if attempt == 1:
                # A second weight on the same day asks first; nothing typed is lost.
                expect(page.locator("main")).to_contain_text("There is already a weight")
                expect(page.get_by_label("Weight (lb)")).to_have_value("150")
                screenshot(page, "day-one-dietitian-same-day")
                page.get_by_label("Yes, record another weight for this day").check()
                page.get_by_role("button", name="Add update").click()
            expect(page).to_have_url(re.compile(r"/nutrition/"))
        weights = db.session.scalars(
            select(NutritionUpdate.weight_kg).where(
                NutritionUpdate.client_id == record.id, NutritionUpdate.weight_kg.is_not(None)
            )
        ).all()
        assert sorted(weights) == [Decimal("68.04"), Decimal("68.04")]
        page.goto(f"{base}/clients/{record.id}/nutrition/")
        expect(page.locator("main")).to_contain_text("150 lb")
        expect(page.locator("main")).to_contain_text("in the portal")
        screenshot(page, "day-one-dietitian-weights")
    finally:
        context.close()


def _client(browser, base: str, screenshot) -> None:
    context = _context(browser, PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        _log_in(page, base, CLIENT)
        expect(page).to_have_url(f"{base}/portal/")
        main = page.locator("main")
        expect(page.get_by_role("heading", name="My weight")).to_be_visible()
        expect(main).to_contain_text("68")
        expect(main).to_contain_text("Keep the food and mood diary")
        assert "Missed two doses" not in main.inner_text()
        expect(page.get_by_role("link", name="Log a practice")).to_have_count(0)
        noor = page.locator(".person", has_text="Noor Haddad")
        expect(noor).to_contain_text("Reach Noor Haddad through")
        expect(noor).not_to_contain_text("+1 555 0142")
        screenshot(page, "day-one-client-home")

        page.get_by_role("link", name="Who viewed my record").last.click()
        dana = page.locator(".access-lines li", has_text="Dana Okafor")
        expect(dana.first).to_contain_text("Dana Okafor")
        # Sam's urgent note is team-only: his line says he updated the record, not how.
        sam = page.locator(".access-lines li", has_text="Sam Lee")
        expect(sam).to_contain_text("updated your record")
        expect(sam).not_to_contain_text("note")
        screenshot(page, "day-one-client-access-log")

        page.goto(f"{base}/portal/")
        page.get_by_role("link", name="My record, ready to print").click()
        expect(page.get_by_role("heading", level=1, name="My CareTeam record")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Keep the food and mood diary")
        assert "Missed two doses" not in page.content()
        screenshot(page, "day-one-client-record")
    finally:
        context.close()


def test_a_day_of_a_therapist_a_dietitian_and_a_client(app, live_server, browser, screenshot):
    record = _seed()
    _therapist(browser, live_server, record, screenshot)
    _dietitian(browser, live_server, record, screenshot)
    _client(browser, live_server, screenshot)
