"""Times are local (issue 13 item 11): a new account takes its browser's time zone at its
first login (or keeps the deployment's default), keeps it until its person changes it in
settings, and every page shows times in one format, in the viewer's zone, with no "UTC"
for anyone who is not in UTC and no ISO timestamp in what people read."""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from careteam.auth.models import User
from careteam.digests import services as digests
from careteam.enums import Role
from careteam.extensions import db
from careteam.timefmt import choosable_zone
from tests.factories import PASSWORD, make_provider, make_user
from tests.helpers import csrf_from
from tests.worlds import build_world


def fresh(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def login_with_zone(client, auth, email: str, zone: str | None):
    """Log in through the real forms, the hidden field filled as the login script does."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    if zone is not None:
        data["time_zone"] = zone
    response = client.post("/login", data=data)
    if response.headers.get("Location") == "/login/two-factor":
        response = auth.enter_code(email)
    assert response.status_code == 302
    assert response.headers["Location"] not in ("/login", "/login/two-factor")
    return response


def test_the_login_page_carries_the_browsers_zone_field_and_its_script(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<input[^>]*data-browser-time-zone[^>]*name="time_zone"', page) or re.search(
        r'<input[^>]*name="time_zone"[^>]*data-browser-time-zone', page
    )
    assert "js/time-zone.js" in page


def test_a_new_account_takes_its_browsers_zone_at_its_first_login(app, client, auth):
    provider = make_provider()
    digests.preference_for(provider)  # the default daily 08:00, in the default zone
    db.session.commit()
    assert (provider.time_zone, provider.time_zone_chosen) == ("UTC", False)
    login_with_zone(client, auth, provider.email, "America/Chicago")
    user = fresh(provider.id)
    assert (user.time_zone, user.time_zone_chosen) == ("America/Chicago", True)
    # The digest schedule follows: 08:00 in Chicago.
    pref = digests.preference_for(user)
    assert pref.next_due_at.astimezone(ZoneInfo("America/Chicago")).time() == time(8, 0)


def test_the_browsers_zone_is_kept_at_later_logins(app, client, auth):
    provider = make_provider()
    login_with_zone(client, auth, provider.email, "Europe/Berlin")
    auth.logout()
    login_with_zone(client, auth, provider.email, "Asia/Tokyo")  # travelling: kept as it was
    assert fresh(provider.id).time_zone == "Europe/Berlin"


@pytest.mark.parametrize("reported", ["", "Mars/Olympus_Mons", "EST", "Etc/GMT+5", "x" * 300])
def test_an_unknown_or_missing_browser_zone_keeps_the_deployments_default(
    app, client, auth, reported
):
    app.config["DISPLAY_TIMEZONE"] = "America/New_York"
    provider = make_provider()
    login_with_zone(client, auth, provider.email, reported)
    user = fresh(provider.id)
    assert (user.time_zone, user.time_zone_chosen) == ("America/New_York", False)


def test_a_zone_chosen_in_settings_is_never_replaced_by_a_browser(app, client, auth):
    provider = make_provider()
    auth.login(provider.email)
    response = auth.post(
        "/settings/profile",
        {"display_name": provider.display_name, "time_zone": "Australia/Sydney"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/profile"
    auth.logout()
    login_with_zone(client, auth, provider.email, "America/Chicago")
    user = fresh(provider.id)
    assert (user.time_zone, user.time_zone_chosen) == ("Australia/Sydney", True)


def test_choosable_zone_accepts_only_names_users_may_choose():
    assert choosable_zone("Europe/Paris") == "Europe/Paris"
    assert choosable_zone("UTC") == "UTC"
    assert choosable_zone(None) is None
    assert choosable_zone("europe/paris") is None
    assert choosable_zone("Europe/Paris/../../etc") is None


# --- One format, the viewer's zone, no stray "UTC" or ISO timestamp -----------------------

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
UTC_WORD = re.compile(r"\bUTC\b|\+00:00|\bGMT\b")
ONE_FORMAT = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}(?:, \d{2}:\d{2})?\b")


def visible_text(html: str) -> str:
    """What a person reads, charts' labels included: no tags, attributes, scripts, or the
    time zone picker's list."""
    html = re.sub(r"(?s)<(script|style|select)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def team_pages(world) -> list[str]:
    cid = world.record.id
    return [
        "/clients/",
        f"/clients/{cid}",
        f"/clients/{cid}/team",
        f"/clients/{cid}/goals",
        f"/clients/{cid}/medications",
        f"/clients/{cid}/nutrition",
        f"/clients/{cid}/practice",
        *[f"/clients/{cid}/entries/{eid}" for eid in world.entry_ids()],
        "/settings/notifications",
    ]


def test_pages_show_times_in_one_format_without_utc_or_iso_for_a_new_york_viewer(
    app, client, auth
):
    world = build_world()
    world.people["admin"] = make_user(Role.ADMIN)
    for user in world.people.values():
        user.time_zone, user.time_zone_chosen = "America/New_York", True
    db.session.commit()
    seen_dates = 0
    for role, pages in (
        ("lead", team_pages(world)),
        ("client", ["/portal/", "/portal/notes", "/portal/access", "/practice/"]),
        ("admin", ["/admin/users", "/admin/audit", "/admin/health"]),
    ):
        auth.login(world.people[role].email)
        for path in pages:
            response = client.get(path, follow_redirects=True)
            if response.status_code == 404:
                continue  # a page this build does not have (or a kind with no page)
            assert response.status_code == 200, path
            text = visible_text(response.get_data(as_text=True))
            stray = [text[max(0, m.start() - 60) : m.end() + 20] for m in UTC_WORD.finditer(text)]
            stray += [text[max(0, m.start() - 60) : m.end() + 20] for m in ISO.finditer(text)]
            assert not stray, (path, stray)
            seen_dates += len(ONE_FORMAT.findall(text))
        auth.logout()
    assert seen_dates > 20  # the sweep did read pages with dates on them


def test_a_utc_viewer_may_read_utc_only_where_their_zone_is_named(app, client, auth):
    provider = make_provider()
    auth.login(provider.email)
    page = client.get("/settings/profile").get_data(as_text=True)
    assert '<option selected value="UTC">' in page or 'value="UTC" selected' in page


def test_every_user_row_knows_whether_the_zone_was_chosen(app):
    provider = make_provider()
    assert db.session.scalar(select(User.time_zone_chosen).where(User.id == provider.id)) is False
