"""Emergency ("break-glass") access: a stated reason opens a record for reading, for a time.

A provider who is not on a client's team, or an admin, gets the usual 404 until they state
a reason; then they may read (never write) until the grant expires or they end it. Every
step is audited, the team lead is alerted through the outbox, and the client sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from careteam.alerts import services as alerts
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.emergency.models import EmergencyAccess
from careteam.enums import AuditOutcome, Discipline, LevelOfCare, Role
from careteam.extensions import db, utcnow
from careteam.portal.access_log import access_log
from tests.factories import add_member, make_provider, make_user
from tests.helpers import clear_audit_log

REASON = "Client brought to the ED unresponsive; need current medications now."
CLIENT_NAME = "Rosalind Emergencia"
BIRTH = date(1990, 4, 2)
NOTE_TEXT = "Safety plan reviewed with the client"

RECORD_PAGES = [
    "/clients/{id}",
    "/clients/{id}/team",
    "/clients/{id}/goals/",
    "/clients/{id}/medications/",
    "/clients/{id}/nutrition/",
    "/clients/{id}/practice/",
]
WRITE_ROUTES = [
    "/clients/{id}/notes/new",
    "/clients/{id}/goals/new",
    "/clients/{id}/medications/new",
    "/clients/{id}/nutrition/new",
    "/clients/{id}/practice/new",
    "/clients/{id}/team/add",
    "/clients/{id}/level-of-care",
    "/clients/{id}/portal",
]


@dataclass
class World:
    lead: User
    member: User
    outsider: User
    admin: User
    record: Client


@pytest.fixture
def world(app) -> World:
    lead = make_provider(Discipline.PSYCHIATRIST, name="Dr Lead")
    member = make_provider(Discipline.DIETITIAN, name="Dee Member")
    outsider = make_provider(Discipline.NURSE_PRACTITIONER, name="Nora Outsider")
    admin = make_user(Role.ADMIN, name="Ada Admin")
    record = client_services.create_client(
        actor=lead,
        full_name=CLIENT_NAME,
        date_of_birth=BIRTH,
        level_of_care=LevelOfCare.OUTPATIENT_WEEKLY,
        effective_date=date(2026, 1, 5),
    )
    add_member(record, member, lead)
    from careteam.record.services import post_note

    post_note(actor=lead, client=record, body=NOTE_TEXT, visibility="team")
    return World(lead, member, outsider, admin, record)


def _token(client, path: str = "/emergency") -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(True))
    assert match
    return match.group(1)


def _search(client, name: str = CLIENT_NAME, birth: date = BIRTH, **extra):
    return client.post(
        "/emergency",
        data={
            "full_name": name,
            "date_of_birth": birth.isoformat(),
            "csrf_token": _token(client),
            **extra,
        },
    )


def _break_glass(client, client_id: int, reason: str = REASON, acknowledge: bool = True):
    data = {"reason": reason, "csrf_token": _token(client)}
    if acknowledge:
        data["acknowledge"] = "y"
    return client.post(f"/emergency/{client_id}", data=data)


def _open(client, auth, world: World, user: User | None = None, login: bool = True):
    if login:
        auth.login((user or world.outsider).email)
    if (user or world.outsider).role != Role.ADMIN:
        assert _search(client).status_code == 200
    response = _break_glass(client, world.record.id)
    assert response.status_code == 302, response.get_data(True)
    assert response.headers["Location"] == f"/clients/{world.record.id}"
    return response


def _grant(user: User) -> EmergencyAccess:
    return db.session.scalar(select(EmergencyAccess).where(EmergencyAccess.user_id == user.id))


def test_outsider_gets_404_before_and_reads_every_section_after_stating_a_reason(
    client, auth, world
):
    auth.login(world.outsider.email)
    for path in RECORD_PAGES:
        assert client.get(path.format(id=world.record.id)).status_code == 404, path
    _open(client, auth, world, login=False)
    for path in RECORD_PAGES:
        response = client.get(path.format(id=world.record.id))
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert "Emergency access until" in page and "every view is logged" in page, path
        assert f"/emergency/{world.record.id}/end" in page
    timeline = client.get(f"/clients/{world.record.id}").get_data(as_text=True)
    assert NOTE_TEXT in timeline
    # Read only: no way in to add anything is offered.
    assert f"/clients/{world.record.id}/notes/new" not in timeline


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_a_grant_never_lets_anyone_write(client, auth, world, path):
    _open(client, auth, world)
    url = path.format(id=world.record.id)
    assert client.get(url).status_code == 403
    response = client.post(url, data={"csrf_token": _token(client), "body": "x"})
    assert response.status_code == 403


def test_a_post_that_only_needs_view_rights_is_refused_under_a_grant(client, auth, world, app):
    from careteam.medications.models import MedicationChange

    _open(client, auth, world)
    change = db.session.scalar(select(MedicationChange.id))  # none: use the note's id instead
    entry_id = change or 1
    response = client.post(
        f"/clients/{world.record.id}/medications/{entry_id}/acknowledge",
        data={"csrf_token": _token(client)},
    )
    assert response.status_code == 403
    denied = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.actor_id == world.outsider.id, AuditEvent.outcome == AuditOutcome.DENIED
        )
    )
    assert denied.detail == "emergency access is read-only"


def test_grant_expires_then_404_again(client, auth, world):
    _open(client, auth, world)
    grant = _grant(world.outsider)
    assert grant.expires_at - grant.created_at == timedelta(minutes=60)
    grant.expires_at = utcnow() - timedelta(seconds=1)
    grant.created_at = grant.expires_at - timedelta(minutes=60)
    db.session.commit()
    assert client.get(f"/clients/{world.record.id}").status_code == 404
    assert (
        client.post(
            f"/emergency/{world.record.id}/end", data={"csrf_token": _token(client)}
        ).status_code
        == 404
    )


def test_configured_duration(client, auth, world, app):
    app.config["EMERGENCY_ACCESS_MINUTES"] = 15
    _open(client, auth, world)
    grant = _grant(world.outsider)
    assert grant.expires_at - grant.created_at == timedelta(minutes=15)


def test_ending_early_closes_the_record_and_is_audited(client, auth, world):
    _open(client, auth, world)
    response = client.post(
        f"/emergency/{world.record.id}/end", data={"csrf_token": _token(client)}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/emergency"
    assert _grant(world.outsider).ended_at is not None
    assert client.get(f"/clients/{world.record.id}").status_code == 404
    ended = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "emergency_access_ended")
    )
    assert ended.actor_id == world.outsider.id and ended.client_id == world.record.id


def test_admin_by_client_id_reads_but_never_writes(client, auth, world):
    auth.login(world.admin.email)
    assert client.get(f"/clients/{world.record.id}").status_code == 404
    found = client.post(
        "/emergency", data={"client_id": str(world.record.id), "csrf_token": _token(client)}
    )
    assert found.status_code == 200
    assert f"/emergency/{world.record.id}" in found.get_data(as_text=True)
    # The admin's reason form does not name the client before the reason is given.
    form = client.get(f"/emergency/{world.record.id}").get_data(as_text=True)
    assert CLIENT_NAME not in form
    _open(client, auth, world, user=world.admin, login=False)
    assert client.get(f"/clients/{world.record.id}/medications/").status_code == 200
    assert client.get(f"/clients/{world.record.id}/notes/new").status_code == 403


def test_provider_cannot_walk_ids_to_the_reason_form(client, auth, world):
    auth.login(world.outsider.email)
    assert client.get(f"/emergency/{world.record.id}").status_code == 404
    assert _break_glass(client, world.record.id).status_code == 404
    # A wrong birth date or name finds nothing; the id is not offered.
    page = _search(client, birth=date(1990, 4, 3)).get_data(as_text=True)
    assert "No client matches" in page and f"/emergency/{world.record.id}" not in page
    assert client.get(f"/emergency/{world.record.id}").status_code == 404
    # Providers may not search by id.
    by_id = client.post(
        "/emergency", data={"client_id": str(world.record.id), "csrf_token": _token(client)}
    )
    assert by_id.status_code == 400
    # Case and spacing do not matter.
    page = _search(client, name="  rosalind   EMERGENCIA ").get_data(as_text=True)
    assert f"/emergency/{world.record.id}" in page
    assert client.get(f"/emergency/{world.record.id}").status_code == 200
    searches = db.session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "emergency_search")
    ).all()
    assert len(searches) == 2 and all(CLIENT_NAME not in d for d in searches)


@pytest.mark.parametrize(
    ("reason", "acknowledge", "field_message"),
    [
        ("", True, "Write the reason for this emergency access."),
        ("too short", True, "Write between 20 and 1000 characters."),
        (" " * 40, True, "Write the reason for this emergency access."),
        ("x" * 1001, True, "Write between 20 and 1000 characters."),
        (REASON, False, "Tick the box to confirm this is an emergency."),
    ],
)
def test_reason_is_validated_with_a_field_error(
    client, auth, world, reason, acknowledge, field_message
):
    auth.login(world.outsider.email)
    _search(client)
    response = _break_glass(client, world.record.id, reason=reason, acknowledge=acknowledge)
    assert response.status_code == 400
    assert field_message in response.get_data(as_text=True)
    assert db.session.scalar(select(EmergencyAccess.id)) is None
    assert client.get(f"/clients/{world.record.id}").status_code == 404


def test_grant_is_audited_without_the_reason_and_reads_are_marked(client, auth, world):
    clear_audit_log()
    _open(client, auth, world)
    client.get(f"/clients/{world.record.id}")
    client.get(f"/clients/{world.record.id}/team")
    granted = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "emergency_access_granted")
    )
    assert granted.actor_id == world.outsider.id
    assert granted.client_id == world.record.id
    assert granted.object_id == _grant(world.outsider).id
    assert granted.detail == f"reason_length={len(REASON)}"
    rows = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.actor_id == world.outsider.id,
            AuditEvent.action.in_(("view_record", "view_team")),
        )
    ).all()
    assert {r.action for r in rows} == {"view_record", "view_team"}
    assert all(r.detail.startswith("emergency") for r in rows)
    everything = db.session.scalars(select(AuditEvent.detail)).all()
    assert not any("ED unresponsive" in d for d in everything)
    assert _grant(world.outsider).reason == REASON
    assert _grant(world.outsider).ip == "127.0.0.1"


def test_lead_is_alerted_through_the_outbox_without_the_reason(client, auth, world, app, sink):
    _open(client, auth, world)
    grant = _grant(world.outsider)
    alert = db.session.get(OutboxAlert, grant.alert_id)
    assert alert.client_id == world.record.id and alert.entry_id is None
    assert alert.processed_at is None
    assert alerts.unprocessed_alerts(older_than=timedelta(0)) == [alert.id]
    # Only the lead hears of it (not the dietitian member, not the opener).
    assert alerts.fan_out(alert.id) == 1
    delivery = db.session.scalar(select(AlertDelivery))
    assert delivery.user_id == world.lead.id
    app.config.update(BASE_URL="https://care.example.org", SERVER_NAME=None)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    (message,) = sink.wait_for(1)
    assert message["To"] == world.lead.email
    assert "emergency access" in message["Subject"].lower()
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Nora Outsider" in body and "Rosalind E." in body
        assert "open CareTeam to read the reason" in body
        assert "unresponsive" not in body and CLIENT_NAME not in body and NOTE_TEXT not in body
        assert f"https://care.example.org/clients/{world.record.id}/team#emergency-access" in body


def test_lead_reads_the_reason_on_the_team_page_as_an_audited_read(client, auth, world):
    _open(client, auth, world)
    auth.logout()
    auth.login(world.lead.email)
    page = client.get(f"/clients/{world.record.id}/team").get_data(as_text=True)
    assert 'id="emergency-access"' in page
    assert "Nora Outsider" in page and REASON in page
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "view_emergency_accesses", AuditEvent.actor_id == world.lead.id
        )
    )
    # A member who is not a lead does not see the reasons.
    auth.logout()
    auth.login(world.member.email)
    page = client.get(f"/clients/{world.record.id}/team").get_data(as_text=True)
    assert REASON not in page and 'id="emergency-access"' not in page


def test_admin_list_shows_reasons_paginated_and_is_audited(client, auth, world, app):
    app.config["AUDIT_PAGE_SIZE"] = 2
    now = utcnow()
    for n in range(3):
        db.session.add(
            EmergencyAccess(
                user_id=world.outsider.id,
                client_id=world.record.id,
                reason=f"Reason number {n} for an emergency access",
                created_at=now - timedelta(hours=n + 2),
                expires_at=now - timedelta(hours=n + 1),
            )
        )
    db.session.commit()
    auth.login(world.admin.email)
    first = client.get("/admin/emergency").get_data(as_text=True)
    assert "Reason number 0" in first and "Reason number 1" in first
    assert "Reason number 2" not in first and "Rosalind E." in first
    second = client.get("/admin/emergency?page=2").get_data(as_text=True)
    assert "Reason number 2" in second
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "view_emergency_accesses")
    )
    auth.logout()
    auth.login(world.lead.email)
    assert client.get("/admin/emergency").status_code == 403


def test_clients_access_log_shows_the_emergency_access(client, auth, world):
    _open(client, auth, world, user=world.admin)
    auth.logout()
    _open(client, auth, world)
    lines = access_log(db.session.get(Client, world.record.id)).lines
    mine = [line for line in lines if line.who == "Nora Outsider"]
    assert mine and all(line.role == "Nurse practitioner, emergency access" for line in mine)
    assert any("opened your record in an emergency, giving a reason" in line.acts for line in mine)
    admin_lines = [line for line in lines if line.who == "Ada Admin"]
    assert admin_lines and all(
        line.role == "Administrator, emergency access" for line in admin_lines
    )
    assert all(line.emergency for line in mine + admin_lines)


def test_one_indexed_lookup_per_request(client, auth, world, count_queries):
    auth.login(world.member.email)
    client.get(f"/clients/{world.record.id}")
    with count_queries() as member_queries:
        assert client.get(f"/clients/{world.record.id}").status_code == 200
    auth.logout()
    _open(client, auth, world)
    client.get(f"/clients/{world.record.id}")
    with count_queries() as emergency_queries:
        assert client.get(f"/clients/{world.record.id}").status_code == 200
    # The grant costs one look-up. The other extra is the page reloading the logged-in
    # user after the view's commit, which a member's page gets for free from the team
    # query (their own row is among the team's providers).
    assert emergency_queries.count <= member_queries.count + 2
    sql = []
    from sqlalchemy import event

    def grab(conn, cursor, statement, *args):
        sql.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        client.get(f"/clients/{world.record.id}/goals/")
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    assert sum("FROM emergency_accesses" in s for s in sql) == 1


def test_a_member_is_unaffected(client, auth, world, count_queries):
    auth.login(world.member.email)
    assert client.get(f"/clients/{world.record.id}").status_code == 200
    page = client.get(f"/clients/{world.record.id}").get_data(as_text=True)
    assert "Emergency access until" not in page
    assert f"/clients/{world.record.id}/notes/new" in page
    # A member who goes through the flow is sent to the record, with no grant.
    _search(client)
    response = client.get(f"/emergency/{world.record.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{world.record.id}"
    redirected = _break_glass(client, world.record.id)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == f"/clients/{world.record.id}"
    assert db.session.scalar(select(EmergencyAccess.id)) is None
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.detail.startswith("emergency ")))
        is None
    )


def test_clients_and_anonymous_cannot_ask(client, auth, world):
    response = client.get("/emergency")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Femergency"
    portal_user = make_user(Role.CLIENT)
    auth.login(portal_user.email)
    assert client.get("/emergency").status_code == 403
    assert client.get(f"/emergency/{world.record.id}").status_code == 403


def test_policy_allows_only_reading_under_a_live_grant_of_this_user_and_client(app, world):
    from careteam.access import GLOBAL_RIGHTS, Action, decide
    from careteam.emergency.grants import LiveGrant

    later = utcnow() + timedelta(hours=1)
    mine = LiveGrant(id=1, user_id=world.outsider.id, client_id=world.record.id, expires_at=later)
    for action in (a for a in Action if a not in GLOBAL_RIGHTS):
        decision = decide(world.outsider, action, world.record, None, mine)
        if action in (Action.VIEW_RECORD, Action.VIEW_ROSTER):
            assert decision, action
        else:
            assert not decision and decision.status == 403, action
    # Someone else's grant, another client's grant, or none: the usual 404.
    others = LiveGrant(id=2, user_id=world.lead.id, client_id=world.record.id, expires_at=later)
    elsewhere = LiveGrant(id=3, user_id=world.outsider.id, client_id=999, expires_at=later)
    for grant in (None, others, elsewhere):
        decision = decide(world.outsider, Action.VIEW_RECORD, world.record, None, grant)
        assert not decision and decision.status == 404
    admins = LiveGrant(id=4, user_id=world.admin.id, client_id=world.record.id, expires_at=later)
    assert decide(world.admin, Action.VIEW_RECORD, world.record, None, admins)
    assert not decide(world.admin, Action.VIEW_RECORD, world.record, None, None)
    # A portal client can never hold one.
    portal = make_user(Role.CLIENT)
    theirs = LiveGrant(id=5, user_id=portal.id, client_id=world.record.id, expires_at=later)
    assert not decide(portal, Action.VIEW_RECORD, world.record, None, theirs)


def test_emergency_searches_are_limited_per_person(app, client, auth, world):
    """Name and birth date can be guessed in bulk: a few searches an hour per person."""
    from careteam.extensions import limiter

    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_EMERGENCY_SEARCH_PER_USER="2 per hour")
    limiter.reset()
    try:
        auth.login(world.outsider.email)
        for _ in range(2):
            assert _search(client, birth=date(1990, 4, 3)).status_code == 200
        refused = _search(client)
        assert refused.status_code == 429
        assert "Too many attempts" in refused.get_data(as_text=True)
        assert client.get("/emergency").status_code == 200  # the page itself still opens
    finally:
        limiter.reset()
