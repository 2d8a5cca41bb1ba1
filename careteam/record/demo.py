"""Demo notes: a few weeks of coordination between the providers of one client."""

from __future__ import annotations

from datetime import timedelta

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import Visibility
from careteam.extensions import db, utcnow
from careteam.record.services import post_note

NOTES = [
    (20, "therapist", "Intake summary", "Alex reports panic attacks most days and skipped "
     "meals when anxious. Agreed on **weekly sessions** and coordination with psychiatry "
     "and nutrition.", Visibility.TEAM, False),
    (18, "therapist", "", "Process notes from session 2 (psychotherapy notes).",
     Visibility.PRIVATE, False),
    (13, "dietitian", "First nutrition session", "Started a structured meal plan: three "
     "meals and two snacks. Alex prefers not to see weights; I will record them blind.",
     Visibility.TEAM, False),
    (9, "psychiatrist", "Medication review", "Tolerating sertraline; mild nausea in the "
     "first week, now resolved. Plan to increase the dose next visit.", Visibility.TEAM, False),
    (6, "therapist", "Practising box breathing", "Alex practised box breathing four times "
     "this week and found it helpful before meals.", Visibility.CLIENT, False),
    (2, "dietitian", "Skipped meals again", "Alex skipped lunch three days this week after "
     "a stressful exam. Please check in about this in session.", Visibility.TEAM, True),
]  # fmt: skip


def seed_demo(client: Client, providers: dict[str, User]) -> None:
    """Add back-dated notes by the therapist, psychiatrist and dietitian."""
    now = utcnow()
    for days_ago, who, title, body, visibility, urgent in NOTES:
        note = post_note(
            actor=providers[who],
            client=client,
            title=title,
            body=body,
            visibility=visibility,
            urgent=urgent,
        )
        note.created_at = now - timedelta(days=days_ago, hours=3)
    db.session.commit()
