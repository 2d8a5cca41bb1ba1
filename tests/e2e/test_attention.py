"""End-to-end (issue 13 items 6 and 16): a therapist goes from Needs my attention to the
urgent note itself, pinned at the top of the timeline, presses Seen; acknowledges a
medication change from the current list; sets a weekly digest, whose weekday says
"(required)" only once Weekly is chosen."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from careteam.enums import Discipline, MedicationAction
from careteam.medications import services as meds
from careteam.record.services import TIMELINE_PAGE, post_note
from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider

pytestmark = pytest.mark.e2e

THERAPIST = "tara.lind@example.com"


def test_a_therapist_sees_the_urgent_note_and_the_change_waiting_on_her(
    app, live_server, browser_page: Page, screenshot
):
    therapist = make_provider(Discipline.THERAPIST, email=THERAPIST, name="Tara Lind")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Sam Okafor")
    record = make_client(therapist, name="Jamie Doe")
    add_member(record, psych, therapist)
    urgent = post_note(
        actor=psych,
        client=record,
        title="Called the crisis line last night",
        body="Safety plan reviewed; call her today.",
        urgent=True,
    )
    for n in range(TIMELINE_PAGE):  # the urgent note would be on page 2 by date
        post_note(actor=psych, client=record, body=f"Routine follow-up {n}")
    meds.record_change(
        actor=psych,
        client=record,
        medication="sertraline",
        action=MedicationAction.STARTED,
        effective_date=date.today() - timedelta(days=1),
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    page, base = browser_page, live_server
    client_url = f"{base}/clients/{record.id}"

    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(THERAPIST)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, THERAPIST)
    attention = page.get_by_role("region", name="Needs my attention")
    expect(attention).to_contain_text("1 urgent note not yet seen")
    screenshot(page, "attention-dashboard")

    # The line leads to the note itself: pinned at the top of the timeline.
    attention.get_by_role("link", name="1 urgent note not yet seen").click()
    expect(page).to_have_url(f"{client_url}#e{urgent.id}")
    pinned = page.get_by_role("region", name="Urgent, not yet seen by you")
    expect(pinned).to_contain_text("Called the crisis line last night")
    expect(pinned).to_contain_text("Not yet seen by Tara Lind (you)")
    expect(page.locator(".entry:target")).to_be_in_viewport()
    screenshot(page, "attention-pinned-urgent-note")
    page.reload()  # reading does not unpin it
    expect(page.get_by_role("region", name="Urgent, not yet seen by you")).to_be_visible()

    pinned.get_by_role("button", name="Seen").click()
    expect(page.get_by_text("Marked as seen.")).to_be_visible()
    expect(page.get_by_role("region", name="Urgent, not yet seen by you")).to_have_count(0)

    # The medication change waits on the current list, not inside the closed history.
    page.get_by_role("navigation", name="Sections of this record").get_by_role(
        "link", name="Medications"
    ).click()
    waiting = page.get_by_role("region", name="Waiting for your acknowledgement")
    expect(waiting).to_contain_text("Started: sertraline")
    row = page.locator("#current-medications").get_by_role("row").filter(has_text="sertraline")
    expect(row).to_contain_text("Not yet seen by Tara Lind (you)")
    screenshot(page, "attention-medications-waiting")
    waiting.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged.")).to_be_visible()
    expect(page.get_by_role("region", name="Waiting for your acknowledgement")).to_have_count(0)

    page.goto(f"{base}/")
    expect(page.get_by_role("region", name="Needs my attention")).to_have_count(0)

    # Notification settings: the weekday is "(required)" only for weekly digests.
    page.goto(f"{base}/settings/notifications")
    need = page.locator("#weekday-need")
    expect(need).to_have_text("(for weekly digests)")
    page.get_by_label("Weekly").check()
    expect(need).to_have_text("(required)")
    screenshot(page, "attention-weekday-required")
    page.get_by_label("Daily").check()
    expect(need).to_have_text("(for weekly digests)")
    expect(page).to_have_url(re.compile(r"/settings/notifications$"))
