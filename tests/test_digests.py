"""Digest preferences, windows, content and delivery, through the services and pages.

No worker here: the tests call the services the tasks call, and every email goes
through the real mail path to an SMTP sink on loopback (tests/harness.py).
"""

from __future__ import annotations

import re
import time as clock
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.digests import schedule, services
from careteam.digests.models import Digest, DigestMute, DigestPreference
from careteam.enums import (
    DigestDetail,
    DigestFrequency,
    DigestStatus,
    GoalDirection,
    LevelOfCare,
    Role,
    Visibility,
)
from careteam.extensions import db, utcnow
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.links import unsubscribe_token
from careteam.medications import services as meds
from careteam.nutrition.services import post_update
from careteam.record.services import post_note
from tests.digest_helpers import (
    NOTE_BODY,
    NOTE_TITLE,
    Team,
    make_team,
    next_window,
    note,
    settle,
    ticked,
    written_at,
)
from tests.factories import add_member, make_provider, make_user
from tests.harness import SMTPSink, free_port

BASE_URL = "https://care.example.org"


@pytest.fixture
def team(app, sink) -> Team:
    return make_team(sink)


def dispatch_and_send(user: User) -> tuple[Digest, services.Outcome]:
    """One beat tick at the user's next scheduled time, then the batch task."""
    ids = services.dispatch_due(ticked(next_window(user)), user_ids=[user.id])
    assert len(ids) == 1
    outcome = services.send_batch(ids)
    return db.session.get(Digest, ids[0], populate_existing=True), outcome


def set_pref(user: User, **values) -> DigestPreference:
    pref = services.preference_for(user)
    for name, value in values.items():
        setattr(pref, name, value)
    db.session.commit()
    return pref


def bodies(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def only_message(sink: SMTPSink, to: str):
    mine = [m for m in sink.messages if m["To"] == to]
    assert len(mine) == 1, [m["Subject"] for m in mine]
    return mine[0]


def medication(team: Team, name: str = "sertraline", actor: User | None = None):
    return meds.record_change(
        actor=actor or team.author,
        client=team.record,
        medication=name,
        action="started",
        effective_date=date.today(),
        dose=Decimal(50),
        unit="mg",
        route="oral",
        frequency="once daily",
    )


# Preferences --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "frequency"),
    [(Role.PROVIDER, DigestFrequency.DAILY), (Role.CLIENT, "off"), (Role.ADMIN, "off")],
)
def test_defaults_for_new_users(app, role, frequency):
    user = make_user(role, email=f"new-{role}@example.com")
    user.time_zone = "Europe/Berlin"
    pref = services.preference_for(user)
    db.session.commit()
    assert pref.frequency == frequency
    assert pref.send_time == time(8, 0)
    assert pref.detail == DigestDetail.MINIMAL
    assert pref.alerts_enabled is True
    assert pref.send_when_empty is False
    assert (pref.quiet_start, pref.quiet_end) == (None, None)
    if frequency == DigestFrequency.OFF:
        assert pref.next_due_at is None
    else:
        local = pref.next_due_at.astimezone(ZoneInfo("Europe/Berlin"))
        assert local.time() == time(8, 0)
        assert timedelta(0) < pref.next_due_at - utcnow() <= timedelta(days=1)


