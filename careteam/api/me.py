"""The token holder's own resources: who they are, and their digest and alert preferences."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated

from flask import g
from flask_login import current_user
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from careteam.api.blueprint import bp
from careteam.api.openapi import operation
from careteam.api.schemas import StrictIn
from careteam.digests import services as digests
from careteam.enums import DigestDetail, DigestFrequency, Discipline, Role, TokenScope
from careteam.portal.services import own_client_id
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


def _me() -> MeOut:
    token = g.api_token
    return MeOut(
        id=current_user.id,
        email=current_user.email,
        display_name=current_user.display_name,
        role=current_user.role,
        discipline=current_user.discipline,
        credentials=current_user.credentials,
        time_zone=current_user.time_zone,
        client_id=own_client_id(current_user) if current_user.is_client else None,
        token=TokenOut(
            id=token.id, name=token.name, scope=token.scope, expires_at=token.expires_at
        ),
    )


@bp.get("/me")
@operation(summary="The user this token belongs to", responses={200: MeOut}, tags=["Me"])
def me():
    return _me()


def _preferences_out(pref) -> DigestPreferences:
    return DigestPreferences(
        frequency=pref.frequency,
        send_time=pref.send_time,
        weekday=pref.weekday,
        time_zone=current_user.time_zone,
        detail=pref.detail,
        send_when_empty=pref.send_when_empty,
        alerts_enabled=pref.alerts_enabled,
        quiet_start=pref.quiet_start,
        quiet_end=pref.quiet_end,
    )


@bp.get("/me/digest-preferences")
@operation(
    summary="My digest and alert preferences", responses={200: DigestPreferences}, tags=["Me"]
)
def digest_preferences():
    return _preferences_out(digests.open_preferences(current_user))


@bp.put("/me/digest-preferences")
@operation(
    summary="Replace my digest and alert preferences",
    body=DigestPreferencesIn,
    responses={200: DigestPreferences},
    tags=["Me"],
)
def save_digest_preferences(body: DigestPreferencesIn):
    values = body.model_dump(exclude={"time_zone"})
    pref = digests.save_preferences(user=current_user, time_zone=body.time_zone, **values)
    return _preferences_out(pref)
