"""The query strings of the record's list endpoints, validated (422 on a bad value)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from careteam.enums import EntryKind
from careteam.input_guard import MAX_ID
from careteam.record.services import Cursor

CURSOR_HELP = "The `next_cursor` of the previous page, as it was given (opaque)."


def _valid_cursor(value: str | None) -> str | None:
    if value is not None and (Cursor.decode(value) is None or _out_of_range(value)):
        raise ValueError("This is not a cursor from this API. Start again without it.")
    return value


def _out_of_range(value: str) -> bool:
    try:
        _in_utc(Cursor.decode(value).created_at)
    except ValueError:
        return True
    return False


def _in_utc(value: datetime | None) -> datetime | None:
    """The time in UTC, as the database compares it (year 1 at +14:00 has no UTC time)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Give a time between the years 1 and 9999 (UTC).") from None


# Optional query parameters are typed without None and default to None: a query string
# cannot say null, and a union would answer a bad value with one error per member.


class ClientsQuery(BaseModel):
    cursor: str = Field(default=None, max_length=200, description=CURSOR_HELP)
    limit: int = Field(default=50, ge=1, le=100, description="Clients per page.")

    _cursor = field_validator("cursor")(_valid_cursor)


class TimelineQuery(BaseModel):
    kind: list[EntryKind] = Field(
        default_factory=list, description="Only these kinds (repeat the parameter for several)."
    )
    author: int = Field(default=None, ge=1, le=MAX_ID, description="Only entries by this user id.")
    since: AwareDatetime = Field(
        default=None,
        description="Only entries created at or after this time (ISO 8601 with an offset, "
        "e.g. 2026-03-01T00:00:00Z; send '+' as %2B).",
    )
    until: AwareDatetime = Field(
        default=None, description="Only entries created before this time (ISO 8601 with offset)."
    )
    cursor: str = Field(default=None, max_length=200, description=CURSOR_HELP)
    limit: int = Field(default=20, ge=1, le=100, description="Entries per page.")

    _cursor = field_validator("cursor")(_valid_cursor)
    _times = field_validator("since", "until")(_in_utc)

    @model_validator(mode="after")
    def _window(self):
        if self.since and self.until and self.since >= self.until:
            raise ValueError("`since` must be earlier than `until`.")
        return self
