"""Urgent notes are acknowledged like medication changes: who has seen one ("Seen"), and
the ones a member has not, pinned at the top of their timeline and listed in Needs my
attention until they have."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from careteam import audit
from careteam.access import ClientAccess
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import MemberStatus, Visibility
from careteam.extensions import db
from careteam.record.models import Entry, Note, NoteAck
from careteam.record.services import EntryError


def awaiting_acknowledgement(viewer: User, entity=Note) -> ColumnElement[bool]:
    """In SQL: a current urgent note the team can see, by someone else, that the viewer has
    not acknowledged (the "Seen" button). The caller limits it to the viewer's teams."""
    acked = exists().where(NoteAck.note_id == entity.id, NoteAck.user_id == viewer.id)
    return and_(
        # `= true`, not `IS true`: the partial index ix_entries_client_urgent matches it.
        entity.urgent == true(),
        entity.visibility != Visibility.PRIVATE,
        entity.superseded_at.is_(None),
        entity.author_id != viewer.id,
        ~acked,
    )


PINNED_LIMIT = 20


def pinned_for(viewer: User, access: ClientAccess) -> list[Note]:
    """The urgent notes pinned at the top of the viewer's timeline: only an active member
    acknowledges (not someone reading under emergency access)."""
    membership = access.membership
    if (
        access.emergency is not None
        or membership is None
        or membership.status != MemberStatus.ACTIVE
    ):
        return []
    return pinned_urgent(viewer, access.client, membership.started_at)


def pinned_urgent(viewer: User, client: Client, member_since: datetime) -> list[Note]:
    """The urgent notes the viewer has not acknowledged, posted since they joined the team,
    newest first: pinned at the top of their timeline until they press "Seen"."""
    return list(
        db.session.scalars(
            select(Note)
            .where(
                Note.client_id == client.id,
                Note.created_at >= member_since,
                awaiting_acknowledgement(viewer),
            )
            .options(
                joinedload(Note.author),
                selectinload(Note.acknowledgements).joinedload(NoteAck.user),
            )
            .order_by(Note.created_at.desc(), Note.id.desc())
            .limit(PINNED_LIMIT)
        ).unique()
    )


def acknowledge_note(*, actor: User, client: Client, note: Entry) -> bool:
    """Record that a team member has seen an urgent note ("Seen").

    Idempotent: a second time keeps one acknowledgement and returns False. The caller
    loaded the note through the access policy (an active member may see it).
    """
    if not isinstance(note, Note) or not note.needs_acknowledgement:
        raise EntryError("Only urgent notes the team can see are acknowledged.")
    if note.author_id == actor.id:
        raise EntryError("You wrote this note, so there is nothing to acknowledge.")
    if not note.is_current:
        raise EntryError("This note was amended. Acknowledge the newest version instead.")
    already = db.session.scalar(
        select(NoteAck.id).where(NoteAck.note_id == note.id, NoteAck.user_id == actor.id)
    )
    if already is not None:
        return False
    return store(
        NoteAck(note_id=note.id, user_id=actor.id),
        action="acknowledge_note",
        entry=note,
        client=client,
        actor=actor,
    )


def store(ack: db.Model, *, action: str, entry: Entry, client: Client, actor: User) -> bool:
    """Save one member's acknowledgement of an entry (a note's or a medication change's),
    audited, in one commit; False when a concurrent click already saved it."""
    db.session.add(ack)
    audit.record(action, object_type="entry", object_id=entry.id, client_id=client.id, actor=actor)
    try:
        db.session.commit()
    except IntegrityError:
        # Two clicks raced; the other one recorded the acknowledgement.
        db.session.rollback()
        return False
    return True
