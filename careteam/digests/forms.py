"""The notifications settings form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, TimeField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from careteam.enums import DigestDetail, DigestFrequency
from careteam.timefmt import TIME_ZONES

BAD_TIME = "Enter a time of day as HH:MM, for example 08:00."
BOTH_ENDS = "Give both the start and the end of your quiet hours."
NO_WEEKDAY = "Choose the day for weekly digests."
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class NotificationsForm(FlaskForm):
    frequency = RadioField(
        "Email digest",
        choices=[
            (DigestFrequency.OFF, "Off"),
            (DigestFrequency.DAILY, "Daily"),
            (DigestFrequency.WEEKLY, "Weekly"),
        ],
        validators=[DataRequired(message="Choose how often to get a digest.")],
    )
    send_time = TimeField(
        "At (your local time)",
        validators=[InputRequired(message="Enter the time of day for your digest.")],
        invalid_value_message=BAD_TIME,
    )
    # Needed only for weekly digests (validate_weekday): not flagged required, so the
    # label says "(for weekly digests)" unless weekly is chosen (templates/digests).
    weekday = SelectField(
        "On",
        choices=[(str(i), name) for i, name in enumerate(WEEKDAYS)],
        validate_choice=False,
    )
    # Checked against the list here (not by SelectField) to say what to do instead.
    time_zone = SelectField(
        "Time zone",
        validators=[
            DataRequired(message="Choose your time zone."),
            AnyOf(TIME_ZONES, message="Choose a time zone from the list, e.g. Europe/Berlin."),
        ],
        validate_choice=False,
    )
    detail = RadioField(
        # One choice for both emails: digests and immediate alerts.
        "Detail in digests and alerts",
        choices=[
            (
                DigestDetail.MINIMAL,
                "Minimal: no clinical content, only what kind of update and a link "
                "(digests count updates per client)",
            ),
            (
                DigestDetail.FULL,
                "Full: the client's name and a one-line summary of each update "
                "(a note's title or first line)",
            ),
        ],
        validators=[DataRequired(message="Choose how much your emails say.")],
    )
    send_when_empty = BooleanField('Send a "nothing new" digest when nothing changed')
    alerts_enabled = BooleanField(
        "Immediate alerts for urgent notes, medication and level-of-care changes"
    )
    quiet_start = TimeField(
        "Quiet hours from", validators=[Optional()], invalid_value_message=BAD_TIME
    )
    quiet_end = TimeField(
        "Quiet hours until", validators=[Optional()], invalid_value_message=BAD_TIME
    )
    muted = SelectMultipleField(
        "Leave these clients out of my digest",
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
    )

    def __init__(self, *args, clients=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = TIME_ZONES
        self.muted.choices = [(c.id, c.display_name) for c in clients]

    def validate_weekday(self, field) -> None:
        if not field.data:
            if self.frequency.data == DigestFrequency.WEEKLY:
                raise ValidationError(NO_WEEKDAY)
            return
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choose a day of the week from the list.")

    # Optional() ends an empty field's checks, so each end checks for the other one;
    # a mistyped end has its own message ("given" is what the user typed).
    def validate_quiet_start(self, field) -> None:
        if field.data is not None and not _given(self.quiet_end):
            raise ValidationError(BOTH_ENDS)

    def validate_quiet_end(self, field) -> None:
        if field.data is None:
            return
        if not _given(self.quiet_start):
            raise ValidationError(BOTH_ENDS)
        if field.data == self.quiet_start.data:
            raise ValidationError("Quiet hours need a start and an end that differ.")


def _given(field) -> bool:
    return any((value or "").strip() for value in field.raw_data or [])
