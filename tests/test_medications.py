"""Medication changes: recording, validation, who may prescribe, the derived list, acks."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import render_template
from flask_login import current_user, login_user
from sqlalchemy import func, select

from careteam import access
from careteam.audit import AuditEvent
from careteam.audit.viewer import count_for
from careteam.clients import services as client_services
from careteam.enums import PRESCRIBER_DISCIPLINES, Discipline, MedicationAction
from careteam.extensions import db
from careteam.medications import derive, services
from careteam.medications.demo import seed_demo
from careteam.medications.models import MedicationAck, MedicationChange, format_dose
from careteam.record import services as record_services
from careteam.record.services import EntryError, post_note
from careteam.timefmt import format_date
from tests.factories import add_member, make_client, make_provider

TODAY = date.today()
START = TODAY - timedelta(days=20)


@pytest.fixture
def team(app):
    """A client whose team has a therapist lead, a psychiatrist and a dietitian."""
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Priya Raman")
    diet = make_provider(Discipline.DIETITIAN, name="Jordan Lee")
    record = make_client(lead, name="Robin Record")
    add_member(record, psych, lead)
    add_member(record, diet, lead)
    return record, lead, psych, diet


def _form(**overrides) -> dict:
    form = {
        "medication": "Sertraline",
        "action": "started",
        "dose": "50",
        "unit": "mg",
        "route": "oral",
        "frequency": "once daily",
        "effective_date": START.isoformat(),
        "reason": "",
    }
    form.update(overrides)
    return form


def _record(record, actor, **overrides) -> MedicationChange:
    """Record a change through the service, with the same defaults as `_form`."""
    values = {
        "medication": "sertraline",
        "action": MedicationAction.STARTED,
        "dose": Decimal("50"),
        "unit": "mg",
        "route": "oral",
        "frequency": "once daily",
        "effective_date": START,
        "reason": "",
    }
    values.update(overrides)
    return services.record_change(actor=actor, client=record, **values)


def _changes() -> int:
    return db.session.scalar(select(func.count()).select_from(MedicationChange))


def _current(record) -> list[tuple[str, str]]:
    changes = services.client_changes(record)
    return [(c.medication, c.regimen) for c in derive.current_medications(changes)]


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _plain_text(page: str) -> str:
    """A page's visible text, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _plain(response) -> str:
    return _plain_text(_text(response))


# --- Recording a change ----------------------------------------------------------------


def test_psychiatrist_records_a_start(app, client, auth, team):
    record, lead, psych, _ = team
    auth.login(psych.email)
    page = client.get(f"/clients/{record.id}/medications/new")
    assert page.status_code == 200
    assert f'value="{TODAY.isoformat()}"' in page.get_data(as_text=True)  # defaults to today

    response = auth.post(
        f"/clients/{record.id}/medications/new",
        _form(medication="  Sertraline ", dose="50.0", reason="Low mood and anxiety."),
    )
    assert response.status_code == 302
    change = db.session.scalar(select(MedicationChange))
    # The page lands on the new entry: on top of the timeline, where the team acknowledges.
    assert response.headers["Location"] == f"/clients/{record.id}#e{change.id}"
    assert (change.medication, change.medication_key) == ("Sertraline", "sertraline")
    assert change.dose == Decimal("50") and change.action == "started"
    assert (change.unit, change.route, change.frequency) == ("mg", "oral", "once daily")
    assert change.effective_date == START and change.author_id == psych.id
    assert change.visibility == "team"
    assert count_for("create_medication", record.id) == 1

    timeline = _text(client.get(f"/clients/{record.id}"))
    assert f"Started Sertraline</strong> 50 mg oral, once daily, from {format_date(START)}" in (
        timeline
    )
    assert "Low mood and anxiety." in timeline
    assert "Not yet seen by" in timeline and "Dana Okafor" in timeline


