"""The shared record's timeline: every entry of every kind, append-only.

Each kind of entry is a subclass of Entry with a table of its own (joined-table
inheritance), so the timeline is one query over `entries`. An entry is never edited or
deleted: a correction is a new entry that supersedes it (`supersedes_id`), and the old
one is only marked `superseded_at`. Both stay in the history.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, with_polymorphic

from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, Client, LevelOfCareChange
from careteam.enums import EntryKind, Visibility, enum_check
from careteam.extensions import db, utcnow


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
        return EntryKind(self.kind).label


class Note(Entry):
    """A coordination note in Markdown; private notes are the author's alone."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)

    __mapper_args__ = {"polymorphic_identity": EntryKind.NOTE}


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


@cache
def entries_of_every_kind():
    """Entry with every kind's own columns, for queries that return mixed kinds.

    Built once, when first used (create_app has registered every kind by then): building
    it per query cost milliseconds and defeated SQLAlchemy's statement cache.
    """
    return with_polymorphic(Entry, "*", flat=True)
