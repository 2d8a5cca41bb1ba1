"""Practice between sessions: assigning, the client's logs, adherence, audit, query bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.enums import Discipline, PracticePeriod, PracticeStatus, Role, Visibility
from careteam.errors import UserFacingError
from careteam.extensions import db
from careteam.practice import services
from careteam.practice.adherence import adherence, week_target
from careteam.practice.models import PracticeAssignment, PracticeLog
from careteam.practice.rules import REFLECTION_LIMIT, AssignmentFields
from tests.factories import add_member, make_client, make_provider, make_user


def _team(time_zone: str = "UTC"):
    """A record with a lead, a member, and the client's own portal account."""
    lead = make_provider(Discipline.THERAPIST)
    member = make_provider(Discipline.DIETITIAN)
    record = make_client(lead)
    add_member(record, member, lead)
    own = make_user(Role.CLIENT)
    own.time_zone = time_zone
    db.session.commit()
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    return lead, member, record, own


def _assign(actor, record, **overrides) -> PracticeAssignment:
    values = {
        "skill": "Box breathing",
        "instructions": "Four counts in, hold four, out four, hold four.",
        "target_count": 1,
        "period": PracticePeriod.DAY,
        "starts_on": services.client_today(record) - timedelta(days=21),
    }
    values.update(overrides)
    return services.assign_practice(actor=actor, client=record, fields=AssignmentFields(**values))


def _log(own, record, assignment, day: date, rating=None, reflection="") -> PracticeLog:
    return services.log_practice(
        actor=own,
        client=record,
        assignment=assignment,
        practised_on=day,
        rating=rating,
        reflection=reflection,
    )


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# Assigning.


def test_member_assigns_a_practice_that_lands_on_the_timeline(app, client, auth):
    lead, member, record, _ = _team()
    auth.login(member.email)
    response = auth.post(
        f"/clients/{record.id}/practice/new",
        {
            "skill": "Box breathing",
            "instructions": "**Before** class.",
            "target_count": "3",
            "period": "week",
            "starts_on": (services.client_today(record) - timedelta(days=14)).isoformat(),
        },
    )
    assert response.status_code == 302
    assignment = db.session.scalars(select(PracticeAssignment)).one()
    assert response.headers["Location"] == f"/clients/{record.id}/practice/{assignment.id}"
    assert (assignment.author_id, assignment.visibility) == (member.id, Visibility.CLIENT)
    assert (assignment.target_count, assignment.period) == (3, "week")
    assert assignment.status == PracticeStatus.ACTIVE
    assert _audits("create_practice")[0].object_id == assignment.id
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Box breathing" in page
    assert "<strong>Before</strong> class." in page
    assert "0 practices of 3 (0%)" in page
    tabs = client.get(f"/clients/{record.id}/practice/").get_data(as_text=True)
    assert 'aria-current="page">Practice</a>' in tabs


