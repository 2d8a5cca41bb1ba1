"""Digest preferences: defaults on first use, saving them, muting a client, unsubscribing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select

from careteam import access, audit
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests import schedule
from careteam.digests.models import DigestMute, DigestPreference
from careteam.enums import DigestFrequency, Role
from careteam.extensions import db, utcnow
from careteam.timefmt import choosable_zone, zone_of


def preference_for(user: User) -> DigestPreference:
    """The user's preferences, created with sane defaults on first use."""
    pref = db.session.get(DigestPreference, user.id)
    if pref is None:
        frequency = DigestFrequency.DAILY if user.role == Role.PROVIDER else DigestFrequency.OFF
        pref = DigestPreference(user_id=user.id, frequency=frequency, send_time=time(8, 0))
        pref.user = user
        reschedule(pref, utcnow())
        db.session.add(pref)
        db.session.flush()
    return pref


def reschedule(pref: DigestPreference, after: datetime) -> None:
    pref.next_due_at = schedule.next_due(
        frequency=pref.frequency,
        send_time=pref.send_time,
        weekday=pref.weekday,
        zone=zone_of(pref.user),
        after=after,
    )


def save_preferences(*, user: User, time_zone: str | None = None, **values) -> DigestPreference:
    """Save digest preferences and recompute the next due time."""
    pref = preference_for(user)
    for name, value in values.items():
        setattr(pref, name, value)
    if time_zone:
        user.time_zone = time_zone
        user.time_zone_chosen = True  # the person's own: no browser replaces it at login
    pref.updated_at = utcnow()
    reschedule(pref, utcnow())
    audit.record("update_digest_preferences", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    return pref


def adopt_browser_zone(user: User, name: str | None) -> bool:
    """At a login: a user still in the deployment's default zone takes the zone their
    browser reports (a name users may choose, else nothing changes), and their digest
    schedule follows it. The caller commits. True if the zone was adopted."""
    zone = choosable_zone(name)
    if user.time_zone_chosen or zone is None:
        return False
    user.time_zone, user.time_zone_chosen = zone, True
    pref = db.session.get(DigestPreference, user.id)
    if pref is not None:
        reschedule(pref, utcnow())
    return True


def set_mute(*, user: User, client_id: int, muted: bool) -> None:
    """Leave one client's updates out of the user's digests, or bring them back."""
    row = db.session.scalar(
        select(DigestMute).where(DigestMute.user_id == user.id, DigestMute.client_id == client_id)
    )
    if muted and row is None:
        db.session.add(DigestMute(user_id=user.id, client_id=client_id))
    elif not muted and row is not None:
        db.session.delete(row)
    audit.record(
        "mute_client_in_digest" if muted else "unmute_client_in_digest",
        object_type="client",
        object_id=client_id,
        client_id=client_id,
        actor=user,
    )
    db.session.commit()


def unsubscribe(user: User) -> None:
    """One-click unsubscribe: digests off (immediate alerts are a separate setting)."""
    pref = preference_for(user)
    pref.frequency = DigestFrequency.OFF
    pref.next_due_at = None
    audit.record("unsubscribe_digest", object_type="user", object_id=user.id, actor=user)
    db.session.commit()


@dataclass(frozen=True)
class NotificationSettings:
    """What the notification settings page shows: the preferences, the clients whose
    updates a provider may mute, and the ones muted."""

    pref: DigestPreference
    clients: list[Client]
    muted: set[int]


def open_preferences(user: User) -> DigestPreference:
    """The user's preferences for a page or the API: created on first use (committed),
    then read fresh."""
    preference_for(user)
    db.session.commit()
    return preference_for(user)


def open_settings(user: User) -> NotificationSettings:
    """Open the settings page: the preferences (see open_preferences) and the clients."""
    pref = open_preferences(user)
    clients = (
        list(
            db.session.scalars(
                select(Client)
                .where(Client.id.in_(access.visible_client_ids(user)))
                .order_by(Client.full_name)
            )
        )
        if user.is_provider
        else []
    )
    muted = set(
        db.session.scalars(select(DigestMute.client_id).where(DigestMute.user_id == user.id))
    )
    return NotificationSettings(pref, clients, muted)
