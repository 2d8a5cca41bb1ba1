"""The profile form: how a person appears to their teams and clients."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class ProfileForm(FlaskForm):
    display_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    credentials = StringField(
        "Credentials",
        validators=[Optional(), Length(max=120)],
        description='For example "LCPC, R-DMT".',
    )
    phone = TelField(
        "Phone",
        validators=[
            Optional(),
            Length(max=40),
            Regexp(r"^[0-9+()\-. x]*$", message="Use digits, spaces and + ( ) - . x only."),
        ],
    )
    practice_name = StringField("Practice", validators=[Optional(), Length(max=120)])
    share_email = BooleanField("Clients may see my email address")
    share_phone = BooleanField("Clients may see my phone number")
    share_practice = BooleanField("Clients may see my practice")
    time_zone = SelectField("Time zone", validators=[DataRequired()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = TIME_ZONES


TIME_ZONES = [
    "UTC",
    *sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")),
]