def test_stop_needs_no_dose(app, client, auth, team):
    record, _, psych, _ = team
    _record(record, psych)
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/medications/new",
        _form(
            medication="SERTRALINE",
            action="stopped",
            dose="",
            unit="",
            route="",
            frequency="",
            effective_date=TODAY.isoformat(),
            reason="Nausea.",
        ),
    )
    assert response.status_code == 302
    stop = db.session.scalar(select(MedicationChange).where(MedicationChange.action == "stopped"))
    assert response.headers["Location"] == f"/clients/{record.id}#e{stop.id}"
    assert stop.dose is None and stop.medication_key == "sertraline"
    assert _current(record) == []
    timeline = _text(client.get(f"/clients/{record.id}"))
    assert f"Stopped SERTRALINE</strong> on {format_date(TODAY)}" in timeline


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"medication": "   "}, "medication", "Enter the medication's name."),
        ({"medication": "x" * 121}, "medication", "Keep this under 120 characters."),
        ({"dose": ""}, "dose", "Enter the dose as a positive number"),
        ({"dose": "fifty"}, "dose", "Enter the dose as a positive number"),
        ({"dose": "-5"}, "dose", "Enter the dose as a positive number"),
        ({"dose": "0"}, "dose", "Enter the dose as a positive number"),
        ({"dose": "NaN"}, "dose", "Enter the dose as a positive number"),
        ({"dose": "Infinity"}, "dose", "Enter the dose as a positive number"),
        ({"dose": "0.0001"}, "dose", "at most 3 decimal places"),
        ({"dose": "5000000"}, "dose", "Enter a dose below 1,000,000."),
        ({"unit": ""}, "unit", "Enter the unit of the dose"),
        ({"route": ""}, "route", "Enter the route"),
        ({"frequency": ""}, "frequency", "Enter how often it is taken"),
        ({"action": "paused"}, "action", "Choose what happened"),
        ({"action": ""}, "action", "Choose what happened"),
        ({"effective_date": ""}, "effective_date", "Enter the date the change takes effect."),
        ({"effective_date": "next week"}, "effective_date", "Enter the date as year-month-day"),
        ({"effective_date": "1899-12-31"}, "effective_date", "Enter a date after 1900."),
        (
            {"effective_date": (TODAY + timedelta(days=400)).isoformat()},
            "effective_date",
            "no more than a year ahead",
        ),
        ({"action": "stopped", "reason": "  "}, "reason", "Give the reason"),
        ({"action": "dose_changed", "reason": ""}, "reason", "Give the reason"),
        ({"action": "stopped", "dose": "abc"}, "dose", "Enter the dose as a positive number"),
        ({"action": "stopped", "dose": "20", "unit": ""}, "unit", "Enter the unit"),
    ],
)
def test_validation_keeps_input_and_saves_nothing(
    app, client, auth, team, overrides, field, message
):
    record, _, psych, _ = team
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/medications/new",
        _form(**{"frequency": "Every Evening", **overrides}),
    )
    assert response.status_code == 400
    page = _text(response)
    assert f'id="{field}-error"' in page
    assert message in page[page.index(f'id="{field}-error"') :].split("</p>")[0]
    if field != "frequency":
        assert 'value="Every Evening"' in page  # what the prescriber typed is kept
    assert _changes() == 0
    assert count_for("create_medication") == 0


def test_every_field_error_is_shown_at_once(app, client, auth, team):
    record, _, psych, _ = team
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/medications/new",
        {"medication": "", "action": "dose_changed", "dose": "-1", "effective_date": ""},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("medication", "dose", "unit", "route", "frequency", "effective_date", "reason"):
        assert f'id="{field}-error"' in page, field


