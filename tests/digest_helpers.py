"""Helpers of the digest tests (tests/test_digests.py, tests/test_digest_delivery.py): a
team of three providers on two clients whose digests are all sent, windows and notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests import services
from careteam.enums import Discipline
from careteam.extensions import db, utcnow
from careteam.record.models import Entry
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider
from tests.harness import SMTPSink

NOTE_TITLE = "Panic attack at school"
NOTE_BODY = "Reported chest pain and dizziness during the maths exam"


@dataclass
class Team:
    author: User  # the team lead, who writes most entries
    reader: User  # a member whose digest the tests read
    other: User  # a second member
    record: Client  # "Avery Quinn", both members on the team
    second: Client  # "Blake Morgan", the reader on the team too


def make_team(sink: SMTPSink) -> Team:
    """Two clients, three providers, every digest sent up to now (the sink emptied)."""
    author = make_provider(Discipline.PSYCHIATRIST, name="Ann Author")
    reader = make_provider(Discipline.THERAPIST, name="Ray Reader")
    other = make_provider(Discipline.DIETITIAN, name="Olga Other")
    record = make_client(author, name="Avery Quinn")
    add_member(record, reader, author)
    add_member(record, other, author)
    second = make_client(author, name="Blake Morgan")
    add_member(second, reader, author)
    settle(reader, other, author)
    sink.clear()
    return Team(author, reader, other, record, second)


def settle(*users: User) -> None:
    """Send each user's digest up to now, so later windows hold only what follows."""
    ids = [services.open_window(user.id, utcnow()) for user in users]
    db.session.commit()
    outcome = services.send_batch([i for i in ids if i is not None])
    assert not outcome.retry and not outcome.failed, outcome


def next_window(user: User) -> datetime:
    """The user's next scheduled time: passing it as `now` makes the digest due."""
    db.session.expire_all()
    due = services.preference_for(user).next_due_at
    db.session.commit()
    assert due is not None
    return due


def ticked(due: datetime) -> datetime:
    """The beat tick that opens a window ending at `due`: DIGEST_SETTLE_SECONDS after it."""
    return due + timedelta(seconds=current_app.config["DIGEST_SETTLE_SECONDS"])


def written_at(when: datetime, since: datetime) -> None:
    """Date every entry written after `since` at `when`, as if written then.

    Windows here end at the user's next scheduled time, in the future; an entry that
    belongs to a later window is moved past the end of the earlier one.
    """
    written = Entry.created_at.between(since, utcnow())  # not those moved already
    db.session.execute(update(Entry).where(written).values(created_at=when))
    db.session.commit()


def note(team: Team, **kwargs):
    kwargs.setdefault("body", NOTE_BODY)
    kwargs.setdefault("title", NOTE_TITLE)
    return post_note(actor=team.author, client=kwargs.pop("client", team.record), **kwargs)
