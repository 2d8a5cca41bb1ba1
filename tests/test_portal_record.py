"""The client's own view of their record (issue 13 item 14): "Who viewed my record"
grouped by provider and day, never naming a kind of entry the client cannot open; "Log a
practice" only when something is assigned; a readable, printable copy of what is shared,
with the FHIR file offered apart for health apps."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from careteam.audit import AuditEvent
from careteam.clients import services
from careteam.enums import Discipline, LevelOfCare, MedicationAction, Role, Visibility
from careteam.extensions import db
from careteam.medications.services import record_change
from careteam.portal import access_log
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider, make_user
from tests.helpers import clear_audit_log
from tests.worlds import SHARED, build_world, leaks, weight_re


def _setup():
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor", email="dana@example.com")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman", email="raman@example.com")
    lead.share_email = True
    db.session.commit()
    record = make_client(lead, level=LevelOfCare.INTENSIVE_OUTPATIENT)
    add_member(record, psych, lead)
    own = make_user(Role.CLIENT, email="alex@example.com")
    own.time_zone = "Asia/Tokyo"
    db.session.commit()
    services.link_portal_account(actor=lead, client=record, email=own.email)
    return record, own, lead, psych


def _event(actor, record, action: str, when: datetime, object_type="client", object_id=None):
    db.session.add(
        AuditEvent(
            actor_id=actor.id,
            action=action,
            object_type=object_type,
            object_id=object_id or record.id,
            client_id=record.id,
            occurred_at=when,
        )
    )
    db.session.commit()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_who_viewed_my_record_is_grouped_by_provider_and_day(app, client, auth):
    record, own, lead, psych = _setup()
    clear_audit_log()
    morning = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
    for n in range(5):
        _event(lead, record, "view_record", morning + timedelta(hours=n))
    _event(psych, record, "view_record", morning + timedelta(minutes=10))
    _event(psych, record, "change_level_of_care", morning + timedelta(minutes=20))
    _event(lead, record, "view_record", morning - timedelta(days=1))  # 1 December
    auth.login(own.email)
    text = _text(_get(client, "/portal/access"))
    assert "Dana Okafor (Therapist) looked at your record 5 times between 09:30 and 13:30" in text
    assert (
        "Dr. Raman (Psychiatrist) looked at your record, changed your level of care "
        "between 09:40 and 09:50"
    ) in text
    assert "Dana Okafor (Therapist) looked at your record at 09:30" in text
    # Newest day first, each day once, in the client's zone and the one date format.
    assert text.index("2 Dec 2026") < text.index("1 Dec 2026")
    assert text.count("2 Dec 2026") == 1 and text.count("1 Dec 2026") == 1


def test_one_correction_of_several_details_is_one_act(app, client, auth):
    """The use case writes one audit row per corrected field; the client reads one act."""
    record, own, lead, _ = _setup()
    clear_audit_log()
    services.correct_details(
        actor=lead,
        client=record,
        full_name="Jamie Q. Doe",
        preferred_name="Jay",
        pronouns="they/them",
        date_of_birth=date(1990, 5, 1),
    )
    auth.login(own.email)
    text = _text(_get(client, "/portal/access"))
    assert "Dana Okafor (Therapist) corrected your name or other details at" in text
    assert "corrected your name or other details 4 times" not in text


def test_who_viewed_my_record_never_names_what_the_client_cannot_open(app, client, auth):
    record, own, lead, psych = _setup()
    private = post_note(
        actor=lead,
        client=record,
        title="Process note",
        body="Private",
        visibility=Visibility.PRIVATE,
    )
    team = post_note(actor=lead, client=record, body="Team only", visibility=Visibility.TEAM)
    shared = post_note(actor=lead, client=record, body="Shared", visibility=Visibility.CLIENT)
    record_change(
        actor=psych,
        client=record,
        medication="Sertraline",
        dose=Decimal(50),
        unit="mg",
        route="oral",
        frequency="daily",
        action=MedicationAction.STARTED,
        effective_date=date.today(),
        reason="",
    )
    clear_audit_log()
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    _event(lead, record, "view_entry", at, "entry", private.id)
    _event(lead, record, "create_note", at, "entry", private.id)
    _event(psych, record, "view_entry", at, "entry", team.id)
    _event(psych, record, "view_medications", at)
    _event(psych, record, "view_nutrition", at)
    _event(psych, record, "view_medication_change", at)
    _event(psych, record, "acknowledge_note", at, "entry", team.id)
    auth.login(own.email)
    text = _text(_get(client, "/portal/access")).lower()
    lines = text.split("your own visits are not listed", 1)[1].split("careteam keeps", 1)[0]
    for kind in ("note", "medication", "nutrition", "psychotherapy", "private", "entry"):
        assert kind not in lines, (kind, lines)
    assert "looked at your record" in text and "updated your record" in text
    # What the client can open is named.
    clear_audit_log()
    _event(lead, record, "create_note", at, "entry", shared.id)
    assert "added a note shared with you" in _text(_get(client, "/portal/access"))


def test_the_access_log_is_paged_by_whole_days(app, client, auth):
    record, own, lead, psych = _setup()
    clear_audit_log()
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    per_day = access_log.ACCESS_PAGE // 2 + 10
    for day in range(3):  # three days, each over half a page
        db.session.add_all(
            AuditEvent(
                actor_id=lead.id,
                action="view_record",
                object_type="client",
                object_id=record.id,
                client_id=record.id,
                occurred_at=start + timedelta(days=day, seconds=n),
            )
            for n in range(per_day)
        )
    db.session.commit()
    auth.login(own.email)
    first = _text(_get(client, "/portal/access"))
    assert f"looked at your record {per_day} times" in first and "3 Dec 2026" in first
    assert "2 Dec 2026" not in first  # would not fit whole: it starts the next page
    older = re.search(r'href="(/portal/access\?before=[^"]+)"', _get(client, "/portal/access"))
    second = _text(_get(client, older.group(1).replace("&amp;", "&")))
    assert "2 Dec 2026" in second and f"{per_day} times" in second and "3 Dec" not in second


def test_log_a_practice_shows_only_when_something_is_assigned(app, client, auth):
    record, own, lead, _psych = _setup()
    auth.login(own.email)
    assert "Log a practice" not in _get(client, "/portal/")
    assign_practice(
        actor=lead,
        client=record,
        fields=AssignmentFields(
            skill="Box breathing",
            target_count=3,
            period="week",
            starts_on=date.today() - timedelta(days=1),
        ),
    )
    assert "Log a practice" in _get(client, "/portal/")


def test_the_clients_copy_is_a_printable_page_with_the_fhir_file_apart(app, client, auth):
    record, own, lead, _psych = _setup()
    post_note(
        actor=lead, client=record, body="Bring-your-food-diary", visibility=Visibility.CLIENT
    )
    post_note(actor=lead, client=record, body="Private-formulation", visibility=Visibility.PRIVATE)
    auth.login(own.email)
    home = _get(client, "/portal/")
    assert 'href="/portal/record"' in home
    assert re.search(r"For health apps.*?download=\"my-careteam-record.json\"", home, re.S)
    page = _get(client, "/portal/record")
    text = _text(page)
    assert "My CareTeam record" in text and "Bring-your-food-diary" in text
    assert "Private-formulation" not in page
    assert "Dana Okafor" in text and "dana@example.com" in text  # shared contact
    assert "Intensive outpatient" in text
    assert f'href="/fhir/clients/{record.id}/everything"' in page or "FHIR file" in text
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert "@media print" in css and ".no-print" in css


def test_the_access_log_leaves_out_what_is_not_a_providers_look(app, client, auth):
    record, own, lead, _psych = _setup()
    admin = make_user(Role.ADMIN, name="Ada Admin")
    snoop = make_provider(name="Sam Snoop")
    clear_audit_log()
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 18:30 in Tokyo
    _event(lead, record, "view_record", at)
    _event(admin, record, "break_glass_view_record", at + timedelta(minutes=3))
    # Left out: the client's own visits, refusals, system events, digest settings.
    _event(own, record, "view_roster", at + timedelta(minutes=4))
    db.session.add(
        AuditEvent(
            actor_id=snoop.id,
            action="view_record",
            object_type="client",
            object_id=record.id,
            client_id=record.id,
            occurred_at=at,
            outcome="denied",
        )
    )
    db.session.add(
        AuditEvent(actor_id=None, action="send_digest", client_id=record.id, occurred_at=at)
    )
    db.session.commit()
    _event(lead, record, "mute_client_in_digest", at + timedelta(minutes=7))
    auth.login(own.email)
    page = _get(client, "/portal/access")
    text = _text(page)
    assert "Ada Admin (Administrator, emergency access) updated your record at 18:33" in text
    assert 'class="admin-access"' in page
    assert "Dana Okafor (Therapist) looked at your record at 18:30" in text
    assert "Sam Snoop" not in text and "digest" not in text.lower()
    assert text.count(" your record at ") == 2


def test_the_printable_copy_holds_everything_shared_and_nothing_else(app, client, auth):
    world = build_world()
    auth.login(world.own.email)
    page = _get(client, "/portal/record")
    assert leaks(page) == []  # no private or team text, no blind weight
    for slot, text in SHARED.items():
        if slot in ("open weight", "preferred name"):
            continue
        assert text in page or html.escape(text) in page, slot
    assert weight_re(world.open_weight).search(page)  # the open weight reaches the copy
