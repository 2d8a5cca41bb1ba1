"""The rules a goal and a check-in must meet, with the number format they share.

Pure: no queries. Forms use them to show every problem at once; the use cases in
services.py raise the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from careteam.enums import GoalDirection, GoalStatus
from careteam.errors import UserFacingError
from careteam.goals.models import Goal
from careteam.wording import unit_for

if TYPE_CHECKING:
    # Only for annotations: services.py imports this module, so no import back at run time.
    from careteam.goals.services import GoalFields

# Numeric(12, 3): nine digits before the decimal point, three after.
NUMBER_LIMIT = Decimal("1000000000")
TEXT_LIMITS = {"title": 200, "measure": 200, "unit": 40, "description": 5000}
COMMENT_LIMIT = 2000
# The statuses a goal may be set with; on hold, completed and cancelled come with changes.
NEW_GOAL_STATUSES = (GoalStatus.ACTIVE, GoalStatus.PROPOSED)
REQUIRED_TEXT = {
    "title": "Give the goal a title.",
    "measure": "Say what is measured, for example “panic attacks”.",
    "unit": "Give the unit, for example “per week”.",
}


def format_number(value: Decimal | float | int) -> str:
    """A measurement without trailing zeros or exponent: 6.000 → "6", 2.50 → "2.5"."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def format_measure(value: Decimal | float | int, unit: str) -> str:
    """A measurement with its unit, agreeing in number: "1 attack per week", "2.5 hours"."""
    return f"{format_number(value)} {unit_for(value, unit)}".strip()


# What a goal's unit or measure says about the values it can take: a scale "0-10",
# "0 to 10", "1-5"; "out of 10" or "/10"; a percentage; days in a week; hours in a day.
SCALE = re.compile(r"(?<![\d.])(\d+)\s*(?:-|\u2013|to)\s*(\d+)(?![\d.])")
OUT_OF = re.compile(r"(?:/|out of\s*)(\d+)(?![\d.])")
CEILINGS = (
    (re.compile(r"%|\bpercent"), Decimal(100)),
    (re.compile(r"\bdays? (?:per|a|each) week\b"), Decimal(7)),
    (re.compile(r"\bhours? (?:per|a|each) day\b"), Decimal(24)),
)


@dataclass(frozen=True)
class Bounds:
    """The range a goal's check-ins must stay in (None: no bound on that side)."""

    low: Decimal | None
    high: Decimal | None
    why_low: str = ""
    why_high: str = ""


def measure_bounds(goal: Goal) -> Bounds:
    """What a check-in of this goal can be: never negative when the goal counts or times
    something (baseline and target both at least 0), within a scale its unit or measure
    names, at most 100 %, 7 days a week or 24 hours a day. A bound the goal's own baseline
    or target already breaks is not one (the words meant something else)."""
    text = f"{goal.unit} {goal.measure}".lower()
    values = [Decimal(goal.baseline), Decimal(goal.target)]
    low = high = None
    why_low = why_high = ""
    if min(values) >= 0:
        low, why_low = Decimal(0), "it cannot be negative"
    scale = SCALE.search(text)
    if scale:
        first, last = Decimal(scale.group(1)), Decimal(scale.group(2))
        if first < last:
            low, high = first, last
            why_low = why_high = f"the scale is {scale.group(1)}-{scale.group(2)}"
    elif (out_of := OUT_OF.search(text)) is not None:
        high, why_high = Decimal(out_of.group(1)), f"the scale goes up to {out_of.group(1)}"
    else:
        for pattern, ceiling in CEILINGS:
            if pattern.search(text):
                high, why_high = ceiling, "that is the most there can be"
                break
    if low is not None and min(values) < low:
        low = None
    if high is not None and max(values) > high:
        high = None
    return Bounds(low, high, why_low, why_high)