def test_assign_form_explains_each_problem(app, client, auth):
    _, member, record, _ = _team()
    auth.login(member.email)
    response = auth.post(f"/clients/{record.id}/practice/new", {"period": "day"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Name the skill to practise." in page
    assert "Enter how many times." in page
    assert "Enter the date the practice starts." in page
    response = auth.post(
        f"/clients/{record.id}/practice/new",
        {
            "skill": "Walk",
            "target_count": "11",
            "period": "day",
            "starts_on": "2026-03-10",
            "ends_on": "2026-03-01",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter a number from 1 to 10 a day." in page
    assert "The end date must be on or after the start date." in page
    assert db.session.scalar(select(func.count()).select_from(PracticeAssignment)) == 0


@pytest.mark.parametrize("who", ["nonmember", "client"])
def test_only_team_members_assign(app, client, auth, who):
    lead, _, record, own = _team()
    user = make_provider() if who == "nonmember" else own
    if who == "nonmember":
        make_client(user)
    auth.login(user.email)
    assert client.get(f"/clients/{record.id}/practice/new").status_code == 404
    response = auth.post(
        f"/clients/{record.id}/practice/new",
        {"skill": "X", "target_count": "1", "period": "day", "starts_on": "2026-01-10"},
    )
    assert response.status_code == 404
    assert client.get(f"/clients/{record.id}/practice/").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(PracticeAssignment)) == 0


# The client logs.


def test_client_logs_a_practice_from_the_portal(app, client, auth):
    lead, _, record, own = _team()
    assignment = _assign(lead, record)
    auth.login(own.email)
    portal = client.get("/portal/practice/").get_data(as_text=True)
    assert "Box breathing" in portal
    assert f"/portal/practice/{assignment.id}/log" in portal
    assert "This week: 0 of 7" in portal
    form = client.get(f"/portal/practice/{assignment.id}/log").get_data(as_text=True)
    today = services.client_today(record)
    assert f'value="{today.isoformat()}"' in form  # the default day is the client's today
    response = auth.post(
        f"/portal/practice/{assignment.id}/log",
        {"practised_on": today.isoformat(), "rating": "4", "reflection": "Calmer after."},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/practice/"
    log = db.session.scalars(select(PracticeLog)).one()
    assert (log.assignment_id, log.client_id, log.logged_by_id) == (
        assignment.id,
        record.id,
        own.id,
    )
    assert (log.practised_on, log.rating, log.reflection) == (today, 4, "Calmer after.")
    audit = _audits("log_practice")
    assert [(a.object_id, a.client_id, a.actor_id) for a in audit] == [(log.id, record.id, own.id)]
    portal = client.get("/portal/practice/").get_data(as_text=True)
    assert "This week: 1 of 7" in portal
    assert "Calmer after." in portal
    assert "rated 4 of 5" in portal
    # Logs never flood the timeline: still one entry for the assignment.
    assert db.session.scalar(select(func.count()).select_from(PracticeAssignment)) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rating": "6"}, "rating", "Choose a rating from 1 to 5, or none."),
        ({"rating": "0"}, "rating", "Choose a rating from 1 to 5, or none."),
        ({"rating": "lots"}, "rating", "Choose a rating from 1 to 5, or none."),
        ({"days": 1}, "practised_on", "That date is in the future."),
        ({"days": -30}, "practised_on", "This practice starts on"),
        ({"practised_on": ""}, "practised_on", "Enter the day you practised."),
        (
            {"reflection": "x" * (REFLECTION_LIMIT + 1)},
            "reflection",
            f"Keep the reflection to {REFLECTION_LIMIT} characters or fewer.",
        ),
    ],
)
def test_log_refuses_bad_input_field_by_field(app, client, auth, data, field, message):
    lead, _, record, own = _team("Pacific/Kiritimati")  # UTC+14: often a day ahead of UTC
    assignment = _assign(lead, record, starts_on=services.client_today(record) - timedelta(days=7))
    auth.login(own.email)
    today = services.client_today(record)
    data = dict(data)  # the parameters are shared by both backends' runs
    form = {"practised_on": (today + timedelta(days=data.pop("days", 0))).isoformat()}
    form.update(data)
    response = auth.post(f"/portal/practice/{assignment.id}/log", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    assert db.session.scalar(select(func.count()).select_from(PracticeLog)) == 0


def test_the_clients_today_counts_not_the_servers(app, client, auth):
    lead, _, record, own = _team("Pacific/Kiritimati")
    assignment = _assign(lead, record)
    auth.login(own.email)
    ahead = services.client_today(record)  # may be tomorrow in UTC: still not the future
    response = auth.post(f"/portal/practice/{assignment.id}/log", {"practised_on": ahead})
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/practice/"
    assert db.session.scalars(select(PracticeLog)).one().practised_on == ahead


def test_another_clients_assignment_is_not_found(app, client, auth):
    lead, _, record, _ = _team()
    assignment = _assign(lead, record)
    _, _, _, stranger = _team()
    auth.login(stranger.email)
    assert client.get(f"/portal/practice/{assignment.id}/log").status_code == 404
    response = auth.post(
        f"/portal/practice/{assignment.id}/log",
        {"practised_on": services.client_today(record).isoformat()},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(PracticeLog)) == 0


def test_providers_do_not_log_for_the_client(app, client, auth):
    lead, _, record, _ = _team()
    assignment = _assign(lead, record)
    auth.login(lead.email)
    assert client.get(f"/portal/practice/{assignment.id}/log").status_code == 403
    assert client.get("/portal/practice/").status_code == 403


def test_reflections_are_shown_escaped(app, client, auth):
    lead, _, record, own = _team()
    assignment = _assign(lead, record)
    _log(own, record, assignment, services.client_today(record), reflection="<b>hi</b> & bye")
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}/practice/{assignment.id}").get_data(as_text=True)
    assert "&lt;b&gt;hi&lt;/b&gt; &amp; bye" in page
    assert "<b>hi</b>" not in page


# Ending and amending.


def test_ending_keeps_history_and_refuses_new_logs(app, client, auth):
    lead, member, record, own = _team()
    assignment = _assign(lead, record)
    today = services.client_today(record)
    _log(own, record, assignment, today - timedelta(days=1), rating=3)
    auth.login(member.email)  # not the one who assigned it
    response = auth.post(f"/clients/{record.id}/practice/{assignment.id}/end")
    assert response.status_code == 302
    versions = list(db.session.scalars(select(PracticeAssignment).order_by(PracticeAssignment.id)))
    assert len(versions) == 2
    old, new = versions
    assert old.superseded_at is not None and old.status == PracticeStatus.ACTIVE
    assert (new.status, new.ends_on, new.supersedes_id, new.root_id) == (
        PracticeStatus.ENDED,
        today,
        old.id,
        old.id,
    )
    assert new.author_id == member.id
    assert response.headers["Location"] == f"/clients/{record.id}/practice/{new.id}"
    assert [a.object_id for a in _audits("end_practice")] == [old.id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ended" in page and "Assign again" in page
    assert "Logs (1)" in page  # the logs stay with the assignment
    again = client.get(f"/clients/{record.id}/practice/new?again={new.id}")
    assert 'value="Box breathing"' in again.get_data(as_text=True)
    # Ending twice says so, and changes nothing.
    response = auth.post(f"/clients/{record.id}/practice/{new.id}/end", follow_redirects=True)
    assert "This assignment has already ended." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PracticeAssignment)) == 2

    auth.logout()
    auth.login(own.email)
    portal = client.get("/portal/practice/").get_data(as_text=True)
    assert "Nothing to practise right now." in portal
    assert "/practice/" + str(new.id) + "/log" not in portal
    page = client.get(f"/portal/practice/{new.id}/log")
    assert page.status_code == 200
    assert "has ended, so it takes no new logs" in page.get_data(as_text=True)
    assert "Log this practice" not in page.get_data(as_text=True)
    # A stale page posting to the first version reaches the ended one.
    response = auth.post(f"/portal/practice/{old.id}/log", {"practised_on": today.isoformat()})
    assert response.status_code == 409
    assert "has ended, so it takes no new logs" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PracticeLog)) == 1
    with pytest.raises(UserFacingError, match="has ended"):
        _log(own, record, new, today)


