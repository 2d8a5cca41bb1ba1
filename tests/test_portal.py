"""Clients see their own team: names, disciplines, credentials, since when, shared contacts."""

from __future__ import annotations

from careteam.clients import services
from careteam.enums import Discipline, LevelOfCare, Role
from careteam.extensions import db
from tests.factories import add_member, make_client, make_provider, make_user


def _setup():
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor", email="dana@example.com")
    lead.credentials = "LCPC"
    lead.share_email = True
    lead.phone = "+1 555 0100"
    lead.share_phone = False
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman", email="raman@example.com")
    psych.phone = "+1 555 0199"
    psych.share_phone = True
    psych.practice_name = "Northside Psychiatry"
    psych.share_practice = False
    db.session.commit()
    record = make_client(lead, level=LevelOfCare.INTENSIVE_OUTPATIENT)
    add_member(record, psych, lead)
    own = make_user(Role.CLIENT, email="alex@example.com")
    services.link_portal_account(actor=lead, client=record, email=own.email)
    return record, own, lead, psych


def test_client_sees_roster_with_only_shared_contacts(app, client, auth):
    _record, own, _lead, _psych = _setup()
    auth.login(own.email)
    response = client.get("/portal/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dana Okafor" in page and "LCPC" in page and "Therapist" in page
    assert "Dr. Raman" in page and "Psychiatrist" in page
    assert "Care coordinator" in page
    assert "Intensive outpatient" in page
    assert "On your team since" in page
    # Shared: the therapist's email and the psychiatrist's phone.
    assert "dana@example.com" in page and "+1 555 0199" in page
    # Not shared: the therapist's phone, the psychiatrist's email and practice.
    assert "+1 555 0100" not in page
    assert "raman@example.com" not in page
    assert "Northside Psychiatry" not in page


def test_ended_members_leave_the_clients_roster(app, client, auth):
    record, own, lead, psych = _setup()
    row = next(m for m in record.members if m.provider_id == psych.id)
    services.end_member(actor=lead, client=record, member_id=row.id)
    auth.login(own.email)
    assert "Dr. Raman" not in client.get("/portal/").get_data(as_text=True)


def test_unlinked_client_account_sees_an_explanation(app, client, auth):
    lonely = make_user(Role.CLIENT)
    auth.login(lonely.email)
    response = client.get("/portal/")
    assert response.status_code == 200
    assert "has not connected your account yet" in response.get_data(as_text=True)


def test_client_cannot_open_the_provider_record_page(app, client, auth):
    record, own, *_ = _setup()
    auth.login(own.email)
    assert client.get(f"/clients/{record.id}").status_code == 404


def test_provider_updates_profile_and_sharing(app, client, auth):
    _record, own, _lead, psych = _setup()
    auth.login(psych.email)
    response = auth.post(
        "/settings/profile",
        {
            "display_name": "Dr. Priya Raman",
            "credentials": "MD",
            "phone": "+1 555 0199",
            "practice_name": "Northside Psychiatry",
            "share_practice": "y",
            "time_zone": "Europe/Paris",
        },
    )
    assert response.status_code == 302
    db.session.refresh(psych)
    assert psych.display_name == "Dr. Priya Raman" and psych.credentials == "MD"
    assert psych.share_practice and not psych.share_phone and not psych.share_email
    assert psych.time_zone == "Europe/Paris"
    auth.logout()
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    assert "Northside Psychiatry" in page and "+1 555 0199" not in page


def test_profile_validation(app, client, auth):
    user = make_provider()
    auth.login(user.email)
    response = auth.post(
        "/settings/profile",
        {"display_name": "", "phone": "call me maybe", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This field is required." in page
    assert "Use digits, spaces and" in page
    assert "Not a valid choice" in page