@pytest.mark.parametrize(
    ("existing", "overrides", "field", "message"),
    [
        ([], {"action": "stopped", "reason": "Done"}, "medication", "not on the current"),
        ([], {"action": "dose_changed", "reason": "More"}, "medication", "not on the current"),
        (
            [{}],
            {"medication": "SERTRALINE ", "dose": "100"},
            "action",
            "already on the list",
        ),
        (
            [{}],
            {"medication": "Fluoxetine", "action": "stopped", "reason": "x"},
            "medication",
            "not on the current",
        ),
        (
            [{}],
            {"action": "dose_changed", "reason": "Same"},
            "dose",
            "That is the current dose (50 mg oral, once daily)",
        ),
        (
            [{}],
            {"action": "continued", "dose": "75"},
            "dose",
            "Continuing keeps the current dose",
        ),
        (
            # Stopped before the new stop's date: nothing left to stop.
            [{}, {"action": "stopped", "dose": None, "reason": "x", "effective_date": START}],
            {"action": "stopped", "reason": "again", "effective_date": TODAY.isoformat()},
            "medication",
            "not on the current",
        ),
        (
            # A dose change dated before the start.
            [{}],
            {
                "action": "dose_changed",
                "dose": "100",
                "reason": "x",
                "effective_date": (START - timedelta(days=5)).isoformat(),
            },
            "medication",
            "not on the current",
        ),
    ],
)
def test_changes_must_fit_the_current_list(
    app, client, auth, team, existing, overrides, field, message
):
    record, _, psych, _ = team
    for values in existing:
        _record(record, psych, **values)
    before = _changes()
    auth.login(psych.email)
    response = auth.post(f"/clients/{record.id}/medications/new", _form(**overrides))
    assert response.status_code == 400
    page = _text(response)
    assert f'id="{field}-error"' in page
    assert message in page
    assert _changes() == before


def test_continued_may_record_a_medication_started_elsewhere(app, team):
    record, _, psych, _ = team
    _record(record, psych, medication="Lithium", action="continued", dose=Decimal("300"))
    _record(record, psych, action="continued")  # not on the list yet: joins it
    _record(record, psych, action="continued", effective_date=TODAY)  # same regimen: fine
    assert _current(record) == [
        ("Lithium", "300 mg oral, once daily"),
        ("sertraline", "50 mg oral, once daily"),
    ]


def test_service_refuses_what_the_form_would(app, team):
    record, _, psych, _ = team
    with pytest.raises(EntryError) as error:
        _record(record, psych, dose=Decimal("-1"))
    assert error.value.field == "dose"
    with pytest.raises(EntryError) as error:
        _record(record, psych, action="paused")
    assert error.value.field == "action"
    with pytest.raises(EntryError) as error:
        _record(record, psych, action="stopped", dose=None, reason="")
    assert error.value.field == "reason"
    assert _changes() == 0


@pytest.mark.parametrize("discipline", list(Discipline))
def test_only_prescribers_record_changes(app, client, auth, discipline):
    lead = make_provider(Discipline.THERAPIST)
    record = make_client(lead)
    provider = make_provider(discipline)
    add_member(record, provider, lead)
    auth.login(provider.email)
    url = f"/clients/{record.id}/medications/new"
    expected = (200, 302) if discipline in PRESCRIBER_DISCIPLINES else (403, 403)
    assert client.get(url).status_code == expected[0]
    assert auth.post(url, _form()).status_code == expected[1]
    assert _changes() == (1 if discipline in PRESCRIBER_DISCIPLINES else 0)
    page = _text(client.get(f"/clients/{record.id}/medications"))
    assert ("Record a medication change" in page) is (discipline in PRESCRIBER_DISCIPLINES)
    if discipline not in PRESCRIBER_DISCIPLINES:
        denied = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "post_medication")
        )
        assert denied.outcome == "denied"


def test_non_members_and_ended_members_get_not_found(app, client, auth, team):
    record, lead, psych, _ = team
    outsider = make_provider(Discipline.PSYCHIATRIST)
    auth.login(outsider.email)
    assert client.get(f"/clients/{record.id}/medications").status_code == 404
    assert client.get(f"/clients/{record.id}/medications/new").status_code == 404
    member = next(m for m in record.members if m.provider_id == psych.id)
    client_services.end_member(actor=lead, client=record, member_id=member.id)
    auth.logout()
    auth.login(psych.email)
    assert client.get(f"/clients/{record.id}/medications/new").status_code == 404


# --- The derived list ---------------------------------------------------------------------

