"""Forms for managing accounts and reading the audit log."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from careteam.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from careteam.enums import AuditOutcome, Discipline, Role, choices


class NewUserForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[(Role.PROVIDER, "Provider"), (Role.CLIENT, "Client"), (Role.ADMIN, "Admin")],
        validators=[DataRequired(message="Choose the kind of account.")],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired(message="Enter the person's email address."),
            Email(message="Enter an email address."),
            Length(max=254),
        ],
    )
    display_name = StringField(
        "Name",
        validators=[DataRequired(message="Enter the person's name."), Length(max=120)],
    )
    discipline = SelectField(
        "Discipline (providers)",
        choices=[("", "—"), *choices(Discipline)],
        validators=[Optional()],
    )
    credentials = StringField("Credentials (providers)", validators=[Optional(), Length(max=120)])
    password = PasswordField(
        "Initial password",
        validators=[
            DataRequired(message="Enter an initial password."),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        ],
        description=(
            f"At least {MIN_PASSWORD_LENGTH} characters. Give it to the person by a safe channel."
        ),
    )

    def validate(self, extra_validators=None) -> bool:
        # Checked here, not inline: WTForms skips inline validators for an empty choice.
        valid = super().validate(extra_validators)
        if self.role.data == Role.PROVIDER and not self.discipline.data:
            self.discipline.errors = [*self.discipline.errors, "Choose the provider's discipline."]
            valid = False
        if self.role.data != Role.PROVIDER and self.discipline.data:
            self.discipline.errors = [*self.discipline.errors, "Only providers have a discipline."]
            valid = False
        return valid


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or email", validators=[Optional(), Length(max=120)])
    role = SelectField("Role", choices=[("", "Any"), *choices(Role)], validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    user = StringField(
        "User (email or id)",
        validators=[Optional(), Length(max=254)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    client_id = IntegerField(
        "Client id", validators=[Optional(), NumberRange(min=1, max=2**31 - 1)]
    )
    # Choices are the actions present in the log; the view fills them in.
    action = SelectField("Action", choices=[("", "Any")], validators=[Optional()])
    outcome = SelectField(
        "Outcome", choices=[("", "Any"), *choices(AuditOutcome)], validators=[Optional()]
    )
    since = DateField("From", validators=[Optional()], format="%Y-%m-%d")
    until = DateField("Until (inclusive)", validators=[Optional()], format="%Y-%m-%d")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.since.data and self.until.data and self.until.data < self.since.data:
            self.until.errors = [*self.until.errors, "Choose a date on or after the From date."]
            valid = False
        return valid
