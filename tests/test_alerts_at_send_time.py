"""Immediate alerts checked again when they go out, and their one-click unsubscribe.

Quiet hours (or SMTP retries) can hold a delivery for hours after its recipients were
chosen: whoever lost access, was deactivated or turned alerts off meanwhile gets nothing,
and an entry amended meanwhile goes out in its corrected version only. The team and the
helpers are tests/test_alerts.py's, from tests/alert_helpers.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from careteam.admin.services import set_active
from careteam.alerts import services as alerts
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.audit import AuditEvent
from careteam.clients import services as client_services
from careteam.digests import services as digests
from careteam.digests.models import DigestPreference
from careteam.emergency.services import open_grant
from careteam.enums import AlertStatus, DigestFrequency, Role
from careteam.extensions import db, utcnow
from careteam.health.services import system_overview
from careteam.links import unsubscribe_token
from tests.alert_helpers import (
    BASE_URL,
    NOTE_BODY,
    NOTE_TITLE,
    Team,
    alert_for,
    bodies,
    deliveries,
    make_team,
    urgent_note,
)
from tests.factories import make_provider, make_user


@pytest.fixture
def sink(app, sink):
    app.config.update(BASE_URL=BASE_URL, SERVER_NAME=None)
    return sink


@pytest.fixture
def team(app) -> Team:
    """test_alerts.py's team (reader, muted, ended, gone)."""
    return make_team(app)


# A night in the reader's (UTC) quiet hours 22:00-07:00, the one that ended last: its 07:00
# is in the past and within the health page's last 24 hours, whatever the time of day.
_NOW = utcnow()
_LAST_07 = _NOW.date() - timedelta(days=0 if _NOW.time() >= time(7, 0) else 1)
NIGHT = datetime.combine(_LAST_07 - timedelta(days=1), time(23, 0), tzinfo=UTC)
MORNING = NIGHT + timedelta(hours=9)


def held_overnight(team: Team, **note) -> AlertDelivery:
    """An urgent note fanned out in the reader's quiet hours, due now that they ended."""
    team.reader.time_zone = "UTC"
    pref = digests.preference_for(team.reader)
    pref.quiet_start, pref.quiet_end = time(22, 0), time(7, 0)
    db.session.commit()
    alert = alert_for(urgent_note(team, **note))
    assert alerts.fan_out(alert.id, now=NIGHT) == 1
    delivery = deliveries(alert)[team.reader.id]
    assert delivery.deliver_after == NIGHT + timedelta(hours=8)  # held until 07:00
    assert alerts.due_deliveries() == [delivery.id]  # and 07:00 has passed
    return delivery


def member_row(team: Team, user):
    return next(m for m in team.record.members if m.provider_id == user.id)


def remove_from_team(team: Team) -> None:
    row = member_row(team, team.reader)
    client_services.end_member(actor=team.author, client=team.record, member_id=row.id)


def deactivate(team: Team) -> None:
    set_active(actor=make_user(Role.ADMIN), user=team.reader, active=False)


def turn_alerts_off(team: Team) -> None:
    digests.save_preferences(user=team.reader, alerts_enabled=False)


def unsubscribe(team: Team) -> None:
    alerts.unsubscribe(team.reader)


def assert_dropped(delivery_id: int, reason: str) -> None:
    delivery = db.session.get(AlertDelivery, delivery_id, populate_existing=True)
    assert delivery.status == AlertStatus.DROPPED
    assert delivery.last_error.startswith(alerts.DROPPED + reason), delivery.last_error
    assert delivery.sent_at is None and delivery.lease_until is None
    assert alerts.due_deliveries() == []  # never retried


def test_a_held_alert_goes_out_when_nothing_changed(app, sink, team):
    delivery = held_overnight(team)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(1)] == [team.reader.email]
    assert db.session.get(AlertDelivery, delivery.id).status == AlertStatus.SENT


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (remove_from_team, "no access (not an active team member)"),
        (deactivate, "account deactivated"),
        (turn_alerts_off, "alerts turned off"),
        (unsubscribe, "alerts turned off"),
    ],
)
def test_a_held_alert_is_dropped_when_the_recipient_may_no_longer_have_it(
    app, sink, team, change, reason
):
    delivery = held_overnight(team)
    change(team)  # during the quiet hours
    assert alerts.send_due(alerts.due_deliveries()) == 0
    assert_dropped(delivery.id, reason)
    assert sink.messages == []
    # The admin health page tells drops from failures.
    overview = system_overview()
    assert (overview["dropped_alerts_24h"], overview["failed_alerts_24h"]) == (1, 0)


def test_an_alert_retried_after_smtp_failed_is_dropped_once_access_is_gone(app, sink, team):
    alert = alert_for(urgent_note(team))
    alerts.fan_out(alert.id)
    (delivery_id,) = alerts.due_deliveries()
    port, app.config["MAIL_PORT"] = app.config["MAIL_PORT"], 1  # nothing listens there
    assert alerts.send_due([delivery_id]) == 0
    app.config["MAIL_PORT"] = port
    remove_from_team(team)
    db.session.get(AlertDelivery, delivery_id).deliver_after = utcnow()  # backoff passed
    db.session.commit()
    assert alerts.send_due(alerts.due_deliveries()) == 0
    assert_dropped(delivery_id, "no access")
    assert sink.messages == []


