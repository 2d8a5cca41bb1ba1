"""The nutrition update form: one form, the type chosen first, fields checked per type."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import TextInput

from careteam.enums import NutritionType, WeightUnit
from careteam.nutrition import units
from careteam.nutrition.models import NUTRITION_TYPE_LABELS
from careteam.nutrition.services import check_update


def not_a_number(unit: str) -> str:
    unit = units.unit_of(unit)
    return (
        f"Enter the weight as a number of {units.NAME[unit]}, for example {units.EXAMPLE[unit]}."
    )


NOT_A_NUMBER = not_a_number(WeightUnit.KG)


class WeightField(DecimalField):
    """A weight as typed in the user's unit (`unit`, set by the form): a decimal comma is
    accepted, anything else not a number refused."""

    unit: str = WeightUnit.KG

    # A text input, not type=number: the browser would drop what it cannot parse, and the
    # user must see what they typed next to the error.
    widget = TextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0].strip() if valuelist else ""
        if not raw:
            self.data = None
            return
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation as error:
            self.data = None
            raise ValueError(not_a_number(self.unit)) from error
        if not value.is_finite():
            self.data = None
            raise ValueError(not_a_number(self.unit))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = format(self.data, "f")  # 52.40 shows as 52.4, as in the rest of the record
        return text.rstrip("0").rstrip(".") if "." in text else text


class NutritionForm(FlaskForm):
    update_type = RadioField(
        "What kind of update",
        choices=[(t.value, NUTRITION_TYPE_LABELS[t]) for t in NutritionType],
        validators=[InputRequired(message="Choose what kind of update this is.")],
    )
    weight_kg = WeightField(
        "Weight (kg)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
        description="In kilograms, up to two decimals, for example 52.4.",
    )
    measured_on = DateField(
        "Date measured",
        validators=[Optional()],
        format="%Y-%m-%d",
        invalid_value_message="Enter the date as year-month-day, for example 2026-11-03.",
    )
    blind = BooleanField("Blind weight: the team sees it, the client never does")
    # Shown only when the day already has a weight (services.SameDayWeight).
    confirm_same_day = BooleanField("Yes, record another weight for this day")
    text = TextAreaField(
        "Details",
        description=(
            "Required for a meal plan change, a supplement change or a note. "
            "For a weight, an optional comment. Plain text."
        ),
    )

    def __init__(self, *args, today: date, unit: str = WeightUnit.KG, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.unit = units.unit_of(unit)
        self.weight_kg.unit = self.unit
        self.weight_kg.label.text = f"Weight ({self.unit.value})"
        low, high = units.bounds(self.unit)
        places = "two decimals" if self.unit == WeightUnit.KG else "one decimal"
        self.weight_kg.description = (
            f"In {units.NAME[self.unit]} (between {units.number(low)} and "
            f"{units.number(high)}), up to {places}, for example {units.EXAMPLE[self.unit]}. "
            "You can change the unit in your profile."
        )

    def validate(self, extra_validators=None) -> bool:
        """Check each field, then the rules of the chosen type (the service's own rules)."""
        valid = super().validate(extra_validators)
        if self.update_type.errors:
            return False
        problems = check_update(
            update_type=self.update_type.data,
            text=self.text.data or "",
            weight_kg=self.weight_kg.data,
            measured_on=self.measured_on.data,
            today=self.today,
            unit=self.unit,
        )
        for name, message in problems.items():
            field = getattr(self, name)
            if not field.errors:  # a value that did not parse already says why
                field.errors.append(message)
            valid = False
        return valid


class BlindDefaultForm(FlaskForm):
    """Whether a client's new weights are blind unless their author unticks it."""

    blind = BooleanField(
        "New weights are blind by default",
        description="The weight form starts with “Blind weight” ticked; each weight can "
        "still be changed. Weights already recorded keep their own setting.",
    )
