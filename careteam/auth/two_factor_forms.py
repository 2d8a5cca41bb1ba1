"""Forms for two-factor authentication: one code field, labelled for where it is asked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AppCodeForm(FlaskForm):
    """A current code from the authenticator app (enrol, regenerate, disable)."""

    code = StringField(
        "Code from your authenticator app",
        filters=[_strip],
        validators=[DataRequired(message="Enter the 6-digit code."), Length(max=64)],
        description="6 digits; a new one every 30 seconds.",
    )


class ResetCodeForm(FlaskForm):
    """Turning off or setting up again: an app code, or a recovery code if the phone is lost."""

    code = StringField(
        "Code from your app, or a recovery code",
        filters=[_strip],
        validators=[DataRequired(message="Enter a code."), Length(max=64)],
    )


class LoginCodeForm(FlaskForm):
    """The second login step: an app code or a recovery code."""

    code = StringField(
        "Code",
        filters=[_strip],
        validators=[DataRequired(message="Enter a code."), Length(max=64)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )
