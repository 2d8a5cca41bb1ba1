"""Immediate alerts: the outbox row in the entry's transaction, fan-out, quiet hours, mail.

No worker and no broker: ALERT_RELAY is "off" (base_config), so nothing publishes after
commit, and the tests call the services the tasks call. Mail goes to an SMTP sink.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from time import sleep
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from careteam.alerts import outbox
from careteam.alerts import services as alerts
from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.clients import services as client_services
from careteam.digests.services import MAX_ATTEMPTS, preference_for
from careteam.enums import (
    AlertStatus,
    DigestDetail,
    GoalDirection,
    LevelOfCare,
    Visibility,
)
from careteam.extensions import db, utcnow
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.medications import services as meds
from careteam.nutrition.services import post_update
from careteam.record.models import Note
from careteam.record.services import add_entry, post_note
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
from tests.factories import make_client, make_provider
from tests.harness import SMTPSink, free_port


@pytest.fixture
def sink(app, sink):
    app.config.update(BASE_URL=BASE_URL, SERVER_NAME=None)
    return sink


@pytest.fixture
def team(app) -> Team:
    return make_team(app)


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxAlert))


def medication_change(team: Team):
    return meds.record_change(
        actor=team.author,
        client=team.record,
        medication="lithium carbonate",
        action="started",
        effective_date=date.today(),
        dose=Decimal(300),
        unit="mg",
        route="oral",
        frequency="twice daily",
    )


def level_change(team: Team):
    client_services.change_level_of_care(
        actor=team.author,
        client=team.record,
        level=LevelOfCare.PARTIAL_HOSPITALIZATION,
        effective_date=date.today(),
        reason="Not safe at home",
    )
    return db.session.scalars(select(OutboxAlert).order_by(OutboxAlert.id.desc())).first().entry


# The outbox --------------------------------------------------------------------


@pytest.mark.parametrize("make", [urgent_note, medication_change, level_change])
def test_an_urgent_entry_writes_exactly_one_outbox_row(app, team, make):
    before = outbox_count()
    entry = make(team)
    assert outbox_count() == before + 1
    alert = alert_for(entry)
    assert alert.client_id == team.record.id
    assert alert.processed_at is None  # nothing fanned out yet: no relay in these tests
    assert deliveries(alert) == {}


def test_the_outbox_row_is_part_of_the_entrys_transaction(app, team):
    before = outbox_count()
    note = add_entry(
        Note(body=NOTE_BODY, urgent=True, visibility=Visibility.TEAM),
        actor=team.author,
        client=team.record,
        commit=False,
    )
    assert db.session.scalars(select(OutboxAlert).where(OutboxAlert.entry_id == note.id)).one()
    db.session.rollback()  # the entry fails after the outbox row was flushed
    assert outbox_count() == before
    assert db.session.scalar(select(func.count()).select_from(Note)) == 0
    assert outbox.RELAY.key not in db.session.info  # nothing left for the relay


def test_entries_that_can_wait_write_no_outbox_row(app, team):
    before = outbox_count()
    post_note(actor=team.author, client=team.record, body="Routine check-in went well")
    urgent_note(team, visibility=Visibility.PRIVATE)  # the author's alone: no one to alert
    goal = create_goal(
        actor=team.author,
        client=team.record,
        fields=GoalFields(
            title="Eat three meals",
            measure="Meals",
            unit="meals a day",
            baseline=Decimal(1),
            target=Decimal(3),
            direction=GoalDirection.UP,
            target_date=date.today() + timedelta(days=30),
            owner_id=team.author.id,
        ),
    )
    check_in(
        actor=team.reader,
        client=team.record,
        goal=goal,
        measured_on=date.today(),
        value=Decimal(2),
    )
    post_update(actor=team.muted, client=team.record, update_type="meal_plan", text="Plan")
    assert outbox_count() == before


# Fan-out -----------------------------------------------------------------------


def test_fan_out_reaches_active_members_who_want_alerts_except_the_author(app, team):
    alert = alert_for(urgent_note(team))
    now = utcnow()
    assert alerts.fan_out(alert.id, now=now) == 1
    rows = deliveries(alert)
    assert set(rows) == {team.reader.id}  # not the author, muted, ended or deactivated
    delivery = rows[team.reader.id]
    assert delivery.status == AlertStatus.PENDING
    assert delivery.deliver_after == now  # no quiet hours
    assert delivery.message_id.startswith("<") and delivery.message_id.endswith(">")
    assert db.session.get(OutboxAlert, alert.id).processed_at == now


def test_fan_out_is_idempotent(app, team):
    alert = alert_for(urgent_note(team))
    assert alerts.fan_out(alert.id) == 1
    assert alerts.fan_out(alert.id) == 0
    assert alerts.unprocessed_alerts(older_than=timedelta(0)) == []
    assert len(deliveries(alert)) == 1


# The second fan-out's insert hits the unique (alert, user) constraint inside its own
# savepoint: only that savepoint rolls back, and the commit marking the alert processed
# still succeeds (a session left in PendingRollbackError would fail it).
def test_two_fan_outs_racing_for_one_alert_create_one_delivery_each(app, team):
    """The relay's task and beat's drain both saw the alert unprocessed."""
    alert = alert_for(urgent_note(team))
    assert alerts.fan_out(alert.id) == 1
    db.session.get(OutboxAlert, alert.id).processed_at = None  # what the other one read
    db.session.commit()
    assert alerts.fan_out(alert.id) == 0
    assert len(deliveries(alert)) == 1


def test_beat_drains_the_alerts_the_relay_missed(app, sink, team):
    alert = alert_for(urgent_note(team))
    assert alerts.unprocessed_alerts(older_than=timedelta(0)) == [alert.id]
    assert alerts.unprocessed_alerts(older_than=timedelta(minutes=5)) == []  # relay's turn
    for alert_id in alerts.unprocessed_alerts(older_than=timedelta(0)):
        alerts.fan_out(alert_id)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(1)] == [team.reader.email]
    assert alerts.send_due(alerts.due_deliveries()) == 0  # sent once


# Quiet hours --------------------------------------------------------------------


def test_quiet_hours_hold_an_alert_until_they_end(app, sink, team):
    zone = ZoneInfo("America/New_York")
    team.reader.time_zone = zone.key
    local_now = utcnow().astimezone(zone).replace(microsecond=0)
    ends = local_now + timedelta(seconds=2)
    pref = preference_for(team.reader)
    pref.quiet_start = (local_now - timedelta(hours=1)).time()
    pref.quiet_end = ends.time()
    db.session.commit()

    alert = alert_for(urgent_note(team))
    assert alerts.fan_out(alert.id) == 1
    delivery = deliveries(alert)[team.reader.id]
    assert delivery.deliver_after == ends.astimezone(UTC)
    assert alerts.due_deliveries() == []
    assert alerts.send_due([delivery.id]) == 0  # asked early: still held
    assert sink.messages == []

    while utcnow() < delivery.deliver_after:
        sleep(0.05)
    assert alerts.due_deliveries() == [delivery.id]
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert [m["To"] for m in sink.wait_for(1)] == [team.reader.email]
    assert db.session.get(AlertDelivery, delivery.id).status == AlertStatus.SENT


def test_quiet_hours_over_midnight_in_the_users_zone(app, team):
    zone = ZoneInfo("Europe/Berlin")
    team.reader.time_zone = zone.key
    pref = preference_for(team.reader)
    pref.quiet_start, pref.quiet_end = time(22, 0), time(7, 0)
    db.session.commit()
    alert = alert_for(urgent_note(team))
    night = datetime(2026, 10, 24, 23, 30, tzinfo=zone)  # Berlin falls back at 03:00
    alerts.fan_out(alert.id, now=night.astimezone(UTC))
    held = deliveries(alert)[team.reader.id].deliver_after
    assert held.astimezone(zone) == datetime(2026, 10, 25, 7, 0, tzinfo=zone)
    assert held - night == timedelta(hours=8, minutes=30)  # the night has 25 hours


# The email --------------------------------------------------------------------------


def _send_one(team: Team, sink: SMTPSink, make=urgent_note):
    alert = alert_for(make(team))
    alerts.fan_out(alert.id)
    assert alerts.send_due(alerts.due_deliveries()) == 1
    (message,) = sink.wait_for(1)
    return message


@pytest.mark.parametrize(
    ("make", "subject", "what"),
    [
        (urgent_note, "CareTeam alert: urgent note", "An urgent note was posted"),
        (
            medication_change,
            "CareTeam alert: medication change",
            "A medication change was recorded",
        ),
        (level_change, "CareTeam alert: level of care changed", "The level of care was changed"),
    ],
)
def test_a_minimal_alert_names_no_client_and_says_nothing_clinical(
    app, sink, team, make, subject, what
):
    message = _send_one(team, sink, make)
    assert message["Subject"] == subject
    assert message["To"] == team.reader.email
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    for part in (text, html):
        assert f"{what} for a client on your team, by Ann Author." in part
        for clinical in (
            "Avery",
            "Jordan",
            "Quinn",
            NOTE_TITLE,
            NOTE_BODY,
            "lithium",
            "300 mg",
            "Partial hospitalization",
            "Not safe at home",
        ):
            assert clinical not in part, clinical
    assert "Avery" not in message["Subject"]
    links = re.findall(r'href="([^"]*)"', html) + re.findall(r"https?://\S+", text)
    assert links and all(link.startswith(f"{BASE_URL}/") for link in links)
    assert f"{BASE_URL}/clients/{team.record.id}#e" in text


def test_a_full_alert_carries_the_one_line_summary(app, sink, team):
    preference_for(team.reader).detail = DigestDetail.FULL
    db.session.commit()
    text, html = bodies(_send_one(team, sink, medication_change))
    assert "CareTeam alert: Avery Jordan Quinn" in text
    assert "lithium carbonate 300 mg: started" in text and "lithium carbonate" in html


def test_an_smtp_failure_leaves_the_alert_pending_with_a_backoff(app, sink, team):
    alert = alert_for(urgent_note(team))
    alerts.fan_out(alert.id)
    (delivery_id,) = alerts.due_deliveries()
    message_id = db.session.get(AlertDelivery, delivery_id).message_id
    app.config["MAIL_PORT"] = free_port()  # refused

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert alerts.send_due([delivery_id]) == 0
        delivery = db.session.get(AlertDelivery, delivery_id, populate_existing=True)
        assert delivery.attempts == attempt
        assert delivery.last_error == "ConnectionRefusedError"
        assert delivery.lease_until is None and delivery.sent_at is None
        assert delivery.message_id == message_id
        if attempt == 1:
            assert delivery.status == AlertStatus.PENDING
            wait = delivery.deliver_after - utcnow()
            assert timedelta(seconds=10) < wait <= timedelta(seconds=30)  # 15-30 s, jittered
            assert alerts.due_deliveries() == []  # backing off
            # SMTP is back, but the retry waits for its time (here: pretend it came).
            app.config["MAIL_PORT"] = sink.port
            assert alerts.send_due([delivery_id]) == 0
            app.config["MAIL_PORT"] = free_port()
        if attempt < MAX_ATTEMPTS:
            assert delivery.status == AlertStatus.PENDING
            delivery.deliver_after = utcnow()  # the backoff has passed
            db.session.commit()
    assert delivery.status == AlertStatus.FAILED
    assert alerts.due_deliveries() == []
    assert sink.messages == []


def test_an_alert_retried_after_an_smtp_failure_goes_out_once_with_its_message_id(app, sink, team):
    alert = alert_for(urgent_note(team))
    alerts.fan_out(alert.id)
    (delivery_id,) = alerts.due_deliveries()
    app.config["MAIL_PORT"] = free_port()
    assert alerts.send_due([delivery_id]) == 0
    delivery = db.session.get(AlertDelivery, delivery_id)
    delivery.deliver_after = utcnow()  # the backoff has passed
    db.session.commit()
    app.config["MAIL_PORT"] = sink.port
    assert alerts.send_due(alerts.due_deliveries()) == 1
    assert alerts.send_due([delivery_id]) == 0
    (message,) = sink.wait_for(1)
    delivery = db.session.get(AlertDelivery, delivery_id, populate_existing=True)
    assert (delivery.status, delivery.attempts) == (AlertStatus.SENT, 2)
    assert message["Message-ID"] == delivery.message_id


def test_a_new_clients_first_level_of_care_alerts_nobody(app):
    lead = make_provider()
    make_client(lead)
    assert db.session.scalar(select(func.count()).select_from(OutboxAlert)) == 0
