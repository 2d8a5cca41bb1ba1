"""The shared record's timeline: every entry of every kind, append-only.

Each kind of entry is a subclass of Entry with a table of its own (joined-table
inheritance), so the timeline is one query over `entries`. An entry is never edited or
deleted: a correction is a new entry that supersedes it (`supersedes_id`), and the old
one is only marked `superseded_at`. Both stay in the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, with_polymorphic

from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, Client, LevelOfCareChange
from careteam.enums import EntryKind, MemberStatus, Visibility, enum_check
from careteam.extensions import db, utcnow

if TYPE_CHECKING:
    from careteam.clients.models import CareTeamMember


class Entry(db.Model):
    """One item on a client's timeline."""

    __tablename__ = "entries"
    __table_args__ = (
        enum_check("kind", EntryKind),
        enum_check("visibility", Visibility),
        # The timeline: a client's current entries, newest first (keyset on created_at, id).
        Index(
            "ix_entries_client_current_created", "client_id", "superseded_at", "created_at", "id"
        ),
        # Unread counts per client since a visit.
        Index("ix_entries_client_created", "client_id", "created_at"),
        Index("ix_entries_author", "author_id"),
        # A client's entries of one kind: medication changes and practice assignments to
        # act on (Needs my attention), a kind filter on the timeline.
        Index("ix_entries_client_kind_created", "client_id", "kind", "created_at"),
        # A client's urgent notes, a few among many: Needs my attention, the pinned notes.
        Index(
            "ix_entries_client_urgent",
            "client_id",
            "superseded_at",
            "created_at",
            sqlite_where=text("urgent = 1"),
            postgresql_where=text("urgent"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.TEAM)
    urgent: Mapped[bool] = mapped_column(default=False)
    # An amendment points at the version it replaces; a version is replaced at most once.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)
    superseded_at: Mapped[datetime | None]
    # The first version of an amended entry; the whole history is one query on it.
    root_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)

    client: Mapped[Client] = relationship()
    author: Mapped[User] = relationship()
    supersedes: Mapped[Entry | None] = relationship(remote_side=[id], foreign_keys=[supersedes_id])

    @property
    def history_root_id(self) -> int:
        return self.root_id or self.id

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "entry"}

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None

    @property
    def is_amendment(self) -> bool:
        return self.supersedes_id is not None

    @property
    def kind_label(self) -> str:
        """What one entry is ("Note", not the filter's "Notes")."""
        return EntryKind(self.kind).singular


class Acknowledged:
    """Who on the team has seen an entry that asks for it (medication changes, urgent
    notes): the class has an `acknowledgements` relationship of rows with `user_id`.

    Works on loaded data only (the acknowledgements and the members' providers), so a page
    that eager-loads them issues no query here.
    """

    @property
    def needs_acknowledgement(self) -> bool:
        return True

    def acknowledged_by(self, user_id: int) -> bool:
        return any(ack.user_id == user_id for ack in self.acknowledgements)

    def awaiting(self, team: Iterable[CareTeamMember]) -> list[User]:
        """Active team members other than the author who have not acknowledged yet."""
        if not self.needs_acknowledgement:
            return []
        seen = {ack.user_id for ack in self.acknowledgements}
        waiting = [
            member.provider
            for member in team
            if member.status == MemberStatus.ACTIVE
            and member.provider_id != self.author_id
            and member.provider_id not in seen
        ]
        return sorted(waiting, key=lambda user: (user.display_name.casefold(), user.id))

    def may_acknowledge(self, user: User, team: Iterable[CareTeamMember]) -> bool:
        """Whether `user` may acknowledge this entry now: an active member, not the author."""
        if (
            not self.needs_acknowledgement
            or not self.is_current
            or user.id == self.author_id
            or self.acknowledged_by(user.id)
        ):
            return False
        return any(
            member.provider_id == user.id and member.status == MemberStatus.ACTIVE
            for member in team
        )


class Note(Acknowledged, Entry):
    """A coordination note in Markdown; private notes are the author's alone.

    An urgent note the team can see asks each member to acknowledge it ("Seen"), as a
    medication change does; until they have, it stays pinned at the top of their timeline.
    """

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)

    acknowledgements: Mapped[list[NoteAck]] = relationship(
        back_populates="note", order_by="NoteAck.acknowledged_at"
    )

    __mapper_args__ = {"polymorphic_identity": EntryKind.NOTE}

    @property
    def needs_acknowledgement(self) -> bool:
        """Only an urgent note the team can see asks to be acknowledged."""
        return bool(self.urgent) and self.visibility != Visibility.PRIVATE


class NoteAck(db.Model):
    """A team member has seen an urgent note."""

    __tablename__ = "note_acks"
    __table_args__ = (UniqueConstraint("note_id", "user_id", name="uq_note_acks_note_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[Note] = relationship(back_populates="acknowledgements")
    user: Mapped[User] = relationship()


class LevelOfCareEntry(Entry):
    """A level-of-care change as it appears on the timeline."""

    __tablename__ = "level_of_care_entries"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("level_of_care_changes.id"), unique=True)

    change: Mapped[LevelOfCareChange] = relationship()

    __mapper_args__ = {"polymorphic_identity": EntryKind.LEVEL_OF_CARE}


class TeamEntry(Entry):
    """Someone joined or left the care team, as it appears on the timeline."""

    __tablename__ = "team_entries"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("care_team_changes.id"), unique=True)

    change: Mapped[CareTeamChange] = relationship()

    __mapper_args__ = {"polymorphic_identity": EntryKind.TEAM}


class RecordVisit(db.Model):
    """When a user last opened a client's timeline, for "unread" markers and counts."""

    __tablename__ = "record_visits"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id", name="uq_record_visits_user_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The visit before the last one (None: there was none). The filtered and older pages
    # of the timeline mark New what the last whole first page marked New, from this, so
    # their links carry no time of their own.
    previous_seen_at: Mapped[datetime | None]


@cache
def entries_of_every_kind():
    """Entry with every kind's own columns, for queries that return mixed kinds.

    Built once, when first used (create_app has registered every kind by then): building
    it per query cost milliseconds and defeated SQLAlchemy's statement cache.
    """
    return with_polymorphic(Entry, "*", flat=True)
