"""Helpers of the alert tests (tests/test_alerts.py, tests/test_alerts_at_send_time.py):
a team with every kind of recipient, an urgent note, its outbox row and deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from careteam.admin.services import set_active
from careteam.alerts import services as alerts
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.digests.services import preference_for
from careteam.enums import Discipline, Role
from careteam.extensions import db
from careteam.record.models import Note
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider, make_user

BASE_URL = "https://care.example.org"
NOTE_TITLE = "Said goodbye to friends"
NOTE_BODY = "Gave away belongings and stopped eating; safety plan reviewed"


@dataclass
class Team:
    author: User
    reader: User  # alerts on (the default)
    muted: User  # alerts off
    ended: User  # membership ended
    gone: User  # account deactivated
    record: Client


def make_team(app) -> Team:
    """An author, a reader (alerts on), a muted member, an ended member and a deactivated one
    on one client; the client's first alert (its level of care) fanned out to no one."""
    assert app.config["ALERT_RELAY"] == "off", "no relay thread in unit tests"
    author = make_provider(Discipline.PSYCHIATRIST, name="Ann Author")
    reader = make_provider(Discipline.THERAPIST, name="Ray Reader")
    muted = make_provider(Discipline.DIETITIAN, name="Mo Muted")
    ended = make_provider(Discipline.CASE_MANAGER, name="Ed Ended")
    gone = make_provider(Discipline.OTHER, name="Gail Gone")
    record = make_client(author, name="Avery Jordan Quinn")
    # Its initial level of care is an alert too; fanned out now it reaches no one.
    for alert_id in alerts.unprocessed_alerts(older_than=timedelta(0)):
        assert alerts.fan_out(alert_id) == 0
    for user in (reader, muted, ended, gone):
        add_member(record, user, author)
    ended_row = next(m for m in record.members if m.provider_id == ended.id)
    client_services.end_member(actor=author, client=record, member_id=ended_row.id)
    preference_for(muted).alerts_enabled = False
    db.session.commit()
    set_active(actor=make_user(Role.ADMIN), user=gone, active=False)
    return Team(author, reader, muted, ended, gone, record)


def urgent_note(team: Team, **kwargs) -> Note:
    kwargs = {"title": NOTE_TITLE, "body": NOTE_BODY, "urgent": True, **kwargs}
    return post_note(actor=team.author, client=team.record, **kwargs)


def alert_for(entry) -> OutboxAlert:
    return db.session.scalars(select(OutboxAlert).where(OutboxAlert.entry_id == entry.id)).one()


def deliveries(alert: OutboxAlert) -> dict[int, AlertDelivery]:
    rows = db.session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id))
    return {row.user_id: row for row in rows}


def bodies(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )
