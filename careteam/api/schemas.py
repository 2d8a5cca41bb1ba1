"""Pydantic models the API shares across resources: the user, pages, preferences."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from careteam.enums import DigestDetail, DigestFrequency, Discipline, Role, TokenScope
from careteam.timefmt import TIME_ZONES

HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _hh_mm(value):
    if not isinstance(value, time | str) or (
        isinstance(value, str) and not re.fullmatch(HH_MM, value)
    ):
        raise ValueError("Give a time of day as HH:MM, e.g. 08:00.")
    return value


# A local time of day as "HH:MM". Not JSON Schema's "time" format: that is RFC 3339's
# full-time, which carries an offset, and these times are in the user's time zone.
LocalTime = Annotated[
    time,
    BeforeValidator(_hh_mm),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": HH_MM, "examples": ["08:00"]}),
]


class StrictIn(BaseModel):
    """Input models refuse unknown fields: a misspelt field must not be silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TokenOut(BaseModel):
    id: int
    name: str
    scope: TokenScope
    expires_at: datetime


class MeOut(BaseModel):
    """The user a token belongs to."""

    id: int
    email: str
    display_name: str
    role: Role
    discipline: Discipline | None = None
    credentials: str = ""
    time_zone: str
    client_id: int | None = Field(
        default=None, description="For a client's account: the id of their own record."
    )
    token: TokenOut


class DigestPreferences(BaseModel):
    """When digest emails and immediate alerts reach you (times in your time zone)."""

    frequency: DigestFrequency
    send_time: LocalTime = Field(description="Local time of day, HH:MM.")
    weekday: int = Field(ge=0, le=6, description="Weekly digests: 0 is Monday, 6 Sunday.")
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Berlin.")
    detail: DigestDetail = Field(
        description="minimal: counts and links, no clinical content; full: each entry's summary."
    )
    send_when_empty: bool
    alerts_enabled: bool
    quiet_start: LocalTime | None = Field(default=None, description="HH:MM, or null.")
    quiet_end: LocalTime | None = Field(default=None, description="HH:MM, or null.")


class DigestPreferencesIn(StrictIn, DigestPreferences):
    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in TIME_ZONES:
            raise ValueError("Use an IANA time zone, e.g. Europe/Berlin.")
        return value

    @model_validator(mode="after")
    def _quiet_hours(self):
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("Give both the start and the end of your quiet hours, or neither.")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("Quiet hours must start and end at different times.")
        return self


class Health(BaseModel):
    status: Literal["ok"] = "ok"