_ids = iter(range(1, 10_000))
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _change(name, action, effective, dose=None, *, created=None, superseded=False, **kw):
    """An unsaved change, enough for the pure derivation."""
    change = MedicationChange(
        medication=name,
        medication_key=name.casefold(),
        action=action,
        effective_date=effective,
        dose=Decimal(dose) if dose is not None else None,
        unit="mg" if dose is not None else "",
        route=kw.get("route", "oral"),
        frequency=kw.get("frequency", "once daily"),
        author_id=1,
    )
    change.id = next(_ids)
    change.created_at = created or T0
    change.superseded_at = T0 if superseded else None
    return change


def _doses(changes, **kw) -> dict[str, str]:
    return {c.medication: format_dose(c.dose) for c in derive.current_medications(changes, **kw)}


def test_derivation_start_change_stop_restart():
    start = _change("sertraline", "started", date(2026, 11, 3), "50")
    assert _doses([start]) == {"sertraline": "50"}
    dose_up = _change("sertraline", "dose_changed", date(2026, 11, 17), "100")
    assert _doses([dose_up, start]) == {"sertraline": "100"}  # order given does not matter
    stop = _change("Sertraline", "stopped", date(2026, 11, 24))
    assert _doses([start, dose_up, stop]) == {}
    restart = _change("SERTRALINE", "started", date(2026, 12, 1), "25")
    assert _doses([start, dose_up, stop, restart]) == {"SERTRALINE": "25"}
    (history,) = derive.medication_histories([restart, stop, start, dose_up])
    assert history.changes == [start, dose_up, stop, restart]
    assert history.name == "SERTRALINE" and history.on_list


def test_derivation_orders_by_effective_date_then_recording_time_then_id():
    # Recorded later but effective earlier: the later effective date wins.
    late = _change("lithium", "started", date(2026, 11, 10), "300", created=T0)
    back_dated = _change(
        "lithium", "dose_changed", date(2026, 11, 5), "600", created=T0 + timedelta(days=9)
    )
    assert _doses([late, back_dated]) == {"lithium": "300"}
    # Same effective date: the one recorded last wins; same time too: the higher id.
    first = _change("quetiapine", "started", date(2026, 11, 5), "25", created=T0)
    second = _change(
        "quetiapine", "dose_changed", date(2026, 11, 5), "50", created=T0 + timedelta(hours=1)
    )
    third = _change(
        "quetiapine", "dose_changed", date(2026, 11, 5), "75", created=T0 + timedelta(hours=1)
    )
    assert _doses([third, second, first]) == {"quetiapine": "75"}


def test_derivation_counts_the_amended_version_not_the_old_one():
    start = _change("sertraline", "started", date(2026, 11, 3), "50")
    wrong = _change("sertraline", "dose_changed", date(2026, 11, 17), "1000", superseded=True)
    amended = _change(
        "sertraline", "dose_changed", date(2026, 11, 17), "100", created=T0 + timedelta(days=1)
    )
    assert _doses([start, wrong, amended]) == {"sertraline": "100"}
    (history,) = derive.medication_histories([start, wrong, amended])
    assert wrong not in history.changes
    # An amended stop that was recorded by mistake puts the medication back.
    stop = _change("sertraline", "stopped", date(2026, 11, 20), superseded=True)
    assert _doses([start, stop]) == {"sertraline": "50"}


def test_derivation_keeps_medications_apart_and_sorted():
    changes = [
        _change("Zolpidem", "started", date(2026, 11, 1), "5"),
        _change("aripiprazole", "started", date(2026, 11, 2), "2"),
        _change("Hydroxyzine", "started", date(2026, 11, 3), "25"),
        _change("hydroxyzine", "stopped", date(2026, 11, 9)),
    ]
    assert list(_doses(changes)) == ["aripiprazole", "Zolpidem"]
    histories = derive.medication_histories(changes)
    assert [h.key for h in histories] == ["aripiprazole", "hydroxyzine", "zolpidem"]
    assert [h.on_list for h in histories] == [True, False, True]