def test_an_alert_amended_while_held_goes_out_once_in_its_corrected_version(app, sink, team):
    delivery = held_overnight(team)
    original = delivery.alert.entry
    amended = urgent_note(team, body="Corrected: safety plan reviewed", amends=original)
    # The amendment is an entry of its own with its own alert, fanned out this morning.
    assert alerts.fan_out(alert_for(amended).id, now=MORNING) == 1
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert_dropped(delivery.id, "entry amended")
    (message,) = sink.wait_for(1)
    assert message["To"] == team.reader.email
    text, html = bodies(message)
    assert f"#e{amended.id}" in text and f"#e{original.id}" not in text
    assert "It corrects an earlier entry." in text and "It corrects an earlier entry." in html


def test_an_alert_whose_urgency_was_withdrawn_while_held_is_dropped(app, sink, team):
    delivery = held_overnight(team)
    urgent_note(
        team, body="Misread the chart; not urgent", urgent=False, amends=delivery.alert.entry
    )
    assert alerts.send_due(alerts.due_deliveries()) == 0
    assert_dropped(delivery.id, "entry amended")
    assert sink.messages == []


def test_an_emergency_notice_goes_only_to_the_leads_still_on_the_team(app, sink, team):
    second_lead = member_row(team, team.reader)
    client_services.make_lead(actor=team.author, client=team.record, member_id=second_lead.id)
    grant = open_grant(
        actor=make_provider(),
        client=team.record,
        reason="Brought to the ED unresponsive, no contact reachable",
    )
    assert alerts.fan_out(grant.alert_id) == 2  # both leads
    author_row = member_row(team, team.author)
    client_services.end_member(actor=team.reader, client=team.record, member_id=author_row.id)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(1)] == [team.reader.email]
    alert = db.session.get(OutboxAlert, grant.alert_id)
    assert_dropped(deliveries(alert)[team.author.id].id, "no access")


# One-click unsubscribe -----------------------------------------------------------------


def alerts_token(user) -> str:
    return unsubscribe_token(user.id, purpose="alerts")


def test_the_alert_email_carries_a_one_click_unsubscribe_that_works(app, client, sink, team):
    alert = alert_for(urgent_note(team))
    alerts.fan_out(alert.id)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    (message,) = sink.wait_for(1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"].strip()
    url = f"{BASE_URL}/unsubscribe/alerts/{alerts_token(team.reader)}"
    assert header == f"<{url}>"
    text, html = bodies(message)
    assert f"Stop immediate alerts: {url}" in text
    assert f'href="{url}"' in html
    for part in (text, html, header):
        assert NOTE_TITLE not in part and NOTE_BODY not in part and "Quinn" not in part
    # What a mail client does (RFC 8058): POST to the link, no cookie, no form token.
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "Immediate alerts are off" in response.get_data(as_text=True)
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert pref.alerts_enabled is False
    assert pref.frequency == DigestFrequency.DAILY  # digests are a separate setting
    assert db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "unsubscribe_alerts", AuditEvent.actor_id == team.reader.id
        )
    ).one()
    # No more alerts: the next urgent note reaches no one.
    assert alerts.fan_out(alert_for(urgent_note(team)).id) == 0


def test_the_alert_unsubscribe_page_asks_first(app, client, team):
    assert app.config.get("WTF_CSRF_ENABLED", True), "the POST must pass with CSRF on"
    token = alerts_token(team.reader)
    page = client.get(f"/unsubscribe/alerts/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stop immediate alerts?" in html and team.reader.email in html
    assert f'action="/unsubscribe/alerts/{token}"' in html
    assert not re.search(r"Avery|Quinn", html)
    assert digests.preference_for(team.reader).alerts_enabled is True
    db.session.commit()
    assert client.post(f"/unsubscribe/alerts/{token}").status_code == 200
    assert client.post(f"/unsubscribe/alerts/{token}").status_code == 200  # twice: harmless
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert pref.alerts_enabled is False


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_token_of_the_other_purpose_or_forged_is_not_found(app, client, team, method):
    digest_token = unsubscribe_token(team.reader.id)
    alert_token = alerts_token(team.reader)
    refused = [
        f"/unsubscribe/alerts/{digest_token}",  # a digest link cannot stop alerts
        f"/unsubscribe/{alert_token}",  # nor the reverse
        f"/unsubscribe/alerts/{_tampered(alert_token)}",
        f"/unsubscribe/alerts/{unsubscribe_token(999_999, purpose='alerts')}",
        "/unsubscribe/alerts/not-a-token",
    ]
    for path in refused:
        assert client.open(path, method=method).status_code == 404, path
    db.session.expire_all()
    pref = digests.preference_for(team.reader)
    assert pref.alerts_enabled is True and pref.frequency == DigestFrequency.DAILY
