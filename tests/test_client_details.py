"""A client's details can be corrected (issue 13 item 10): the team lead corrects the full
name, preferred name, pronouns and date of birth; every change is audited with its value
before and after (in the audit log, never in the application log); the header shows the
team the client's age and date of birth."""

from __future__ import annotations

import html
import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import rules, services
from careteam.clients.models import Client
from careteam.enums import Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db
from tests.factories import add_member, make_client, make_provider, make_user


def _record():
    lead = make_provider(Discipline.THERAPIST, name="Sam Lee")
    member = make_provider(Discipline.DIETITIAN, name="Dana Okafor")
    record = make_client(lead, name="Jamie Dough")
    record.date_of_birth = date(2001, 4, 9)
    db.session.commit()
    add_member(record, member, lead)
    return record, lead, member


def _fresh(record_id: int) -> Client:
    db.session.expire_all()
    return db.session.get(Client, record_id)


def _corrections(record_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.detail)
            .where(
                AuditEvent.action == "correct_client_details", AuditEvent.client_id == record_id
            )
            .order_by(AuditEvent.id)
        )
    )


def test_the_lead_corrects_the_details_and_each_change_is_audited(app, client, auth, caplog):
    record, lead, _member = _record()
    auth.login(lead.email)
    form = client.get(f"/clients/{record.id}/details").get_data(as_text=True)
    assert 'value="Jamie Dough"' in form and 'value="2001-04-09"' in form
    caplog.set_level(logging.DEBUG)
    response = auth.post(
        f"/clients/{record.id}/details",
        {
            "full_name": "Jamie Doe",
            "preferred_name": "Jay",
            "pronouns": "they/them",
            "date_of_birth": "2001-09-04",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    fixed = _fresh(record.id)
    assert (fixed.full_name, fixed.preferred_name, fixed.pronouns, fixed.date_of_birth) == (
        "Jamie Doe",
        "Jay",
        "they/them",
        date(2001, 9, 4),
    )
    assert _corrections(record.id) == [
        "full_name: 'Jamie Dough' -> 'Jamie Doe'",
        "preferred_name: '' -> 'Jay'",
        "pronouns: '' -> 'they/them'",
        "date_of_birth: '2001-04-09' -> '2001-09-04'",
    ]
    row = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "correct_client_details")
    )
    assert row.actor_id == lead.id and row.object_id == record.id
    # The values stay in the audit log: the application log has none of them.
    logged = caplog.text
    for value in ("Jamie Dough", "Jamie Doe", "they/them", "2001-09-04", "2001-04-09"):
        assert value not in logged, value
    page = client.get(f"/clients/{record.id}", follow_redirects=True).get_data(as_text=True)
    assert "The client&#39;s details were corrected." in page or "details were corrected" in page


def test_nothing_changed_writes_nothing(app, client, auth):
    record, lead, _member = _record()
    auth.login(lead.email)
    response = auth.post(
        f"/clients/{record.id}/details",
        {"full_name": "Jamie Dough", "date_of_birth": "2001-04-09"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    assert _corrections(record.id) == []


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"full_name": "  "}, "full_name", "Enter the client's full name."),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "older than 120"),
        ({"date_of_birth": "09/04/2001"}, "date_of_birth", "Not a valid date value"),
    ],
)
def test_bad_details_are_refused_per_field_and_what_was_typed_is_kept(
    app, client, auth, values, field, message
):
    record, lead, _member = _record()
    auth.login(lead.email)
    typed = {"full_name": "Jamie Doe", "pronouns": "she/her", **values}
    response = auth.post(f"/clients/{record.id}/details", typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in html.unescape(page)
    assert f'id="{field}-error"' in page
    assert 'value="she/her"' in page
    assert _fresh(record.id).full_name == "Jamie Dough" and _corrections(record.id) == []


def test_only_the_lead_corrects_details(app, client, auth):
    record, _lead, member = _record()
    auth.login(member.email)
    assert client.get(f"/clients/{record.id}/details").status_code == 403
    assert "Correct details" not in client.get(f"/clients/{record.id}").get_data(as_text=True)
    auth.logout()
    auth.login(make_user(Role.ADMIN).email)
    assert client.get(f"/clients/{record.id}/details").status_code == 404


def test_the_use_case_refuses_a_birth_date_the_form_would(app):
    record, lead, _member = _record()
    with pytest.raises(UserFacingError) as refused:
        services.correct_details(
            actor=lead,
            client=record,
            full_name="Jamie Doe",
            date_of_birth=date.today() + timedelta(days=1),
        )
    assert refused.value.field == "date_of_birth"


def test_the_header_shows_the_team_age_and_date_of_birth(app, client, auth):
    record, lead, member = _record()
    age = rules.age_on(date(2001, 4, 9), date.today())
    for user in (lead, member):
        auth.login(user.email)
        page = client.get(f"/clients/{record.id}").get_data(as_text=True)
        assert "<dt>Age</dt>" in page and f"{age} " in page and "9 Apr 2001" in page
        auth.logout()
    auth.login(lead.email)
    for tab in ("", "/team"):  # the timeline, and the team page where who-is-who lives
        page = client.get(f"/clients/{record.id}{tab}").get_data(as_text=True)
        assert f'href="/clients/{record.id}/details">Correct details' in page, tab
    auth.logout()
    auth.login(member.email)  # only the lead is offered it
    assert "Correct details" not in client.get(f"/clients/{record.id}/team").get_data(as_text=True)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2000, 2, 29), date(2021, 2, 28), 20),
        (date(2000, 2, 29), date(2021, 3, 1), 21),
        (date(2001, 4, 9), date(2026, 4, 8), 24),
        (date(2001, 4, 9), date(2026, 4, 9), 25),
    ],
)
def test_age_counts_completed_years(born, on, age):
    assert rules.age_on(born, on) == age
