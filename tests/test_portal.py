"""Clients see their own team: names, disciplines, credentials, since when, shared contacts."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from careteam import audit
from careteam.audit import AuditEvent
from careteam.clients import services
from careteam.enums import (
    Discipline,
    GoalDirection,
    GoalStatus,
    LevelOfCare,
    Role,
    Visibility,
)
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.portal import levels
from careteam.portal import services as portal_services
from careteam.record.services import post_note
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
    assert response.headers["Location"] == "/settings/profile"
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
    assert "Enter your name." in page
    assert "This field is required." not in page
    assert "Use digits, spaces and" in page
    assert "Not a valid choice" in page


# --- The portal's pages: level of care, goals, notes, who viewed my record -------------

NOTE_SHARED = "Bring your food diary on Tuesday"
NOTE_TEAM = "Team only: discuss the insurance appeal"
NOTE_PRIVATE = "Private process note about the session"
NOTE_OLD = "Meet at 3 pm on Friday"
NOTE_NEW = "Meet at 4 pm on Friday"


def _goal(record, lead, title: str, *, shared: bool, status=GoalStatus.ACTIVE):
    return create_goal(
        actor=lead,
        client=record,
        fields=GoalFields(
            title=title,
            measure="Nights with 7 hours of sleep",
            unit="nights a week",
            baseline=Decimal(2),
            target=Decimal(5),
            direction=GoalDirection.UP,
            target_date=date(2099, 1, 1),
            owner_id=lead.id,
            status=status,
            shared_with_client=shared,
        ),
    )


def _page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def test_deactivated_provider_leaves_the_roster(app, client, auth):
    from careteam.admin.services import set_active

    record, own, _lead, psych = _setup()
    set_active(actor=make_user(Role.ADMIN), user=psych, active=False)
    auth.login(own.email)
    page = _page(client, "/portal/")
    assert "Dana Okafor" in page and "Dr. Raman" not in page


def test_level_of_care_is_explained_in_plain_words(app, client, auth):
    _record, own, *_ = _setup()
    auth.login(own.email)
    page = _page(client, "/portal/")
    current = levels.explain(LevelOfCare.INTENSIVE_OUTPATIENT)
    assert current in page
    # Every level has its own sentence, and the client's own is marked.
    for level in LevelOfCare:
        assert levels.explain(level) in page
    assert page.count("Your level now") == 1
    assert len(set(levels.EXPLANATIONS.values())) == len(LevelOfCare)


def test_only_shared_goals_with_their_charts(app, client, auth):
    record, own, lead, psych = _setup()
    shared = _goal(record, lead, "Sleep through the night", shared=True)
    hidden = _goal(record, lead, "Reduce binge episodes", shared=False)
    check_in(
        actor=psych,
        client=record,
        goal=shared,
        measured_on=date(2026, 1, 12),
        value=Decimal(3),
        comment="Better week",
    )
    auth.login(own.email)
    home = _page(client, "/portal/")
    assert "Sleep through the night" in home and "Reduce binge episodes" not in home
    assert '<svg class="chart"' in home  # the chart...
    assert "Check-ins as a table (1)" in home  # ...and its text alternative
    page = _page(client, f"/portal/goals/{shared.id}")
    assert "Better week" in page and "12 Jan 2026" in page and "3 nights a week" in page
    assert "Amend" not in page and "Recorded by" not in page  # the team's tools stay out
    _page(client, f"/portal/goals/{hidden.id}", 404)
    _page(client, "/portal/goals/999999", 404)


def test_another_clients_goal_is_not_found(app, client, auth):
    record, own, lead, _psych = _setup()
    elsewhere = make_client(lead, name="Someone Else")
    theirs = _goal(elsewhere, lead, "Someone else's goal", shared=True)
    auth.login(own.email)
    page = _page(client, f"/portal/goals/{theirs.id}", 404)
    assert "Someone else" not in page


def test_notes_show_only_the_current_shared_version(app, client, auth):
    record, own, lead, psych = _setup()
    post_note(actor=lead, client=record, body=NOTE_SHARED, visibility=Visibility.CLIENT)
    post_note(actor=lead, client=record, body=NOTE_TEAM, visibility=Visibility.TEAM)
    post_note(actor=psych, client=record, body=NOTE_PRIVATE, visibility=Visibility.PRIVATE)
    old = post_note(actor=lead, client=record, body=NOTE_OLD, visibility=Visibility.CLIENT)
    post_note(actor=lead, client=record, body=NOTE_NEW, visibility=Visibility.CLIENT, amends=old)
    auth.login(own.email)
    for path in ("/portal/", "/portal/notes"):
        page = _page(client, path)
        assert NOTE_SHARED in page and NOTE_NEW in page
        assert NOTE_OLD not in page and NOTE_TEAM not in page and NOTE_PRIVATE not in page
    assert "updated" in _page(client, "/portal/notes")


def test_notes_are_paged_newest_first(app, client, auth):
    record, own, lead, _psych = _setup()
    for n in range(portal_services.NOTES_PAGE + 3):
        post_note(actor=lead, client=record, body=f"Shared note {n:02d}", visibility="client")
    auth.login(own.email)
    first = _page(client, "/portal/notes")
    last = portal_services.NOTES_PAGE + 2
    assert f"Shared note {last:02d}" in first and "Shared note 02" not in first
    assert first.index(f"Shared note {last:02d}") < first.index(f"Shared note {last - 1:02d}")
    older = re.search(r'href="(/portal/notes\?before=[^"]+)"', first).group(1)
    second = _page(client, older.replace("&amp;", "&"))
    assert "Shared note 00" in second and "Shared note 02" in second
    assert f"Shared note {last:02d}" not in second
    assert 'rel="next"' not in second


def test_whats_new_since_my_last_visit(app, client, auth):
    record, own, lead, _psych = _setup()
    auth.login(own.email)
    assert "Welcome to your portal" in _page(client, "/portal/")
    assert "Nothing new since your last visit" in _page(client, "/portal/")
    post_note(actor=lead, client=record, body=NOTE_SHARED, visibility=Visibility.CLIENT)
    post_note(actor=lead, client=record, body=NOTE_TEAM, visibility=Visibility.TEAM)
    services.change_level_of_care(
        actor=lead,
        client=record,
        level=LevelOfCare.PARTIAL_HOSPITALIZATION,
        effective_date=date.today(),
        reason="Reason the client does not read",
    )
    newcomer = make_provider(Discipline.DIETITIAN, name="Noor Haddad")
    add_member(record, newcomer, lead)
    page = _page(client, "/portal/")
    assert "1 new note from your team" in page
    assert "Your level of care changed to <strong>Partial hospitalization (PHP)</strong>" in page
    assert "Noor Haddad (Dietitian) joined your care team." in page
    assert "Read the new notes" in page
    assert "Contact your care coordinator, Dana Okafor" in page
    assert "Reason the client does not read" not in page
    assert "Nothing new since your last visit" in _page(client, "/portal/")


def test_every_portal_page_is_audited_with_ids_only(app, client, auth):
    record, own, lead, _psych = _setup()
    goal = _goal(record, lead, "Sleep through the night", shared=True)
    auth.login(own.email)
    expected = {
        "/portal/": [
            ("view_roster", "client", record.id),
            ("view_shared_record", "client", record.id),
        ],
        f"/portal/goals/{goal.id}": [("view_shared_goal", "goal", goal.id)],
        "/portal/notes": [("view_shared_notes", "client", record.id)],
        "/portal/access": [("view_access_log", "client", record.id)],
        "/portal/record": [("view_printable_record", "client", record.id)],
    }
    for path, events in expected.items():
        before = db.session.scalar(select(func.max(AuditEvent.id)))
        _page(client, path)
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.object_type, e.object_id) for e in rows] == events, path
        assert all(e.actor_id == own.id and e.client_id == record.id for e in rows)
        assert all(e.detail == "" for e in rows)


def test_unlinked_client_and_providers_on_portal_pages(app, client, auth):
    _record, _own, lead, _psych = _setup()
    lonely = make_user(Role.CLIENT)
    auth.login(lonely.email)
    for path in ("/portal/notes", "/portal/access"):
        assert "has not connected your account yet" in _page(client, path)
    _page(client, "/portal/goals/1", 404)
    auth.logout()
    auth.login(lead.email)
    for path in ("/portal/", "/portal/notes", "/portal/access", "/portal/goals/1"):
        _page(client, path, 403)


def _count(client, count_queries, path: str) -> int:
    client.get(path)  # warm-up
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200, path
    return counter.count


def test_portal_pages_queries_do_not_grow(app, client, auth, count_queries):
    record, own, lead, psych = _setup()
    first = _goal(record, lead, "Goal 0", shared=True)
    post_note(actor=lead, client=record, body="Shared 0", visibility=Visibility.CLIENT)
    auth.login(own.email)
    paths = [
        "/portal/",
        "/portal/notes",
        "/portal/access",
        "/portal/record",
        f"/portal/goals/{first.id}",
    ]
    small = [_count(client, count_queries, path) for path in paths]
    for n in range(1, 8):
        goal = _goal(record, lead, f"Goal {n}", shared=True)
        for day in range(1, 4):
            check_in(
                actor=psych,
                client=record,
                goal=goal if day < 3 else first,
                measured_on=date(2026, 1, day + n),
                value=Decimal(day),
            )
        post_note(actor=psych, client=record, body=f"Shared {n}", visibility=Visibility.CLIENT)
        add_member(record, make_provider(Discipline.OTHER), lead)
    _goal(record, lead, "Done", shared=True, status=GoalStatus.COMPLETED)
    for n in range(40):
        audit.record(
            "view_record",
            object_type="client",
            object_id=record.id,
            client_id=record.id,
            actor=psych if n % 2 else lead,
        )
    db.session.commit()
    large = [_count(client, count_queries, path) for path in paths]
    assert small == large, dict(zip(paths, zip(small, large, strict=True), strict=True))


def test_a_long_followed_goal_links_the_client_to_all_its_check_ins(app, client, auth):
    record, own, lead, psych = _setup()
    goal = _goal(record, lead, "Sleep through the night", shared=True)
    for day in range(1, 8):
        check_in(
            actor=psych,
            client=record,
            goal=goal,
            measured_on=date(2026, 1, day),
            value=Decimal(day % 4),
            comment=f"Night {day}",
        )
    auth.login(own.email)
    home = _page(client, "/portal/")
    assert "The latest 5 of 7 check-ins as a table" in home
    assert "Night 3" in home and "Night 2" not in home
    link = re.search(r'href="([^"]+)">All 7 check-ins', home).group(1)
    assert link == f"/portal/goals/{goal.id}"
    page = _page(client, link)
    assert "Night 1" in page and "Night 7" in page