def test_the_author_amends_and_the_logs_follow(app, client, auth):
    lead, member, record, own = _team()
    assignment = _assign(member, record)
    today = services.client_today(record)
    _log(own, record, assignment, today)
    auth.login(lead.email)
    response = client.get(f"/clients/{record.id}/practice/{assignment.id}/amend")
    assert response.status_code == 403
    auth.logout()
    auth.login(member.email)
    form = client.get(f"/clients/{record.id}/practice/{assignment.id}/amend")
    assert 'value="Box breathing"' in form.get_data(as_text=True)
    response = auth.post(
        f"/clients/{record.id}/practice/{assignment.id}/amend",
        {
            "skill": "Box breathing",
            "target_count": "2",
            "period": "day",
            "starts_on": assignment.starts_on.isoformat(),
        },
    )
    assert response.status_code == 302
    new = db.session.scalars(
        select(PracticeAssignment).where(PracticeAssignment.superseded_at.is_(None))
    ).one()
    assert (new.target_count, new.root_id, new.status) == (2, assignment.id, "active")
    assert response.headers["Location"] == f"/clients/{record.id}/practice/{new.id}"
    page = client.get(f"/clients/{record.id}/practice/{new.id}").get_data(as_text=True)
    assert "Logs (1)" in page
    assert "1 practice of 14 (7%)" in page
    history = client.get(f"/clients/{record.id}/entries/{new.id}").get_data(as_text=True)
    assert "history of 2 versions" in history
    assert f"/clients/{record.id}/practice/{new.id}/amend" in history
    # The old address leads to the newest version.
    old = client.get(f"/clients/{record.id}/practice/{assignment.id}")
    assert old.headers["Location"] == f"/clients/{record.id}/practice/{new.id}"
    # The client logs against the new version; the log still belongs to the assignment.
    _log(own, record, new, today)
    assert set(db.session.scalars(select(PracticeLog.assignment_id))) == {assignment.id}


