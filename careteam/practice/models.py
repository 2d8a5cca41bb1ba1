"""Practice between sessions: a skill assigned to practise, and the client's logs of it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.enums import EntryKind, PracticePeriod, PracticeStatus, enum_check
from careteam.extensions import db, utcnow
from careteam.record.models import Entry

MAX_TARGET = {PracticePeriod.DAY: 10, PracticePeriod.WEEK: 50}


class PracticeAssignment(Entry):
    """A skill to practise so many times a day or a week, from a start date.

    Like every entry it is never edited: a correction or the end of the assignment is a
    new version that supersedes it. Logs point at the first version (`history_root_id`),
    so they follow the assignment through its versions.
    """

    __tablename__ = "practice_assignments"
    __table_args__ = (
        enum_check("period", PracticePeriod),
        enum_check("status", PracticeStatus),
        CheckConstraint("target_count BETWEEN 1 AND 50", name="target_count_valid"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    target_count: Mapped[int]
    period: Mapped[str] = mapped_column(String(10))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10), default=PracticeStatus.ACTIVE)

    __mapper_args__ = {"polymorphic_identity": EntryKind.PRACTICE}

    @property
    def is_active(self) -> bool:
        return self.status == PracticeStatus.ACTIVE

    @property
    def target_label(self) -> str:
        """ "3 times a week", "once a day"."""
        times = {1: "once", 2: "twice"}.get(self.target_count, f"{self.target_count} times")
        return f"{times} {PracticePeriod(self.period).label}"

    @property
    def weekly_target(self) -> int:
        """How many practices make a full week."""
        per_day = self.period == PracticePeriod.DAY
        return self.target_count * 7 if per_day else self.target_count


class PracticeLog(db.Model):
    """The client practised an assignment on a day, with an optional rating and reflection.

    Not an entry: logs would flood the timeline. They roll up into adherence.
    """

    __tablename__ = "practice_logs"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_valid"),
        # Adherence: an assignment's logs by day.
        Index("ix_practice_logs_assignment_practised", "assignment_id", "practised_on"),
        # The client's recent logs.
        Index("ix_practice_logs_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The assignment's first version: logs follow it through amendments.
    assignment_id: Mapped[int] = mapped_column(ForeignKey("practice_assignments.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    practised_on: Mapped[date]
    rating: Mapped[int | None]
    reflection: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[PracticeAssignment] = relationship(foreign_keys=[assignment_id])
