"""Destructive actions ask first (issue 13 item 4): ending a care-team membership,
deactivating an account and revoking an API token.

Each works without JavaScript: the list links to a confirmation page (GET) that says in
plain words what will happen, and only its form (CSRF token and `confirm=yes`) does it. A
POST without `confirm=yes` (the old one-click button) only shows the confirmation page.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from careteam.auth.models import ApiToken, User
from careteam.clients.models import CareTeamMember
from careteam.enums import Discipline, MemberStatus, Role
from careteam.extensions import db
from tests.factories import add_member, make_client, make_provider, make_token, make_user


def _form_action(html: str) -> str:
    """The action of the confirmation form (the one with confirm=yes)."""
    match = re.search(
        r'<form method="post" action="([^"]+)"[^>]*>(?:(?!</form>).)*name="confirm" value="yes"',
        html,
        re.S,
    )
    assert match, "no confirmation form with confirm=yes"
    return match.group(1).replace("&amp;", "&")


@pytest.fixture
def team(app):
    lead = make_provider(name="Riley Chen", email="riley@example.com")
    dietitian = make_provider(Discipline.DIETITIAN, name="Dana Okafor", email="dana@example.com")
    record = make_client(lead, name="Jamie Doe")
    add_member(record, dietitian, lead)
    row = db.session.scalar(
        select(CareTeamMember).where(
            CareTeamMember.client_id == record.id, CareTeamMember.provider_id == dietitian.id
        )
    )
    return lead, dietitian, record, row


def test_ending_a_membership_asks_first_and_says_what_happens(app, client, auth, team):
    lead, _, record, row = team
    auth.login(lead.email)
    url = f"/clients/{record.id}/team/{row.id}/end"

    # The team page links to the confirmation; it does not end anything by itself.
    team_page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert f'href="{url}"' in team_page

    # The old direct POST (no confirm) shows the question and ends nothing.
    response = auth.post(url)
    assert response.status_code == 200
    db.session.refresh(row)
    assert row.status == MemberStatus.ACTIVE

    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "End Dana Okafor\u2019s membership" in html
    assert "Dana Okafor loses access to Jamie Doe\u2019s record at once" in html
    assert "Everything Dana Okafor wrote stays in the record" in html
    assert f'href="/clients/{record.id}/team"' in html  # a way back that changes nothing

    response = auth.post(_form_action(html), {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team"
    db.session.refresh(row)
    assert row.status == MemberStatus.ENDED


def test_deactivating_an_account_asks_first_and_says_what_happens(app, client, auth):
    admin = make_user(Role.ADMIN)
    provider = make_provider(name="Sam Ortiz", email="sam@example.com")
    auth.login(admin.email)
    url = f"/admin/users/{provider.id}/deactivate"

    users_page = client.get("/admin/users").get_data(as_text=True)
    assert f'href="{url}"' in users_page

    response = auth.post(url)
    assert response.status_code == 200
    db.session.refresh(provider)
    assert provider.active

    html = client.get(url).get_data(as_text=True)
    assert "Deactivate Sam Ortiz\u2019s account" in html
    assert "can no longer log in" in html
    assert "Everything Sam Ortiz wrote stays" in html
    assert 'href="/admin/users"' in html

    response = auth.post(_form_action(html), {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    db.session.refresh(provider)
    assert not provider.active


def test_revoking_a_token_asks_first_and_says_what_happens(app, client, auth):
    provider = make_provider()
    secret = make_token(provider, name="Practice EHR")
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == provider.id))
    auth.login(provider.email)
    url = f"/settings/tokens/{token.id}/revoke"

    tokens_page = client.get("/settings/tokens").get_data(as_text=True)
    assert f'href="{url}"' in tokens_page

    response = auth.post(url)
    assert response.status_code == 200
    db.session.refresh(token)
    assert token.revoked_at is None
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )

    html = client.get(url).get_data(as_text=True)
    assert "Revoke the token “Practice EHR”" in html
    assert "stops working at once" in html
    assert "cannot be undone" in html
    assert 'href="/settings/tokens"' in html

    response = auth.post(_form_action(html), {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/tokens"
    db.session.refresh(token)
    assert token.revoked_at is not None


def test_confirmation_pages_of_what_is_not_yours_are_not_found(app, client, auth, team):
    lead, _, record, row = team
    stranger = make_provider(email="stranger@example.com")
    other_secret_owner = make_user(Role.PROVIDER, email="owner@example.com")
    make_token(other_secret_owner)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == other_secret_owner.id))
    auth.login(stranger.email)
    assert client.get(f"/clients/{record.id}/team/{row.id}/end").status_code == 404
    assert client.get(f"/settings/tokens/{token.id}/revoke").status_code == 404
    assert client.get(f"/admin/users/{lead.id}/deactivate").status_code == 403
    assert db.session.get(User, lead.id).active