def test_settings_page_shows_the_saved_preferences(app, client, auth, team):
    auth.login(team.reader.email)
    page = client.get("/settings/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="frequency"[^>]*value="daily"', html)
    assert re.search(r'<input checked[^>]*name="detail"[^>]*value="minimal"', html)
    assert re.search(r'<input checked[^>]*name="alerts_enabled"', html)
    assert re.search(r'name="send_time"[^>]*value="08:00"', html)
    # Both of the reader's clients can be muted, by name.
    assert "Avery Quinn" in html and "Blake Morgan" in html


VALID = {
    "frequency": "weekly",
    "send_time": "07:30",
    "weekday": "2",
    "time_zone": "America/New_York",
    "detail": "full",
    "send_when_empty": "y",
    "alerts_enabled": "y",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


def test_saving_preferences_shows_the_next_digest_in_the_users_zone(app, client, auth, team):
    auth.login(team.reader.email)
    response = auth.post("/settings/notifications", {**VALID, "muted": [team.second.id]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings/notifications"

    pref = db.session.get(DigestPreference, team.reader.id)
    assert pref.frequency == DigestFrequency.WEEKLY
    assert (pref.send_time, pref.weekday, pref.detail) == (time(7, 30), 2, DigestDetail.FULL)
    assert pref.send_when_empty and pref.alerts_enabled
    assert (pref.quiet_start, pref.quiet_end) == (time(22, 0), time(7, 0))
    assert db.session.get(User, team.reader.id).time_zone == "America/New_York"
    assert db.session.scalars(select(DigestMute.client_id)).all() == [team.second.id]
    zone = ZoneInfo("America/New_York")
    expected = schedule.next_due(
        frequency="weekly", send_time=time(7, 30), weekday=2, zone=zone, after=utcnow()
    )
    assert pref.next_due_at == expected

    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "Your notification settings were saved." in page
    shown = expected.astimezone(zone).strftime("%-d %b %Y, %H:%M")  # the reader's own zone
    assert f"Your next digest: <strong>{shown}</strong>" in page
    assert shown.split(", ")[1] == "07:30"

    # Unticking the client brings it back into the digest.
    redirected = auth.post("/settings/notifications", VALID)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/settings/notifications"
    assert db.session.scalars(select(DigestMute)).all() == []


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quiet_end": ""}, "quiet_start", "Give both the start and the end of your quiet hours."),
        ({"quiet_start": ""}, "quiet_end", "Give both the start and the end of your quiet hours."),
        ({"quiet_end": "22:00"}, "quiet_end", "Quiet hours need a start and an end that differ."),
        ({"send_time": "25:61"}, "send_time", "Enter a time of day as HH:MM, for example 08:00."),
        ({"send_time": "8 am"}, "send_time", "Enter a time of day as HH:MM, for example 08:00."),
        ({"send_time": ""}, "send_time", "Enter the time of day for your digest."),
        (
            {"quiet_start": "late"},
            "quiet_start",
            "Enter a time of day as HH:MM, for example 08:00.",
        ),
        (
            {"time_zone": "Mars/Olympus_Mons"},
            "time_zone",
            "Choose a time zone from the list, e.g. Europe/Berlin.",
        ),
        ({"time_zone": ""}, "time_zone", "Choose your time zone."),
    ],
)
def test_invalid_preferences_say_what_to_fix_and_save_nothing(
    app, client, auth, team, change, field, message
):
    before = services.preference_for(team.reader)
    saved = (before.frequency, before.send_time, before.quiet_start, before.next_due_at)
    db.session.commit()
    auth.login(team.reader.email)
    response = auth.post("/settings/notifications", {**VALID, **change})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]*)</p>', html))
    assert errors == {field: message}
    assert "Please correct the fields marked below. Nothing was saved." in html
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert (pref.frequency, pref.send_time, pref.quiet_start, pref.next_due_at) == saved
    assert db.session.get(User, team.reader.id).time_zone == "UTC"


def test_a_muted_client_is_left_out_of_the_digest(app, sink, team):
    note(team, client=team.record)
    note(team, client=team.second)
    services.set_mute(user=team.reader, client_id=team.record.id, muted=True)
    digest, outcome = dispatch_and_send(team.reader)
    assert outcome.sent == [digest.id]
    assert digest.item_count == 1
    text, html = bodies(only_message(sink, team.reader.email))
    assert "Blake M." in text and "Blake M." in html
    assert "Avery" not in text and "Avery" not in html
    # The other member did not mute it.
    settle(team.other)
    other_text, _ = bodies(only_message(sink, team.other.email))
    assert "Avery Q." in other_text


# Unsubscribe ----------------------------------------------------------------------


