"""Pydantic pieces the API's resources share: strict input, cursors, people, numbers.

Each resource's own models live in its module (me.py, clients.py, entries/, goals.py);
only what two resources use is here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from careteam.auth.models import User
from careteam.enums import Discipline
from careteam.paging import Cursor


class StrictIn(BaseModel):
    """Input models refuse unknown fields: a misspelt field must not be silently dropped."""

    model_config = ConfigDict(extra="forbid")


class WriteIn(StrictIn):
    """What every write refuses: text no column can store (NUL on PostgreSQL; the web's
    input guard refuses it in forms)."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("null_character", "Remove the null character (\\u0000).")
        return value


class PersonOut(BaseModel):
    """A user as the record names them: an entry's author, a goal's owner."""

    id: int
    display_name: str
    discipline: Discipline | None = None


def person_out(user: User) -> PersonOut:
    return PersonOut(id=user.id, display_name=user.display_name, discipline=user.discipline)


def number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# Query strings of the list endpoints. Optional query parameters are typed without None and
# default to None: a query string cannot say null, and a union would answer a bad value
# with one error per member.

CURSOR_HELP = "The `next_cursor` of the previous page, as it was given (opaque)."


def valid_cursor(value: str | None) -> str | None:
    if value is not None and (Cursor.decode(value) is None or _out_of_range(value)):
        raise ValueError("This is not a cursor from this API. Start again without it.")
    return value


def _out_of_range(value: str) -> bool:
    try:
        in_utc(Cursor.decode(value).at)
    except ValueError:
        return True
    return False


def in_utc(value: datetime | None) -> datetime | None:
    """The time in UTC, as the database compares it (year 1 at +14:00 has no UTC time)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Give a time between the years 1 and 9999 (UTC).") from None
