"""Demo goals: two measurable goals with a few weeks of check-ins and a change or two."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import GoalAchievement, GoalDirection
from careteam.extensions import db
from careteam.goals.models import Goal, GoalEvent
from careteam.goals.services import GoalFields, check_in, create_goal, update_goal

# (days ago, value, comment)
PANIC_CHECKINS = [
    (24, "6", "Most mornings before class."),
    (17, "5", ""),
    (10, "4", "Used box breathing twice when an attack started."),
    (3, "3", "None on the weekend for the first time."),
]
MEAL_CHECKINS = [
    (13, "1", "Dinner only; skips breakfast and lunch."),
    (10, "1.5", "Breakfast on three days."),
    (6, "2", "Breakfast most days now."),
    (2, "1.5", "Skipped lunch on exam days."),
]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def _set_goal(actor: User, client: Client, fields: GoalFields, day: date) -> Goal:
    goal = create_goal(actor=actor, client=client, fields=fields, today=day)
    goal.created_at = goal.updated_at = _at(day, 10)
    event = db.session.scalars(select(GoalEvent).where(GoalEvent.goal_id == goal.id)).one()
    event.created_at = goal.created_at
    db.session.commit()
    return goal


def _check_ins(actor: User, client: Client, goal: Goal, rows, today: date) -> None:
    for days_ago, value, comment in rows:
        day = today - timedelta(days=days_ago)
        entry = check_in(
            actor=actor,
            client=client,
            goal=goal,
            measured_on=day,
            value=Decimal(value),
            comment=comment,
            today=day,
        )
        entry.created_at = _at(day, 17)
        db.session.commit()


def _change(actor: User, client: Client, goal: Goal, fields: GoalFields, day: date) -> None:
    event = update_goal(
        actor=actor,
        client=client,
        goal=goal,
        fields=fields,
        expected_version=goal.version,
        today=day,
    )
    if event is not None:
        event.created_at = goal.updated_at = _at(day, 12)
        db.session.commit()


def seed_demo(client: Client, author: User, other: User) -> list[Goal]:
    """Add two goals with weeks of check-ins; `author` and `other` are active members.

    "Fewer panic attacks" (lower is better, shared with the client) is the author's;
    "Regular meals" (higher is better, team only) is set and tracked by `other`.
    Everything is back-dated so the timeline and charts read like weeks of care.
    """
    today = date.today()
    panic_fields = GoalFields(
        title="Fewer panic attacks",
        description="Alex wants to get through a school week without panic attacks "
        "stopping them from going to class.",
        measure="Panic attacks",
        unit="attacks per week",
        baseline=Decimal(6),
        target=Decimal(1),
        direction=GoalDirection.DOWN,
        target_date=today + timedelta(days=60),
        owner_id=author.id,
        shared_with_client=True,
    )
    panic = _set_goal(author, client, panic_fields, today - timedelta(days=24))
    meals_fields = GoalFields(
        title="Regular meals",
        description="Three meals a day on the structured meal plan.",
        measure="Meals eaten",
        unit="meals per day",
        baseline=Decimal(1),
        target=Decimal(3),
        direction=GoalDirection.UP,
        target_date=today + timedelta(days=45),
        owner_id=other.id,
    )
    meals = _set_goal(other, client, meals_fields, today - timedelta(days=13))

    _check_ins(author, client, panic, PANIC_CHECKINS[:3], today)
    _change(
        author,
        client,
        panic,
        replace(panic_fields, achievement=GoalAchievement.IMPROVING),
        today - timedelta(days=9),
    )
    _check_ins(author, client, panic, PANIC_CHECKINS[3:], today)
    _check_ins(other, client, meals, MEAL_CHECKINS[:3], today)
    _change(
        other,
        client,
        meals,
        replace(meals_fields, achievement=GoalAchievement.IMPROVING),
        today - timedelta(days=6),
    )
    _check_ins(other, client, meals, MEAL_CHECKINS[3:], today)
    _change(
        other,
        client,
        meals,
        replace(meals_fields, achievement=GoalAchievement.NO_CHANGE),
        today - timedelta(days=2),
    )
    return [panic, meals]
