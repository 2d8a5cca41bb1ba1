"""Forms to assign a practice and to log one."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import Optional

from careteam.enums import PracticePeriod
from careteam.errors import attach_errors
from careteam.practice.models import PracticeAssignment
from careteam.practice.rules import (
    REFLECTION_LIMIT,
    SKILL_LIMIT,
    AssignmentFields,
    assignment_problems,
    log_problems,
)

PERIOD_CHOICES = [(PracticePeriod.DAY.value, "Per day"), (PracticePeriod.WEEK.value, "Per week")]
RATING_CHOICES = [
    ("", "No rating"),
    ("1", "1: hard, did not help"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5: went well, helped"),
]


class AssignmentForm(FlaskForm):
    """Assign a skill to practise, or correct an assignment."""

    skill = StringField(
        "Skill to practise",
        description="For example “Box breathing” or “Thought record”.",
        render_kw={"maxlength": SKILL_LIMIT},
    )
    instructions = TextAreaField(
        "Instructions",
        description="Optional. What to do and when; Markdown works. The client sees this.",
        render_kw={"rows": 6},
    )
    target_count = IntegerField(
        "How many times",
        validators=[Optional()],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    period = RadioField("How often", choices=PERIOD_CHOICES, default=PracticePeriod.DAY.value)
    starts_on = DateField("Starts on", validators=[Optional()], format="%Y-%m-%d")
    ends_on = DateField(
        "Ends on",
        validators=[Optional()],
        format="%Y-%m-%d",
        description="Optional. Leave empty to keep it going until someone ends it.",
    )

    def fields(self) -> AssignmentFields:
        """The values typed, as the use cases take them (None where unparsed)."""
        return AssignmentFields(
            skill=self.skill.data or "",
            instructions=self.instructions.data or "",
            target_count=self.target_count.data,
            period=self.period.data,
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        problems = assignment_problems(self.fields())
        attach_errors(self, problems)
        return valid and not problems


class LogForm(FlaskForm):
    """The client logs one practice."""

    practised_on = DateField("Day you practised", validators=[Optional()], format="%Y-%m-%d")
    rating = RadioField(
        "How did it go?",
        choices=RATING_CHOICES,
        default="",
        validate_choice=False,  # the rules answer with a plain sentence instead
        description="Optional.",
    )
    reflection = TextAreaField(
        "Reflection",
        description=f"Optional: a few words for your care team, up to {REFLECTION_LIMIT} "
        "characters.",
        render_kw={"rows": 4},
    )

    def __init__(self, *args, assignment: PracticeAssignment, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.assignment = assignment
        self.today = today

    def rating_value(self) -> int | None:
        """The chosen rating; an unreadable one counts as out of range (0)."""
        raw = self.rating.data
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            return 0

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        problems = log_problems(
            self.assignment,
            practised_on=self.practised_on.data,
            rating=self.rating_value(),
            reflection=(self.reflection.data or "").strip(),
            today=self.today,
        )
        attach_errors(self, problems)
        return valid and not problems