def test_unsubscribe_asks_first_then_turns_digests_off_without_login(app, client, team):
    assert app.config.get("WTF_CSRF_ENABLED", True), "the POST must pass with CSRF on"
    token = unsubscribe_token(team.reader.id)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stop email digests?" in html and team.reader.email in html
    assert f'action="/unsubscribe/{token}"' in html
    assert services.preference_for(team.reader).frequency == DigestFrequency.DAILY
    db.session.commit()

    done = client.post(f"/unsubscribe/{token}")  # no session, no CSRF token
    assert done.status_code == 200
    assert "You are unsubscribed" in done.get_data(as_text=True)
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert pref.frequency == DigestFrequency.OFF and pref.next_due_at is None
    assert pref.alerts_enabled is True  # alerts are a separate setting
    # Twice is harmless.
    assert client.post(f"/unsubscribe/{token}").status_code == 200


def _tampered(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_or_unknown_unsubscribe_token_is_not_found(app, client, team, method):
    good = unsubscribe_token(team.reader.id)
    for token in (_tampered(good), unsubscribe_token(999_999), "not-a-token"):
        response = client.open(f"/unsubscribe/{token}", method=method)
        assert response.status_code == 404, token
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert pref.frequency == DigestFrequency.DAILY


def test_the_digest_carries_one_click_unsubscribe_headers_that_work(app, client, sink, team):
    app.config.update(BASE_URL=BASE_URL, SERVER_NAME=None)
    note(team)
    dispatch_and_send(team.reader)
    message = only_message(sink, team.reader.email)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"].strip()  # long: folded onto its own line
    assert header.startswith(f"<{BASE_URL}/unsubscribe/") and header.endswith(">")
    url = header[1:-1]
    text, html = bodies(message)
    assert f"Unsubscribe from digests: {url}" in text
    assert f'href="{url}"' in html
    # What a mail client does (RFC 8058): POST to the link, no cookie, no form token.
    response = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    pref = db.session.get(DigestPreference, team.reader.id, populate_existing=True)
    assert pref.frequency == DigestFrequency.OFF
    # No more digests: the dispatcher does not pick the user, whatever the time.
    note(team)
    assert services.dispatch_due(utcnow() + timedelta(days=3), user_ids=[team.reader.id]) == []


# Preview -------------------------------------------------------------------------


def test_preview_shows_what_is_new_now(app, client, auth, sink, team):
    auth.login(team.reader.email)
    empty = client.get("/settings/notifications/preview").get_data(as_text=True)
    assert "Nothing new on your clients' records since your last digest." in empty
    assert "No email would be sent." in empty

    note(team)
    medication(team)
    html = client.get("/settings/notifications/preview").get_data(as_text=True)
    assert "Avery Quinn" in html and "Blake Morgan" not in html
    assert "Notes: 1" in html and "Medication: 1" in html
    assert NOTE_TITLE not in html  # minimal detail: counts only

    set_pref(team.reader, detail=DigestDetail.FULL)
    full = client.get("/settings/notifications/preview").get_data(as_text=True)
    # Each line links to its entry on the timeline.
    assert re.search(rf'by Ann Author: <a href="[^"]+/clients/\d+#e\d+">{NOTE_TITLE}</a>', full)
    assert "sertraline 50 mg: started" in full

    # Once that digest has gone, the preview is empty again; nothing was sent by it.
    assert sink.messages == []
    settle(team.reader)
    again = client.get("/settings/notifications/preview").get_data(as_text=True)
    assert "Nothing new on your clients' records" in again


# Windows ------------------------------------------------------------------------


def test_dispatching_the_same_schedule_twice_opens_one_digest(app, sink, team):
    note(team)
    due = next_window(team.reader)
    first = services.dispatch_due(ticked(due), user_ids=[team.reader.id])
    assert len(first) == 1
    assert next_window(team.reader) == due + timedelta(days=1)
    assert services.dispatch_due(ticked(due), user_ids=[team.reader.id]) == []
    assert services.dispatch_due(due + timedelta(hours=1), user_ids=[team.reader.id]) == []
    count = select(func.count()).select_from(Digest).where(Digest.user_id == team.reader.id)
    assert db.session.scalar(count) == 2  # the settled one and this one

    # The same batch delivered three times, and a batch naming it twice: one email.
    for batch in (first, first, first + first):
        services.send_batch(batch)
    assert len([m for m in sink.messages if m["To"] == team.reader.email]) == 1
    digest = db.session.get(Digest, first[0])
    assert digest.status == DigestStatus.SENT and digest.attempts == 1
    assert only_message(sink, team.reader.email)["Message-ID"] == digest.message_id


def test_a_racing_dispatcher_meets_the_unique_window(app, sink, team):
    """A second dispatcher that read the old schedule finds the window already open."""
    note(team)
    due = next_window(team.reader)
    assert len(services.dispatch_due(ticked(due), user_ids=[team.reader.id])) == 1
    set_pref(team.reader, next_due_at=due)  # what the other dispatcher saw
    assert services.dispatch_due(due + timedelta(minutes=5), user_ids=[team.reader.id]) == []
    assert next_window(team.reader) == due + timedelta(days=1)
    count = select(func.count()).select_from(Digest).where(Digest.window_end == due)
    assert db.session.scalar(count) == 1


def test_a_lost_or_abandoned_window_is_queued_again_once_per_lease(app, sink, team):
    """due_retries hands a window to one retry task, not to every tick while workers lag."""
    note(team)
    ids = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    lease = app.config["DIGEST_BATCH_LEASE_SECONDS"]
    # A worker took the window and died: its lease ran out long ago.
    db.session.execute(
        update(Digest)
        .where(Digest.id == ids[0])
        .values(status=DigestStatus.SENDING, lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert services.due_retries(50) == [(0, ids)]
    assert services.due_retries(50) == []  # the next tick: already queued
    digest = db.session.get(Digest, ids[0], populate_existing=True)
    assert digest.status == DigestStatus.PENDING
    assert digest.next_attempt_at > utcnow() + timedelta(seconds=lease - 5)
    # The retry task was lost too: once its lease is over, the window is queued again.
    db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert services.due_retries(50) == [(0, ids)]
    assert services.send_batch(ids).sent == ids
    assert services.due_retries(50) == []
    assert only_message(sink, team.reader.email)


def test_missed_schedules_coalesce_into_one_window(app, sink, team):
    """A dispatcher down for three days opens one digest, up to the latest 08:00."""
    note(team)
    due = next_window(team.reader)
    now = due + timedelta(days=3, hours=2)
    ids = services.dispatch_due(now, user_ids=[team.reader.id])
    assert len(ids) == 1
    digest = db.session.get(Digest, ids[0])
    assert digest.window_end == due + timedelta(days=3)
    assert next_window(team.reader) == due + timedelta(days=4)
    services.send_batch(ids)
    assert "1 update" in only_message(sink, team.reader.email)["Subject"]


def test_a_failed_digest_is_covered_by_the_next_one(app, sink, team):
    first_note = note(team, title="First thing")
    app.config.update(MAIL_PORT=free_port())  # nothing listens there: connection refused
    ids = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    digest_id = ids[0]
    message_ids = set()
    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        outcome = services.send_batch(ids)
        digest = db.session.get(Digest, digest_id, populate_existing=True)
        message_ids.add(digest.message_id)
        assert digest.attempts == attempt
        assert digest.last_error == "ConnectionRefusedError"
        assert digest.lease_until is None and digest.sent_at is None
        if attempt < services.MAX_ATTEMPTS:
            assert outcome.retry == ids
            assert digest.status == DigestStatus.PENDING
            assert digest.next_attempt_at > utcnow()
        else:
            assert outcome.failed == ids
            assert digest.status == DigestStatus.FAILED
    assert len(message_ids) == 1  # fixed before the first attempt
    assert services.send_batch(ids).sent == []  # failed for good: not claimed again

    second_note = note(team, title="Second thing")
    app.config.update(MAIL_PORT=sink.port)
    later, outcome = dispatch_and_send(team.reader)
    assert outcome.sent == [later.id]
    assert later.item_count == 2
    assert later.window_start < first_note.created_at < second_note.created_at
    assert later.message_id != digest.message_id
    assert "2 updates" in only_message(sink, team.reader.email)["Subject"]


def test_a_window_with_nothing_new_sends_no_mail_unless_asked(app, sink, team):
    skipped, outcome = dispatch_and_send(team.reader)
    assert outcome.skipped == [skipped.id]
    assert skipped.status == DigestStatus.SKIPPED and skipped.sent_at is None
    assert sink.messages == []

    # The skipped window counts as covered: the next one starts where it ended.
    mark = utcnow()
    note(team)
    written_at(skipped.window_end + timedelta(hours=1), since=mark)
    sent, _ = dispatch_and_send(team.reader)
    assert sent.window_start == skipped.window_end
    assert sent.item_count == 1
    sink.clear()

    set_pref(team.reader, send_when_empty=True)
    empty, outcome = dispatch_and_send(team.reader)
    assert outcome.sent == [empty.id] and empty.item_count == 0
    message = only_message(sink, team.reader.email)
    assert message["Subject"] == "CareTeam: nothing new on your clients' records"
    assert "Nothing new on your clients' records from" in bodies(message)[0]


def test_a_member_removed_before_sending_hears_nothing_about_that_client(app, sink, team):
    note(team, client=team.record)
    note(team, client=team.second)
    member = next(m for m in team.record.members if m.provider_id == team.reader.id)
    client_services.end_member(actor=team.author, client=team.record, member_id=member.id)
    digest, _ = dispatch_and_send(team.reader)
    assert digest.item_count == 1
    text, html = bodies(only_message(sink, team.reader.email))
    assert "Blake M." in text
    assert "Avery" not in text + html
    assert f"/clients/{team.record.id}" not in text + html


def test_own_entries_private_notes_and_old_versions_are_left_out(app, sink, team):
    post_note(actor=team.reader, client=team.record, body="The reader's own note")
    post_note(actor=team.author, client=team.record, body="Mine", visibility=Visibility.PRIVATE)
    draft = note(team, title="Draft")
    note(team, title="Corrected", amends=draft)
    set_pref(team.reader, detail=DigestDetail.FULL)
    digest, _ = dispatch_and_send(team.reader)
    assert digest.item_count == 1
    text, html = bodies(only_message(sink, team.reader.email))
    assert "by Ann Author: Corrected" in text
    for absent in ("own note", "Mine", "Draft"):
        assert absent not in text and absent not in html


LEVELS = [LevelOfCare.INTENSIVE_OUTPATIENT, LevelOfCare.OUTPATIENT_WEEKLY]
KINDS = 8  # entries per round of _entries_of_every_kind


def _entries_of_every_kind(team: Team, n: int, tag: str = "") -> None:
    """n entries of every kind on the record, by the author and the other member."""
    today = date.today()
    for i in range(n):
        note(team, title=f"{NOTE_TITLE} {tag}{i}", urgent=i % 2 == 0)
        goal = create_goal(
            actor=team.author,
            client=team.record,
            fields=GoalFields(
                title=f"Sleep through {tag}{i}",
                measure="Nights",
                unit="nights a week",
                baseline=Decimal(1),
                target=Decimal(5),
                direction=GoalDirection.UP,
                target_date=today + timedelta(days=30),
                owner_id=team.author.id,
            ),
        )
        check_in(
            actor=team.other, client=team.record, goal=goal, measured_on=today, value=Decimal(2)
        )
        medication(team, name=f"sertraline{tag}{i}")
        post_update(
            actor=team.other,
            client=team.record,
            update_type="weight",
            weight_kg=Decimal("48.35"),
            measured_on=today,
            blind=True,
        )
        post_update(
            actor=team.other,
            client=team.record,
            update_type="meal_plan",
            text=f"Three meals and two snacks {tag}{i}",
        )
        current = LevelOfCare(db.session.get(Client, team.record.id).level_of_care)
        client_services.change_level_of_care(
            actor=team.author,
            client=team.record,
            level=LEVELS[(LEVELS.index(current) + 1) % len(LEVELS)],
            effective_date=today,
            reason="Needs more support",
        )
        add_member(team.record, make_provider(name=f"New Member {tag}{i}"), team.author)


def test_minimal_digests_hold_counts_and_links_but_no_clinical_content(app, sink, team):
    _entries_of_every_kind(team, 1)
    digest, _ = dispatch_and_send(team.reader)
    message = only_message(sink, team.reader.email)
    text, html = bodies(message)
    assert message["Subject"] == (
        f"CareTeam: 1 urgent, {digest.item_count} updates on your clients' records"
    )
    for part in (text, html):
        assert "Avery Q." in part
        # The kinds of the urgent entry first, then from the newest: a team change last.
        counts = re.search(r"(Notes: \d[^<\n]*Goals: 1[^<\n]*)", part).group(1).split(" · ")
        assert counts[0] == "Notes: 1" and counts[1] == "Care team: 1"
        assert sorted(counts) == sorted(
            [
                "Notes: 1",
                "Goals: 1",
                "Goal progress: 1",
                "Medication: 1",
                "Nutrition: 2",
                "Level of care: 1",
                "Care team: 1",
            ]
        )
        assert "1 urgent note" in part  # with a link to it, still without its content
        for clinical in (
            "Avery Quinn",
            "Quinn",
            NOTE_TITLE,
            NOTE_BODY,
            "sertraline",
            "Sleep through",
            "Three meals",
            "48.35",
        ):
            assert clinical not in part, clinical
    assert "Avery" not in message["Subject"]


def test_full_digests_hold_a_one_line_summary_of_each_entry(app, sink, team):
    set_pref(team.reader, detail=DigestDetail.FULL)
    _entries_of_every_kind(team, 1)
    digest, _ = dispatch_and_send(team.reader)
    text, html = bodies(only_message(sink, team.reader.email))
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]
    assert len(lines) == digest.item_count == KINDS
    # "<kind> by <author>: <summary>", one line each.
    summaries = {line.split(" by ", 1)[1] for line in lines}
    assert summaries == {
        f"Ann Author: {NOTE_TITLE} 0",
        "Ann Author: Sleep through 0: created",
        "Olga Other: Check-in on Sleep through 0",
        "Ann Author: sertraline0 50 mg: started",
        "Olga Other: Weight measurement recorded",
        "Olga Other: Three meals and two snacks 0",
        "Ann Author: Level of care: Intensive outpatient (IOP)",
        "Ann Author: New Member 0 joined the team",
    }
    assert "Avery Quinn" in text and "Avery Quinn" in html
    assert "48.35" not in text + html  # a blind weight is never given
    assert NOTE_BODY not in text  # the title stands for the note


def test_every_link_is_absolute_under_the_base_url(app, sink, team):
    app.config.update(BASE_URL=BASE_URL, SERVER_NAME=None)
    note(team)
    note(team, client=team.second)
    dispatch_and_send(team.reader)
    text, html = bodies(only_message(sink, team.reader.email))
    hrefs = re.findall(r'href="([^"]*)"', html)
    urls = re.findall(r"https?://\S+", text)
    assert len(hrefs) == 5 and len(urls) == 5  # two clients, home, settings, unsubscribe
    for url in hrefs + urls:
        assert url.startswith(f"{BASE_URL}/"), url
    assert f"{BASE_URL}/clients/{team.record.id}" in hrefs
    assert f"{BASE_URL}/settings/notifications" in urls


def test_the_digest_is_multipart_text_and_html_from_the_configured_sender(app, sink, team):
    app.config["MAIL_REPLY_TO"] = "coordinators@example.org"
    note(team)
    dispatch_and_send(team.reader)
    message = only_message(sink, team.reader.email)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Reply-To"] == "coordinators@example.org"
    text, html = bodies(message)
    assert text.startswith("Hello Ray Reader,")
    assert html.lstrip().startswith("<!doctype html>") and "<p>Hello Ray Reader,</p>" in html


# Admin and CLI ----------------------------------------------------------------------


def test_admin_health_shows_digests_sent_and_failed(app, client, auth, sink, team):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    note(team)
    dispatch_and_send(team.other)  # sent
    app.config.update(MAIL_PORT=free_port())
    ids = services.dispatch_due(ticked(next_window(team.reader)), user_ids=[team.reader.id])
    for _ in range(services.MAX_ATTEMPTS):
        services.send_batch(ids)
    auth.login(admin.email)
    page = client.get("/admin/health")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Sent: two by the team fixture (the author had nothing new), and the other's here.
    assert "Digests sent: <strong>3</strong>" in html
    assert "<strong>failed: 1</strong>" in html
    assert "Failed digests" in html
    row = re.search(r"<tr><td>([^<]+)</td><td>[^<]+</td><td>(\d+)</td><td>([^<]+)</td></tr>", html)
    assert row is not None
    assert row.groups() == (
        team.reader.email,
        str(services.MAX_ATTEMPTS),
        "ConnectionRefusedError",
    )
    assert NOTE_TITLE not in html and "Avery" not in html


def test_cli_send_digests_now_sends_everything_due_retries_included(
    app, runner, sink, team, monkeypatch
):
    """More due windows than one dispatch round opens, and a retry whose backoff is over."""
    monkeypatch.setattr(services, "DISPATCH_BATCH", 1)  # one window per round
    note(team)  # news for the reader and the other
    post_note(actor=team.other, client=team.record, body="For the author")
    # The other's window was tried once with SMTP down; its backoff is over now.
    app.config.update(MAIL_PORT=free_port())
    (retry_id,) = services.dispatch_due(ticked(next_window(team.other)), user_ids=[team.other.id])
    assert services.send_batch([retry_id]).retry == [retry_id]
    db.session.execute(update(Digest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    app.config.update(MAIL_PORT=sink.port)
    # The reader and the author are due a moment from now (today, in UTC), after the notes.
    at = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    for user in (team.reader, team.author):
        set_pref(user, send_time=at.time(), next_due_at=at)
    while utcnow() <= ticked(at):
        clock.sleep(0.05)

    result = runner.invoke(args=["careteam", "send-digests", "--now"])
    assert result.exit_code == 0, result.output
    assert "Digests: 3 sent, 0 with nothing new, 0 to retry, 0 failed." in result.output
    assert sorted(m["To"] for m in sink.messages) == sorted(
        u.email for u in (team.reader, team.other, team.author)
    )
    assert db.session.get(Digest, retry_id, populate_existing=True).attempts == 2
    # Run again: nothing is due any more.
    again = runner.invoke(args=["careteam", "send-digests", "--now"])
    assert "Digests: 0 sent, 0 with nothing new, 0 to retry, 0 failed." in again.output
    assert len(sink.messages) == 3


def test_cli_send_digests_for_one_user_whatever_their_schedule(app, runner, sink, team):
    app.config["DIGEST_SETTLE_SECONDS"] = 0  # the window ends now, after the note
    note(team)
    result = runner.invoke(
        args=["careteam", "send-digests", "--now", "--user", team.other.email.upper()]
    )
    assert result.exit_code == 0, result.output
    assert "Digests: 1 sent" in result.output
    assert [m["To"] for m in sink.messages] == [team.other.email]
    unknown = runner.invoke(
        args=["careteam", "send-digests", "--now", "--user", "nobody@example.com"]
    )
    assert unknown.exit_code != 0
    assert "No account uses nobody@example.com." in unknown.output


# Queries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "detail",
    [DigestDetail.MINIMAL, DigestDetail.FULL],
)
def test_building_and_sending_a_digest_takes_the_same_queries_for_more_entries(
    app, sink, team, count_queries, detail
):
    set_pref(team.reader, detail=detail)
    counts = []
    start = utcnow()  # after the settled window
    for n, tag in ((1, "a"), (4, "b")):
        due, mark = next_window(team.reader), utcnow()
        _entries_of_every_kind(team, n, tag)
        written_at(start + (due - start) / 2, since=mark)  # inside (start, due]
        start = due
        ids = services.dispatch_due(ticked(due), user_ids=[team.reader.id])
        digest = db.session.get(Digest, ids[0])
        since = services.window_start_for(team.reader, digest.window_end)
        with count_queries() as build:
            content = services.build_content(team.reader, since, digest.window_end, detail)
        assert content.total == KINDS * n
        db.session.expire_all()
        with count_queries() as send:
            outcome = services.send_batch(ids)
        assert outcome.sent == ids
        counts.append((build.count, send.count))
    assert db.session.get(Digest, ids[0]).item_count == 4 * KINDS
    assert counts[0] == counts[1], counts


def test_providers_who_never_opened_settings_get_the_default_digest(app):
    from careteam.digests.models import DigestPreference
    from careteam.enums import Role

    provider = make_provider()
    client_user = make_user(Role.CLIENT)
    assert db.session.get(DigestPreference, provider.id) is None
    services.dispatch_due()
    pref = db.session.get(DigestPreference, provider.id)
    assert pref is not None and pref.frequency == "daily" and pref.next_due_at is not None
    assert db.session.get(DigestPreference, client_user.id) is None


def _content_summary(content: services.DigestContent) -> list:
    """Everything a digest shows of its content, comparable between two builds."""
    return [
        (
            section.client.id,
            dict(section.counts),
            section.urgent,
            section.urgent_url,
            section.url,
            [entry.id for entry in section.entries],
            [(x.kind, x.text, x.urgent, x.at, x.count, x.authors, x.url) for x in section.lines],
        )
        for section in content.sections
    ]


@pytest.mark.parametrize("detail", [DigestDetail.MINIMAL, DigestDetail.FULL])
def test_a_batch_builds_each_users_content_exactly_as_alone(app, sink, team, detail):
    """Overlapping teams, a muted client, a private note, an amended note, the reader's
    own note, and windows of different lengths: the batch's one entries query, split per
    user, gives each user what building their digest alone gives."""
    from careteam.digests.content import assemble
    from careteam.digests.entries import Window, entries_for

    third = make_provider(name="Tess Third")
    add_member(team.second, third, team.author)
    client_user = make_user(Role.CLIENT, name="Avery Quinn")
    client_services.link_portal_account(
        actor=team.author, client=team.record, email=client_user.email
    )
    services.set_mute(user=team.reader, client_id=team.second.id, muted=True)
    add_member(team.second, team.other, team.author)  # other now on both, nothing muted

    begin = utcnow()
    _entries_of_every_kind(team, 1, "a")
    note(team, client=team.second, title="On the second record", urgent=True)
    post_note(actor=team.author, client=team.record, body="Mine", visibility=Visibility.PRIVATE)
    middle = utcnow()
    draft = note(team, title="Draft")
    note(team, title="Corrected", amends=draft)
    post_note(actor=team.reader, client=team.record, body="The reader's own note")
    note(team, client=team.second, title="Later on the second record")
    _entries_of_every_kind(team, 1, "b")
    end = utcnow()

    windows = [
        Window(team.reader, begin, end),  # the whole span, the second record muted
        Window(team.other, middle, end),  # the later half only, on both records
        Window(third, begin, middle),  # the earlier half only, the second record only
        Window(team.author, begin, end),  # everything but their own
        Window(client_user, begin, end),  # a client: what was shared with them
    ]
    db.session.expire_all()
    together = entries_for(windows)
    batch = [assemble(w, found, detail) for w, found in zip(windows, together, strict=True)]
    alone = [services.build_content(w.user, w.start, w.end, detail) for w in windows]

    assert [_content_summary(c) for c in batch] == [_content_summary(c) for c in alone]
    reader, other, third_content, author, _ = (_content_summary(c) for c in batch)
    assert [s[0] for s in reader] == [team.record.id]  # the second record is muted
    assert {s[0] for s in other} == {team.record.id, team.second.id}
    assert [s[0] for s in third_content] == [team.second.id]
    assert sum(sum(s[1].values()) for s in third_content) == 1  # the later one is outside
    assert author  # the other member's entries
    if detail == DigestDetail.FULL:
        texts = " ".join(x.text for s in batch[0].sections for x in s.lines)
        assert "Corrected" in texts
        assert "Draft" not in texts and "Mine" not in texts and "own note" not in texts