# Adherence.


def test_adherence_counts_logs_in_monday_to_sunday_weeks():
    today = date(2026, 3, 11)  # a Wednesday
    counts = {
        date(2026, 2, 15): 5,  # Sunday: before the four weeks shown
        date(2026, 2, 16): 1,  # Monday: the first week shown
        date(2026, 3, 1): 2,  # Sunday, end of the second week
        date(2026, 3, 2): 1,  # Monday, the third
        date(2026, 3, 9): 3,  # this week
    }
    result = adherence(
        target_count=1,
        period="day",
        starts_on=date(2026, 1, 1),
        ends_on=None,
        counts=counts,
        today=today,
    )
    assert [w.start for w in result.weeks] == [
        date(2026, 2, 16),
        date(2026, 2, 23),
        date(2026, 3, 2),
        date(2026, 3, 9),
    ]
    assert [(w.count, w.target, w.percent) for w in result.weeks] == [
        (1, 7, 14),
        (2, 7, 29),
        (1, 7, 14),
        (3, 7, 43),
    ]
    assert result.this_week.current and not result.weeks[0].current
    assert result.last_full_week.start == date(2026, 3, 2)


def test_adherence_targets_follow_start_end_and_period():
    monday = date(2026, 3, 2)
    # Per day, starting on Thursday: four days of that week.
    assert (
        week_target(
            target_count=2, period="day", starts_on=date(2026, 3, 5), ends_on=None, monday=monday
        )
        == 8
    )
    # Per week, starting on Thursday: 3 * 4/7 rounded up.
    assert (
        week_target(
            target_count=3, period="week", starts_on=date(2026, 3, 5), ends_on=None, monday=monday
        )
        == 2
    )
    # A full week asks for the per-week target; a week after the end asks nothing.
    assert (
        week_target(
            target_count=3, period="week", starts_on=date(2026, 1, 1), ends_on=None, monday=monday
        )
        == 3
    )
    assert (
        week_target(
            target_count=3,
            period="week",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 3, 1),
            monday=monday,
        )
        is None
    )
    over = adherence(
        target_count=2,
        period="week",
        starts_on=date(2026, 1, 1),
        ends_on=None,
        counts={date(2026, 3, 3): 5},
        today=date(2026, 3, 4),
        weeks=1,
    ).this_week
    assert (over.percent, over.bar, over.text) == (250, 100, "5 practices of 2 (250%)")


@pytest.mark.parametrize(
    ("zone", "this_monday"),
    [
        ("Pacific/Auckland", date(2026, 3, 9)),  # already Monday morning there
        ("America/Los_Angeles", date(2026, 3, 2)),  # still Sunday there
    ],
)
def test_adherence_weeks_are_the_clients_local_weeks(app, zone, this_monday):
    lead, _, record, own = _team(zone)
    now = datetime(2026, 3, 8, 18, 30, tzinfo=UTC)  # Sunday evening in UTC
    today = services.client_today(record, now=now)
    assert today == (this_monday if zone == "Pacific/Auckland" else date(2026, 3, 8))
    assignment = _assign(lead, record, starts_on=date(2026, 1, 5))
    for day in (date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 8)):
        services.log_practice(
            actor=own, client=record, assignment=assignment, practised_on=day, today=today
        )
    result = services.adherence_for([assignment], today=today)[assignment.id]
    assert result.this_week.start == this_monday
    expected_now = 0 if zone == "Pacific/Auckland" else 3
    assert result.this_week.count == expected_now
    assert result.weeks[-2].count == 3 - expected_now


# What the team reads, audited; and bounded queries.


