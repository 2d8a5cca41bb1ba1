"""Goal-change cards show that version, check-ins respect the measure, counts agree with
their unit (issue 13 items 13 and 16's singular labels)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careteam.enums import GoalDirection, GoalStatus
from careteam.extensions import db
from careteam.goals import rules, services
from careteam.goals.models import Goal, GoalProgress
from careteam.record.services import post_note
from careteam.wording import plural, singular, unit_for
from tests.factories import (
    bearer,
    goal_fields,
    make_goal,
    make_small_team,
    make_token,
)

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
ATTACKS = {
    "title": "Fewer panic attacks",
    "measure": "Panic attacks",
    "unit": "attacks per week",
    "baseline": Decimal(4),
    "target": Decimal(1),
    "direction": GoalDirection.DOWN,
}


def _change(goal: Goal, actor, record, **overrides):
    fields = {**ATTACKS, "status": GoalStatus(goal.status), **overrides}
    return services.update_goal(
        actor=actor,
        client=record,
        goal=goal,
        fields=goal_fields(goal.owner_id, **fields),
        expected_version=goal.version,
    )


def _card(page: str, entry_id: int) -> str:
    start = page.index(f'<li id="e{entry_id}"')
    end = page.find('<li id="e', start + 1)
    return page[start : end if end > 0 else len(page)]


# Item 13: a goal-change card shows what changed then


def test_a_goal_change_card_shows_that_version_not_todays_goal(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, **ATTACKS)
    first = _change(goal, lead, record, target=Decimal(2))
    goal = db.session.get(Goal, goal.id)
    _change(goal, lead, record, target=Decimal(0), status=GoalStatus.ON_HOLD, title="Calmer weeks")
    auth.login(member.email)
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    card = _card(page, first.id)
    assert "Target: 1 → 2" in card  # the change, with the previous value
    assert "After this change:" in card
    assert "from 4 attacks per week to 2 attacks per week" in card  # that version's values
    assert "Fewer panic attacks" in card and "Active" in card
    # Not today's goal beside it: the later change has its own card.
    assert "Calmer weeks" not in card and "0 attacks" not in card and "On hold" not in card
    created = _card(page, _created_id(goal))
    assert "Set as:" in created and "to 1 attack per week" in created


def _created_id(goal: Goal) -> int:
    from careteam.goals.models import GoalEvent

    return db.session.scalar(
        select(GoalEvent.id).where(GoalEvent.goal_id == goal.id, GoalEvent.summary == "created")
    )


# Item 13: check-ins respect the measure, and every range message names its bound


@pytest.mark.parametrize(
    ("goal", "value", "message"),
    [
        (ATTACKS, "-1", "Must be at least 0 attacks per week: it cannot be negative."),
        (
            {**ATTACKS, "unit": "points (0-10)", "measure": "Anxiety", "baseline": Decimal(8)},
            "11",
            "Must be at most 10 points (0-10): the scale is 0-10.",
        ),
        (
            {**ATTACKS, "unit": "/10", "measure": "Mood", "baseline": Decimal(3),
             "target": Decimal(7), "direction": GoalDirection.UP},
            "12",
            "Must be at most 10 /10: the scale goes up to 10.",
        ),
        (
            {**ATTACKS, "unit": "minutes", "measure": "Exercise", "baseline": Decimal(0),
             "target": Decimal(30), "direction": GoalDirection.UP},
            "-5",
            "Must be at least 0 minutes: it cannot be negative.",
        ),
        (
            {**ATTACKS, "unit": "days per week", "measure": "Days with breakfast",
             "baseline": Decimal(2), "target": Decimal(7), "direction": GoalDirection.UP},
            "8",
            "Must be at most 7 days per week: that is the most there can be.",
        ),
    ],
)  # fmt: skip
def test_a_check_in_outside_the_measure_names_the_bound(app, client, auth, goal, value, message):
    lead, _member, record = make_small_team()
    found = make_goal(lead, record, **goal)
    auth.login(lead.email)
    url = f"/clients/{record.id}/goals/{found.id}/progress"
    response = auth.post(url, {"measured_on": YESTERDAY, "value": value, "comment": "Typed"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'id="value-error"' in page
    assert f'value="{value}"' in page and "Typed" in page  # nothing typed is lost
    assert db.session.scalar(select(func.count()).select_from(GoalProgress)) == 0


def test_a_negative_value_is_fine_when_the_goal_itself_has_one(app):
    lead, _member, record = make_small_team()
    goal = make_goal(
        lead, record, **{**ATTACKS, "unit": "kg change", "baseline": Decimal(-2),
                         "target": Decimal(0), "direction": GoalDirection.UP},
    )  # fmt: skip
    checkin = services.check_in(
        actor=lead, client=record, goal=goal, measured_on=date.today(), value=Decimal(-3)
    )
    assert checkin.value == Decimal(-3)


def test_the_service_and_the_api_refuse_a_negative_count(app, client):
    lead, _member, record = make_small_team()
    goal = make_goal(lead, record, **ATTACKS)
    with pytest.raises(Exception, match="Must be at least 0 attacks per week"):
        services.check_in(
            actor=lead, client=record, goal=goal, measured_on=date.today(), value=Decimal(-1)
        )
    response = client.post(
        f"/api/v1/clients/{record.id}/goals/{goal.id}/progress",
        json={"measured_on": YESTERDAY, "value": -1},
        headers=bearer(make_token(lead)),
    )
    assert response.status_code == 422
    assert "Must be at least 0 attacks per week" in response.get_data(as_text=True)


def test_bounds_follow_the_words_of_the_measure(app):
    lead, _member, record = make_small_team()
    percent = {"unit": "% of meals", "baseline": Decimal(40), "target": Decimal(90)}
    goal = make_goal(lead, record, **{**ATTACKS, **percent, "direction": GoalDirection.UP})
    assert rules.measure_bounds(goal) == rules.Bounds(
        Decimal(0), Decimal(100), "it cannot be negative", "that is the most there can be"
    )


# Item 16: singular labels


def test_one_of_a_unit_is_singular_everywhere_a_check_in_shows(app, client, auth):
    lead, member, record = make_small_team()
    goal = make_goal(lead, record, **ATTACKS)
    services.check_in(
        actor=lead, client=record, goal=goal, measured_on=date.today(), value=Decimal(1)
    )
    post_note(actor=lead, client=record, body="Went well", title="Session")
    auth.login(member.email)
    timeline = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "<strong>1 attack per week</strong>" in timeline
    assert "1 attacks" not in timeline
    assert '<span class="entry-kind">Note</span>' in timeline
    assert '<span class="entry-kind">Notes</span>' not in timeline
    page = client.get(f"/clients/{record.id}/goals/{goal.id}").get_data(as_text=True)
    assert "Target 1 attack per week" in page and "Baseline 4 attacks per week" in page
    assert "1 attacks" not in page


@pytest.mark.parametrize(
    ("count", "unit", "expected"),
    [
        (1, "attacks per week", "attack per week"),
        (Decimal("1.0"), "hours of sleep", "hour of sleep"),
        (2, "attacks per week", "attacks per week"),
        (Decimal("1.5"), "hours", "hours"),
        (0, "meals per day", "meals per day"),
        (1, "glasses of water", "glass of water"),
        (1, "entries", "entry"),
        (1, "calories", "calorie"),
        (1, "headaches a week", "headache a week"),
        (1, "kg", "kg"),
        (1, "/10", "/10"),
        (1, "% of meals", "% of meals"),
        (1, "times per week", "time per week"),
        (1, "Days", "Day"),
    ],
)
def test_unit_for_agrees_with_the_count(count, unit, expected):
    assert unit_for(count, unit) == expected


def test_plural_and_singular():
    assert plural(1, "note") == "1 note" and plural(3, "note") == "3 notes"
    assert plural(2, "person", "people") == "2 people"
    assert singular("status") == "status" and singular("people") == "person"


# Migration 0016 gives each goal's newest event the goal's current values


def test_the_migration_gives_each_goals_newest_event_its_state(
    backend, tmp_path, tmp_root, request
):
    from flask_migrate import downgrade, upgrade

    from careteam import create_app
    from careteam.goals.models import GoalEvent
    from tests.helpers import base_config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'goal-states.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").create_database("careteam_goal_states")
    app = create_app(base_config(url, tmp_root))
    with app.app_context():
        upgrade()
        lead, _member, record = make_small_team()
        goal = make_goal(lead, record, **ATTACKS)
        first = _change(goal, lead, record, target=Decimal(2))
        expected = db.session.get(GoalEvent, first.id).state
        untouched = make_goal(lead, record, **{**ATTACKS, "title": "Sleep"})
        downgrade(revision="0015")
        upgrade()
        db.session.expire_all()
        states = dict(db.session.execute(select(GoalEvent.id, GoalEvent.state)).all())
        created = _created_id(goal)
        assert states[first.id] == expected
        assert states[created] is None  # an older version: its change lines only
        assert states[_created_id(untouched)]["title"] == "Sleep"
        assert Decimal(states[first.id]["target"]) == 2
        db.session.remove()
        db.engine.dispose()
