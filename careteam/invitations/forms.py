"""Forms for inviting people and for accepting an invitation with a new account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from careteam.auth.passwords import MAX_PASSWORD_LENGTH, StrongPassword
from careteam.enums import Discipline, choices


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _email(label: str, whose: str) -> EmailField:
    return EmailField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(message=f"Enter the {whose} email address."),
            Email(message="Enter an email address."),
            Length(max=254),
        ],
    )


class TeamInvitationForm(FlaskForm):
    email = _email("Provider's email", "provider's")
    discipline = SelectField(
        "Discipline on this team",
        choices=choices(Discipline),
        validators=[DataRequired(message="Choose the provider's discipline on this team.")],
    )
    is_lead = BooleanField("Also a team lead")


class PortalInvitationForm(FlaskForm):
    email = _email("Client's email", "client's")


class AccountInvitationForm(FlaskForm):
    email = _email("Provider's email", "provider's")
    discipline = SelectField(
        "Discipline",
        choices=choices(Discipline),
        validators=[DataRequired(message="Choose the provider's discipline.")],
    )


class NewAccountForm(FlaskForm):
    """The invited person's name and password (credentials for providers)."""

    display_name = StringField(
        "Your name",
        validators=[DataRequired(message="Enter your name."), Length(max=120)],
        description="As colleagues and clients will see it.",
    )
    credentials = StringField(
        "Credentials",
        validators=[Optional(), Length(max=120)],
        description='Optional, for example "LCPC, R-DMT".',
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(message="Choose a password."),
            Length(max=MAX_PASSWORD_LENGTH),
            StrongPassword(user_fields=("display_name",)),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[
            DataRequired(message="Type the password again."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    # The browser's time zone (static/js/time-zone.js): the new account starts in it.
    time_zone = HiddenField(validators=[Optional()], filters=[lambda v: (v or "")[:64]])
