"""Demo practice: box breathing, daily, with three weeks of the client's logs."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import PracticePeriod
from careteam.extensions import db
from careteam.practice.models import PracticeAssignment
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice, client_today, log_practice

# (days ago, rating, reflection): steady at first, fewer logs in the last full week.
LOGS = [
    (20, 3, "Felt silly at first but it slowed my heart down."),
    (19, None, ""),
    (18, 4, ""),
    (17, 4, "Did it on the bus before class."),
    (16, 3, ""),
    (15, 5, "Used it when I felt a panic attack starting. It helped."),
    (13, 4, ""),
    (12, 4, ""),
    (11, 3, ""),
    (10, None, ""),
    (8, 4, ""),
    (6, 2, "Exams week. Forgot most days."),
    (2, 3, ""),
    (1, 4, "Back to it."),
]


def seed_demo(client: Client, author: User, client_user: User) -> PracticeAssignment:
    """Assign daily box breathing three weeks ago and log the client's practice since."""
    today = client_today(client)
    start = today - timedelta(days=21)
    assignment = assign_practice(
        actor=author,
        client=client,
        fields=AssignmentFields(
            skill="Box breathing",
            instructions=(
                "Breathe in for **4**, hold for **4**, out for **4**, hold for **4**. "
                "Four rounds, once a day, and whenever panic starts to build."
            ),
            target_count=1,
            period=PracticePeriod.DAY,
            starts_on=start,
        ),
    )
    assignment.created_at = datetime.combine(start, time(15), UTC)
    db.session.commit()
    for days_ago, rating, reflection in LOGS:
        day = today - timedelta(days=days_ago)
        log = log_practice(
            actor=client_user,
            client=client,
            assignment=assignment,
            practised_on=day,
            rating=rating,
            reflection=reflection,
            today=today,
        )
        log.created_at = datetime.combine(day, time(20), UTC)
    db.session.commit()
    return assignment
