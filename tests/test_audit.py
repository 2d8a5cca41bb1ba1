"""Every view of a record and every change leaves an audit row, in the same transaction."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

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


def test_a_change_whose_audit_row_cannot_be_written_is_not_saved(app, monkeypatch):
    """The audit row and the change share one transaction: no change survives without it."""
    from careteam import audit
    from careteam.clients.models import LevelOfCareChange

    lead = make_provider()
    record = make_client(lead)
    before = db.session.scalar(select(func.count()).select_from(LevelOfCareChange))
    original = audit.record

    def unwritable(*args, **kwargs):
        row = original(*args, **kwargs)
        row.action = None  # NOT NULL: the commit that carries the change fails
        return row

    monkeypatch.setattr(audit, "record", unwritable)
    with pytest.raises(Exception, match=r"(?i)null"):
        services.change_level_of_care(
            actor=lead,
            client=record,
            level=LevelOfCare.RESIDENTIAL,
            effective_date=date.today(),
            reason="Admitted",
        )
    db.session.rollback()
    monkeypatch.undo()
    after = db.session.scalar(select(func.count()).select_from(LevelOfCareChange))
    assert after == before
    assert not events("change_level_of_care")


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
        (e.action, e.outcome, e.actor_id, e.detail)
        for e in events()
        if e.action in {"login", "logout"}
    ]
    assert logins == [
        ("login", "denied", user.id, "bad credentials"),
        # Providers log in in two steps: the password, then the two-factor code.
        ("login", "allowed", user.id, "password accepted, code pending"),
        ("login", "allowed", user.id, ""),
        ("logout", "allowed", user.id, ""),
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
    by_user = client.get("/admin/audit?user=LEAD.PERSON@example.com&action=create_client")
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


# The admin audit viewer: filters, keyset pages, seal status and the CSV export.


def _event(at: datetime, actor=None, **fields) -> AuditEvent:
    fields.setdefault("action", "view_record")
    row = AuditEvent(occurred_at=at, actor_id=actor.id if actor else None, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def _admin(client, auth, zone: str = "UTC"):
    admin = make_user(Role.ADMIN)
    admin.time_zone = zone
    db.session.commit()
    auth.login(admin.email)
    return admin


def _shown_ids(page: str) -> list[int]:
    """Event ids of a page, read from the object column (#n) the tests give each event."""
    return [int(n) for n in re.findall(r"<td>probe #(\d+)</td>", page)]


def _probe_events(n: int, start: datetime, **fields) -> list[int]:
    return [
        _event(start + timedelta(minutes=i), object_type="probe", object_id=i + 1, **fields).id
        for i in range(n)
    ]


def test_viewer_filters_by_user_id_or_email_client_action_and_outcome(app, client, auth):
    someone = make_provider(email="someone@example.com")
    other = make_provider()
    record = make_client(other)
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    _event(at, someone, object_type="probe", object_id=1, client_id=record.id)
    _event(at, someone, object_type="probe", object_id=2, outcome="denied")
    _event(at, other, object_type="probe", object_id=3, action="create_note")
    _admin(client, auth)
    for query, expected in [
        (f"user={someone.id}", [2, 1]),
        ("user=%20SomeOne@Example.com%20", [2, 1]),
        ("user=nobody@example.com", []),
        (f"client_id={record.id}", [1]),
        ("action=create_note", [3]),
        ("outcome=denied", [2]),
        (f"user={someone.id}&outcome=allowed", [1]),
    ]:
        page = client.get(f"/admin/audit?{query}").get_data(as_text=True)
        assert sorted(_shown_ids(page), reverse=True) == expected, query


def test_action_is_chosen_from_the_actions_in_the_log(app, client, auth):
    _event(datetime(2026, 3, 2, tzinfo=UTC), action="export_something")
    _admin(client, auth)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert '<select id="action" name="action">' in page
    assert '<option value="export_something">' in page and '<option value="login">' in page
    bad = client.get("/admin/audit?action=no_such_action")
    assert bad.status_code == 200
    assert "Not a valid choice" in bad.get_data(as_text=True)


def test_dates_are_whole_days_in_the_admins_time_zone(app, client, auth):
    # 04:30 UTC is 23:30 on 1 March in New York; 05:30 UTC is 00:30 on 2 March there.
    _event(datetime(2026, 3, 2, 4, 30, tzinfo=UTC), object_type="probe", object_id=1)
    _event(datetime(2026, 3, 2, 5, 30, tzinfo=UTC), object_type="probe", object_id=2)
    _event(datetime(2026, 3, 3, 4, 59, tzinfo=UTC), object_type="probe", object_id=3)
    _event(datetime(2026, 3, 3, 5, 0, tzinfo=UTC), object_type="probe", object_id=4)
    _admin(client, auth, zone="America/New_York")
    page = client.get("/admin/audit?since=2026-03-02&until=2026-03-02").get_data(as_text=True)
    assert _shown_ids(page) == [3, 2]
    assert "America/New_York" in page
    wrong = client.get("/admin/audit?since=2026-03-05&until=2026-03-02")
    assert "Choose a date on or after the From date." in wrong.get_data(as_text=True)
    assert client.get("/admin/audit/export?since=2026-03-05&until=2026-03-02").status_code == 400


def test_keyset_pages_walk_the_whole_log_both_ways(app, client, auth):
    app.config["AUDIT_PAGE_SIZE"] = 3
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _probe_events(7, start)
    # Two events at the very same instant: the id breaks the tie, none is skipped.
    _event(start + timedelta(minutes=3), object_type="probe", object_id=8)
    _admin(client, auth)
    url, seen, pages = "/admin/audit?action=view_record", [], []
    while url:
        page = client.get(url).get_data(as_text=True)
        pages.append(page)
        seen += _shown_ids(page)
        older = re.search(r'href="([^"]+)" rel="next"', page)
        url = html.unescape(older.group(1)) if older else None
    assert seen == [7, 6, 5, 8, 4, 3, 2, 1]
    assert len(pages) == 3 and "Newer" not in pages[0]
    newer = re.search(r'href="([^"]+)" rel="prev"', pages[-1])
    back = client.get(html.unescape(newer.group(1))).get_data(as_text=True)
    assert _shown_ids(back) == [8, 4, 3]
    assert "action=view_record" in html.unescape(newer.group(1))


def test_a_forged_cursor_shows_the_first_page(app, client, auth):
    _probe_events(2, datetime(2026, 3, 2, tzinfo=UTC))
    _admin(client, auth)
    for cursor in ("garbage", "2026-01-01T00:00:00~x", "2026-01-01T00:00:00~5", "~" * 90):
        response = client.get("/admin/audit", query_string={"before": cursor})
        assert response.status_code == 200
        assert _shown_ids(response.get_data(as_text=True)) == [2, 1]


def test_deep_pages_cost_the_same_queries(app, client, auth, count_queries):
    app.config["AUDIT_PAGE_SIZE"] = 5
    _probe_events(30, datetime(2026, 3, 2, tzinfo=UTC), actor=make_provider())
    _admin(client, auth)
    client.get("/admin/audit")  # warm the session's own loads
    with count_queries() as first:
        page = client.get("/admin/audit").get_data(as_text=True)
    older = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    for _ in range(3):
        page = client.get(older).get_data(as_text=True)
        older = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    with count_queries() as deep:
        client.get(older)
    assert deep.count == first.count, (first.count, deep.count)


def test_the_event_count_is_capped_on_large_logs(app, client, auth, monkeypatch):
    from careteam.audit import viewer as audit_viewer

    monkeypatch.setattr(audit_viewer, "COUNT_CAP", 3)
    _probe_events(5, datetime(2026, 3, 2, tzinfo=UTC))
    _admin(client, auth)
    assert "More than 3 events." in client.get("/admin/audit").get_data(as_text=True)
    _event(datetime(2026, 3, 3, tzinfo=UTC), action="only_once")
    page = client.get("/admin/audit?action=only_once").get_data(as_text=True)
    assert re.search(r"\b1 event\.", page)


def test_the_page_shows_how_far_the_log_is_sealed(app, client, auth):
    from careteam.audit import chain as audit_chain

    _probe_events(3, datetime(2026, 3, 2, tzinfo=UTC))
    audit_chain.seal()
    _probe_events(2, datetime(2026, 3, 3, tzinfo=UTC))
    _admin(client, auth)  # its account creation and login add unsealed events too
    waiting = db.session.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "sealed up to event 3 of the hash chain" in page
    assert f"{waiting} newer events waiting for the next seal" in page
    audit_chain.seal()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "nothing waiting" in page.replace("\n", " ") or "newer event waiting" in page


def _export(client, query: str = ""):
    response = client.get(f"/admin/audit/export?{query}", buffered=False)
    streamed = response.is_streamed
    body = response.get_data(as_text=True)
    response.was_streamed = streamed
    return response, list(csv.reader(io.StringIO(body, newline="")))


def test_export_is_the_filtered_log_as_csv_and_is_audited(app, client, auth, monkeypatch):
    from careteam.audit import viewer as audit_viewer

    monkeypatch.setattr(audit_viewer, "EXPORT_BATCH", 2)  # several batches, none lost
    actor = make_provider(email="ex@example.com")
    record = make_client(actor)
    _probe_events(5, datetime(2026, 3, 2, tzinfo=UTC), actor=actor, client_id=record.id)
    _event(datetime(2026, 3, 2, tzinfo=UTC), object_type="probe", object_id=99)
    admin = _admin(client, auth)
    response, rows = _export(client, f"client_id={record.id}&action=view_record")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="careteam-audit-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.was_streamed  # rows are written as they are read, not held in memory
    assert rows[0] == list(audit_viewer.EXPORT_COLUMNS)
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["object_id"] for r in body] == ["5", "4", "3", "2", "1"]
    assert {r["actor_email"] for r in body} == {"ex@example.com"}
    assert body[0]["occurred_at_utc"] == "2026-03-02T00:04:00+00:00"
    exports = events("export_audit")
    assert [(e.actor_id, e.object_type) for e in exports] == [(admin.id, "audit_log")]
    assert exports[0].detail == f"filter: client={record.id} action=view_record"
    assert "ex@example.com" not in exports[0].detail


