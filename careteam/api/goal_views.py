"""The API's writes of goals: set one, change one (optimistic lock), check in on one."""

from __future__ import annotations

import dataclasses

from flask import abort
from flask_login import current_user

from careteam.access import Action, ClientAccess, load_client
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem, FieldError
from careteam.api.serializers import EntryOut, GoalOut, goal_out
from careteam.api.views import bp
from careteam.api.write_schemas import GoalChangeIn, GoalIn, ProgressIn
from careteam.api.write_views import CLIENT, created, refuse, save_progress
from careteam.extensions import db
from careteam.goals import services as goals
from careteam.goals.models import Goal
from careteam.goals.rules import goal_problems
from careteam.timefmt import local_today

GOAL = f"{CLIENT}/goals/<int:goal_id>"


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
    db.session.rollback()
    current = goals.get_goal(access.client, goal_id).version
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
