"""The limits of a client's details, for the forms and the use cases alike."""

from __future__ import annotations

from datetime import date

# Nobody in care is older than this; an earlier birth date is a typing mistake.
OLDEST_AGE = 120


def age_on(birth: date, day: date) -> int:
    """Completed years on `day` (someone born on 29 February turns a year older on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def birth_date_problem(birth: date | None, today: date) -> str | None:
    """Why a date of birth cannot be right, in words for the person typing it; else None."""
    if birth is None:
        return None
    if birth > today:
        return "This date cannot be in the future."
    if age_on(birth, today) > OLDEST_AGE:
        return (
            f"Check the year: this would make the client older than {OLDEST_AGE}. "
            "Use the format 1990-04-27."
        )
    return None
