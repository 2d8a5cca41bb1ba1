"""What waits on a member's acknowledgement (issue 13 item 6): urgent notes are seen ("Seen")
like medication changes are acknowledged, stay pinned at the top of the timeline until
then, and pending medication acknowledgements show on the current medication list."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careteam.audit.viewer import count_for
from careteam.enums import Discipline, MedicationAction, Visibility
from careteam.extensions import db
from careteam.medications import services as meds
from careteam.record import services
from careteam.record.models import NoteAck
from tests.factories import add_member, make_client, make_provider


@pytest.fixture
def team(app):
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    record = make_client(lead, name="Robin Record")
    add_member(record, psych, lead)
    return record, lead, psych


def _plain(response) -> str:
    """A page's visible text, tags removed and spaces collapsed."""
    return " ".join(
        re.sub(r"<[^>]+>", " ", html.unescape(response.get_data(as_text=True))).split()
    )


def _pinned(page: str) -> str:
    """The pinned section of a timeline page ("" when there is none)."""
    start = page.find('<section class="pinned"')
    return page[start : page.index("</section>", start)] if start >= 0 else ""


def _acks() -> int:
    return db.session.scalar(select(func.count()).select_from(NoteAck))


def test_an_urgent_note_stays_pinned_until_the_member_presses_seen(app, client, auth, team):
    record, lead, psych = team
    urgent = services.post_note(
        actor=psych, client=record, title="Crisis call", body="Called at 2am.", urgent=True
    )
    for n in range(services.TIMELINE_PAGE + 2):  # pushes it off the first page
        services.post_note(actor=psych, client=record, body=f"Routine note {n}")
    auth.login(lead.email)
    for _ in range(2):  # reading the timeline does not unpin it
        page = client.get(f"/clients/{record.id}").get_data(as_text=True)
        pinned = _pinned(page)
        assert f'id="e{urgent.id}"' in pinned and "Crisis call" in pinned
        assert page.count(f'id="e{urgent.id}"') == 1  # pinned, not shown twice
        assert "Not yet seen by" in pinned and "Dana Okafor (you)" in pinned
        assert f'action="/clients/{record.id}/notes/{urgent.id}/seen"' in pinned

    response = auth.post(f"/clients/{record.id}/notes/{urgent.id}/seen")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}#e{urgent.id}"
    assert _acks() == 1 and count_for("acknowledge_note", record.id) == 1
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert _pinned(page) == "" and "Crisis call" not in page  # back in its place, page 2
    entry = _plain(client.get(f"/clients/{record.id}/entries/{urgent.id}"))
    assert "Seen by Dana Okafor (you)" in entry
    assert "Everyone on the team has seen this note." in entry
    # Twice is once.
    again = auth.post(f"/clients/{record.id}/notes/{urgent.id}/seen", follow_redirects=True)
    assert "You had already marked this note as seen." in _plain(again) and _acks() == 1


def test_the_author_is_not_asked_and_sees_who_has_seen_it(app, client, auth, team):
    record, lead, psych = team
    urgent = services.post_note(actor=psych, client=record, body="Crisis call", urgent=True)
    auth.login(psych.email)
    page = client.get(f"/clients/{record.id}")
    assert _pinned(page.get_data(as_text=True)) == ""
    text = _plain(page)
    assert "Not yet seen by Dana Okafor" in text and "(you)" not in text
    assert f"/notes/{urgent.id}/seen" not in page.get_data(as_text=True)
    refused = auth.post(f"/clients/{record.id}/notes/{urgent.id}/seen", follow_redirects=True)
    assert "You wrote this note, so there is nothing to acknowledge." in _plain(refused)
    assert _acks() == 0


