"""Specific, measurable goals and their progress check-ins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.enums import EntryKind, GoalAchievement, GoalDirection, GoalStatus, enum_check
from careteam.extensions import db, utcnow
from careteam.record.models import Entry

GOAL_STATUS_LABELS = {
    GoalStatus.PROPOSED: "Proposed",
    GoalStatus.ACTIVE: "Active",
    GoalStatus.ON_HOLD: "On hold",
    GoalStatus.COMPLETED: "Completed",
    GoalStatus.CANCELLED: "Cancelled",
}
GOAL_ACHIEVEMENT_LABELS = {
    GoalAchievement.IN_PROGRESS: "In progress",
    GoalAchievement.IMPROVING: "Improving",
    GoalAchievement.WORSENING: "Worsening",
    GoalAchievement.NO_CHANGE: "No change",
    GoalAchievement.ACHIEVED: "Achieved",
}
OPEN_STATUSES = frozenset({GoalStatus.PROPOSED, GoalStatus.ACTIVE, GoalStatus.ON_HOLD})


class GoalLabels:
    """Words for a goal's status, achievement and direction: the goal's and a version's
    (each has `status`, `achievement` and `direction` of its own)."""

    @property
    def status_label(self) -> str:
        return GOAL_STATUS_LABELS[GoalStatus(self.status)]

    @property
    def achievement_label(self) -> str:
        return GOAL_ACHIEVEMENT_LABELS[GoalAchievement(self.achievement)]

    @property
    def direction_label(self) -> str:
        return GoalDirection(self.direction).label


class Goal(GoalLabels, db.Model):
    """A goal's current state; every change to it is also an entry on the timeline.

    `version` is SQLAlchemy's optimistic lock: saving an edit made from a stale page
    fails instead of silently overwriting someone else's change.
    """

    __tablename__ = "goals"
    __table_args__ = (
        enum_check("status", GoalStatus),
        enum_check("achievement", GoalAchievement),
        enum_check("direction", GoalDirection),
        Index("ix_goals_client_status", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    measure: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    target: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    direction: Mapped[str] = mapped_column(String(10))
    target_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(20), default=GoalStatus.ACTIVE)
    achievement: Mapped[str] = mapped_column(String(20), default=GoalAchievement.IN_PROGRESS)
    shared_with_client: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    checkins: Mapped[list[GoalProgress]] = relationship(
        back_populates="goal",
        order_by="(GoalProgress.measured_on, GoalProgress.id)",
        primaryjoin="and_(Goal.id == GoalProgress.goal_id, GoalProgress.superseded_at.is_(None))",
        viewonly=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        """Still being worked on: proposed, active or on hold."""
        return self.status in OPEN_STATUSES

    @property
    def latest(self) -> GoalProgress | None:
        """The most recent current check-in (needs `checkins` loaded)."""
        return self.checkins[-1] if self.checkins else None


class GoalEvent(Entry):
    """A goal was set or changed: the timeline's record of it, with what changed."""

    __tablename__ = "goal_events"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    # "created", or the changed fields as "field: old → new" lines (no free text beyond
    # what the goal itself holds).
    summary: Mapped[str] = mapped_column(Text, default="")
    # The summary only says the description was "rewritten" (it also feeds digests and the
    # client's API, which never showed free text): the texts themselves are kept here, so
    # every earlier value of every field stays in the history. NULL when it did not change.
    description_before: Mapped[str | None] = mapped_column(Text)
    description_after: Mapped[str | None] = mapped_column(Text)
    # The goal as this change left it (what the timeline card shows beside the change, never
    # today's goal): title, measure, unit, baseline, target, direction, target date, owner,
    # status, achievement. NULL for events recorded before it was kept.
    state: Mapped[dict | None] = mapped_column(JSON)

    goal: Mapped[Goal] = relationship()

    __mapper_args__ = {"polymorphic_identity": EntryKind.GOAL}

    @property
    def version(self) -> GoalVersion | None:
        """The goal as this change left it; None for an event older than `state`."""
        return GoalVersion.of(self.state) if self.state else None


def _number(value: Decimal | float | int) -> str:
    """A measurement as JSON text without trailing zeros ("4", "2.5")."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class GoalVersion(GoalLabels):
    """One version of a goal, as a timeline card shows it."""

    title: str
    measure: str
    unit: str
    baseline: Decimal
    target: Decimal
    direction: str
    target_date: date
    owner: str
    status: str
    achievement: str

    @classmethod
    def snapshot(cls, goal: Goal, owner: str) -> dict:
        """What GoalEvent.state keeps of a goal now (JSON: numbers and dates as text);
        `owner` is the owner's name (the relationship may still hold the previous one)."""
        return {
            "title": goal.title,
            "measure": goal.measure,
            "unit": goal.unit,
            "baseline": _number(goal.baseline),
            "target": _number(goal.target),
            "direction": str(goal.direction),
            "target_date": goal.target_date.isoformat(),
            "owner": owner,
            "status": str(goal.status),
            "achievement": str(goal.achievement),
        }

    @classmethod
    def of(cls, state: dict) -> GoalVersion:
        return cls(
            title=state["title"],
            measure=state["measure"],
            unit=state["unit"],
            baseline=Decimal(state["baseline"]),
            target=Decimal(state["target"]),
            direction=state["direction"],
            target_date=date.fromisoformat(state["target_date"]),
            owner=state.get("owner", ""),
            status=state["status"],
            achievement=state["achievement"],
        )


class GoalProgress(Entry):
    """A measurement of a goal on a date."""

    __tablename__ = "goal_progress"

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id"), index=True)
    measured_on: Mapped[date]
    value: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    comment: Mapped[str] = mapped_column(Text, default="")

    goal: Mapped[Goal] = relationship(back_populates="checkins")

    __mapper_args__ = {"polymorphic_identity": EntryKind.GOAL_PROGRESS}
