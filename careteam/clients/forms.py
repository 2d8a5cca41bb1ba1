"""Forms for creating clients and running their care team."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from careteam.clients import rules
from careteam.enums import Discipline, LevelOfCare, choices
from careteam.timefmt import local_today


def not_in_future(form, field) -> None:
    if field.data and field.data > date.today():
        raise ValidationError("This date cannot be in the future.")


def plausible_birth_date(form, field) -> None:
    problem = rules.birth_date_problem(field.data, local_today())
    if problem:
        raise ValidationError(problem)


class ClientDetailsForm(FlaskForm):
    """Who the client is: set when the record is created, corrected by a team lead."""

    full_name = StringField(
        "Full name",
        validators=[DataRequired(message="Enter the client's full name."), Length(max=120)],
    )
    preferred_name = StringField("Preferred name", validators=[Optional(), Length(max=120)])
    pronouns = StringField("Pronouns", validators=[Optional(), Length(max=40)])
    date_of_birth = DateField(
        "Date of birth",
        validators=[Optional(), plausible_birth_date],
        format="%Y-%m-%d",
        description="For example 1990-04-27.",
    )


class ClientForm(ClientDetailsForm):
    level_of_care = SelectField(
        "Level of care",
        choices=choices(LevelOfCare),
        validators=[DataRequired(message="Choose a level of care.")],
    )


class AddMemberForm(FlaskForm):
    email = EmailField(
        "Provider's email",
        validators=[
            DataRequired(message="Enter the provider's email address."),
            Email(message="Enter an email address."),
            Length(max=254),
        ],
    )
    discipline = SelectField(
        "Discipline on this team",
        choices=choices(Discipline),
        validators=[DataRequired(message="Choose the provider's discipline on this team.")],
    )
    is_lead = BooleanField("Also a team lead")


class LevelOfCareForm(FlaskForm):
    level = SelectField(
        "New level of care",
        choices=choices(LevelOfCare),
        validators=[DataRequired(message="Choose the new level of care.")],
    )
    effective_date = DateField(
        "Effective date",
        validators=[
            DataRequired(message="Enter the date the new level of care starts (YYYY-MM-DD)."),
            not_in_future,
        ],
        format="%Y-%m-%d",
    )
    reason = TextAreaField(
        "Reason",
        validators=[
            DataRequired(message="Write why the level of care changes."),
            Length(max=2000),
        ],
    )


class PortalLinkForm(FlaskForm):
    email = EmailField(
        "Client's portal account email",
        validators=[
            DataRequired(message="Enter the email address of the client's portal account."),
            Email(message="Enter an email address."),
            Length(max=254),
        ],
    )


class ConfirmForm(FlaskForm):
    """An empty form: a POST button that carries the CSRF token."""


class ConfirmActionForm(FlaskForm):
    """The form of a confirmation page: only a POST carrying `confirm=yes` (and the CSRF
    token) does the destructive action; any other POST shows the question again."""

    confirm = HiddenField()

    def confirmed(self) -> bool:
        return self.validate_on_submit() and self.confirm.data == "yes"


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search by name", validators=[Optional(), Length(max=120)])