def test_derivation_as_of_a_date_leaves_later_changes_upcoming():
    start = _change("sertraline", "started", date(2026, 11, 3), "50")
    stop = _change("sertraline", "stopped", date(2026, 12, 1))
    planned = _change("bupropion", "started", date(2026, 12, 1), "150")
    assert _doses([start, stop, planned]) == {"bupropion": "150"}
    assert _doses([start, stop, planned], as_of=date(2026, 11, 20)) == {"sertraline": "50"}
    histories = derive.medication_histories([start, stop, planned], as_of=date(2026, 11, 20))
    bupropion, sertraline = histories
    assert bupropion.latest is None and bupropion.upcoming == [planned]
    assert sertraline.latest is start and sertraline.upcoming == [stop]


def test_derivation_through_the_service(app, team):
    record, _, psych, _ = team
    day = START
    _record(record, psych, effective_date=day)
    assert _current(record) == [("sertraline", "50 mg oral, once daily")]
    _record(
        record,
        psych,
        action="dose_changed",
        dose=Decimal("100"),
        reason="Partial response",
        effective_date=day + timedelta(days=7),
    )
    assert _current(record) == [("sertraline", "100 mg oral, once daily")]
    _record(
        record,
        psych,
        action="stopped",
        dose=None,
        reason="Side effects",
        effective_date=day + timedelta(days=10),
    )
    assert _current(record) == []
    _record(record, psych, dose=Decimal("25"), effective_date=day + timedelta(days=14))
    assert _current(record) == [("sertraline", "25 mg oral, once daily")]


# --- Amendments ---------------------------------------------------------------------------


def test_author_amends_a_change(app, client, auth, team):
    record, lead, psych, _ = team
    _record(record, psych)
    old = _record(
        record,
        psych,
        action="dose_changed",
        dose=Decimal("1000"),
        reason="Typo ahead",
        effective_date=START + timedelta(days=7),
    )
    services.acknowledge(actor=lead, client=record, entry_id=old.id)
    auth.login(psych.email)
    url = f"/clients/{record.id}/medications/{old.id}/amend"
    page = _text(client.get(url))
    assert 'value="1000"' in page and "Typo ahead" in page  # prefilled from the old change
    assert count_for("view_medication_change", record.id) == 1

    response = auth.post(
        url,
        _form(
            action="dose_changed",
            dose="100",
            reason="Partial response",
            effective_date=old.effective_date.isoformat(),
        ),
    )
    assert response.status_code == 302
    db.session.refresh(old)
    new = db.session.scalar(
        select(MedicationChange).where(MedicationChange.supersedes_id == old.id)
    )
    assert response.headers["Location"] == f"/clients/{record.id}#e{new.id}"
    assert old.superseded_at is not None and new.is_current
    assert new.dose == Decimal("100") and new.root_id == old.id
    assert _current(record) == [("Sertraline", "100 mg oral, once daily")]
    assert count_for("amend_entry", record.id) == 1
    # The amendment is a new version: the team acknowledges it afresh.
    assert new.acknowledgements == []
    page = _text(client.get(f"/clients/{record.id}/medications"))
    assert "Amended" in page and "1000 mg" not in page
    history = _text(client.get(f"/clients/{record.id}/entries/{new.id}"))
    assert "1000 mg" in history and "100 mg" in history


def test_amendment_is_judged_without_the_version_it_replaces(app, client, auth, team):
    record, _, psych, _ = team
    old = _record(record, psych, medication="sertaline")  # misspelt
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/medications/{old.id}/amend", _form(medication="Sertraline")
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}#e")
    assert _current(record) == [("Sertraline", "50 mg oral, once daily")]


def test_amendment_validation_keeps_input(app, client, auth, team):
    record, _, psych, _ = team
    old = _record(record, psych)
    auth.login(psych.email)
    response = auth.post(
        f"/clients/{record.id}/medications/{old.id}/amend", _form(dose="lots", route="buccal")
    )
    assert response.status_code == 400
    page = _text(response)
    assert "Enter the dose as a positive number" in page and 'value="buccal"' in page
    assert _changes() == 1


