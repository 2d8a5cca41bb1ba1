"""End to end, with JavaScript turned off: a team lead ends a membership and an admin
deactivates an account, each through its confirmation page (issue 13 item 4), which says
what will happen before anything does. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from careteam.auth.models import User
from careteam.clients.models import CareTeamMember
from careteam.enums import Discipline, MemberStatus, Role
from careteam.extensions import db
from tests.e2e.helpers import DESKTOP, enter_code_if_asked
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user

pytestmark = pytest.mark.e2e


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_code_if_asked(page, email)


def test_destructive_actions_confirm_without_javascript(app, live_server, browser, screenshot):
    lead = make_provider(name="Riley Chen", email="riley@example.com")
    dietitian = make_provider(Discipline.DIETITIAN, name="Dana Okafor", email="dana@example.com")
    record = make_client(lead, name="Jamie Doe")
    add_member(record, dietitian, lead)
    admin = make_user(Role.ADMIN, email="admin@example.com")
    record_id, dietitian_id = record.id, dietitian.id

    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        _log_in(page, live_server, lead.email)
        page.goto(f"{live_server}/clients/{record_id}/team")
        row = page.get_by_role("row").filter(has_text="Dana Okafor")
        row.get_by_role("link", name="End membership").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "End Dana Okafor\u2019s membership of Jamie Doe\u2019s care team?"
        )
        expect(
            page.get_by_text("Dana Okafor loses access to Jamie Doe\u2019s record at once")
        ).to_be_visible()
        screenshot(page, "confirm-end-membership")
        # Cancel changes nothing.
        page.get_by_role("link", name="Cancel, change nothing").click()
        expect(page.get_by_role("row").filter(has_text="Dana Okafor")).to_have_count(1)
        page.get_by_role("row").filter(has_text="Dana Okafor").get_by_role(
            "link", name="End membership"
        ).click()
        page.get_by_role("button", name="End membership").click()
        expect(page.get_by_text("Dana Okafor is no longer on the team.")).to_be_visible()
        db.session.expire_all()
        member = db.session.scalar(
            select(CareTeamMember).where(CareTeamMember.provider_id == dietitian_id)
        )
        assert member.status == MemberStatus.ENDED
        page.get_by_role("button", name="Log out").click()

        _log_in(page, live_server, admin.email)
        page.goto(f"{live_server}/admin/users")
        page.get_by_role("row").filter(has_text="dana@example.com").get_by_role(
            "link", name="Deactivate"
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Deactivate Dana Okafor\u2019s account?"
        )
        screenshot(page, "confirm-deactivate")
        page.get_by_role("button", name="Deactivate account").click()
        expect(page.get_by_text("dana@example.com was deactivated.")).to_be_visible()
        db.session.expire_all()
        assert not db.session.get(User, dietitian_id).active
    finally:
        context.close()
