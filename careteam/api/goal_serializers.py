"""Goals as JSON: the goal's current state (with `version`) and its recent check-ins."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from careteam.api.serializers import PersonOut, person_out
from careteam.enums import GoalAchievement, GoalDirection, GoalStatus


class CheckInOut(BaseModel):
    """A goal's check-in as the goal lists it."""

    id: int
    measured_on: date
    value: float
    comment: str
    author: PersonOut


class GoalOut(BaseModel):
    """A goal's current state. Send `version` back when changing it (optimistic lock)."""

    id: int
    client_id: int
    title: str
    description: str
    measure: str
    unit: str
    baseline: float
    target: float
    direction: GoalDirection
    target_date: date
    owner: PersonOut
    status: GoalStatus
    achievement: GoalAchievement
    shared_with_client: bool
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Changes with every edit; a stale version gets 409.")
    latest_checkin: CheckInOut | None = None


class GoalDetailOut(GoalOut):
    checkins: list[CheckInOut] = Field(description="The most recent check-ins, oldest first.")


GOAL_FIELDS = (
    "id",
    "client_id",
    "title",
    "description",
    "measure",
    "unit",
    "direction",
    "target_date",
    "status",
    "achievement",
    "shared_with_client",
    "created_at",
    "updated_at",
    "version",
)


def _checkin(progress) -> CheckInOut:
    return CheckInOut(
        id=progress.id,
        measured_on=progress.measured_on,
        value=float(progress.value),
        comment=progress.comment,
        author=person_out(progress.author),
    )


def goal_out(goal, *, checkins: int | None = None) -> GoalOut:
    """A goal (with `owner` and `checkins` loaded); with `checkins`, the latest N of them."""
    latest = goal.checkins[-1] if goal.checkins else None
    values = {name: getattr(goal, name) for name in GOAL_FIELDS}
    values.update(
        baseline=float(goal.baseline),
        target=float(goal.target),
        owner=person_out(goal.owner),
        latest_checkin=_checkin(latest) if latest else None,
    )
    if checkins is None:
        return GoalOut(**values)
    recent = goal.checkins[-checkins:] if checkins else []
    return GoalDetailOut(**values, checkins=[_checkin(c) for c in recent])


class GoalList(BaseModel):
    """A client's goals: open ones first, then by target date."""

    items: list[GoalOut]
