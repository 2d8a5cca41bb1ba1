"""The record API's writes: notes, medication changes, nutrition updates and practice.

Goals are in careteam/api/goals.py, amendments and acknowledgements in amendments.py. Each
view loads the client through the access policy as its web page does and hands the values
to the same use case, which audits and commits. Before that, the use case's own rule
functions (the ones the web forms run) report every refused field at once; whatever the
use case still refuses becomes a 422 problem through the app's error handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from flask import abort
from flask_login import current_user
from pydantic import BaseModel, Field

from careteam.access import Action, ClientAccess, active_members, load_client
from careteam.api.blueprint import CLIENT, bp
from careteam.api.entries.bodies import (
    MedicationIn,
    NoteIn,
    NutritionIn,
    PracticeIn,
    PracticeLogIn,
    ProgressIn,
)
from careteam.api.entries.output import EntryOut, entry_out
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem, FieldError
from careteam.errors import UserFacingError
from careteam.goals import rules as goal_rules
from careteam.goals import services as goals
from careteam.medications import services as medications
from careteam.nutrition import services as nutrition
from careteam.practice import services as practice
from careteam.practice.rules import (
    ENDED_MESSAGE,
    AssignmentFields,
    assignment_problems,
    log_problems,
)
from careteam.record import services as record
from careteam.record.models import Entry
from careteam.timefmt import local_today, today_for


class PracticeLogOut(BaseModel):
    """A practice the client logged (logs are not entries: they roll up into adherence)."""

    id: int
    assignment_id: int = Field(description="The assignment's first version.")
    practised_on: date
    rating: int | None
    reflection: str
    created_at: datetime


def entry_path(entry: Entry) -> str:
    return f"{bp.url_prefix}/clients/{entry.client_id}/entries/{entry.id}"


def created(entry: Entry, *, with_team: bool = False):
    """201 with the new entry as the caller sees it, and where to read it again."""
    team = active_members(entry.client_id) if with_team else None
    out = EntryOut(entry_out(entry, viewer=current_user, team=team))
    return out, 201, {"Location": entry_path(entry)}


def refuse(problems: Iterable[UserFacingError] | Mapping[str, str]) -> None:
    """Answer 422 with every refused field, as the web form shows them all at once."""
    if isinstance(problems, Mapping):
        items = list(problems.items())
    else:
        items = [(problem.field, str(problem)) for problem in problems]
    if not items:
        return
    unplaced = [message for field, message in items if not field]
    if unplaced:
        raise ApiProblem(422, unplaced[0])
    errors = [FieldError(pointer=f"/{field}", detail=message) for field, message in items]
    raise ApiProblem(422, "Some fields were refused; see errors.", errors=errors)


# What each kind of entry is saved with, for creating it and for amending it.


def save_note(access: ClientAccess, body: NoteIn, *, amends: Entry | None = None) -> Entry:
    return record.post_note(
        actor=current_user,
        client=access.client,
        title=body.title,
        body=body.body,
        visibility=body.visibility,
        urgent=body.urgent,
        amends=amends,
    )


def save_progress(
    access: ClientAccess, body: ProgressIn, *, amends: Entry | None = None, goal=None
) -> Entry:
    values = {"measured_on": body.measured_on, "value": body.value, "comment": body.comment}
    measured = goal if goal is not None else getattr(amends, "goal", None)
    refuse(goal_rules.progress_problems(**values, today=local_today(), goal=measured))
    if amends is not None:
        return goals.amend_check_in(actor=current_user, client=access.client, old=amends, **values)
    return goals.check_in(actor=current_user, client=access.client, goal=goal, **values)


def save_medication(
    access: ClientAccess, body: MedicationIn, *, amends: Entry | None = None
) -> Entry:
    values = body.model_dump()
    refuse(medications.check_change(**values, today=today_for(current_user)))
    return medications.record_change(
        actor=current_user, client=access.client, **values, amends=amends
    )


def save_nutrition(
    access: ClientAccess, body: NutritionIn, *, amends: Entry | None = None
) -> Entry:
    values = body.model_dump()
    blind = values.pop("blind")
    refuse(nutrition.check_update(**values, today=today_for(current_user)))
    return nutrition.post_update(
        actor=current_user, client=access.client, **values, blind=blind, amends=amends
    )


def save_practice(access: ClientAccess, body: PracticeIn, *, amends: Entry | None = None) -> Entry:
    fields = AssignmentFields(**body.model_dump())
    refuse(assignment_problems(fields))
    if amends is not None:
        return practice.amend_assignment(
            actor=current_user, client=access.client, old=amends, fields=fields
        )
    return practice.assign_practice(actor=current_user, client=access.client, fields=fields)


# Creating.


@bp.post(f"{CLIENT}/notes")
@operation(
    summary="Post a note",
    body=NoteIn,
    responses={201: EntryOut},
    description="Any member of the care team. An urgent note alerts the team at once.",
)
def create_note(client_id: int, body: NoteIn):
    access = load_client(client_id, Action.POST_NOTE)
    return created(save_note(access, body))


@bp.post(f"{CLIENT}/medications")
@operation(
    summary="Record a medication change",
    body=MedicationIn,
    responses={201: EntryOut},
    description="Prescribers on the team only (psychiatrists, primary care, nurse "
    "practitioners; 403 for other disciplines). The change must fit the medication list "
    "on its effective date: start what is not on it, change or stop what is. The team is "
    "asked to acknowledge it.",
)
def create_medication(client_id: int, body: MedicationIn):
    access = load_client(client_id, Action.POST_MEDICATION)
    return created(save_medication(access, body), with_team=True)


@bp.post(f"{CLIENT}/nutrition")
@operation(
    summary="Post a nutrition update",
    body=NutritionIn,
    responses={201: EntryOut},
    description="Dietitians on the team only (403 for other disciplines). A weight needs "
    "weight_kg and measured_on; a blind weight is never shown to the client.",
)
def create_nutrition(client_id: int, body: NutritionIn):
    access = load_client(client_id, Action.POST_NUTRITION)
    return created(save_nutrition(access, body))


@bp.post(f"{CLIENT}/practice")
@operation(
    summary="Assign a skill to practise",
    body=PracticeIn,
    responses={201: EntryOut},
    description="Any member of the care team. The client sees it in their portal.",
)
def create_practice(client_id: int, body: PracticeIn):
    access = load_client(client_id, Action.ASSIGN_PRACTICE)
    return created(save_practice(access, body))


@bp.post(f"{CLIENT}/practice/<int:assignment_id>/logs")
@operation(
    summary="Log a practice (the client)",
    body=PracticeLogIn,
    responses={201: PracticeLogOut},
    description="The client whose record it is, with their own token. `assignment_id` may "
    "name any version of the assignment; the log goes to it. An ended assignment takes no "
    "logs (409).",
)
def create_practice_log(client_id: int, assignment_id: int, body: PracticeLogIn):
    access = load_client(client_id, Action.LOG_PRACTICE)
    try:
        assignment = practice.current_version(
            practice.get_assignment(access.client, assignment_id)
        )
    except LookupError:
        abort(404)
    if not assignment.is_active:
        raise ApiProblem(409, ENDED_MESSAGE)
    today = practice.client_today(access.client)
    values = body.model_dump()
    refuse(log_problems(assignment, **values, today=today))
    log = practice.log_practice(
        actor=current_user, client=access.client, assignment=assignment, **values, today=today
    )
    return PracticeLogOut.model_validate(log, from_attributes=True), 201
