"""How digests and alerts read (issue 13 item 7): urgent first, by client, newest first,
repeats collapsed; alerts in the reader's detail; a client's own digest in their words.

The emails are read as sent, through the real mail path to an SMTP sink on loopback."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from careteam.alerts import services as alert_services
from careteam.clients import services as client_services
from careteam.digests import services
from careteam.enums import DigestDetail, DigestFrequency, Role, Visibility
from careteam.extensions import db
from careteam.nutrition.services import post_update
from careteam.record.services import post_note
from tests import alert_helpers
from tests.digest_helpers import make_team, next_window, settle, ticked
from tests.factories import make_user


def _send(user) -> None:
    ids = services.dispatch_due(ticked(next_window(user)), user_ids=[user.id])
    assert len(ids) == 1
    services.send_batch(ids)


def _message(sink, to: str):
    mine = [m for m in sink.messages if m["To"] == to]
    assert len(mine) == 1, [m["Subject"] for m in mine]
    message = mine[0]
    return (
        message,
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def _detail(user, detail: str, **values) -> None:
    pref = services.preference_for(user)
    pref.detail = detail
    for name, value in values.items():
        setattr(pref, name, value)
    db.session.commit()


@pytest.fixture
def team(app, sink):
    return make_team(sink)


def _week_of_updates(team) -> dict:
    """Avery: an urgent note first, then three weights, then a note; Blake: the newest note."""
    urgent = post_note(
        actor=team.author,
        client=team.record,
        title="Called the crisis line",
        body="Safety plan reviewed.",
        urgent=True,
    )
    for days_ago, kg in ((2, "50.1"), (1, "50.4"), (0, "50.9")):
        post_update(
            actor=team.other,
            client=team.record,
            update_type="weight",
            weight_kg=Decimal(kg),
            measured_on=date.today() - timedelta(days=days_ago),
            blind=True,
        )
    routine = post_note(actor=team.author, client=team.record, title="Routine", body="Fine.")
    newest = post_note(actor=team.author, client=team.second, title="Blake today", body="Ok.")
    return {"urgent": urgent, "routine": routine, "newest": newest}


def test_a_full_digest_puts_urgent_first_groups_by_client_newest_first_and_collapses(
    app, sink, team
):
    _detail(team.reader, DigestDetail.FULL)
    made = _week_of_updates(team)
    _send(team.reader)
    message, text, html = _message(sink, team.reader.email)
    assert message["Subject"] == "CareTeam: 1 urgent, 6 updates on your clients' records"
    # Avery's section comes first (something urgent), although Blake's update is newer.
    assert text.index("Avery Quinn") < text.index("Blake Morgan")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("- ")]
    assert lines == [
        "- URGENT Note by Ann Author: Called the crisis line",
        "- Note by Ann Author: Routine",
        "- Nutrition by Olga Other: 3 weights recorded",
        "- Note by Ann Author: Blake today",
    ]
    assert "50.1" not in text + html  # blind weights are never given
    # Each line links to its entry on the timeline.
    for entry in made.values():
        assert f"/clients/{entry.client_id}#e{entry.id}" in html


def test_a_minimal_digest_puts_urgent_first_and_links_it_without_saying_it(app, sink, team):
    made = _week_of_updates(team)
    _send(team.reader)
    _, text, html = _message(sink, team.reader.email)
    assert text.index("Avery Q.") < text.index("Blake M.")
    anchor = f"/clients/{team.record.id}#e{made['urgent'].id}"
    assert "  1 urgent note, read it now: " in text and anchor in text and anchor in html
    for part in (text, html):
        assert "crisis" not in part and "Routine" not in part and "Avery Quinn" not in part


@pytest.fixture
def portal_user(app, team):
    """Avery's own portal account, with a daily digest turned on, settled up to now."""
    own = make_user(Role.CLIENT, name="Avery Quinn")
    client_services.link_portal_account(actor=team.author, client=team.record, email=own.email)
    services.save_preferences(user=own, frequency=DigestFrequency.DAILY)
    settle(own)
    return own


def test_a_clients_digest_holds_what_is_shared_with_them_in_their_words(
    app, sink, team, portal_user
):
    sink.clear()
    post_note(
        actor=team.author,
        client=team.record,
        title="Team only: medication review",
        body="Not for the client.",
    )
    post_note(
        actor=team.author,
        client=team.record,
        title="Your plan for next week",
        body="Practice the breathing.",
        visibility=Visibility.CLIENT,
    )
    _send(portal_user)
    message, text, html = _message(sink, portal_user.email)
    assert message["Subject"] == "CareTeam: 1 update from your care team"
    for part in (text, html):
        assert "Here is what your care team shared with you" in part
        assert "Your record" in part and "Notes: 1" in part
        assert "your clients" not in part.lower() and "Nothing new" not in part
        assert "medication review" not in part and "Your plan for next week" not in part
        assert "/portal/" in part and f"/clients/{team.record.id}" not in part


def test_a_clients_full_digest_gives_the_shared_notes_title_only(app, sink, team, portal_user):
    _detail(portal_user, DigestDetail.FULL)
    post_note(
        actor=team.author,
        client=team.record,
        title="Well done this week",
        body="Keep going.",
        visibility=Visibility.CLIENT,
    )
    post_note(actor=team.author, client=team.record, title="Team only again", body="No.")
    sink.clear()
    _send(portal_user)
    _, text, html = _message(sink, portal_user.email)
    assert "- Note by Ann Author: Well done this week" in text
    assert "Team only" not in text + html


def test_a_clients_digest_with_nothing_shared_says_nothing_new_in_their_words(
    app, sink, team, portal_user
):
    _detail(portal_user, DigestDetail.MINIMAL, send_when_empty=True)
    sink.clear()
    post_note(actor=team.author, client=team.record, title="Team only", body="Not shared.")
    _send(portal_user)
    message, text, _ = _message(sink, portal_user.email)
    assert message["Subject"] == "CareTeam: nothing new from your care team"
    assert "Nothing new from your care team" in text and "Team only" not in text


# Alerts --------------------------------------------------------------------------------


@pytest.fixture
def alert_team(app, sink):
    return alert_helpers.make_team(app)


def _alert_text(sink, team, **note) -> tuple[str, str]:
    entry = alert_helpers.urgent_note(team, **note)
    alert_services.fan_out(alert_helpers.alert_for(entry).id)
    assert alert_services.send_due(alert_services.due_deliveries()) == 1
    (message,) = sink.wait_for(1)
    return alert_helpers.bodies(message)


def test_a_full_alert_gives_the_notes_title(app, sink, alert_team):
    _detail(alert_team.reader, DigestDetail.FULL)
    text, html = _alert_text(sink, alert_team)
    assert "CareTeam alert: Avery Jordan Quinn" in text
    assert alert_helpers.NOTE_TITLE in text and alert_helpers.NOTE_TITLE in html
    assert alert_helpers.NOTE_BODY not in text + html


def test_a_full_alert_of_an_untitled_note_gives_its_first_line_only(app, sink, alert_team):
    _detail(alert_team.reader, DigestDetail.FULL)
    text, html = _alert_text(
        sink, alert_team, title="", body="## Call the team today\n\nDetails of the crisis: ..."
    )
    assert re.search(r"^Call the team today$", text, re.MULTILINE)
    assert "Details of the crisis" not in text + html and "##" not in text


def test_a_minimal_alert_is_the_default_and_names_no_client(app, sink, alert_team):
    text, html = _alert_text(sink, alert_team)
    for part in (text, html):
        assert "An urgent note was posted for a client on your team" in part
        assert "Avery" not in part and alert_helpers.NOTE_TITLE not in part