def test_only_the_author_amends_and_only_the_newest_version(app, client, auth, team):
    record, lead, psych, _ = team
    other_psych = make_provider(Discipline.PSYCHIATRIST)
    add_member(record, other_psych, lead)
    old = _record(record, psych)
    url = f"/clients/{record.id}/medications/{old.id}/amend"

    auth.login(other_psych.email)
    assert client.get(url).status_code == 403
    response = auth.post(url, _form(dose="75"))
    assert response.status_code == 403
    assert "Only the prescriber who recorded a change can amend it." in _text(response)
    auth.logout()

    auth.login(lead.email)  # a therapist may not post medication changes at all
    assert client.get(url).status_code == 403
    auth.logout()

    auth.login(psych.email)
    redirected = auth.post(url, _form(dose="75"))
    assert redirected.status_code == 302
    assert redirected.headers["Location"].startswith(f"/clients/{record.id}#e")
    response = auth.post(url, _form(dose="80"))
    assert response.status_code == 409
    assert "already amended" in _text(response)
    assert _current(record) == [("Sertraline", "75 mg oral, once daily")]
    assert _changes() == 2


@pytest.mark.parametrize("what", ["note", "elsewhere", "missing"])
def test_amend_finds_only_this_clients_medication_changes(app, client, auth, team, what):
    record, lead, psych, _ = team
    if what == "note":
        entry_id = post_note(actor=psych, client=record, body="Not a medication").id
    elif what == "elsewhere":
        other = make_client(psych)
        entry_id = _record(other, psych).id
    else:
        entry_id = 999_999
    auth.login(psych.email)
    assert client.get(f"/clients/{record.id}/medications/{entry_id}/amend").status_code == 404
    assert auth.post(f"/clients/{record.id}/medications/{entry_id}/acknowledge").status_code == (
        404
    )


# --- Acknowledgements ---------------------------------------------------------------------


def _ack_url(record, change, back=None) -> str:
    url = f"/clients/{record.id}/medications/{change.id}/acknowledge"
    return f"{url}?back={back}" if back else url


def test_team_members_acknowledge_a_change(app, client, auth, team):
    record, lead, psych, diet = team
    change = _record(record, psych)
    auth.login(lead.email)
    timeline = _text(client.get(f"/clients/{record.id}"))
    assert ">Acknowledge</button>" in timeline
    assert "Not yet seen by Dana Okafor (you), Jordan Lee" in _plain_text(timeline)

    response = auth.post(_ack_url(record, change))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}#e{change.id}"
    (ack,) = db.session.scalars(select(MedicationAck))
    assert (ack.change_id, ack.user_id) == (change.id, lead.id)
    assert count_for("acknowledge_medication", record.id) == 1
    timeline = _text(client.get(f"/clients/{record.id}"))
    assert "Seen by Dana Okafor (you) on" in _plain_text(timeline)
    assert "Not yet seen by Jordan Lee" in _plain_text(timeline)
    assert ">Acknowledge</button>" not in timeline

    # Idempotent: a second click keeps one acknowledgement and is not audited again.
    response = auth.post(_ack_url(record, change, back="medications"), follow_redirects=True)
    assert "You had already acknowledged this change." in _text(response)
    assert response.request.path == f"/clients/{record.id}/medications"
    assert db.session.scalar(select(func.count()).select_from(MedicationAck)) == 1
    assert count_for("acknowledge_medication", record.id) == 1
    auth.logout()

    auth.login(diet.email)
    redirected = auth.post(_ack_url(record, change))
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == f"/clients/{record.id}#e{change.id}"
    page = _plain(client.get(f"/clients/{record.id}/medications"))
    assert "Everyone on the team has seen this change." in page


