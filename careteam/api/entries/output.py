"""The record's entries as JSON: one Pydantic model per kind of entry, and `entry_out`.

`AnyEntry` is the discriminated union of the models (on `kind`); `EntryOut` wraps it as a
model an operation can declare (`responses={201: EntryOut}`), and `entry_out(entry,
viewer=...)` builds the member for one entry. Serialising reads only what the timeline
query eager-loads, so a page of entries issues no query here. What a client may not see
of an entry they may see (a level-of-care change's reason) is left out for a client
viewer; which entries a client sees at all is decided by the queries
(careteam/portal/shared_record.py), never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from careteam.api.schemas import PersonOut, number, person_out
from careteam.auth.models import User
from careteam.enums import (
    Discipline,
    EntryKind,
    LevelOfCare,
    MedicationAction,
    NutritionType,
    PracticePeriod,
    PracticeStatus,
    TeamChange,
    Visibility,
)
from careteam.record.models import Entry


class EntryBase(BaseModel):
    """What every entry has, whatever its kind."""

    # `kind` has a default in each model but is always in the output: say so in the schema.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: int
    client_id: int
    author: PersonOut
    created_at: datetime
    visibility: Visibility = Field(
        description="private: the author only; team: the care team; client: team and client."
    )
    urgent: bool
    amended: bool = Field(description="This version corrects (supersedes) an earlier one.")
    supersedes_id: int | None = Field(description="The version this one corrects.")
    current: bool = Field(description="False when a later version corrected this one.")


class AcknowledgementOut(BaseModel):
    user: PersonOut
    acknowledged_at: datetime


class NoteOut(EntryBase):
    kind: Literal["note"] = "note"
    title: str
    body: str = Field(description="The note as Markdown.")
    acknowledgements: list[AcknowledgementOut] = Field(
        default_factory=list,
        description="Who on the team has seen an urgent note (its Seen button, or POST "
        "../acknowledgements); always empty for other notes and for a client.",
    )
    awaiting: list[PersonOut] | None = Field(
        default=None,
        description="Active team members (not the author) who have not seen an urgent note "
        "yet; null for other notes, for a client, or where the team is not given.",
    )


class GoalRef(BaseModel):
    id: int
    title: str


class GoalEventOut(EntryBase):
    """A goal was set or changed."""

    kind: Literal["goal"] = "goal"
    goal: GoalRef
    created: bool = Field(description="The goal was set (rather than changed).")
    changes: list[str] = Field(description='What changed, as "Field: old → new" lines.')


class GoalProgressOut(EntryBase):
    """A check-in: a goal measured on a date."""

    kind: Literal["goal_progress"] = "goal_progress"
    goal: GoalRef
    measured_on: date
    value: float
    unit: str
    comment: str


class MedicationOut(EntryBase):
    """A medication started, changed, continued or stopped, and who acknowledged it."""

    kind: Literal["medication"] = "medication"
    medication: str
    action: MedicationAction
    dose: float | None
    unit: str
    route: str
    frequency: str
    regimen: str = Field(description='Dose, route and frequency, e.g. "50 mg oral, once daily".')
    effective_date: date
    reason: str
    acknowledgements: list[AcknowledgementOut]
    awaiting: list[PersonOut] | None = Field(
        default=None,
        description="Active team members (not the author) who have not acknowledged yet.",
    )


class NutritionOut(EntryBase):
    """A nutrition update; a blind weight is never shown to the client."""

    kind: Literal["nutrition"] = "nutrition"
    update_type: NutritionType
    text: str
    weight_kg: float | None
    measured_on: date | None
    blind: bool


class LevelOfCareOut(EntryBase):
    kind: Literal["level_of_care"] = "level_of_care"
    level: LevelOfCare
    level_label: str
    effective_date: date
    reason: str | None = Field(
        description="Why it changed (the care team only; null for a client)."
    )


class TeamChangeOut(EntryBase):
    """Someone joined, rejoined or left the care team."""

    kind: Literal["team"] = "team"
    change: TeamChange
    member: PersonOut
    discipline: Discipline


class PracticeOut(EntryBase):
    """A skill assigned to practise so many times a day or a week."""

    kind: Literal["practice"] = "practice"
    skill: str
    instructions: str
    target_count: int
    period: PracticePeriod
    starts_on: date
    ends_on: date | None
    status: PracticeStatus


AnyEntry = Annotated[
    NoteOut
    | GoalEventOut
    | GoalProgressOut
    | MedicationOut
    | NutritionOut
    | LevelOfCareOut
    | TeamChangeOut
    | PracticeOut,
    Field(discriminator="kind"),
]


class EntryOut(RootModel[AnyEntry]):
    """One entry of the timeline; `kind` says which fields it has."""


def _common(entry: Entry) -> dict:
    return {
        "id": entry.id,
        "client_id": entry.client_id,
        "author": person_out(entry.author),
        "created_at": entry.created_at,
        "visibility": entry.visibility,
        "urgent": entry.urgent,
        "amended": entry.supersedes_id is not None,
        "supersedes_id": entry.supersedes_id,
        "current": entry.superseded_at is None,
    }


def _acknowledgements(entry) -> list[AcknowledgementOut]:
    return [
        AcknowledgementOut(user=person_out(ack.user), acknowledged_at=ack.acknowledged_at)
        for ack in entry.acknowledgements
    ]


def _note(entry, viewer, team) -> NoteOut:
    # Who on the team has seen an urgent note is the team's: a client reads none of it.
    if viewer.is_client or not entry.needs_acknowledgement:
        return NoteOut(**_common(entry), title=entry.title, body=entry.body)
    return NoteOut(
        **_common(entry),
        title=entry.title,
        body=entry.body,
        acknowledgements=_acknowledgements(entry),
        awaiting=None if team is None else [person_out(u) for u in entry.awaiting(team)],
    )


def _goal_event(entry, viewer, team) -> GoalEventOut:
    created = entry.summary == "created"
    return GoalEventOut(
        **_common(entry),
        goal=GoalRef(id=entry.goal.id, title=entry.goal.title),
        created=created,
        changes=[] if created else [line for line in entry.summary.splitlines() if line],
    )


def _goal_progress(entry, viewer, team) -> GoalProgressOut:
    return GoalProgressOut(
        **_common(entry),
        goal=GoalRef(id=entry.goal.id, title=entry.goal.title),
        measured_on=entry.measured_on,
        value=float(entry.value),
        unit=entry.goal.unit,
        comment=entry.comment,
    )


def _medication(entry, viewer, team) -> MedicationOut:
    return MedicationOut(
        **_common(entry),
        medication=entry.medication,
        action=entry.action,
        dose=number(entry.dose),
        unit=entry.unit,
        route=entry.route,
        frequency=entry.frequency,
        regimen=entry.regimen,
        effective_date=entry.effective_date,
        reason=entry.reason,
        acknowledgements=_acknowledgements(entry),
        awaiting=None if team is None else [person_out(u) for u in entry.awaiting(team)],
    )


def _nutrition(entry, viewer, team) -> NutritionOut:
    # A client gets only open weights (portal.shared_record), without the team's comment.
    return NutritionOut(
        **_common(entry),
        update_type=entry.update_type,
        text="" if viewer.is_client else entry.text,
        weight_kg=number(entry.weight_kg),
        measured_on=entry.measured_on,
        blind=entry.blind,
    )


def _level_of_care(entry, viewer, team) -> LevelOfCareOut:
    change = entry.change
    return LevelOfCareOut(
        **_common(entry),
        level=change.level,
        level_label=change.level_label,
        effective_date=change.effective_date,
        reason=None if viewer.is_client else change.reason,
    )


def _team(entry, viewer, team) -> TeamChangeOut:
    member = entry.change.member
    return TeamChangeOut(
        **_common(entry),
        change=entry.change.change,
        member=person_out(member.provider),
        discipline=member.discipline,
    )


def _practice(entry, viewer, team) -> PracticeOut:
    return PracticeOut(
        **_common(entry),
        skill=entry.skill,
        instructions=entry.instructions,
        target_count=entry.target_count,
        period=entry.period,
        starts_on=entry.starts_on,
        ends_on=entry.ends_on,
        status=entry.status,
    )


_BUILDERS = {
    EntryKind.NOTE: _note,
    EntryKind.GOAL: _goal_event,
    EntryKind.GOAL_PROGRESS: _goal_progress,
    EntryKind.MEDICATION: _medication,
    EntryKind.NUTRITION: _nutrition,
    EntryKind.LEVEL_OF_CARE: _level_of_care,
    EntryKind.TEAM: _team,
    EntryKind.PRACTICE: _practice,
}


def entry_out(entry: Entry, *, viewer: User, team: Iterable | None = None) -> BaseModel:
    """The JSON model of one entry as this viewer may see it (a member of `AnyEntry`).

    `team` (the active CareTeamMember rows, providers loaded) fills a medication change's
    `awaiting`; without it `awaiting` is null.
    """
    return _BUILDERS[EntryKind(entry.kind)](entry, viewer, team)


def entries_out(entries: Iterable[Entry], *, viewer: User, team: Iterable | None = None) -> list:
    team = list(team) if team is not None else None
    return [entry_out(entry, viewer=viewer, team=team) for entry in entries]
