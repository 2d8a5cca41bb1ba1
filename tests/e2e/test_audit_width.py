"""End to end: the admin's audit log fits a 1366 px wide laptop screen (issue 13 item 16):
no horizontal scrolling of the table or the page, with long addresses, IPv6 addresses and
long details in the rows. Screenshots of the audit log (and of the System health page,
whose times read "... ago") go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from careteam import audit
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db
from careteam.health.services import record_heartbeat
from tests.e2e.helpers import enter_code_if_asked
from tests.factories import PASSWORD, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 768}
LONG_EMAIL = "alexandra.konstantinopoulou-vandenberghe@northside-behavioural.example.org"


def _events() -> None:
    provider = make_provider(name="Alexandra Konstantinopoulou", email=LONG_EMAIL)
    record = make_client(provider, name="Jamie Doe")
    for n in range(12):
        event = audit.record(
            "view_record" if n % 3 else "emergency_access_requested",
            object_type="care_team_member" if n % 2 else "medication_change",
            object_id=1_000_000 + n,
            client_id=record.id,
            outcome=AuditOutcome.DENIED if n % 4 == 0 else AuditOutcome.ALLOWED,
            detail=(
                "the add-member form"
                if n % 2
                else "refused: not an active member of the team "
                "(membership ended 2026-11-30) while opening the medication list page"
            ),
            actor=provider,
        )
        event.ip = "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
    db.session.commit()


def test_the_audit_log_fits_a_1366_px_screen(app, live_server, browser, screenshot):
    _events()
    record_heartbeat("beat")
    record_heartbeat("worker")
    admin = make_user(Role.ADMIN, email="admin@example.com")
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        enter_code_if_asked(page, admin.email)

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
        expect(page.get_by_text(LONG_EMAIL).first).to_be_visible()
        widths = page.evaluate(
            """() => {
              const table = document.querySelector('main table');
              const scroller = table.closest('.table-scroll') || table.parentElement;
              return {
                viewport: document.documentElement.clientWidth,
                page: document.documentElement.scrollWidth,
                table: table.scrollWidth,
                scroller: scroller.clientWidth,
                scrollerScroll: scroller.scrollWidth,
              };
            }"""
        )
        screenshot(page, "audit-log-1366")
        assert widths["table"] <= widths["viewport"], widths
        assert widths["page"] <= widths["viewport"], widths
        assert widths["scrollerScroll"] <= widths["scroller"], widths  # no scroll bar

        page.get_by_role("link", name="System health").click()
        expect(
            page.get_by_text(re.compile(r"last tick (just now|\d+ minutes? ago), "))
        ).to_be_visible()
        screenshot(page, "system-health")
    finally:
        context.close()
