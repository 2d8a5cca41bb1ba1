"""What the record API's writes accept: one model per kind of entry, and amendments.

Limits and sentences come from the features' rules and use cases (imported, not restated),
so the API refuses what the web refuses and says it the same way. The models check each
field on its own (type, range, length); the rules across fields stay in the services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import (
    Field,
    PlainValidator,
    RootModel,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from careteam.api.schemas import StrictIn, WriteIn
from careteam.enums import EntryKind, MedicationAction, NutritionType, PracticePeriod, Visibility
from careteam.goals.rules import COMMENT_LIMIT, NUMBER_LIMIT, number_problem
from careteam.medications import services as medications
from careteam.nutrition import services as nutrition
from careteam.practice.models import MAX_TARGET
from careteam.practice.rules import INSTRUCTIONS_LIMIT, REFLECTION_LIMIT, SKILL_LIMIT
from careteam.record.rules import NOTE_BODY_MAX, NOTE_TITLE_MAX
from careteam.record.services import EntryError


def _checked_decimal(
    problem: Callable[[Decimal], str | None], invalid: str, **schema
) -> type[Decimal]:
    """A decimal judged by a service's own rule and sentence; `schema` documents the range.

    Pydantic's own messages ("Input should be greater than 0") would differ from the web
    form's, so the rule is the service's and only the JSON Schema restates its range.
    """

    def validate(value, handler):
        try:
            parsed = handler(value)
        except ValidationError:
            raise PydanticCustomError("decimal_type", invalid) from None
        message = problem(parsed)
        if message:
            raise PydanticCustomError("value_error", message)
        return parsed

    extra = {name: float(bound) for name, bound in schema.items()}
    return Annotated[Decimal, WrapValidator(validate), Field(json_schema_extra=extra)]


def _dose_problem(dose: Decimal) -> str | None:
    try:
        # str, not format(dose, "f"): 1E+999999999 must not become a billion digits.
        medications.parse_dose(str(dose))
    except EntryError as error:
        return str(error)
    return None


def _weight_problem(weight: Decimal) -> str | None:
    # The service's check of a weight on its own (any date passes between min and max).
    return nutrition.check_update(
        update_type=NutritionType.WEIGHT,
        text="",
        weight_kg=weight,
        measured_on=date.min,
        today=date.max,
    ).get("weight_kg")


Measurement = _checked_decimal(
    number_problem,
    number_problem(Decimal("NaN")),  # the rule's sentence for what is not a number
    exclusiveMinimum=-NUMBER_LIMIT,
    exclusiveMaximum=NUMBER_LIMIT,
)
Dose = _checked_decimal(
    _dose_problem,
    medications.MESSAGES["dose"],
    exclusiveMinimum=0,
    exclusiveMaximum=medications.MAX_DOSE,
)
Weight = _checked_decimal(
    _weight_problem,
    "Enter the weight as a number of kilograms, for example 52.4.",
    minimum=nutrition.WEIGHT_MIN_KG,
    maximum=nutrition.WEIGHT_MAX_KG,
)


class NoteIn(WriteIn):
    """A coordination note."""

    title: str = Field(default="", max_length=NOTE_TITLE_MAX)
    body: str = Field(max_length=NOTE_BODY_MAX, description="Markdown: **bold**, lists, links.")
    visibility: Visibility = Field(
        default=Visibility.TEAM,
        description="private: only you; team: the care team; client: the team and the client.",
    )
    urgent: bool = Field(default=False, description="Alert the team now.")


class ProgressIn(WriteIn):
    """A check-in: the value of the goal's measure on a date."""

    measured_on: date = Field(description="Not in the future.")
    value: Measurement
    comment: str = Field(default="", max_length=COMMENT_LIMIT)


class MedicationIn(WriteIn):
    """A medication started, changed, stopped or continued (prescribers only)."""

    medication: str = Field(max_length=medications.LENGTHS["medication"], examples=["sertraline"])
    action: MedicationAction
    effective_date: date = Field(description="From 1900 to a year ahead.")
    dose: Dose | None = Field(default=None, description="Required unless the action is stopped.")
    unit: str = Field(default="", max_length=medications.LENGTHS["unit"], examples=["mg"])
    route: str = Field(default="", max_length=medications.LENGTHS["route"], examples=["oral"])
    frequency: str = Field(
        default="", max_length=medications.LENGTHS["frequency"], examples=["once daily"]
    )
    reason: str = Field(
        default="",
        max_length=medications.LENGTHS["reason"],
        description="Required for stopped and dose_changed.",
    )


class NutritionIn(WriteIn):
    """A nutrition update (dietitians only): a meal plan, a weight, a supplement or a note."""

    update_type: NutritionType
    text: str = Field(
        default="",
        max_length=nutrition.TEXT_MAX,
        description="Required except for a weight, where it is an optional comment.",
    )
    weight_kg: Weight | None = Field(default=None, description="Weights only; required there.")
    measured_on: date | None = Field(
        default=None, description="Weights only; required there, not in the future."
    )
    blind: bool | None = Field(
        default=None,
        description="Weights only: the team sees it, the client never does. Absent: the "
        'client\'s "weights blind by default" setting decides.',
    )

    @field_validator("weight_kg", "measured_on", "blind")
    @classmethod
    def _weights_only(cls, value, info: ValidationInfo):
        # The web form shows every field and ignores what does not apply; a program that
        # sends a weight with a meal plan has a bug it should hear about.
        kind = info.data.get("update_type")
        if kind is not None and kind != NutritionType.WEIGHT and value not in (None, False):
            raise PydanticCustomError("weights_only", "Send this with a weight only.")
        return value


class PracticeIn(WriteIn):
    """A skill for the client to practise so many times a day or a week."""

    skill: str = Field(max_length=SKILL_LIMIT, examples=["Box breathing"])
    instructions: str = Field(default="", max_length=INSTRUCTIONS_LIMIT)
    target_count: int = Field(
        ge=1,
        le=max(MAX_TARGET.values()),
        description=f"Up to {MAX_TARGET[PracticePeriod.DAY]} a day or "
        f"{MAX_TARGET[PracticePeriod.WEEK]} a week.",
    )
    period: PracticePeriod
    starts_on: date
    ends_on: date | None = None


class PracticeLogIn(WriteIn):
    """The client practised on a day."""

    practised_on: date
    rating: int | None = Field(default=None, ge=1, le=5, description="1: hard ... 5: went well.")
    reflection: str = Field(default="", max_length=REFLECTION_LIMIT)


# An amendment carries the body its entry's kind is created with.
AMENDABLE: dict[EntryKind, type[StrictIn]] = {
    EntryKind.NOTE: NoteIn,
    EntryKind.GOAL_PROGRESS: ProgressIn,
    EntryKind.MEDICATION: MedicationIn,
    EntryKind.NUTRITION: NutritionIn,
    EntryKind.PRACTICE: PracticeIn,
}


def _object(value):
    return value  # checked against the entry's kind by the view, which knows the kind


class AmendmentIn(RootModel):
    """The corrected entry, in the body its kind is created with: a note's for a note, a
    check-in's for a check-in, and so on. Every field is sent again."""

    root: Annotated[
        dict,
        PlainValidator(
            _object,
            json_schema_input_type=NoteIn | ProgressIn | MedicationIn | NutritionIn | PracticeIn,
        ),
    ]

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler(core_schema)
        schema = handler.resolve_ref_schema(schema)
        # Exactly one matches: each model requires a field the others refuse.
        if "anyOf" in schema:
            schema["oneOf"] = schema.pop("anyOf")
        return schema
