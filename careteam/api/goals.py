"""The goals resource: a client's goals to read (a client: those shared with them), and
for the care team to set, change (optimistic lock) and check in on.

A goal's state is its own resource (with `version`); setting, changing and checking in
also add entries to the timeline, which careteam/api/entries/ serves.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Literal

from flask import abort
from flask_login import current_user
from pydantic import MISSING, BaseModel, Field

from careteam.access import Action, ClientAccess, load_client
from careteam.api.blueprint import CLIENT, bp
from careteam.api.clients import audit_read, load_record
from careteam.api.entries.bodies import Measurement, ProgressIn
from careteam.api.entries.output import EntryOut
from careteam.api.entries.writes import created, refuse, save_progress
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem, FieldError
from careteam.api.schemas import PersonOut, WriteIn, person_out
from careteam.enums import GoalAchievement, GoalDirection, GoalStatus
from careteam.extensions import db
from careteam.goals import services as goals
from careteam.goals.models import Goal
from careteam.goals.rules import NEW_GOAL_STATUSES, TEXT_LIMITS, goal_problems
from careteam.input_guard import MAX_ID
from careteam.portal.services import get_shared_goal, shared_goals_query
from careteam.timefmt import local_today

GOAL = f"{CLIENT}/goals/<int:goal_id>"
RECENT_CHECKINS = 50


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


UserId = Annotated[int, Field(ge=1, le=MAX_ID)]
NewGoalStatus = Literal[tuple(status.value for status in NEW_GOAL_STATUSES)]


class GoalIn(WriteIn):
    """A new goal: what is measured, from where to where, by when, owned by whom."""

    title: str = Field(max_length=TEXT_LIMITS["title"])
    description: str = Field(default="", max_length=TEXT_LIMITS["description"])
    measure: str = Field(max_length=TEXT_LIMITS["measure"], examples=["panic attacks"])
    unit: str = Field(max_length=TEXT_LIMITS["unit"], examples=["per week"])
    baseline: Measurement = Field(description="The value when the goal is set.")
    target: Measurement
    direction: GoalDirection = Field(description="up: higher is better; down: lower is better.")
    target_date: date = Field(description="Not in the past.")
    owner_id: UserId | None = Field(
        default=None, description="A user on the care team now; you when left out."
    )
    status: NewGoalStatus = GoalStatus.ACTIVE.value
    shared_with_client: bool = Field(
        default=False, description="The client sees the goal and its check-ins."
    )


class GoalChangeIn(WriteIn):
    """A change to a goal: `version` as read, and only the fields to change."""

    version: int = Field(
        ge=1,
        le=MAX_ID,
        description="The goal's version you read. If it has changed since, nothing is saved "
        "and the answer is 409: read the goal again and decide.",
    )
    title: str | MISSING = Field(default=MISSING, max_length=TEXT_LIMITS["title"])
    description: str | MISSING = Field(default=MISSING, max_length=TEXT_LIMITS["description"])
    measure: str | MISSING = Field(default=MISSING, max_length=TEXT_LIMITS["measure"])
    unit: str | MISSING = Field(default=MISSING, max_length=TEXT_LIMITS["unit"])
    baseline: Measurement | MISSING = MISSING
    target: Measurement | MISSING = MISSING
    direction: GoalDirection | MISSING = MISSING
    target_date: date | MISSING = Field(
        default=MISSING, description="Not in the past, unless it is the goal's current date."
    )
    owner_id: UserId | MISSING = MISSING
    status: GoalStatus | MISSING = MISSING
    achievement: GoalAchievement | MISSING = MISSING
    shared_with_client: bool | MISSING = MISSING


@bp.get("/clients/<int:client_id>/goals")
@operation(
    summary="The client's goals (a client: those shared with them)",
    responses={200: GoalList},
    tags=["Record"],
)
def list_goals(client_id: int):
    access, shared = load_record(client_id)
    stmt = (shared_goals_query if shared else goals.goals_query)(access.client)
    found = db.session.scalars(stmt).unique()
    out = GoalList(items=[goal_out(g) for g in found])
    audit_read("view_shared_record" if shared else "view_goals", "client", client_id, client_id)
    return out


@bp.get("/clients/<int:client_id>/goals/<int:goal_id>")
@operation(
    summary="One goal with its version (for changes) and recent check-ins",
    responses={200: GoalDetailOut},
    tags=["Record"],
)
def get_goal(client_id: int, goal_id: int):
    access, shared = load_record(client_id)
    try:
        goal = (get_shared_goal if shared else goals.get_goal)(access.client, goal_id)
    except LookupError:
        raise ApiProblem(404, "No such goal in this record.") from None
    out = goal_out(goal, checkins=RECENT_CHECKINS)
    audit_read("view_shared_goal" if shared else "view_goal", "goal", goal.id, client_id)
    return out


# Writing


def _load_goal(client_id: int, goal_id: int) -> tuple[ClientAccess, Goal]:
    access = load_client(client_id, Action.POST_GOAL)
    try:
        return access, goals.get_goal(access.client, goal_id)
    except LookupError:
        abort(404)


def _goal_path(goal: Goal) -> str:
    return f"{bp.url_prefix}/clients/{goal.client_id}/goals/{goal.id}"


def _fields_of(goal: Goal) -> goals.GoalFields:
    return goals.GoalFields(
        **{field.name: getattr(goal, field.name) for field in dataclasses.fields(goals.GoalFields)}
    )


@bp.post(f"{CLIENT}/goals")
@operation(
    summary="Set a goal",
    body=GoalIn,
    responses={201: GoalOut},
    description="Any member of the care team. The target must lie on the better side of "
    "the baseline for `direction`, the target date not in the past, and the owner on the "
    "team now.",
)
def create_goal(client_id: int, body: GoalIn):
    access = load_client(client_id, Action.POST_GOAL)
    values = body.model_dump()
    if values["owner_id"] is None:
        values["owner_id"] = current_user.id
    fields = goals.GoalFields(**values)
    refuse(goal_problems(fields, today=local_today()))
    goal = goals.create_goal(actor=current_user, client=access.client, fields=fields)
    goal = goals.get_goal(access.client, goal.id)
    return goal_out(goal), 201, {"Location": _goal_path(goal)}


@bp.patch(GOAL)
@operation(
    summary="Change a goal",
    body=GoalChangeIn,
    responses={200: GoalOut},
    description="Send `version` as you read it and only the fields to change. If someone "
    "changed the goal since, nothing is saved and the answer is 409 with the current "
    "version (in `errors` at /version): read the goal again, decide, and send the change "
    "with that version. The timeline records what changed.",
)
def change_goal(client_id: int, goal_id: int, body: GoalChangeIn):
    access, goal = _load_goal(client_id, goal_id)
    if body.version != goal.version:
        _conflict(access, goal_id, body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    fields = dataclasses.replace(_fields_of(goal), **changes)
    refuse(goal_problems(fields, today=local_today(), current=goal))
    try:
        goals.update_goal(
            actor=current_user,
            client=access.client,
            goal=goal,
            fields=fields,
            expected_version=body.version,
        )
    except goals.GoalConflict:
        _conflict(access, goal_id, body.version)
    db.session.expire_all()
    return goal_out(goals.get_goal(access.client, goal_id))


def _conflict(access: ClientAccess, goal_id: int, sent: int):
    current = goals.committed_version(access.client, goal_id)
    raise ApiProblem(
        409,
        f"Someone changed this goal after version {sent}; it is now at version {current}. "
        "Nothing was saved. Read the goal again, then send your change with that version.",
        errors=[FieldError(pointer="/version", detail=f"The goal is at version {current}.")],
    )


@bp.post(f"{GOAL}/progress")
@operation(
    summary="Check in on a goal",
    body=ProgressIn,
    responses={201: EntryOut},
    description="Any member of the care team: the value of the goal's measure on a date "
    "(not in the future). Shared with the client when the goal is.",
)
def create_progress(client_id: int, goal_id: int, body: ProgressIn):
    access, goal = _load_goal(client_id, goal_id)
    return created(save_progress(access, body, goal=goal))
