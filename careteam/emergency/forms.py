"""Forms for emergency ("break-glass") access: find the client, then state the reason."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from careteam.emergency.models import REASON_MAX, REASON_MIN

ACKNOWLEDGEMENT = (
    "I have a clinical or operational emergency; this access is logged and the care team is told"
)


class FindClientForm(FlaskForm):
    """The client's full name and date of birth; an admin may give the client id instead."""

    full_name = StringField("Client's full name", validators=[Length(max=120)])
    date_of_birth = DateField("Date of birth", validators=[Optional()], format="%Y-%m-%d")
    client_id = IntegerField(
        "Client id (administrators)", validators=[Optional(), NumberRange(min=1)]
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.client_id.data is not None and self.by_id_allowed:
            return True
        ok = True
        if not (self.full_name.data or "").strip():
            self.full_name.errors = [*self.full_name.errors, "Enter the client's full name."]
            ok = False
        if self.date_of_birth.data is None:
            self.date_of_birth.errors = [
                *self.date_of_birth.errors,
                "Enter the client's date of birth.",
            ]
            ok = False
        return ok

    by_id_allowed = False


class ReasonForm(FlaskForm):
    """The written reason and the acknowledgement that the access is logged and told."""

    reason = TextAreaField(
        "Why do you need this record now?",
        validators=[
            DataRequired(message="Write the reason for this emergency access."),
            Length(
                min=REASON_MIN,
                max=REASON_MAX,
                message=f"Write between {REASON_MIN} and {REASON_MAX} characters.",
            ),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        description="Say what the emergency is and why you need this record. "
        "The team lead and administrators read it.",
    )
    acknowledge = BooleanField(
        ACKNOWLEDGEMENT,
        validators=[InputRequired(message="Tick the box to confirm this is an emergency.")],
    )