def test_the_author_cannot_acknowledge_their_own_change(app, client, auth, team):
    record, _, psych, _ = team
    change = _record(record, psych)
    auth.login(psych.email)
    assert ">Acknowledge</button>" not in _text(client.get(f"/clients/{record.id}"))
    response = auth.post(_ack_url(record, change), follow_redirects=True)
    assert "You recorded this change, so there is nothing to acknowledge." in _text(response)
    assert db.session.scalar(select(func.count()).select_from(MedicationAck)) == 0
    with pytest.raises(EntryError):
        services.acknowledge(actor=psych, client=record, entry_id=change.id)


def test_only_the_current_version_is_acknowledged(app, client, auth, team):
    record, lead, psych, _ = team
    old = _record(record, psych)
    _record(record, psych, dose=Decimal("25"), amends=old)
    auth.login(lead.email)
    response = auth.post(_ack_url(record, old), follow_redirects=True)
    assert "This change was amended. Acknowledge the newest version instead." in _text(response)
    assert db.session.scalar(select(func.count()).select_from(MedicationAck)) == 0


def test_outsiders_cannot_acknowledge(app, client, auth, team):
    record, lead, psych, diet = team
    change = _record(record, psych)
    auth.login(make_provider().email)
    assert auth.post(_ack_url(record, change)).status_code == 404
    auth.logout()
    member = next(m for m in record.members if m.provider_id == diet.id)
    client_services.end_member(actor=lead, client=record, member_id=member.id)
    auth.login(diet.email)
    assert auth.post(_ack_url(record, change)).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(MedicationAck)) == 0


def test_ended_members_are_not_awaited(app, client, auth, team):
    record, lead, psych, diet = team
    change = _record(record, psych)
    member = next(m for m in record.members if m.provider_id == diet.id)
    client_services.end_member(actor=lead, client=record, member_id=member.id)
    auth.login(psych.email)
    page = _plain(client.get(f"/clients/{record.id}"))
    assert "Not yet seen by Dana Okafor" in page
    assert "Jordan Lee left the care team" in page and "Dana Okafor, Jordan Lee" not in page
    assert change.awaiting([]) == []


def test_members_who_join_later_are_asked_too(app, client, auth, team):
    record, lead, psych, _ = team
    change = _record(record, psych)
    newcomer = make_provider(Discipline.CASE_MANAGER, name="Casey New")
    add_member(record, newcomer, lead)
    auth.login(newcomer.email)
    timeline = _text(client.get(f"/clients/{record.id}"))
    assert "Not yet seen by Casey New (you), Dana Okafor, Jordan Lee" in _plain_text(timeline)
    assert ">Acknowledge</button>" in timeline
    response = auth.post(_ack_url(record, change))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}#e{change.id}"
    assert change.acknowledged_by(newcomer.id)


# --- The medications page -----------------------------------------------------------------


def test_medications_page_shows_the_list_and_each_history(app, client, auth, team):
    record, lead, psych, _ = team
    _record(record, psych)
    _record(
        record,
        psych,
        action="dose_changed",
        dose=Decimal("100"),
        reason="Partial response",
        effective_date=START + timedelta(days=7),
    )
    _record(
        record,
        psych,
        medication="Hydroxyzine",
        dose=Decimal("25"),
        frequency="as needed",
        effective_date=START + timedelta(days=2),
    )
    _record(
        record,
        psych,
        medication="hydroxyzine",
        action="stopped",
        dose=None,
        reason="Drowsy",
        effective_date=START + timedelta(days=9),
    )
    _record(
        record,
        psych,
        medication="Bupropion",
        dose=Decimal("150"),
        effective_date=TODAY + timedelta(days=10),
    )
    auth.login(lead.email)
    response = client.get(f"/clients/{record.id}/medications")
    assert response.status_code == 200
    page = " ".join(_text(response).split())
    table = page[page.index('id="current-medications"') : page.index("</table>")]
    assert '<th scope="row">sertraline</th>' in table and "100 mg" in table
    assert "Hydroxyzine" not in table and "hydroxyzine" not in table
    assert "Bupropion" not in table
    assert "Planned" in page and "started on " + format_date(TODAY + timedelta(days=10)) in page
    assert page.count('<details class="medication-history"') == 3
    assert "stopped " + format_date(START + timedelta(days=9)) in page
    assert "2 changes" in page
    assert "Record a medication change" not in page  # the therapist does not prescribe
    assert count_for("view_medications", record.id) == 1
    assert 'aria-current="page">Medications' in page


