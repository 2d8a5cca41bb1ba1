"""Forms to set and change a goal and to check in on it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from careteam.enums import GoalAchievement, GoalDirection, GoalStatus, choices
from careteam.errors import attach_errors
from careteam.goals.models import GOAL_ACHIEVEMENT_LABELS, GOAL_STATUS_LABELS, Goal
from careteam.goals.rules import (
    COMMENT_LIMIT,
    NEW_GOAL_STATUSES,
    format_number,
    goal_problems,
    progress_problems,
)
from careteam.goals.services import GoalFields


class NumberField(DecimalField):
    """A decimal typed by the user, shown back without trailing zeros."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, places=None, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_number(self.data)


class GoalForm(FlaskForm):
    """Set a new goal. `today` is the user's date; owners are (id, label) pairs."""

    title = StringField(
        "Goal",
        validators=[
            DataRequired(message="Give the goal a title."),
            Length(max=200, message="Use at most 200 characters."),
        ],
        description="In the client's words where possible, such as “Fewer panic attacks”.",
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=5000, message="Use at most 5000 characters.")],
        description="Optional.",
    )
    measure = StringField(
        "What is measured",
        validators=[
            DataRequired(message="Say what is measured, for example “panic attacks”."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )
    unit = StringField(
        "Unit",
        validators=[
            DataRequired(message="Give the unit, for example “per week”."),
            Length(max=40, message="Use at most 40 characters."),
        ],
        description="For example “attacks per week” or “meals per day”.",
    )
    baseline = NumberField(
        "Baseline",
        validators=[InputRequired(message="Enter the baseline: where the client starts.")],
        description="The value when the goal is set.",
    )
    target = NumberField("Target", validators=[InputRequired(message="Enter the target.")])
    direction = RadioField(
        "Which way is better",
        choices=choices(GoalDirection),
        validators=[DataRequired(message="Choose whether higher or lower is better.")],
    )
    target_date = DateField(
        "Target date",
        validators=[InputRequired(message="Enter the target date.")],
        format="%Y-%m-%d",
    )
    owner_id = SelectField(
        "Owner",
        coerce=int,
        validators=[InputRequired(message="Choose who owns the goal.")],
        description="The team member who keeps this goal moving.",
    )
    status = SelectField(
        "Status",
        choices=[(s.value, GOAL_STATUS_LABELS[s]) for s in NEW_GOAL_STATUSES],
        default=GoalStatus.ACTIVE.value,
        validators=[DataRequired(message="Choose the goal's status.")],
    )
    shared_with_client = BooleanField(
        "Share with the client",
        description="The client sees the goal and its check-ins in their portal.",
    )

    def __init__(
        self,
        *args,
        today: date,
        owners: list[tuple[int, str]],
        current: Goal | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.current = current
        self.owner_id.choices = owners

    def goal_fields(self) -> GoalFields:
        """The values typed, as the use cases take them (None where unparsed)."""
        achievement = getattr(self, "achievement", None)
        return GoalFields(
            title=self.title.data or "",
            description=self.description.data or "",
            measure=self.measure.data or "",
            unit=self.unit.data or "",
            baseline=self.baseline.data,
            target=self.target.data,
            direction=self.direction.data,
            target_date=self.target_date.data,
            owner_id=self.owner_id.data,
            status=self.status.data,
            achievement=achievement.data if achievement else GoalAchievement.IN_PROGRESS,
            shared_with_client=self.shared_with_client.data,
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        problems = goal_problems(self.goal_fields(), today=self.today, current=self.current)
        attach_errors(self, problems)
        return valid and not problems


class EditGoalForm(GoalForm):
    """Change a goal; `version` is the goal's version when the form was loaded."""

    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    status = SelectField("Status", choices=[(s.value, GOAL_STATUS_LABELS[s]) for s in GoalStatus])
    achievement = SelectField(
        "Achievement",
        choices=[(a.value, GOAL_ACHIEVEMENT_LABELS[a]) for a in GoalAchievement],
        description="How it is going, whatever the status.",
    )


class ProgressForm(FlaskForm):
    """A check-in: the value measured on a date."""

    measured_on = DateField(
        "Date measured",
        validators=[InputRequired(message="Enter the date of the measurement.")],
        format="%Y-%m-%d",
    )
    value = NumberField("Value", validators=[InputRequired(message="Enter the value measured.")])
    comment = TextAreaField(
        "Comment",
        validators=[
            Optional(),
            Length(max=COMMENT_LIMIT, message=f"Use at most {COMMENT_LIMIT} characters."),
        ],
        description="Optional.",
    )

    def __init__(self, *args, today: date, goal: Goal | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.goal = goal

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        value = self.value.data if isinstance(self.value.data, Decimal) else None
        problems = progress_problems(
            measured_on=self.measured_on.data,
            value=value,
            comment=self.comment.data or "",
            today=self.today,
            goal=self.goal,
        )
        attach_errors(self, problems)
        return valid and not problems
