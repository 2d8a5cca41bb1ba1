"""Changing one's own profile."""

from __future__ import annotations

from careteam import audit
from careteam.auth.models import User
from careteam.extensions import db

PROVIDER_FIELDS = (
    "credentials",
    "phone",
    "practice_name",
    "share_email",
    "share_phone",
    "share_practice",
)


def update_profile(
    *, user: User, display_name: str, time_zone: str | None = None, **provider_fields
) -> None:
    """Save a profile; only providers have contact details to share."""
    changed = []
    if time_zone and time_zone != user.time_zone:
        user.time_zone = time_zone
        changed.append("time_zone")
    if display_name.strip() != user.display_name:
        user.display_name = display_name.strip()
        changed.append("display_name")
    if user.is_provider:
        for name in PROVIDER_FIELDS:
            value = provider_fields.get(name)
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != getattr(user, name):
                setattr(user, name, value)
                changed.append(name)
    audit.record(
        "update_profile",
        object_type="user",
        object_id=user.id,
        detail=",".join(changed),
        actor=user,
    )
    db.session.commit()
