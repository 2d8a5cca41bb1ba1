"""Goals: setting and changing them, check-ins and their amendment, charts, locking."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from careteam.audit import AuditEvent
from careteam.clients import services as client_services
from careteam.enums import (
    Discipline,
    GoalAchievement,
    GoalStatus,
    Role,
    Visibility,
)
from careteam.extensions import db
from careteam.goals import services
from careteam.goals.demo import seed_demo
from careteam.goals.models import Goal, GoalEvent, GoalProgress
from tests.factories import (
    add_member,
    goal_edit_form,
    goal_fields,
    make_client,
    make_goal,
    make_provider,
    make_small_team,
    make_user,
)

TODAY = date.today()
SOON = (TODAY + timedelta(days=60)).isoformat()
VERSION_RE = re.compile(r'name="version" type="hidden" value="(\d+)"')


def _form(owner: int, **overrides) -> dict:
    data = {
        "title": "Fewer panic attacks",
        "description": "Get through a school week.",
        "measure": "Panic attacks",
        "unit": "attacks per week",
        "baseline": "6",
        "target": "1",
        "direction": "down",
        "target_date": SOON,
        "owner_id": str(owner),
        "status": "active",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- Setting a goal ------------------------------------------------------------------


def test_member_sets_a_goal_that_lands_on_the_timeline(app, client, auth):
    lead, member, record = make_small_team()
    auth.login(member.email)
    page = client.get(f"/clients/{record.id}/goals/new").get_data(as_text=True)
    assert f'<option selected value="{member.id}">' in page  # the author owns it by default
    response = auth.post(f"/clients/{record.id}/goals/new", _form(member.id))
    goal = db.session.scalar(select(Goal))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    assert (goal.title, goal.measure, goal.unit) == (
        "Fewer panic attacks",
        "Panic attacks",
        "attacks per week",
    )
    assert (goal.baseline, goal.target, goal.direction) == (6, 1, "down")
    assert goal.owner_id == member.id and goal.created_by_id == member.id
    assert (goal.status, goal.achievement, goal.version) == ("active", "in_progress", 1)
    (event,) = db.session.scalars(select(GoalEvent)).all()
    assert (event.goal_id, event.summary, event.kind) == (goal.id, "created", "goal")
    assert event.author_id == member.id and event.visibility == Visibility.TEAM
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create_goal"))


def test_a_shared_goal_and_its_check_ins_are_visible_to_the_client(app):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, shared_with_client=True, owner_id=member.id)
    assert goal.owner_id == member.id
    event = db.session.scalar(select(GoalEvent))
    assert event.visibility == Visibility.CLIENT
    checkin = services.check_in(
        actor=lead, client=record, goal=goal, measured_on=TODAY, value=Decimal("1.5")
    )
    assert checkin.visibility == Visibility.CLIENT


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Give the goal a title."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"measure": " "}, "measure", "Say what is measured"),
        ({"unit": ""}, "unit", "Give the unit"),
        ({"baseline": ""}, "baseline", "Enter the baseline"),
        ({"baseline": "six"}, "baseline", "Not a valid decimal value"),
        ({"baseline": "NaN"}, "baseline", "Enter a number"),
        ({"target": ""}, "target", "Enter the target."),
        ({"target": "0.0001"}, "target", "at most three decimal places"),
        ({"target": "1e12"}, "target", "below 1,000,000,000"),
        ({"target": "6"}, "target", "The target must differ from the baseline (6)."),
        ({"target": "8"}, "target", "With “lower is better” the target must be below"),
        ({"direction": "up"}, "target", "With “higher is better” the target must be above"),
        ({"direction": None}, "direction", "Choose whether higher or lower is better."),
        ({"direction": "sideways"}, "direction", "Not a valid choice"),
        ({"target_date": ""}, "target_date", "Enter the target date."),
        ({"target_date": "soon"}, "target_date", "Not a valid date value"),
        (
            {"target_date": (TODAY - timedelta(days=2)).isoformat()},
            "target_date",
            "The target date cannot be in the past.",
        ),
        ({"owner_id": "999999"}, "owner_id", "Not a valid choice"),
        ({"owner_id": "someone"}, "owner_id", "Invalid Choice"),
        ({"status": "completed"}, "status", "Not a valid choice"),
    ],
)
def test_new_goal_validation_keeps_input_and_saves_nothing(
    app, client, auth, overrides, field, message
):
    lead, member, record = make_small_team()
    auth.login(member.email)
    form = _form(member.id, description="Keep what I typed", **overrides)
    response = auth.post(f"/clients/{record.id}/goals/new", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S).group(1)
    assert message in error.replace("&#34;", '"')
    assert "Keep what I typed" in page
    assert _count(Goal) == 0 and _count(GoalEvent) == 0


def test_every_problem_is_shown_at_once(app, client, auth):
    lead, member, record = make_small_team()
    auth.login(member.email)
    form = _form(
        member.id,
        title="",
        target="9",
        target_date=(TODAY - timedelta(days=1)).isoformat(),
    )
    page = auth.post(f"/clients/{record.id}/goals/new", form).get_data(as_text=True)
    for field in ("title", "target", "target_date"):
        assert f'id="{field}-error"' in page
    assert 'value="9"' in page and 'value="attacks per week"' in page


def test_an_ended_member_cannot_own_a_new_goal(app):
    lead, member, record = make_small_team()
    dietitian = make_provider(Discipline.DIETITIAN)
    row = add_member(record, dietitian, lead)
    client_services.end_member(actor=lead, client=record, member_id=row.id)
    with pytest.raises(services.UserFacingError, match="on the care team now") as caught:
        make_goal(lead, record, owner_id=dietitian.id)
    assert caught.value.field == "owner_id"
    assert _count(Goal) == 0


@pytest.mark.parametrize(
    ("who", "expected"),
    [("lead", 200), ("member", 200), ("nonmember", 404), ("ended", 404), ("client", 404)],
)
def test_any_active_member_may_set_goals(app, client, auth, who, expected):
    lead, member, record = make_small_team()
    ended = make_provider(Discipline.DIETITIAN)
    row = add_member(record, ended, lead)
    client_services.end_member(actor=lead, client=record, member_id=row.id)
    own = make_user(Role.CLIENT)
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    goal = make_goal(lead, record)
    users = {
        "lead": lead,
        "member": member,
        "nonmember": make_provider(),
        "ended": ended,
        "client": own,
    }
    auth.login(users[who].email)
    base = f"/clients/{record.id}/goals"
    for path in (base + "/", base + "/new", f"{base}/{goal.id}", f"{base}/{goal.id}/edit"):
        assert client.get(path).status_code == expected, path
    assert client.get(f"{base}/{goal.id}/progress").status_code == expected
    posted = auth.post(base + "/new", _form(users[who].id))
    assert posted.status_code == (302 if expected == 200 else 404)
    assert _count(Goal) == (2 if expected == 200 else 1)
    if expected == 200:
        new = db.session.scalars(select(Goal).order_by(Goal.id.desc())).first()
        assert posted.headers["Location"] == f"{base}/{new.id}"


def test_a_goal_of_another_client_is_not_found(app, client, auth):
    lead, member, record = make_small_team()
    elsewhere = make_client(lead)
    goal = make_goal(lead, elsewhere)
    auth.login(lead.email)
    assert client.get(f"/clients/{record.id}/goals/{goal.id}").status_code == 404
    assert client.get(f"/clients/{record.id}/goals/{goal.id}/edit").status_code == 404
    assert client.get(f"/clients/{record.id}/goals/{goal.id}/progress").status_code == 404


# --- Changing a goal -----------------------------------------------------------------


def test_editing_a_goal_records_what_changed(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(member.email)
    page = client.get(f"/clients/{record.id}/goals/{goal.id}/edit").get_data(as_text=True)
    assert VERSION_RE.search(page).group(1) == "1"
    assert 'value="Regular meals"' in page and 'value="1"' in page  # 1.000 shown as 1
    form = goal_edit_form(goal, 1, status="on_hold", target="2.5", achievement="improving")
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/edit", form)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    db.session.refresh(goal)
    assert (goal.status, goal.achievement, goal.target, goal.version) == (
        "on_hold",
        "improving",
        Decimal("2.5"),
        2,
    )
    event = db.session.scalars(select(GoalEvent).order_by(GoalEvent.id.desc())).first()
    assert event.author_id == member.id
    assert event.summary.splitlines() == [
        "Target: 3 → 2.5",
        "Status: active → on hold",
        "Achievement: in progress → improving",
    ]
    show = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    assert "Status: active → on hold" in show and "Set the goal." in show


def test_saving_an_unchanged_goal_records_nothing(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    response = auth.post(
        f"/clients/{record.id}/goals/{goal.id}/edit",
        goal_edit_form(goal, 1),
        follow_redirects=True,
    )
    assert "Nothing was changed." in response.get_data(as_text=True)
    assert _count(GoalEvent) == 1
    assert db.session.get(Goal, goal.id).version == 1


def test_sharing_a_goal_is_recorded_and_its_new_events_are_shared(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    form = goal_edit_form(goal, 1, shared_with_client="y", owner_id=str(member.id))
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/edit", form)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    event = db.session.scalars(select(GoalEvent).order_by(GoalEvent.id.desc())).first()
    assert event.visibility == Visibility.CLIENT
    assert event.summary.splitlines() == [
        f"Owner: {lead.display_name} → {member.display_name}",
        "Shared with client: no → yes",
    ]


def test_a_past_target_date_may_stay_but_not_be_chosen(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    goal.target_date = TODAY - timedelta(days=10)
    db.session.commit()
    auth.login(lead.email)
    path = f"/clients/{record.id}/goals/{goal.id}/edit"
    kept = goal_edit_form(goal, goal.version, status="completed", achievement="achieved")
    redirected = auth.post(path, kept)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    goal = db.session.get(Goal, goal.id)
    moved = goal_edit_form(goal, goal.version, target_date=(TODAY - timedelta(days=3)).isoformat())
    response = auth.post(path, moved)
    assert response.status_code == 400
    assert "The target date cannot be in the past." in response.get_data(as_text=True)


def test_an_owner_who_left_may_stay_but_not_be_chosen(app):
    lead, member, record = make_small_team()
    dietitian = make_provider(Discipline.DIETITIAN)
    row = add_member(record, dietitian, lead)
    goal = make_goal(lead, record, owner_id=dietitian.id)
    other = make_goal(lead, record)
    client_services.end_member(actor=lead, client=record, member_id=row.id)
    changed = goal_fields(dietitian.id, status=GoalStatus.ON_HOLD)
    assert services.update_goal(
        actor=lead, client=record, goal=goal, fields=changed, expected_version=1
    )
    with pytest.raises(services.UserFacingError, match="on the care team now"):
        services.update_goal(
            actor=lead,
            client=record,
            goal=other,
            fields=goal_fields(dietitian.id),
            expected_version=1,
        )
    choices = dict(services.owner_choices(record, current=goal))
    assert choices[dietitian.id].endswith("(no longer on the team)")


def test_edit_validation_keeps_input(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    form = goal_edit_form(goal, 1, title="New title I typed", target="0")
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/edit", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "With “higher is better” the target must be above the baseline (1)." in page
    assert 'value="New title I typed"' in page
    assert db.session.get(Goal, goal.id).title == "Regular meals"
    assert _count(GoalEvent) == 1


def test_an_edit_without_its_version_is_refused(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    form = goal_edit_form(goal, 1, title="Changed")
    del form["version"]
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/edit", form)
    assert response.status_code == 400
    assert "Reload it and edit again." in response.get_data(as_text=True)
    assert db.session.get(Goal, goal.id).title == "Regular meals"


# --- Optimistic locking --------------------------------------------------------------


def test_two_tabs_editing_the_same_goal_do_not_lose_an_edit(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    path = f"/clients/{record.id}/goals/{goal.id}/edit"
    tab_a = VERSION_RE.search(client.get(path).get_data(as_text=True)).group(1)
    tab_b = VERSION_RE.search(client.get(path).get_data(as_text=True)).group(1)
    assert tab_a == tab_b == "1"

    # What each tab shows and its user then types, as of the version they loaded.
    form_a = goal_edit_form(goal, int(tab_a), status="on_hold")
    form_b = goal_edit_form(goal, int(tab_b), title="Three regular meals", unit="meals a day")

    first = auth.post(path, form_a)
    assert first.status_code == 302
    assert first.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"

    second = auth.post(path, form_b)
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert services.CONFLICT_MESSAGE.split(".")[0] in page.replace("&#39;", "'")
    assert 'value="Three regular meals"' in page and 'value="meals a day"' in page  # kept
    assert "The goal as saved now" in page and "On hold" in page  # their version
    assert "Status: on hold → active" in page  # what saving mine would undo
    assert VERSION_RE.search(page).group(1) == "2"  # the form now carries their version
    saved = db.session.get(Goal, goal.id)
    assert (saved.title, saved.status, saved.version) == ("Regular meals", "on_hold", 2)
    assert _count(GoalEvent) == 2

    # Reviewed: keep their status, save my wording.
    again = goal_edit_form(
        saved, 2, title="Three regular meals", unit="meals a day", status="on_hold"
    )
    response = auth.post(path, again)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    saved = db.session.get(Goal, goal.id)
    assert (saved.title, saved.unit, saved.status, saved.version) == (
        "Three regular meals",
        "meals a day",
        "on_hold",
        3,
    )


def test_a_change_during_the_save_is_caught_by_the_version_column(app):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    assert goal.version == 1 and record.full_name  # loaded, as a request would have them
    session = db.session()
    session.expire_on_commit = False
    session.commit()  # end the read transaction, keep the loaded goal
    # Someone else's save lands between loading the goal and flushing the update.
    with db.engine.begin() as other:
        other.execute(
            text("UPDATE goals SET version = version + 1, title = 'Theirs' WHERE id = :id"),
            {"id": goal.id},
        )
    try:
        with pytest.raises(services.GoalConflict):
            services.update_goal(
                actor=lead,
                client=record,
                goal=goal,
                fields=goal_fields(lead.id, title="Mine"),
                expected_version=1,
            )
    finally:
        session.expire_on_commit = True
    db.session.expire_all()
    assert db.session.get(Goal, goal.id).title == "Theirs"
    assert _count(GoalEvent) == 1


# --- Check-ins -----------------------------------------------------------------------


def test_a_member_checks_in_and_the_chart_shows_it(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(member.email)
    path = f"/clients/{record.id}/goals/{goal.id}/progress"
    page = client.get(path).get_data(as_text=True)
    prefilled = re.search(r'name="measured_on"[^>]*value="([\d-]+)"', page).group(1)
    assert abs(date.fromisoformat(prefilled) - TODAY) <= timedelta(days=1)  # the user's today
    response = auth.post(
        path,
        {"measured_on": (TODAY - timedelta(days=1)).isoformat(), "value": "2.5", "comment": "Ok"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    (checkin,) = db.session.scalars(select(GoalProgress)).all()
    assert (checkin.value, checkin.comment, checkin.kind) == (
        Decimal("2.5"),
        "Ok",
        "goal_progress",
    )
    assert checkin.author_id == member.id and checkin.visibility == Visibility.TEAM
    show = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    assert "2.5 meals per day" in show and 'class="point"' in show


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"measured_on": ""}, "measured_on", "Enter the date of the measurement."),
        (
            {"measured_on": (TODAY + timedelta(days=2)).isoformat()},
            "measured_on",
            "This date cannot be in the future.",
        ),
        ({"measured_on": "yesterday"}, "measured_on", "Not a valid date value"),
        ({"value": ""}, "value", "Enter the value measured."),
        ({"value": "two"}, "value", "Not a valid decimal value"),
        ({"value": "Infinity"}, "value", "Enter a number"),
        ({"value": "2.0005"}, "value", "at most three decimal places"),
        ({"comment": "x" * 2001}, "comment", "2000"),
    ],
)
def test_check_in_validation_keeps_input_and_saves_nothing(
    app, client, auth, data, field, message
):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(lead.email)
    form = {"measured_on": TODAY.isoformat(), "value": "2", "comment": "Typed comment", **data}
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/progress", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S).group(1)
    assert message in error
    if field != "comment":
        assert "Typed comment" in page
    assert _count(GoalProgress) == 0


def test_the_author_amends_a_check_in(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    old = services.check_in(
        actor=member, client=record, goal=goal, measured_on=TODAY, value=Decimal(4)
    )
    auth.login(member.email)
    path = f"/clients/{record.id}/goals/progress/{old.id}/amend"
    page = client.get(path).get_data(as_text=True)
    assert 'value="4"' in page and "Amend a check-in" in page
    invalid = auth.post(path, {"measured_on": TODAY.isoformat(), "value": ""})
    assert invalid.status_code == 400
    response = auth.post(path, {"measured_on": TODAY.isoformat(), "value": "2", "comment": "Typo"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    new = db.session.scalars(select(GoalProgress).order_by(GoalProgress.id.desc())).first()
    assert new.supersedes_id == old.id and new.goal_id == goal.id and new.value == 2
    assert db.session.get(GoalProgress, old.id).superseded_at is not None
    db.session.expire_all()
    assert [c.value for c in db.session.get(Goal, goal.id).checkins] == [2]  # chart: current only
    show = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    assert f"/clients/{record.id}/entries/{new.id}" in show  # history of the amended check-in
    again = auth.post(path, {"measured_on": TODAY.isoformat(), "value": "3"})
    assert again.status_code == 409
    assert "already amended" in again.get_data(as_text=True)


def test_only_the_author_amends_a_check_in(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    old = services.check_in(
        actor=lead, client=record, goal=goal, measured_on=TODAY, value=Decimal(1)
    )
    auth.login(member.email)
    path = f"/clients/{record.id}/goals/progress/{old.id}/amend"
    assert client.get(path).status_code == 403
    assert auth.post(path, {"measured_on": TODAY.isoformat(), "value": "2"}).status_code == 403
    assert _count(GoalProgress) == 1


def test_amending_something_that_is_not_a_check_in_is_not_found(app, client, auth):
    lead, member, record = make_small_team()
    make_goal(lead, record)
    event = db.session.scalar(select(GoalEvent))
    auth.login(lead.email)
    assert client.get(f"/clients/{record.id}/goals/progress/{event.id}/amend").status_code == 404
    assert client.get(f"/clients/{record.id}/goals/progress/999999/amend").status_code == 404


# --- Pages ---------------------------------------------------------------------------


def test_goal_page_has_an_accessible_chart_and_its_table(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, title="Regular <meals>")
    for days_ago, value in ((14, "1"), (7, "1.5"), (0, "2")):
        services.check_in(
            actor=lead,
            client=record,
            goal=goal,
            measured_on=TODAY - timedelta(days=days_ago),
            value=Decimal(value),
            comment=f"week -{days_ago}",
        )
    auth.login(member.email)
    for path in (f"/clients/{record.id}/goals/{goal.id}", f"/clients/{record.id}/goals/"):
        page = client.get(path).get_data(as_text=True)
        assert '<svg class="chart"' in page and 'role="img"' in page
        title = re.search(r'<title id="(chart-[0-9a-f]+)-t">(.*?)</title>', page)
        assert title.group(2) == "Regular &lt;meals&gt;: Meals eaten"
        assert f'aria-labelledby="{title.group(1)}-t {title.group(1)}-d"' in page
        desc = re.search(r'<desc id="chart-[0-9a-f]+-d">(.*?)</desc>', page).group(1)
        # The one date format (timefmt), for screen readers too.
        assert f"{TODAY.strftime('%-d %b %Y')}: 2 meals per day" in desc and "Target 3" in desc
        assert 'class="ref baseline"' in page and 'class="ref target"' in page
        table = re.search(r"<table.*?</table>", page, re.S).group(0)
        assert "<caption>Check-ins: Meals eaten (meals per day)" in table
        assert '<th scope="col">Value</th>' in table and '<th scope="row"' in table
        assert table.count("<tr>") == 4 and "1.5 meals per day" in table and "week -7" in table
        # Readable without JavaScript: no script draws the chart (the only script on a
        # logged-in page is the idle-logoff warning, loaded from a file).
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts == ['<script src="/static/js/idle-warning.js" defer>']
        assert "Regular <meals>" not in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view_goals"))
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "view_goal", AuditEvent.object_id == goal.id)
    )


def test_goals_list_shows_open_goals_first(app, client, auth):
    lead, member, record = make_small_team()
    done = make_goal(lead, record, title="Done goal")
    services.update_goal(
        actor=lead,
        client=record,
        goal=done,
        fields=goal_fields(lead.id, title="Done goal", status=GoalStatus.COMPLETED),
        expected_version=1,
    )
    make_goal(lead, record, title="Open goal", target_date=TODAY + timedelta(days=90))
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}/goals/").get_data(as_text=True)
    assert page.index("Open goal") < page.index("Done goal")
    assert "No check-ins yet." in page


def test_goal_entries_render_on_the_timeline(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    services.update_goal(
        actor=lead,
        client=record,
        goal=goal,
        fields=goal_fields(lead.id, achievement=GoalAchievement.IMPROVING),
        expected_version=1,
    )
    services.check_in(
        actor=member,
        client=record,
        goal=goal,
        measured_on=TODAY,
        value=Decimal(2),
        comment="Lunch too",
    )
    auth.login(lead.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    link = f'href="/clients/{record.id}/goals/{goal.id}"'
    assert page.count(link) >= 3
    assert "Goal set." in page and "Achievement: in progress → improving" in page
    assert "<strong>2 meals per day</strong>" in page and "Lunch too" in page


def _count_page(client, count_queries, path: str) -> int:
    client.get(path)  # warm-up: first-request work is not the page's
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


def _grow(lead, member, record, goals: int, checkins: int) -> Goal:
    goal = None
    for n in range(goals):
        owner = member if n % 2 else lead
        goal = make_goal(lead, record, title=f"Goal {n}", owner_id=owner.id)
        for day in range(checkins):
            services.check_in(
                actor=member if day % 2 else lead,
                client=record,
                goal=goal,
                measured_on=TODAY - timedelta(days=day),
                value=Decimal(day),
            )
        for status in (GoalStatus.ON_HOLD, GoalStatus.ACTIVE)[: min(checkins, 2)]:
            services.update_goal(
                actor=member,
                client=record,
                goal=goal,
                fields=goal_fields(owner.id, title=f"Goal {n}", status=status),
                expected_version=goal.version,
            )
    return goal


def test_goal_pages_queries_do_not_grow_with_goals_or_check_ins(app, client, auth, count_queries):
    lead, member, record = make_small_team()
    first = _grow(lead, member, record, goals=1, checkins=1)
    auth.login(lead.email)
    index = f"/clients/{record.id}/goals/"
    show = f"/clients/{record.id}/goals/{first.id}"
    small = (_count_page(client, count_queries, index), _count_page(client, count_queries, show))
    for _ in range(4):
        add_member(record, make_provider(Discipline.OTHER), lead)
    last = _grow(lead, member, record, goals=6, checkins=5)
    old = db.session.scalars(select(GoalProgress).where(GoalProgress.goal_id == first.id)).first()
    services.amend_check_in(
        actor=old.author, client=record, old=old, measured_on=TODAY, value=Decimal(9)
    )
    large = (
        _count_page(client, count_queries, index),
        _count_page(client, count_queries, f"/clients/{record.id}/goals/{last.id}"),
    )
    assert small == large, (small, large)


def test_seed_demo_adds_two_goals_with_weeks_of_check_ins(app, client, auth):
    lead, member, record = make_small_team()
    panic, meals = seed_demo(record, lead, member)
    assert (panic.direction, panic.shared_with_client) == ("down", True)
    assert (meals.direction, meals.shared_with_client, meals.owner_id) == ("up", False, member.id)
    assert len(panic.checkins) == 4 and len(meals.checkins) == 4
    span = panic.checkins[-1].measured_on - panic.checkins[0].measured_on
    assert span >= timedelta(days=14)
    assert _count(GoalEvent) == 5
    auth.login(member.email)
    assert client.get(f"/clients/{record.id}/goals/").status_code == 200
    assert client.get(f"/clients/{record.id}").status_code == 200


def test_the_goals_page_tables_the_latest_check_ins_and_the_goal_page_all(app, client, auth):
    """The goals page of a long-followed goal stays short: its chart draws every check-in,
    its table lists the latest five and links to the goal's page, which lists them all."""
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, title="Regular meals")
    for days_ago in range(7, 0, -1):
        services.check_in(
            actor=lead,
            client=record,
            goal=goal,
            measured_on=TODAY - timedelta(days=days_ago),
            value=Decimal(days_ago),
            comment=f"day -{days_ago}",
        )
    auth.login(member.email)
    index = client.get(f"/clients/{record.id}/goals/").get_data(as_text=True)
    table = re.search(r"<table.*?</table>", index, re.S).group(0)
    assert table.count("<tr>") == 1 + 5
    assert "day -5" in table and "day -1" in table and "day -6" not in table
    assert "The latest 5 of 7 check-ins as a table" in index
    assert f'href="/clients/{record.id}/goals/{goal.id}">All 7 check-ins' in index
    desc = re.search(r'<desc id="chart-[0-9a-f]+-d">(.*?)</desc>', index).group(1)
    assert desc.count("meals per day") >= 7  # the chart still draws all seven
    page = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    table = re.search(r"<table.*?</table>", page, re.S).group(0)
    assert table.count("<tr>") == 1 + 7 and "All 7 check-ins" not in page