def test_prescribers_get_change_and_stop_links_that_prefill_the_form(app, client, auth, team):
    record, _, psych, _ = team
    _record(record, psych, frequency="at bedtime")
    auth.login(psych.email)
    page = _text(client.get(f"/clients/{record.id}/medications"))
    assert "Record a medication change" in page and "Amend" in page
    form = _text(
        client.get(
            f"/clients/{record.id}/medications/new?medication=sertraline&action=dose_changed"
        )
    )
    assert 'value="sertraline"' in form and 'value="50"' in form and 'value="at bedtime"' in form
    assert '<option selected value="dose_changed">' in form
    stop = _text(
        client.get(f"/clients/{record.id}/medications/new?medication=sertraline&action=stopped")
    )
    assert '<option selected value="stopped">' in stop and 'value="50"' not in stop
    # Unknown medications and actions are ignored: an empty form.
    empty = _text(client.get(f"/clients/{record.id}/medications/new?medication=x&action=y"))
    assert 'value="sertraline"' not in empty


_names = iter(range(1, 10_000))


def _grow(record, psych, acknowledgers, count: int) -> None:
    for _ in range(count):
        name = f"Medication {next(_names)}"
        first = _record(record, psych, medication=name, effective_date=START)
        second = _record(
            record,
            psych,
            medication=name,
            action="dose_changed",
            dose=Decimal("75"),
            reason="Adjusting",
            effective_date=START + timedelta(days=3),
        )
        for person in acknowledgers:
            services.acknowledge(actor=person, client=record, entry_id=first.id)
            services.acknowledge(actor=person, client=record, entry_id=second.id)


def test_medications_page_issues_a_bounded_number_of_queries(
    app, client, auth, team, count_queries
):
    record, lead, psych, diet = team
    _grow(record, psych, [lead], 1)
    auth.login(lead.email)
    url = f"/clients/{record.id}/medications"

    def count() -> int:
        client.get(url)  # warm-up
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        return counter.count

    small = count()
    for _ in range(4):
        add_member(record, make_provider(Discipline.NURSE_PRACTITIONER), lead)
    _grow(record, psych, [lead, diet], 6)
    large = count()
    assert small == large, (small, large)


def test_timeline_partial_issues_no_queries(app, team, count_queries):
    """The timeline eager-loads acknowledgements and passes `team`: the body adds nothing."""
    record, lead, psych, diet = team
    add_member(record, make_provider(Discipline.NURSE_PRACTITIONER), lead)
    _grow(record, psych, [lead, diet], 4)
    with app.test_request_context():
        login_user(lead)
        assert current_user.time_zone  # the viewer is loaded before counting
        entries = record_services.timeline(lead, record).items
        members = access.active_members(record.id)
        medication = [e for e in entries if e.kind == "medication"]
        assert len(medication) == 8
        with count_queries() as counter:
            bodies = [
                render_template(
                    "record/entries/medication.html",
                    entry=entry,
                    client=record,
                    team=members,
                    viewer=lead,
                )
                for entry in medication
            ]
    assert counter.count == 0
    assert all("Seen by" in body and "Not yet seen by" in body for body in bodies)


def test_demo_seed_gives_weeks_of_changes(app, client, auth, team):
    record, lead, psych, diet = team
    seed_demo(record, psych, [lead, diet])
    assert _current(record) == [("sertraline", "100 mg oral, once daily, in the morning")]
    changes = services.client_changes(record)
    assert len(changes) == 4
    assert all(c.created_at < datetime.now(UTC) - timedelta(days=2) for c in changes)
    assert db.session.scalar(select(func.count()).select_from(MedicationAck)) == 5
    auth.login(lead.email)
    assert client.get(f"/clients/{record.id}/medications").status_code == 200
