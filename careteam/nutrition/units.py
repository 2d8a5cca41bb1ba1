"""Weights in kilograms or pounds: stored in kilograms, entered and shown in the user's unit.

Pure: no queries. One pound is exactly 0.45359237 kg. Kilograms are stored to 0.01 and
pounds entered and shown to 0.1, so a weight entered in pounds reads back as typed
(0.005 kg of rounding is 0.011 lb, well inside 0.05).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from careteam.enums import WeightUnit

KG_PER_LB = Decimal("0.45359237")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
# The weights a person can have, in kilograms (the bounds in pounds follow from them).
MIN_KG = Decimal("20")
MAX_KG = Decimal("350")
# How many decimals a weight may be entered with, per unit.
STEP = {WeightUnit.KG: CENT, WeightUnit.LB: TENTH}
EXAMPLE = {WeightUnit.KG: "52.4", WeightUnit.LB: "115.5"}
NAME = {WeightUnit.KG: "kilograms", WeightUnit.LB: "pounds"}


def unit_of(value: str | None) -> WeightUnit:
    """A user's unit; kilograms when unset or unknown."""
    try:
        return WeightUnit(value or WeightUnit.KG)
    except ValueError:
        return WeightUnit.KG


def to_kg(value: Decimal, unit: str) -> Decimal:
    """A weight typed in `unit`, in kilograms to 0.01."""
    kg = value if unit_of(unit) == WeightUnit.KG else value * KG_PER_LB
    return kg.quantize(CENT, rounding=ROUND_HALF_UP)


def from_kg(kg: Decimal, unit: str) -> Decimal:
    """A stored weight in `unit`: kilograms to 0.01, pounds to 0.1."""
    kg = Decimal(kg)
    if unit_of(unit) == WeightUnit.KG:
        return kg.quantize(CENT, rounding=ROUND_HALF_UP)
    return (kg / KG_PER_LB).quantize(TENTH, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> str:
    """A weight without trailing zeros: 52.40 → "52.4", 160.0 → "160"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_weight(kg: Decimal | None, unit: str, *, with_unit: bool = True) -> str:
    """A stored weight as the user reads it, such as "52.4 kg" or "115.5 lb"."""
    if kg is None:
        return ""
    text = number(from_kg(kg, unit))
    return f"{text} {unit_of(unit).value}" if with_unit else text


def bounds(unit: str) -> tuple[Decimal, Decimal]:
    """The lowest and highest weight accepted, in `unit` (inside the kilogram bounds)."""
    if unit_of(unit) == WeightUnit.KG:
        return MIN_KG, MAX_KG
    return (
        (MIN_KG / KG_PER_LB).quantize(TENTH, rounding=ROUND_CEILING),
        (MAX_KG / KG_PER_LB).quantize(TENTH, rounding=ROUND_FLOOR),
    )


def weight_problem(value: Decimal | None, unit: str) -> str | None:
    """Why a weight typed in `unit` cannot be recorded, in that unit; None when it can."""
    unit = unit_of(unit)
    name, example = NAME[unit], EXAMPLE[unit]
    if value is None:
        return f"Enter the weight in {name}."
    if not value.is_finite():
        return f"Enter the weight as a number of {name}, for example {example}."
    low, high = bounds(unit)
    other = "pounds" if unit == WeightUnit.KG else "kilograms"
    if value < low:
        return (
            f"Must be at least {number(low)} {unit.value}. "
            f"Check that it is in {name}, not {other} or grams."
        )
    if value > high:
        return (
            f"Must be at most {number(high)} {unit.value}. "
            f"Check that it is in {name}, not {other} or grams."
        )
    if value != value.quantize(STEP[unit]):
        places = "two decimals" if unit == WeightUnit.KG else "one decimal"
        return f"Enter the weight with at most {places}, for example {example}."
    return None