def test_export_of_the_whole_log_names_its_filter_by_ids(app, client, auth):
    someone = make_provider(email="who@example.com")
    _admin(client, auth)
    _export(client)
    _export(client, "user=who@example.com&since=2026-03-01")
    details = [e.detail for e in events("export_audit")]
    assert details[0] == "filter: none (whole log)"
    assert details[1] == f"filter: user={someone.id} since=2026-03-01T00:00:00+00:00"


@pytest.mark.parametrize("payload", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"])
def test_export_defuses_spreadsheet_formulas(app, client, auth, payload):
    _event(datetime(2026, 3, 2, tzinfo=UTC), object_type="probe", object_id=1, detail=payload)
    _admin(client, auth)
    _, rows = _export(client, "action=view_record")
    (row,) = rows[1:]
    detail = row[rows[0].index("detail")]
    assert detail == "'" + payload


def test_export_quotes_fields_by_rfc_4180(app, client, auth):
    _event(
        datetime(2026, 3, 2, tzinfo=UTC),
        object_type="probe",
        object_id=1,
        detail='fields a, b and "c"\nsecond line',
    )
    _admin(client, auth)
    response, rows = _export(client, "action=view_record")
    assert '"fields a, b and ""c""\nsecond line"' in response.get_data(as_text=True)
    assert rows[1][rows[0].index("detail")] == 'fields a, b and "c"\nsecond line'
    assert response.get_data(as_text=True).endswith("\r\n")


@pytest.mark.parametrize(("role", "status"), [(Role.PROVIDER, 403), (Role.CLIENT, 403)])
def test_only_admins_export(app, client, auth, role, status):
    user = make_user(role)
    auth.login(user.email)
    assert client.get("/admin/audit/export").status_code == status
    assert events("export_audit") == []


def test_export_needs_a_login(app, client):
    response = client.get("/admin/audit/export")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
