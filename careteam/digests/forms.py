"""The notifications settings form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, TimeField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from careteam.enums import DigestDetail, DigestFrequency
from careteam.settings.forms import TIME_ZONES

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class NotificationsForm(FlaskForm):
    frequency = RadioField(
        "Email digest",
        choices=[
            (DigestFrequency.OFF, "Off"),
            (DigestFrequency.DAILY, "Daily"),
            (DigestFrequency.WEEKLY, "Weekly"),
        ],
        validators=[DataRequired()],
    )
    send_time = TimeField("At (your local time)", validators=[InputRequired()])
    weekday = SelectField(
        "On (weekly digests)",
        choices=[(str(i), name) for i, name in enumerate(WEEKDAYS)],
        validators=[DataRequired()],
    )
    time_zone = SelectField("Time zone", validators=[DataRequired()])
    detail = RadioField(
        "Detail",
        choices=[
            (DigestDetail.MINIMAL, "Minimal: counts per client and links, no clinical content"),
            (DigestDetail.FULL, "Full: a one-line summary of each update"),
        ],
        validators=[DataRequired()],
    )
    send_when_empty = BooleanField('Send a "nothing new" digest when nothing changed')
    alerts_enabled = BooleanField(
        "Immediate alerts for urgent notes, medication and level-of-care changes"
    )
    quiet_start = TimeField("Quiet hours from", validators=[Optional()])
    quiet_end = TimeField("Quiet hours until", validators=[Optional()])
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

    def validate_quiet_end(self, field) -> None:
        if bool(self.quiet_start.data) != bool(field.data):
            raise ValidationError("Give both the start and the end of your quiet hours.")
        if field.data and field.data == self.quiet_start.data:
            raise ValidationError("Quiet hours need a start and an end that differ.")
