"""End-to-end, the client's own view (issue 13 items 11 and 14): a client whose browser is
in Chicago logs in for the first time and reads times there; "Who viewed my record" groups
by provider and day; the copy of the record is a readable page that prints without the
site's navigation. Screenshots: test-artifacts/portal-home-reach-<backend>.png,
portal-access-log-<backend>.png,
portal-record-<backend>.png and portal-record-print-<backend>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients import services as clients
from careteam.enums import Discipline, LevelOfCare, Role, Visibility
from careteam.extensions import db
from careteam.record.services import post_note
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e

CLIENT_EMAIL = "jamie.doe@example.com"
ZONE = "America/Chicago"


def _seed() -> None:
    lead = make_provider(Discipline.THERAPIST, name="Riley Chen", email="riley@example.com")
    lead.share_phone, lead.phone = True, "+1 555 0100"
    dana = make_provider(Discipline.CASE_MANAGER, name="Dana Okafor", email="dana@example.com")
    db.session.commit()
    own = make_user(Role.CLIENT, email=CLIENT_EMAIL, name="Jamie Doe")
    record = make_client(lead, name="Jamie Doe", level=LevelOfCare.INTENSIVE_OUTPATIENT)
    add_member(record, dana, lead)
    clients.link_portal_account(actor=lead, client=record, email=own.email)
    post_note(
        actor=lead,
        client=record,
        title="Before Tuesday",
        body="Great work this week. **Bring your sleep diary** on Tuesday.",
        visibility=Visibility.CLIENT,
    )
    post_note(actor=lead, client=record, body="Private-formulation", visibility=Visibility.PRIVATE)
    day = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    for n, who in enumerate([dana] * 5 + [lead] * 2):
        db.session.add(
            AuditEvent(
                actor_id=who.id,
                action="view_record",
                object_type="client",
                object_id=record.id,
                client_id=record.id,
                occurred_at=day - timedelta(days=1, minutes=10 * n),
            )
        )
    db.session.commit()


def test_a_client_reads_who_viewed_and_prints_their_record(app, live_server, browser, screenshot):
    _seed()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id=ZONE)
    page = context.new_page()
    try:
        base = live_server
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(CLIENT_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{base}/portal/")
        # The first login took the browser's zone (item 11).
        db.session.expire_all()
        own = db.session.scalar(select(User).where(User.email == CLIENT_EMAIL))
        assert (own.time_zone, own.time_zone_chosen) == (ZONE, True)

        # Dana shares nothing: the card says how to reach her instead of a dead end.
        dana = page.locator(".person", has_text="Dana Okafor")
        expect(dana).to_contain_text("Reach Dana Okafor through your care coordinator, Riley Chen")
        expect(dana).to_contain_text("+1 555 0100")
        expect(page.get_by_role("link", name="Log a practice")).to_have_count(0)
        dana.scroll_into_view_if_needed()
        screenshot(page, "portal-home-reach")

        page.get_by_role("link", name="Who viewed my record").last.click()
        expect(page.get_by_role("heading", level=1, name="Who viewed my record")).to_be_visible()
        dana_line = page.locator(".access-lines li", has_text="Dana Okafor")
        expect(dana_line).to_have_count(1)  # five looks, one line
        expect(dana_line).to_contain_text("looked at your record 5 times between")
        screenshot(page, "portal-access-log")

        page.goto(f"{base}/portal/")
        page.get_by_role("link", name="My record, ready to print").click()
        expect(page.get_by_role("heading", level=1, name="My CareTeam record")).to_be_visible()
        expect(page.get_by_text("Bring your sleep diary")).to_be_visible()
        expect(page.get_by_role("button", name="Print")).to_be_visible()  # the script ran
        expect(
            page.get_by_role("link", name="Download for health apps (FHIR file)")
        ).to_be_visible()
        assert "Private-formulation" not in page.content()
        screenshot(page, "portal-record")
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.get_by_role("button", name="Print")).to_be_hidden()
        expect(page.get_by_text("Bring your sleep diary")).to_be_visible()
        screenshot(page, "portal-record-print")
    finally:
        context.close()
