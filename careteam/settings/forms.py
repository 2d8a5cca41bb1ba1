"""The profile form: how a person appears to their teams and clients."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from careteam.auth.tokens import EXPIRY_CHOICES_DAYS, NAME_MAX
from careteam.enums import TokenScope, WeightUnit
from careteam.timefmt import TIME_ZONES


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Name", validators=[DataRequired(message="Enter your name."), Length(max=120)]
    )
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
    time_zone = SelectField(
        "Time zone", validators=[DataRequired(message="Choose your time zone.")]
    )
    weight_unit = SelectField(
        "Weights in",
        choices=[(unit.value, unit.label) for unit in WeightUnit],
        default=WeightUnit.KG.value,
        validators=[Optional()],
        description="Weights are entered and shown in this unit (stored in kilograms).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = TIME_ZONES


class ApiTokenForm(FlaskForm):
    """A new personal access token: the service (careteam.auth.tokens) checks the values."""

    name = StringField(
        "Name",
        validators=[
            DataRequired(message="Give the token a name."),
            Length(max=NAME_MAX, message=f"Use at most {NAME_MAX} characters."),
        ],
        description='What will use it, e.g. "EHR sync" or "my laptop script".',
    )
    scope = RadioField(
        "What it may do",
        choices=[
            (TokenScope.READ, "Read only: look at records, change nothing"),
            (TokenScope.WRITE, "Read and write: also post notes, goals and other entries"),
        ],
        default=TokenScope.READ,
        validators=[DataRequired(message="Choose read only, or read and write.")],
    )
    days = SelectField(
        "Expires after",
        choices=[(days, f"{days} days") for days in EXPIRY_CHOICES_DAYS],
        coerce=int,
        default=90,
        validators=[DataRequired(message="Choose when the token expires.")],
    )
