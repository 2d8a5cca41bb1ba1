"""The form a prescriber fills in to record (or amend) a medication change."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField

from careteam.errors import UserFacingError
from careteam.medications import services
from careteam.medications.models import ACTION_LABELS

# Suggestions offered through <datalist> (no JavaScript); any other value is accepted.
UNITS = ["mg", "mcg", "g", "mL", "units", "drops", "puffs", "patch"]
ROUTES = [
    "oral",
    "sublingual",
    "intramuscular",
    "subcutaneous",
    "intravenous",
    "transdermal",
    "intranasal",
    "inhaled",
    "topical",
    "rectal",
]
FREQUENCIES = [
    "once daily",
    "twice daily",
    "three times daily",
    "every morning",
    "at bedtime",
    "as needed",
    "every 2 weeks",
    "every 4 weeks",
    "weekly",
]


class Marked:
    """Marks a field as required for the label; the form's validate() does the check."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


class PlainDateField(DateField):
    """A date field whose empty value is "missing", not "invalid"."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class MedicationChangeForm(FlaskForm):
    medication = StringField(
        "Medication",
        validators=[Marked()],
        description="The generic name, such as sertraline.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    action = SelectField(
        "What happened",
        choices=[(value.value, label) for value, label in ACTION_LABELS.items()],
        validators=[Marked()],
        invalid_choice_message=services.MESSAGES["action"],
    )
    dose = StringField(
        "Dose",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    unit = StringField("Unit", render_kw={"list": "medication-units", "autocomplete": "off"})
    route = StringField("Route", render_kw={"list": "medication-routes", "autocomplete": "off"})
    frequency = StringField(
        "Frequency", render_kw={"list": "medication-frequencies", "autocomplete": "off"}
    )
    effective_date = PlainDateField(
        "Effective date",
        validators=[Marked()],
        format="%Y-%m-%d",
        invalid_value_message="Enter the date as year-month-day, such as 2026-11-03.",
    )
    reason = TextAreaField(
        "Reason",
        description="Needed for a stop or a dose change, so the team knows why.",
    )

    # Set by the caller: "a year ahead" counts from the prescriber's today.
    today: date | None = None
    # The parsed dose, once validate() has run.
    dose_value = None

    def validate(self, extra_validators=None) -> bool:
        """Check every field at once, with the same rules the service applies."""
        valid = super().validate(extra_validators)
        try:
            self.dose_value = services.parse_dose(self.dose.data)
        except UserFacingError as error:
            self.dose.errors = [*self.dose.errors, str(error)]
            self.dose_value = None
            dose_parsed = False
        else:
            dose_parsed = True
        problems = services.check_change(
            medication=self.medication.data or "",
            action=self.action.data or "",
            effective_date=self.effective_date.data,
            dose=self.dose_value,
            unit=self.unit.data or "",
            route=self.route.data or "",
            frequency=self.frequency.data or "",
            reason=self.reason.data or "",
            today=self.today or date.today(),
        )
        if not dose_parsed:
            problems.pop("dose", None)
        for name, message in problems.items():
            field = getattr(self, name)
            if not field.errors:
                field.errors = [*field.errors, message]
        return valid and dose_parsed and not problems


class AcknowledgeForm(FlaskForm):
    """An empty form: the "Acknowledge" button, carrying the CSRF token."""