def test_ordinary_and_private_notes_ask_nothing(app, client, auth, team):
    record, lead, psych = team
    plain = services.post_note(actor=psych, client=record, body="Routine")
    private = services.post_note(
        actor=psych,
        client=record,
        body="Psychotherapy note",
        visibility=Visibility.PRIVATE,
        urgent=True,
    )
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert _pinned(page) == "" and "Psychotherapy note" not in page and "Not yet seen" not in page
    assert "urgent note" not in client.get("/clients/").get_data(as_text=True)
    # A private entry is not there for others at all; an ordinary note has nothing to see.
    assert auth.post(f"/clients/{record.id}/notes/{private.id}/seen").status_code == 404
    refused = auth.post(f"/clients/{record.id}/notes/{plain.id}/seen", follow_redirects=True)
    assert "Only urgent notes the team can see are acknowledged." in _plain(refused)
    assert _acks() == 0
    # Its author is not asked either.
    auth.logout()
    auth.login(psych.email)
    assert "Not yet seen" not in _plain(client.get(f"/clients/{record.id}"))


def test_a_member_who_joined_later_is_not_asked_about_older_urgent_notes(app, client, auth, team):
    record, lead, psych = team
    services.post_note(actor=psych, client=record, body="Before you came", urgent=True)
    newcomer = make_provider(Discipline.CASE_MANAGER, name="Ann Newcomer")
    add_member(record, newcomer, lead)
    auth.login(newcomer.email)
    assert _pinned(client.get(f"/clients/{record.id}").get_data(as_text=True)) == ""


def test_pending_medication_acknowledgements_show_on_the_current_list(app, client, auth, team):
    record, lead, psych = team
    change = meds.record_change(
        actor=psych,
        client=record,
        medication="Sertraline",
        action=MedicationAction.STARTED,
        effective_date=date.today() - timedelta(days=1),
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    auth.login(lead.email)
    page = html.unescape(client.get(f"/clients/{record.id}/medications").get_data(as_text=True))
    # Outside the collapsed history: above the list, and in the list's row.
    visible = page[: page.index('id="history-title"')]
    waiting = visible[visible.index('id="to-acknowledge"') : visible.index("</section>")]
    assert "Started: Sertraline" in waiting
    assert (
        f'action="/clients/{record.id}/medications/{change.id}/acknowledge?back=medications"'
        in (waiting)
    )
    table = visible[visible.index('id="current-medications"') : visible.index("</table>")]
    assert "Not yet seen by" in table and "Dana Okafor (you)" in table
    auth.post(f"/clients/{record.id}/medications/{change.id}/acknowledge?back=medications")
    page = client.get(f"/clients/{record.id}/medications").get_data(as_text=True)
    assert 'id="to-acknowledge"' not in page
    table = page[page.index('id="current-medications"') : page.index("</table>")]
    assert "Not yet seen by" not in table


def test_the_api_shows_and_takes_urgent_note_acknowledgements(app, client, team):
    from tests.factories import bearer, make_token

    record, lead, psych = team
    urgent = services.post_note(actor=psych, client=record, body="Crisis call", urgent=True)
    plain = services.post_note(actor=psych, client=record, body="Routine")
    base = f"/api/v1/clients/{record.id}"
    as_lead, as_psych = bearer(make_token(lead)), bearer(make_token(psych))

    items = client.get(f"{base}/timeline", headers=as_lead).get_json()["items"]
    by_id = {item["id"]: item for item in items}
    assert by_id[urgent.id]["acknowledgements"] == []
    assert [p["id"] for p in by_id[urgent.id]["awaiting"]] == [lead.id]
    assert by_id[plain.id]["acknowledgements"] == [] and by_id[plain.id]["awaiting"] is None

    url = f"{base}/entries/{urgent.id}/acknowledgements"
    first = client.post(url, headers=as_lead)
    assert first.status_code == 201
    assert first.headers["Location"].endswith(f"/clients/{record.id}/entries/{urgent.id}")
    body = first.get_json()
    assert [a["user"]["id"] for a in body["acknowledgements"]] == [lead.id]
    assert body["awaiting"] == []
    assert client.post(url, headers=as_lead).status_code == 200
    assert _acks() == 1 and count_for("acknowledge_note", record.id) == 1
    assert client.post(url, headers=as_psych).status_code == 422  # the author
    ordinary = client.post(f"{base}/entries/{plain.id}/acknowledgements", headers=as_lead)
    assert ordinary.status_code == 404
