"""Providers create clients, run the care team and change the level of care."""

from __future__ import annotations

import html
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from careteam.clients import services
from careteam.clients.models import CareTeamChange, CareTeamMember, Client, LevelOfCareChange
from careteam.enums import Discipline, LevelOfCare, MemberStatus, Role
from careteam.errors import UserFacingError
from careteam.extensions import db
from tests.factories import add_member, make_client, make_provider, make_user


def test_provider_creates_a_client_and_becomes_lead(app, client, auth):
    dana = make_provider(Discipline.THERAPIST)
    auth.login(dana.email)
    response = auth.post(
        "/clients/new",
        {
            "full_name": "Jamie Doe",
            "preferred_name": "Jay",
            "pronouns": "she/her",
            "date_of_birth": "1999-04-02",
            "level_of_care": "intensive_outpatient",
        },
    )
    assert response.status_code == 302
    record = db.session.scalar(select(Client).where(Client.full_name == "Jamie Doe"))
    assert response.headers["Location"] == f"/clients/{record.id}"
    assert record.level_of_care == LevelOfCare.INTENSIVE_OUTPATIENT
    (member,) = record.members
    assert member.provider_id == dana.id and member.is_lead and member.discipline == "therapist"
    assert [c.level for c in record.level_changes] == ["intensive_outpatient"]
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert "Jamie Doe" in page and "Team lead" in page and "Intensive outpatient" in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"full_name": "", "level_of_care": "residential"},
            "full_name",
            "Enter the client's full name.",
        ),
        (
            {"full_name": "A", "level_of_care": "spa_weekend"},
            "level_of_care",
            "Not a valid choice",
        ),
        (
            {"full_name": "A", "level_of_care": "residential", "date_of_birth": "2999-01-01"},
            "date_of_birth",
            "cannot be in the future",
        ),
        (
            {"full_name": "A", "level_of_care": "residential", "date_of_birth": "yesterday"},
            "date_of_birth",
            "Not a valid date value",
        ),
    ],
)
def test_new_client_validation_keeps_input_and_saves_nothing(
    app, client, auth, form, field, message
):
    auth.login(make_provider().email)
    response = auth.post("/clients/new", {"pronouns": "they/them", **form})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in html.unescape(page)
    assert f'id="{field}-error"' in page
    assert 'value="they/them"' in page  # what the user typed is kept
    assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_lead_adds_and_ends_members(app, client, auth):
    lead = make_provider(Discipline.THERAPIST)
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    record = make_client(lead)
    auth.login(lead.email)
    response = auth.post(
        f"/clients/{record.id}/team/add",
        {"email": psych.email.upper(), "discipline": "psychiatrist"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team"
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert "Dr. Raman" in page and "Psychiatrist" in page
    member = db.session.scalar(
        select(CareTeamMember).where(CareTeamMember.provider_id == psych.id)
    )
    assert member.status == MemberStatus.ACTIVE and not member.is_lead

    response = auth.post(f"/clients/{record.id}/team/{member.id}/end", {"confirm": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team"
    db.session.refresh(member)
    assert member.status == MemberStatus.ENDED and member.ended_at is not None
    changes = db.session.scalars(
        select(CareTeamChange.change).where(CareTeamChange.member_id == member.id)
    ).all()
    assert changes == ["added", "ended"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "No active provider account uses this email address."),
        ("lead", "is already on this team."),
        ("client", "No active provider account uses this email address."),
        ("not-an-email", "Enter an email address."),
    ],
)
def test_add_member_errors(app, client, auth, email, message):
    lead = make_provider()
    record = make_client(lead)
    portal_user = make_user(Role.CLIENT)
    email = {"lead": lead.email, "client": portal_user.email}.get(email, email)
    auth.login(lead.email)
    response = auth.post(
        f"/clients/{record.id}/team/add", {"email": email, "discipline": "therapist"}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(record.members) == 1


def test_ended_member_loses_access_at_once_and_can_rejoin(app, client, auth):
    lead = make_provider()
    other = make_provider()
    record = make_client(lead, name="Rejoin Person")
    row = add_member(record, other, lead)
    auth.login(other.email)
    assert client.get(f"/clients/{record.id}").status_code == 200
    services.end_member(actor=lead, client=record, member_id=row.id)
    assert client.get(f"/clients/{record.id}").status_code == 404
    assert "Rejoin Person" not in client.get("/clients/").get_data(as_text=True)
    again = add_member(record, other, lead)
    assert again.id == row.id and again.status == MemberStatus.ACTIVE
    assert client.get(f"/clients/{record.id}").status_code == 200


def test_last_lead_cannot_leave(app, client, auth):
    lead = make_provider()
    record = make_client(lead)
    lead_row = record.members[0]
    with pytest.raises(UserFacingError, match="at least one active lead"):
        services.end_member(actor=lead, client=record, member_id=lead_row.id)
    other = make_provider()
    row = add_member(record, other, lead)
    services.make_lead(actor=lead, client=record, member_id=row.id)
    services.end_member(actor=other, client=record, member_id=lead_row.id)
    db.session.refresh(lead_row)
    assert lead_row.status == MemberStatus.ENDED


def test_member_of_another_client_cannot_be_ended_through_this_one(app, client, auth):
    lead = make_provider()
    mine = make_client(lead)
    theirs_lead = make_provider()
    theirs = make_client(theirs_lead)
    victim = add_member(theirs, make_provider(), theirs_lead)
    auth.login(lead.email)
    response = auth.post(f"/clients/{mine.id}/team/{victim.id}/end")
    assert response.status_code == 404
    response = auth.post(f"/clients/{mine.id}/team/{victim.id}/end", {"confirm": "yes"})
    assert response.status_code == 404
    db.session.refresh(victim)
    assert victim.status == MemberStatus.ACTIVE


def test_change_level_of_care_with_history(app, client, auth):
    lead = make_provider()
    record = make_client(lead, level=LevelOfCare.INTENSIVE_OUTPATIENT)
    auth.login(lead.email)
    today = date.today()
    response = auth.post(
        f"/clients/{record.id}/level-of-care",
        {"level": "outpatient_weekly", "effective_date": today.isoformat(), "reason": "Step down"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team#level-of-care"
    db.session.refresh(record)
    assert record.level_of_care == LevelOfCare.OUTPATIENT_WEEKLY
    history = [(c.level, c.reason) for c in record.level_changes]
    assert history == [
        ("outpatient_weekly", "Step down"),
        ("intensive_outpatient", "Initial level of care"),
    ]
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    history = page[page.index("<h3>History</h3>") :]
    assert history.index("Outpatient, weekly") < history.index("Intensive outpatient (IOP)")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {"level": "inpatient", "effective_date": "", "reason": "x"},
            "Enter the date the new level of care starts",
        ),
        (
            {"level": "inpatient", "effective_date": "2026-01-01", "reason": ""},
            "Write why the level of care changes.",
        ),
        (
            {"level": "inpatient", "effective_date": "2999-01-01", "reason": "x"},
            "cannot be in the future",
        ),
        (
            {"level": "outpatient_weekly", "effective_date": "TODAY", "reason": "x"},
            "already Outpatient, weekly",
        ),
    ],
)
def test_level_of_care_validation(app, client, auth, form, message):
    lead = make_provider()
    record = make_client(lead)
    auth.login(lead.email)
    if form["effective_date"] == "TODAY":
        form = {**form, "effective_date": date.today().isoformat()}
    response = auth.post(f"/clients/{record.id}/level-of-care", form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert len(record.level_changes) == 1


def test_backdated_level_change_does_not_replace_a_newer_one(app):
    lead = make_provider()
    record = make_client(lead, level=LevelOfCare.RESIDENTIAL)
    services.change_level_of_care(
        actor=lead,
        client=record,
        level=LevelOfCare.PARTIAL_HOSPITALIZATION,
        effective_date=date.today(),
        reason="Step down",
    )
    services.change_level_of_care(
        actor=lead,
        client=record,
        level=LevelOfCare.INPATIENT,
        effective_date=date(2026, 1, 1),
        reason="Late entry of an earlier admission",
    )
    assert record.level_of_care == LevelOfCare.PARTIAL_HOSPITALIZATION
    count = db.session.scalar(select(func.count()).select_from(LevelOfCareChange))
    assert count == 3


def test_dashboard_lists_only_my_active_clients_with_team_size_and_search(app, client, auth):
    me = make_provider()
    other = make_provider()
    mine = make_client(me, name="Avery Stone")
    add_member(mine, other, me)
    make_client(me, name="Blake Morgan")
    make_client(other, name="Casey Hidden")
    auth.login(me.email)
    page = client.get("/clients/").get_data(as_text=True)
    assert "Avery Stone" in page and "Blake Morgan" in page
    assert "Casey Hidden" not in page
    assert "2 providers" in page and "1 provider<" in page
    found = client.get("/clients/?q=avery").get_data(as_text=True)
    assert "Avery Stone" in found and "Blake Morgan" not in found


def test_dashboard_is_paginated(app, client, auth):
    me = make_provider()
    for n in range(app.config["PAGE_SIZE"] + 3):
        make_client(me, name=f"Paged Client {n:02d}")
    auth.login(me.email)
    first = client.get("/clients/").get_data(as_text=True)
    second = client.get("/clients/?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first
    assert first.count("Paged Client") == app.config["PAGE_SIZE"]
    assert second.count("Paged Client") == 3


def test_link_portal_account(app, client, auth):
    lead = make_provider()
    record = make_client(lead)
    portal_user = make_user(Role.CLIENT)
    auth.login(lead.email)
    response = auth.post(f"/clients/{record.id}/portal", {"email": portal_user.email})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team"
    db.session.refresh(record)
    assert record.user_id == portal_user.id
    other_record = make_client(lead)
    response = auth.post(f"/clients/{other_record.id}/portal", {"email": portal_user.email})
    assert response.status_code == 400
    assert "already linked to another record" in response.get_data(as_text=True)


def test_schema_refuses_duplicate_membership(app):
    from sqlalchemy.exc import IntegrityError

    lead = make_provider()
    record = make_client(lead)
    db.session.add(
        CareTeamMember(client_id=record.id, provider_id=lead.id, discipline="therapist")
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(("column", "value"), [("status", "paused"), ("discipline", "astrologer")])
def test_schema_refuses_values_outside_the_enums(app, column, value):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    lead = make_provider()
    record = make_client(lead)
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(CareTeamMember)
            .where(CareTeamMember.client_id == record.id)
            .values({column: value})
        )
        db.session.flush()
    db.session.rollback()


def test_times_are_shown_in_the_viewers_time_zone(app, client, auth):
    lead = make_provider()
    lead.time_zone = "America/Chicago"
    db.session.commit()
    record = make_client(lead)
    record.last_activity_at = record.last_activity_at.replace(hour=3, minute=0) - timedelta(days=1)
    db.session.commit()
    auth.login(lead.email)
    page = client.get("/clients/").get_data(as_text=True)
    # 03:00 UTC is 21:00 or 22:00 the evening before in Chicago, shown without a zone name.
    local = record.last_activity_at.astimezone(ZoneInfo("America/Chicago"))
    assert local.strftime("%-d %b %Y, %H:%M") in page
    assert "UTC" not in page
