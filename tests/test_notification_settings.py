"""The notification settings form: the weekday is needed only for weekly digests (issue 13
item 16); one detail choice covers digests and alerts (item 7)."""

from __future__ import annotations

import re

import pytest

from careteam.digests import services
from careteam.digests.models import DigestPreference
from careteam.enums import DigestFrequency
from careteam.extensions import db
from tests.factories import make_provider

FORM = {
    "frequency": "daily",
    "send_time": "07:30",
    "weekday": "",
    "time_zone": "Europe/Berlin",
    "detail": "minimal",
    "alerts_enabled": "y",
}


@pytest.fixture
def reader(app):
    return make_provider(name="Riley Reader")


def _errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]*)</p>', html))


def test_the_weekday_says_it_is_for_weekly_digests_not_required(app, client, auth, reader):
    auth.login(reader.email)
    html = client.get("/settings/notifications").get_data(as_text=True)
    weekday = html[html.index('<label for="weekday"') :]
    weekday = weekday[: weekday.index("</select>")]
    assert "(for weekly digests)" in weekday and ">(required)<" not in weekday
    assert 'data-weekly="(required)"' in weekday  # what static/js/weekday.js shows for weekly
    assert "Detail in digests and alerts" in html


def test_a_daily_digest_saves_without_a_weekday(app, client, auth, reader):
    saved = services.preference_for(reader).weekday
    db.session.commit()
    auth.login(reader.email)
    response = auth.post("/settings/notifications", FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/notifications"
    pref = db.session.get(DigestPreference, reader.id, populate_existing=True)
    assert pref.frequency == DigestFrequency.DAILY and pref.weekday == saved


def test_a_weekly_digest_needs_its_day(app, client, auth, reader):
    auth.login(reader.email)
    response = auth.post("/settings/notifications", {**FORM, "frequency": "weekly"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _errors(html) == {"weekday": "Choose the day for weekly digests."}
    assert 'value="07:30"' in html  # what was typed stays
    bad = auth.post("/settings/notifications", {**FORM, "frequency": "weekly", "weekday": "9"})
    assert bad.status_code == 400
    assert _errors(bad.get_data(as_text=True)) == {
        "weekday": "Choose a day of the week from the list."
    }
    good = auth.post("/settings/notifications", {**FORM, "frequency": "weekly", "weekday": "4"})
    assert good.status_code == 302
    assert good.headers["Location"] == "/settings/notifications"
    pref = db.session.get(DigestPreference, reader.id, populate_existing=True)
    assert (pref.frequency, pref.weekday) == (DigestFrequency.WEEKLY, 4)
