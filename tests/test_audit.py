"""Every view of a record and every change leaves an audit row, in the same transaction."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import services
from careteam.enums import AuditOutcome, Discipline, LevelOfCare, Role
from careteam.extensions import db
from tests.factories import add_member, make_client, make_provider, make_user


def events(action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def test_client_page_view_is_audited(app, client, auth):
    lead = make_provider()
    record = make_client(lead)
    auth.login(lead.email)
    client.get(f"/clients/{record.id}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    (event,) = events("view_record")
    assert event.actor_id == lead.id
    assert event.client_id == record.id
    assert event.object_type == "client" and event.object_id == record.id
    assert event.ip == "203.0.113.9"
    assert event.outcome == AuditOutcome.ALLOWED
    assert event.occurred_at.tzinfo is not None


def test_denied_access_is_audited(app, client, auth):
    lead = make_provider()
    record = make_client(lead)
    snoop = make_provider()
    auth.login(snoop.email)
    assert client.get(f"/clients/{record.id}").status_code == 404
    (event,) = events("view_record")
    assert event.actor_id == snoop.id and event.outcome == AuditOutcome.DENIED
    assert event.client_id == record.id


def test_portal_view_is_audited(app, client, auth):
    lead = make_provider()
    record = make_client(lead)
    own = make_user(Role.CLIENT)
    services.link_portal_account(actor=lead, client=record, email=own.email)
    auth.login(own.email)
    client.get("/portal/")
    (event,) = events("view_roster")
    assert event.actor_id == own.id and event.client_id == record.id


@pytest.mark.parametrize(
    "action",
    [
        "create_client",
        "add_team_member",
        "end_team_member",
        "make_team_lead",
        "change_level_of_care",
        "link_portal_account",
    ],
)
def test_each_change_is_audited(app, action):
    lead = make_provider()
    record = make_client(lead)
    other = make_provider(Discipline.DIETITIAN)
    if action != "create_client":
        row = add_member(record, other, lead)
    if action == "end_team_member":
        services.end_member(actor=lead, client=record, member_id=row.id)
    elif action == "make_team_lead":
        services.make_lead(actor=lead, client=record, member_id=row.id)
    elif action == "change_level_of_care":
        services.change_level_of_care(
            actor=lead,
            client=record,
            level=LevelOfCare.RESIDENTIAL,
            effective_date=date.today(),
            reason="Admitted",
        )
    elif action == "link_portal_account":
        services.link_portal_account(actor=lead, client=record, email=make_user(Role.CLIENT).email)
    found = events(action)
    assert len(found) == 1
    assert found[0].client_id == record.id
    assert found[0].actor_id == lead.id


def test_a_failed_change_writes_neither_change_nor_audit_row(app):
    lead = make_provider()
    record = make_client(lead)
    before = len(events())
    with pytest.raises(ValueError):
        services.add_member(
            actor=lead, client=record, email="nobody@example.com", discipline=Discipline.OTHER
        )
    db.session.rollback()
    assert len(events()) == before


def test_audit_rows_cannot_be_changed_or_deleted_through_the_app(app):
    lead = make_provider()
    make_client(lead)
    event = events()[0]
    event.action = "something_else"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    event = events()[0]
    db.session.delete(event)
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_login_success_failure_and_logout_are_audited(app, auth):
    user = make_provider()
    auth.login(user.email, "wrong password here")
    auth.login(user.email)
    auth.logout()
    logins = [
        (e.action, e.outcome, e.actor_id) for e in events() if e.action in {"login", "logout"}
    ]
    assert logins == [
        ("login", "denied", user.id),
        ("login", "allowed", user.id),
        ("logout", "allowed", user.id),
    ]


def test_admin_reads_and_filters_the_audit_log(app, client, auth):
    admin = make_user(Role.ADMIN)
    lead = make_provider(email="lead.person@example.com")
    record = make_client(lead)
    other = make_client(lead)
    auth.login(admin.email)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "create_client" in page and "lead.person@example.com" in page
    filtered = client.get(f"/admin/audit?client_id={record.id}&action=create_client")
    text = filtered.get_data(as_text=True)
    assert "1 event." in text
    by_user = client.get("/admin/audit?email=LEAD.PERSON@example.com&action=create_client")
    assert "2 events." in by_user.get_data(as_text=True)
    assert other.id != record.id
    bad = client.get("/admin/audit?client_id=abc&since=notadate")
    assert bad.status_code == 200
    assert "Not a valid integer value" in bad.get_data(as_text=True)


def test_audit_log_holds_no_clinical_text(app):
    lead = make_provider()
    record = make_client(lead, name="Secret Name Person")
    services.change_level_of_care(
        actor=lead,
        client=record,
        level=LevelOfCare.INPATIENT,
        effective_date=date.today(),
        reason="Reason with private details",
    )
    for event in events():
        blob = " ".join(str(v) for v in (event.action, event.object_type, event.detail))
        assert "Secret Name" not in blob and "private details" not in blob
