"""A goal's history: every earlier value kept (the description's text too), one page away."""

from __future__ import annotations

from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import services as client_services
from careteam.enums import GoalStatus, Role
from careteam.extensions import db
from careteam.goals import services
from careteam.goals.models import Goal, GoalEvent
from tests.factories import (
    bearer,
    goal_edit_form,
    goal_fields,
    make_goal,
    make_small_team,
    make_token,
    make_user,
)


def _edit(goal: Goal, actor, record, **overrides) -> GoalEvent | None:
    fields = {
        "title": goal.title,
        "description": goal.description,
        "status": GoalStatus(goal.status),
        "shared_with_client": goal.shared_with_client,
        **overrides,
    }
    return services.update_goal(
        actor=actor,
        client=record,
        goal=goal,
        fields=goal_fields(goal.owner_id, **fields),
        expected_version=goal.version,
    )


def test_every_earlier_description_stays_in_the_history(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, description="Eat breakfast before school")
    auth.login(member.email)
    form = goal_edit_form(goal, 1, description="Eat breakfast and lunch at school")
    response = auth.post(f"/clients/{record.id}/goals/{goal.id}/edit", form)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/goals/{goal.id}"
    _edit(db.session.get(Goal, goal.id), lead, record, description="")
    _edit(db.session.get(Goal, goal.id), lead, record, description="Three meals a day")
    events = db.session.scalars(
        select(GoalEvent).where(GoalEvent.goal_id == goal.id).order_by(GoalEvent.id)
    ).all()
    assert [e.summary for e in events] == [
        "created",
        "Description: rewritten",
        "Description: removed",
        "Description: added",
    ]
    assert [(e.description_before, e.description_after) for e in events] == [
        (None, None),
        ("Eat breakfast before school", "Eat breakfast and lunch at school"),
        ("Eat breakfast and lunch at school", ""),
        ("", "Three meals a day"),
    ]
    # A change that leaves the description alone keeps no text.
    event = _edit(db.session.get(Goal, goal.id), lead, record, status=GoalStatus.ON_HOLD)
    assert (event.description_before, event.description_after) == (None, None)
    for path in (
        f"/clients/{record.id}/goals/{goal.id}",
        f"/clients/{record.id}/goals/{goal.id}/history",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "Eat breakfast before school" in page, path
        assert "Eat breakfast and lunch at school" in page, path
    timeline = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Eat breakfast before school" in timeline


def test_the_full_history_is_paged_audited_and_linked(app, client, auth, count_queries):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record)
    auth.login(member.email)
    history = f"/clients/{record.id}/goals/{goal.id}/history"
    client.get(history)
    with count_queries() as counter:
        assert client.get(history).status_code == 200
    small = counter.count
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 4):  # more than a page, and far more than the goal page lists
        _edit(db.session.get(Goal, goal.id), lead, record, title=f"Regular meals {n}")
    show = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    assert f'href="{history}"' in show
    assert show.count("Title: Regular meals") == services.HISTORY_LIMIT
    with count_queries() as counter:
        first = client.get(history)
    assert counter.count == small, "the history page's queries grow with the changes"
    page1 = first.get_data(as_text=True)
    assert page1.count('<li id="e') == per_page
    assert f"Title: Regular meals {per_page + 2} → Regular meals {per_page + 3}" in page1
    assert "Set the goal." not in page1 and "Page 1 of 2" in page1
    page2 = client.get(f"{history}?page=2").get_data(as_text=True)
    assert "Title: Regular meals → Regular meals 0" in page2 and "Set the goal." in page2
    assert page2.count('<li id="e') == 5
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_goal_history")
    ).all()
    assert {(v.actor_id, v.object_type, v.object_id, v.client_id) for v in views} == {
        (member.id, "goal", goal.id, record.id)
    }
    assert len(views) == 4
    # Goal changes on the timeline link to the history; other entries do not.
    timeline = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert f'href="{history}">Goal history</a>' in timeline


def test_the_history_is_the_teams_alone(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, description="Older wording", shared_with_client=True)
    _edit(goal, lead, record, description="Current wording")
    own = make_user(Role.CLIENT)
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    history = f"/clients/{record.id}/goals/{goal.id}/history"
    auth.login(own.email)
    assert client.get(history).status_code == 404
    # The portal and the client's API read what they read before: no earlier wording.
    portal = client.get(f"/portal/goals/{goal.id}").get_data(as_text=True)
    assert "Current wording" in portal and "Older wording" not in portal
    token = make_token(own, scope="read")
    for path in (f"/api/v1/clients/{record.id}/timeline", f"/api/v1/clients/{record.id}/goals"):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 200, path
        assert "Older wording" not in response.get_data(as_text=True), path
    assert "Description: rewritten" in client.get(
        f"/api/v1/clients/{record.id}/timeline", headers=bearer(token)
    ).get_data(as_text=True)
    auth.logout()
    outsider = make_small_team()[0]
    auth.login(outsider.email)
    assert client.get(history).status_code == 404