def range_problem(value: Decimal, goal: Goal) -> str | None:
    """Why a check-in value is outside what the goal measures, naming the bound; or None."""
    bounds = measure_bounds(goal)
    if bounds.low is not None and value < bounds.low:
        return f"Must be at least {format_measure(bounds.low, goal.unit)}: {bounds.why_low}."
    if bounds.high is not None and value > bounds.high:
        return f"Must be at most {format_measure(bounds.high, goal.unit)}: {bounds.why_high}."
    return None


def number_problem(value: Decimal | None) -> str | None:
    """Why a number cannot be stored as a measurement, or None when it can."""
    if value is None:
        return None
    if not value.is_finite():
        return "Enter a number, such as 3 or 2.5."
    if abs(value) >= NUMBER_LIMIT:
        return "Enter a number below 1,000,000,000."
    if value.normalize().as_tuple().exponent < -3:
        return "Use at most three decimal places."
    return None


def goal_problems(
    fields: GoalFields, *, today: date, current: Goal | None = None
) -> list[UserFacingError]:
    """Every reason to refuse these values, each tied to its field.

    Forms use it to show all the problems at once; the use cases raise the first. Values
    a form could not parse arrive as None and are reported as missing.
    """
    problems: list[UserFacingError] = []
    for name, message in REQUIRED_TEXT.items():
        if not (getattr(fields, name) or "").strip():
            problems.append(UserFacingError(message, name))
    for name, limit in TEXT_LIMITS.items():
        if len((getattr(fields, name) or "").strip()) > limit:
            problems.append(UserFacingError(f"Use at most {limit} characters.", name))
    numbers_ok = True
    for name, missing in (
        ("baseline", "Enter the baseline: where the client starts."),
        ("target", "Enter the target."),
    ):
        value = getattr(fields, name)
        message = missing if value is None else number_problem(value)
        if message:
            problems.append(UserFacingError(message, name))
            numbers_ok = False
    if fields.direction not in (GoalDirection.UP, GoalDirection.DOWN):
        problems.append(UserFacingError("Choose whether higher or lower is better.", "direction"))
    elif numbers_ok:
        problem = _direction_problem(fields)
        if problem:
            problems.append(UserFacingError(problem, "target"))
    if fields.target_date is None:
        problems.append(UserFacingError("Enter the target date.", "target_date"))
    elif fields.target_date < today and (
        current is None or fields.target_date != current.target_date
    ):
        problems.append(UserFacingError("The target date cannot be in the past.", "target_date"))
    return problems


def _direction_problem(fields: GoalFields) -> str | None:
    baseline = format_number(fields.baseline)
    if fields.target == fields.baseline:
        return f"The target must differ from the baseline ({baseline})."
    if fields.direction == GoalDirection.UP and fields.target < fields.baseline:
        return (
            f"With “higher is better” the target must be above the baseline ({baseline}). "
            "Change the numbers or choose “lower is better”."
        )
    if fields.direction == GoalDirection.DOWN and fields.target > fields.baseline:
        return (
            f"With “lower is better” the target must be below the baseline ({baseline}). "
            "Change the numbers or choose “higher is better”."
        )
    return None


def progress_problems(
    *,
    measured_on: date | None,
    value: Decimal | None,
    comment: str,
    today: date,
    goal: Goal | None = None,
) -> list[UserFacingError]:
    """Every reason to refuse a check-in of `goal`, each tied to its field."""
    problems: list[UserFacingError] = []
    if measured_on is None:
        problems.append(UserFacingError("Enter the date of the measurement.", "measured_on"))
    elif measured_on > today:
        problems.append(UserFacingError("This date cannot be in the future.", "measured_on"))
    message = "Enter the value measured." if value is None else number_problem(value)
    if message is None and value is not None and goal is not None:
        message = range_problem(value, goal)
    if message:
        problems.append(UserFacingError(message, "value"))
    if len((comment or "").strip()) > COMMENT_LIMIT:
        problems.append(UserFacingError(f"Use at most {COMMENT_LIMIT} characters.", "comment"))
    return problems
