"""Forms for logging in, resetting a forgotten password and changing one's password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from careteam.auth.passwords import StrongPassword


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(message="Enter your email address."), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(message="Enter your password."), Length(max=1024)],
    )
    # Filled by static/js/time-zone.js with the browser's IANA zone; a user still in the
    # deployment's default zone takes it (checked against zoneinfo, else ignored).
    time_zone = HiddenField(validators=[Optional()], filters=[lambda v: (v or "")[:64]])


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[_strip],
        validators=[
            DataRequired(message="Enter the email address of your account."),
            Email(message="Enter an email address."),
            Length(max=254),
        ],
    )


class NewPasswordForm(FlaskForm):
    """A new password typed twice; views set password_user_inputs (the person's email, name)."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            Length(max=1024),
            StrongPassword(),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired(message="Type the new password again."),
            EqualTo("password", message="The two passwords are not the same. Type both again."),
        ],
    )

    def check_strength_only(self) -> bool:
        """Validate the new password alone (the "Check strength" button); True if strong."""
        return self.password.validate(self)


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(message="Enter your current password."), Length(max=1024)],
    )
