"""Settings > Profile: a new time zone moves the digest schedule with it."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.digests import services as digests
from careteam.digests.models import DigestPreference
from careteam.enums import Role
from careteam.extensions import db, utcnow
from tests.factories import make_provider, make_user

NEW_YORK = ZoneInfo("America/New_York")
MINUTE = timedelta(minutes=1)


def save_profile(auth, user: User, **fields):
    data = {"display_name": user.display_name, "time_zone": user.time_zone, **fields}
    return auth.post("/settings/profile", data)


def next_due(user: User):
    db.session.expire_all()
    pref = db.session.get(DigestPreference, user.id)
    return None if pref is None else pref.next_due_at


def test_a_new_time_zone_reschedules_the_digest_at_the_same_local_time(app, client, auth):
    provider = make_provider()
    digests.preference_for(provider)  # the default daily 08:00, in UTC
    db.session.commit()
    before = next_due(provider)
    assert before.time() == time(8, 0)
    auth.login(provider.email)

    response = save_profile(auth, provider, time_zone="America/New_York")

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/profile"
    after = next_due(provider)
    assert after.astimezone(NEW_YORK).time() == time(8, 0)
    assert timedelta(0) < after - utcnow() <= timedelta(days=1)
    # The dispatcher follows: nothing at 08:00 UTC any more, one window at 08:00 there.
    assert digests.dispatch_due(before + MINUTE, user_ids=[provider.id]) == []
    assert len(digests.dispatch_due(after + MINUTE, user_ids=[provider.id])) == 1


def test_a_provider_without_preferences_yet_is_scheduled_in_the_new_zone(app, client, auth):
    provider = make_provider()
    assert next_due(provider) is None
    auth.login(provider.email)

    save_profile(auth, provider, time_zone="America/New_York")

    assert next_due(provider).astimezone(NEW_YORK).time() == time(8, 0)


def test_a_profile_saved_in_the_same_zone_keeps_the_schedule(app, client, auth):
    provider = make_provider()
    digests.preference_for(provider)
    db.session.commit()
    before = next_due(provider)
    auth.login(provider.email)

    save_profile(auth, provider, display_name="Renamed Provider")

    assert db.session.get(User, provider.id).display_name == "Renamed Provider"
    assert next_due(provider) == before


def test_the_zone_and_the_profile_change_are_audited_together(app, client, auth):
    provider = make_provider()
    auth.login(provider.email)

    save_profile(auth, provider, display_name="Renamed Provider", time_zone="Asia/Tokyo")

    user = db.session.get(User, provider.id)
    assert (user.display_name, user.time_zone) == ("Renamed Provider", "Asia/Tokyo")
    actions = [
        e.action
        for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.object_id == provider.id)
        )
    ]
    assert "update_profile" in actions and "update_digest_preferences" in actions


def test_a_client_moving_zone_still_gets_no_digest(app, client, auth):
    own = make_user(Role.CLIENT)
    auth.login(own.email)

    response = save_profile(auth, own, time_zone="America/New_York")

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/profile"
    assert db.session.get(User, own.id).time_zone == "America/New_York"
    assert next_due(own) is None  # digests are off for clients unless they turn them on