def test_team_reads_logs_and_every_read_of_reflections_is_audited(app, client, auth):
    lead, member, record, own = _team()
    assignment = _assign(lead, record)
    today = services.client_today(record)
    _log(own, record, assignment, today, rating=2, reflection="Hard today.")
    _log(own, record, assignment, today, reflection="Easier.")
    auth.login(member.email)
    page = client.get(f"/clients/{record.id}/practice/{assignment.id}").get_data(as_text=True)
    assert "Logs (2)" in page
    assert page.index("Easier.") < page.index("Hard today.")  # most recent first
    assert "2 of 5" in page
    reads = _audits("view_practice_logs")
    assert [(a.actor_id, a.object_type, a.object_id, a.client_id) for a in reads] == [
        (member.id, "entry", assignment.id, record.id)
    ]
    index = client.get(f"/clients/{record.id}/practice/").get_data(as_text=True)
    assert "2 practices of 7" in index
    assert "Hard today." not in index  # reflections only on the assignment's page
    assert [a.actor_id for a in _audits("view_practice")] == [member.id]
    auth.logout()
    auth.login(own.email)
    client.get("/portal/practice/")
    assert [a.actor_id for a in _audits("view_practice_logs")] == [member.id, own.id]
    # Audit rows hold ids, never the reflection.
    details = " ".join(a.detail for a in db.session.scalars(select(AuditEvent)))
    assert "Hard" not in details and "Easier" not in details


def _count(client, count_queries, path: str) -> int:
    client.get(path)  # warm-up
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


def _grow(lead, own, record, n: int) -> None:
    today = services.client_today(record)
    for i in range(n):
        assignment = _assign(lead, record, skill=f"Skill {i}")
        for days in range(3):
            _log(own, record, assignment, today - timedelta(days=days), rating=3, reflection="ok")


def test_practice_pages_queries_do_not_grow_with_assignments(app, client, auth, count_queries):
    lead, _, record, own = _team()
    _grow(lead, own, record, 1)
    first = db.session.scalars(select(PracticeAssignment)).first()
    team_paths = [
        f"/clients/{record.id}",
        f"/clients/{record.id}/practice/",
        f"/clients/{record.id}/practice/{first.id}",
    ]
    auth.login(lead.email)
    small = [_count(client, count_queries, path) for path in team_paths]
    auth.logout()
    auth.login(own.email)
    small_portal = _count(client, count_queries, "/portal/practice/")
    _grow(lead, own, record, 6)
    for _ in range(5):
        _log(own, record, first, services.client_today(record), reflection="more")
    large_portal = _count(client, count_queries, "/portal/practice/")
    auth.logout()
    auth.login(lead.email)
    large = [_count(client, count_queries, path) for path in team_paths]
    assert small == large, (small, large)
    assert small_portal == large_portal, (small_portal, large_portal)
    timeline = client.get(f"/clients/{record.id}").get_data(as_text=True)
    # Every assignment on the timeline shows its adherence.
    assert timeline.count('class="table compact adherence"') == 7
    assert all(f"Skill {i}" in timeline for i in range(6))


def test_dropped_adherence_needs_the_assigners_attention(app, client, auth):
    from careteam.practice.adherence import week_start

    lead, member, record, own = _team()
    today = services.client_today(record)
    monday = week_start(today)
    assignment = _assign(lead, record, starts_on=monday - timedelta(weeks=3))
    steady = _assign(lead, record, skill="Thought record", starts_on=monday - timedelta(weeks=3))
    for days in range(14, 7, -1):  # every day of the week before last: 100%
        _log(own, record, assignment, monday - timedelta(days=days))
        _log(own, record, steady, monday - timedelta(days=days))
    for days in (7, 6, 5, 4, 3, 2, 1):
        _log(own, record, steady, monday - timedelta(days=days))
    _log(own, record, assignment, monday - timedelta(days=3))  # last full week: 1 of 7
    auth.login(lead.email)
    page = client.get("/clients/").get_data(as_text=True)
    assert "practice adherence dropped last week (1 assignment)" in page
    auth.logout()
    auth.login(member.email)  # not theirs to follow up
    assert "practice adherence dropped" not in client.get("/clients/").get_data(as_text=True)


