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


def _email(label: str) -> EmailField:
    return EmailField(
        label,
        filters=[_strip],
        validators=[DataRequired(), Email(message="Enter an email address."), Length(max=254)],
    )


class TeamInvitationForm(FlaskForm):
    email = _email("Provider's email")
    discipline = SelectField(
        "Discipline on this team", choices=choices(Discipline), validators=[DataRequired()]
    )
    is_lead = BooleanField("Also a team lead")


class PortalInvitationForm(FlaskForm):
    email = _email("Client's email")


class AccountInvitationForm(FlaskForm):
    email = _email("Provider's email")
    discipline = SelectField(
        "Discipline", choices=choices(Discipline), validators=[DataRequired()]
    )


class NewAccountForm(FlaskForm):
    """The invited person's name and password (credentials for providers)."""

    display_name = StringField(
        "Your name",
        validators=[DataRequired(), Length(max=120)],
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
            DataRequired(),
            Length(max=MAX_PASSWORD_LENGTH),
            StrongPassword(user_fields=("display_name",)),
        ],
    )
    confirm = PasswordField(
        "Password again",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
    # The browser's time zone (static/js/time-zone.js): the new account starts in it.
    time_zone = HiddenField(validators=[Optional()], filters=[lambda v: (v or "")[:64]])
