"""Changing one's own profile."""

from __future__ import annotations

from careteam import audit
from careteam.auth.models import User
from careteam.digests import services as digests
from careteam.enums import WeightUnit
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
    *,
    user: User,
    display_name: str,
    time_zone: str | None = None,
    weight_unit: str | None = None,
    **provider_fields,
) -> None:
    """Save a profile; only providers have contact details to share.

    A new time zone moves the digest schedule with it: "08:00" stays 08:00 where the
    user now is (the next due instant is recomputed in the new zone).
    """
    changed = []
    new_zone = time_zone if time_zone and time_zone != user.time_zone else None
    if new_zone:
        changed.append("time_zone")
    elif time_zone:
        user.time_zone_chosen = True  # kept as it is: now the person's own choice
    if weight_unit in set(WeightUnit) and weight_unit != user.weight_unit:
        user.weight_unit = weight_unit
        changed.append("weight_unit")
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
    if new_zone:
        # The digest preferences use case sets the zone, recomputes the next due time in
        # it, audits that and commits: the profile's changes above go in the same commit.
        digests.save_preferences(user=user, time_zone=new_zone)
    else:
        db.session.commit()