def test_demo_practice_has_weeks_of_logs(app, client, auth):
    from careteam.practice.demo import LOGS, seed_demo

    lead, _, record, own = _team()
    assignment = seed_demo(record, lead, own)
    assert db.session.scalar(select(func.count()).select_from(PracticeLog)) == len(LOGS)
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}/practice/{assignment.id}").get_data(as_text=True)
    assert f"Logs ({len(LOGS)})" in page
    assert "It helped." in page


# The migration.


@pytest.fixture
def migrated_app(backend, tmp_path, tmp_root, request):
    """An app on a database built by the migrations, not by create_all."""
    from careteam import create_app
    from tests.helpers import base_config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'practice-migrated.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"practice_{tmp_path.name}")
    app = create_app(base_config(url, tmp_root))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migrated_database_takes_practice_entries_and_downgrades(migrated_app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    upgrade(revision="0004")
    # Rows written before 0005 rewrites entries' CHECK (raw SQL: the models are at head).
    now = "2026-01-05 09:00:00.000000"
    db.session.execute(
        text(
            "INSERT INTO users (email, password_hash, role, display_name, discipline,"
            " credentials, phone, practice_name, share_email, share_phone, share_practice,"
            " time_zone, active, created_at) VALUES ('lead@example.com', '!', 'provider',"
            " 'Lena Lead', 'therapist', '', '', '', false, false, true, 'UTC', true, :now)"
        ),
        {"now": now},
    )
    db.session.execute(
        text(
            "INSERT INTO clients (full_name, preferred_name, pronouns, level_of_care,"
            " created_by_id, created_at, last_activity_at) SELECT 'Robin Record', '', '',"
            " 'outpatient_weekly', id, :now, :now FROM users"
        ),
        {"now": now},
    )
    db.session.execute(
        text(
            "INSERT INTO care_team_members (client_id, provider_id, discipline, is_lead,"
            " status, started_at) SELECT clients.id, users.id, 'therapist', true, 'active',"
            " :now FROM clients, users"
        ),
        {"now": now},
    )
    db.session.execute(
        text(
            "INSERT INTO entries (kind, client_id, author_id, created_at, visibility, urgent)"
            " SELECT 'note', clients.id, users.id, :now, 'team', false FROM clients, users"
        ),
        {"now": now},
    )
    db.session.commit()
    upgrade()
    assert db.session.scalars(text("SELECT kind FROM entries")).all() == ["note"]
    lead = db.session.scalar(select(User))
    record = db.session.scalar(select(Client))
    assignment = _assign(lead, record)  # the entries.kind check now allows "practice"
    assert db.session.get(PracticeAssignment, assignment.id).kind == "practice"
    with pytest.raises(IntegrityError):  # and still refuses what is no kind
        db.session.execute(
            text("UPDATE entries SET kind = 'bogus' WHERE id = :id"), {"id": assignment.id}
        )
    db.session.rollback()
    db.session.remove()
    downgrade(revision="0004")
    tables = set(inspect(db.engine).get_table_names())
    assert not {"practice_assignments", "practice_logs"} & tables
    assert db.session.scalar(text("SELECT count(*) FROM entries WHERE kind = 'practice'")) == 0
    db.session.remove()
    upgrade()


def test_only_assignments_practised_lately_are_weighed_for_a_drop(app, monkeypatch):
    """My clients weighs, in Python, only the assigner's active assignments practised in
    the last three weeks: one never practised cannot have dropped, and a caseload with
    thousands of them must not cost thousands of evaluations a page."""
    from careteam.practice.adherence import week_start

    lead, _member, record, own = _team()
    monday = week_start(services.client_today(record))
    practised = _assign(lead, record, starts_on=monday - timedelta(weeks=3))
    for n in range(3):
        _assign(lead, record, skill=f"Never practised {n}", starts_on=monday - timedelta(weeks=3))
    _log(own, record, practised, monday - timedelta(days=10))
    weighed = []
    real = services.adherence_for

    def spy(assignments, **kwargs):
        weighed.extend(a.id for a in assignments)
        return real(assignments, **kwargs)

    monkeypatch.setattr(services, "adherence_for", spy)
    services.dropped_adherence(lead, select(Client.id).where(Client.id == record.id))
    assert weighed == [practised.id]
