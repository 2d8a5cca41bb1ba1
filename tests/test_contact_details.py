"""One rule for contact details (issue 13 item 9): the team sees each other's contact
details (email, phone, practice) on the Team page as in the API; a client sees only what
each provider shares, on the portal as in the API; a provider who shares nothing is
reached through someone who does, never a dead end."""

from __future__ import annotations

import re

from careteam import access
from careteam.clients import services
from careteam.enums import Discipline, LevelOfCare, Role
from careteam.extensions import db
from tests.factories import (
    add_member,
    bearer,
    make_client,
    make_provider,
    make_token,
    make_user,
)


def _team(*, lead_shares: bool = True, member_shares: bool = False):
    lead = make_provider(Discipline.THERAPIST, name="Sam Lee", email="sam@example.com")
    lead.phone, lead.practice_name = "+1 555 0100", "Riverside Counselling"
    lead.share_email, lead.share_phone, lead.share_practice = lead_shares, lead_shares, False
    dana = make_provider(Discipline.CASE_MANAGER, name="Dana Okafor", email="dana@example.com")
    dana.phone, dana.practice_name = "+1 555 0177", "Eastside Case Management"
    dana.share_email = dana.share_phone = dana.share_practice = member_shares
    db.session.commit()
    record = make_client(lead, level=LevelOfCare.OUTPATIENT_WEEKLY)
    add_member(record, dana, lead)
    own = make_user(Role.CLIENT, email="alex@example.com")
    services.link_portal_account(actor=lead, client=record, email=own.email)
    return record, own, lead, dana


def test_the_team_page_shows_every_members_contact_details_to_the_team(app, client, auth):
    record, _own, lead, dana = _team()
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    # Dana shares nothing with clients; her team still sees how to reach her.
    for detail in ("dana@example.com", "+1 555 0177", "Eastside Case Management"):
        assert detail in page, detail
    assert "Riverside Counselling" in page  # the lead's practice, not shared with clients
    assert "No contact details shared" not in page


def test_the_portal_shows_only_what_each_provider_shares(app, client, auth):
    _record, own, _lead, _dana = _team()
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    assert "sam@example.com" in page and "+1 555 0100" in page
    for hidden in ("Riverside Counselling", "dana@example.com", "+1 555 0177", "Eastside"):
        assert hidden not in page, hidden


def test_a_provider_who_shares_nothing_is_reached_through_the_coordinator(app, client, auth):
    _record, own, _lead, _dana = _team()
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    card = re.search(
        r'<li class="card person">(?:(?!</li>\s*<li).)*Dana Okafor.*?</ul>', page, re.S
    )
    assert card, page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card.group(0)))
    assert "Reach Dana Okafor through your care coordinator, Sam Lee" in text, text
    assert "sam@example.com" in text  # how, right there on the card
    assert "No contact details shared" not in page


def test_with_nothing_shared_by_anyone_the_client_is_told_what_to_do(app, client, auth):
    _record, own, _lead, _dana = _team(lead_shares=False)
    auth.login(own.email)
    text = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/portal/").get_data(as_text=True))
    )
    assert "No contact details shared" not in text
    assert "Ask Sam Lee at your next appointment" in text, text


def test_the_api_and_the_pages_ask_the_same_rule(app):
    _record, own, lead, dana = _team()
    team_view = access.contact_details(lead, dana)
    client_view = access.contact_details(own, dana)
    assert (team_view.email, team_view.phone, team_view.practice) == (
        "dana@example.com",
        "+1 555 0177",
        "Eastside Case Management",
    )
    assert not client_view and client_view.email is client_view.phone is None
    shared = access.contact_details(own, lead)
    assert (shared.email, shared.phone, shared.practice) == (
        "sam@example.com",
        "+1 555 0100",
        None,
    )


def test_the_api_gives_the_team_and_the_client_what_the_pages_show(app, client):
    record, own, lead, _dana = _team()
    for user, dana_email in ((lead, "dana@example.com"), (own, None)):
        response = client.get(f"/api/v1/clients/{record.id}", headers=bearer(make_token(user)))
        assert response.status_code == 200
        dana = next(m for m in response.get_json()["team"] if m["display_name"] == "Dana Okafor")
        assert dana["contact"]["email"] == dana_email
