"""End-to-end: a psychiatrist changes a dose; the therapist sees it as new, listed, in history."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from careteam.enums import Discipline, MedicationAction
from careteam.medications import services
from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider

pytestmark = pytest.mark.e2e

THERAPIST_EMAIL = "riley.chen@example.com"
THERAPIST_NAME = "Riley Chen"
PSYCHIATRIST_EMAIL = "sam.okafor@example.com"
PSYCHIATRIST_NAME = "Dr. Sam Okafor"


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, email)
    expect(page).to_have_url(f"{base}/clients/")


def log_out(page: Page, base: str) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base}/login")


def test_psychiatrist_changes_a_dose_and_the_therapist_sees_it(
    app, live_server, browser_page: Page, screenshot
):
    therapist = make_provider(Discipline.THERAPIST, email=THERAPIST_EMAIL, name=THERAPIST_NAME)
    psychiatrist = make_provider(
        Discipline.PSYCHIATRIST, email=PSYCHIATRIST_EMAIL, name=PSYCHIATRIST_NAME
    )
    record = make_client(therapist, name="Jamie Doe")
    add_member(record, psychiatrist, therapist)
    started = date.today() - timedelta(days=21)
    services.record_change(
        actor=psychiatrist,
        client=record,
        medication="sertraline",
        action=MedicationAction.STARTED,
        effective_date=started,
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
        reason="Low mood and anxiety.",
    )
    page, base = browser_page, live_server
    client_url = f"{base}/clients/{record.id}"

    # The therapist has opened the record before: that visit is the "since" for unread.
    log_in(page, base, THERAPIST_EMAIL)
    page.goto(client_url)
    expect(page.get_by_role("heading", level=1, name="Jamie Doe")).to_be_visible()
    expect(page.get_by_text("Started sertraline")).to_be_visible()
    log_out(page, base)

    # The psychiatrist raises the dose from the medication list.
    log_in(page, base, PSYCHIATRIST_EMAIL)
    page.goto(client_url)
    page.get_by_role("navigation", name="Sections of this record").get_by_role(
        "link", name="Medications"
    ).click()
    expect(page).to_have_url(f"{client_url}/medications")
    page.get_by_role("link", name="Change dose of sertraline").click()
    expect(page.get_by_role("heading", level=1, name="Record a medication change")).to_be_visible()
    expect(page.get_by_label("Medication", exact=True)).to_have_value("sertraline")
    expect(page.get_by_label("What happened")).to_have_value("dose_changed")
    page.get_by_label("Dose", exact=True).fill("100")
    page.get_by_label("Reason").fill("Partial response at 50 mg after three weeks.")
    page.get_by_role("button", name="Record the change").click()
    # The page lands on the new entry: its anchor on the timeline (issue 13 item 16).
    expect(page).to_have_url(re.compile(rf"^{re.escape(client_url)}#e\d+$"))
    expect(page.get_by_text("Dose changed: sertraline.")).to_be_visible()
    expect(page.locator(".entry:target")).to_contain_text("Changed sertraline")
    expect(page.locator(".entry:target")).to_be_in_viewport()
    log_out(page, base)

    # The therapist sees the change marked new on the timeline and acknowledges it.
    log_in(page, base, THERAPIST_EMAIL)
    page.get_by_role("rowheader").get_by_role("link", name="Jamie Doe").click()
    expect(page).to_have_url(client_url)
    change = page.locator(".unread").filter(has_text="Changed sertraline")
    expect(change).to_have_count(1)
    expect(change.get_by_text("New", exact=True)).to_be_visible()
    expect(change).to_contain_text("to 100 mg oral, once daily")
    expect(change).to_contain_text(f"Not yet seen by {THERAPIST_NAME} (you)")
    # What was there at the previous visit is not new.
    expect(page.locator(".unread").filter(has_text="Started sertraline")).to_have_count(0)
    change.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged.")).to_be_visible()
    seen = page.locator(".kind-medication").filter(has_text="Changed sertraline")
    expect(seen).to_contain_text(f"Seen by {THERAPIST_NAME} (you)")
    expect(seen.get_by_role("button", name="Acknowledge")).to_have_count(0)

    # The current medication list shows the new dose; the history shows both changes.
    page.get_by_role("navigation", name="Sections of this record").get_by_role(
        "link", name="Medications"
    ).click()
    expect(page).to_have_url(f"{client_url}/medications")
    row = (
        page.locator("#current-medications")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name="sertraline"))
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("100 mg")
    expect(row).to_contain_text("Dose changed")
    expect(page.get_by_role("link", name="Record a medication change")).to_have_count(0)

    history = page.locator("details.medication-history").filter(has_text="sertraline")
    changed = history.get_by_text("Changed sertraline")
    expect(changed).to_be_hidden()
    history.locator("summary").click()
    expect(changed).to_be_visible()
    expect(history.get_by_text("Started sertraline")).to_be_visible()
    expect(history).to_contain_text("Partial response at 50 mg after three weeks.")
    expect(history).to_contain_text(f"Recorded by {PSYCHIATRIST_NAME}")
    screenshot(page, "medication-history")
