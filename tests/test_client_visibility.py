"""The client sees only what their team shared with them, on every page and in every email.

One record holds every kind of entry: private, team and client notes, an amended
client note, shared and unshared goals with check-ins, a medication change, nutrition
updates with a blind weight, a level-of-care change and team changes, practice. The
client then requests every page they can reach, and every provider page, and the
responses (and the client's digest email) are searched for what was not shared,
above all the blind weight in any formatting.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.alerts.services import fan_out
from careteam.auth.tokens import EXPIRY_CHOICES_DAYS, create_token
from careteam.digests import services as digests
from careteam.enums import TokenScope
from careteam.extensions import db, utcnow
from careteam.links import unsubscribe_token
from careteam.portal import shared_record
from tests.worlds import SHARED, World, build_world, leaks

# The client's own pages, and their own record's FHIR export (the shared copy).
CLIENT_PAGES = ("/portal/", "/settings/", "/unsubscribe/", "/fhir/")


def _url_args(world: World, endpoint: str, rule: str, arguments: set[str]) -> dict:
    """Real ids for a route's arguments: what the client has for the portal's routes,
    and for the team's routes the entries that hold what was not shared."""
    ids = world.ids
    entry = {
        "nutrition": ids["blind_weight"],
        "medications": ids["medication"],
        "practice": ids["assignment"],
        "goals": ids["hidden_check_in"],
    }.get(endpoint.split(".")[0], ids["private"])
    known = {
        "client_id": world.record.id,
        "goal_id": ids["shared_goal"] if endpoint.startswith("portal.") else ids["hidden_goal"],
        "entry_id": entry,
        "member_id": world.rows["ended"].id,
        "user_id": world.lead.id,
        # Each unsubscribe link with a token of its own purpose (digests or alerts).
        "token": unsubscribe_token(
            world.own.id, purpose="alerts" if "unsubscribe_alerts" in endpoint else "digests"
        ),
    }
    if "token_id" in arguments:  # the revoke confirmation of the client's own token
        token, _ = create_token(
            user=world.own, name="Phone app", scope=TokenScope.READ, days=EXPIRY_CHOICES_DAYS[0]
        )
        known["token_id"] = token.id
    missing = arguments - known.keys()
    # A page the client reaches must be requested with a real id: extend `known`.
    assert not (missing and rule.startswith(CLIENT_PAGES)), f"{endpoint}: an id for {missing}?"
    return {name: known.get(name, 1) for name in arguments}


def _get_routes(app, world: World) -> list[tuple[str, str, str]]:
    """(endpoint, rule, url) of every GET route, with real ids."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if rule.endpoint.startswith("api."):
                continue  # tokens, not sessions: tests/test_api_leaks.py and test_api_record.py
            args = _url_args(world, rule.endpoint, rule.rule, set(rule.arguments))
            routes.append((rule.endpoint, rule.rule, url_for(rule.endpoint, **args)))
    return routes


def test_the_client_sees_nothing_that_was_not_shared(app, client, auth):
    world = build_world()
    auth.login(world.own.email)
    routes = _get_routes(app, world)
    portal = [(ep, url) for ep, rule, url in routes if rule.startswith(CLIENT_PAGES)]
    assert {"portal.home", "portal.notes", "portal.access", "portal.goal"} <= {
        ep for ep, _ in portal
    }
    assert {"practice.portal_index", "practice.log"} <= {ep for ep, _ in portal}
    # The portal's subpages with real ids and cursors, and a second visit's "what's new".
    extra = [
        f"/portal/goals/{world.ids['hidden_goal']}",
        f"/portal/goals/{world.ids['later_goal']}",
        "/portal/notes?before=" + "x" * 8,
        "/portal/",
    ]
    seen: dict[str, str] = {}
    for endpoint, url in portal + [("extra", url) for url in extra]:
        response = client.get(url)
        body = response.get_data(as_text=True)
        if url.startswith("/portal/goals/") and endpoint == "extra":
            assert response.status_code == 404, url
        else:
            assert response.status_code == 200, (endpoint, url, response.status_code)
        assert leaks(body) == [], (endpoint, url)
        seen[url] = body
    everything = "\n".join(seen.values())
    for name, text in SHARED.items():
        assert text in everything, f"the {name} should show to the client"


def test_the_client_gets_not_found_on_every_team_page(app, client, auth):
    world = build_world()
    auth.login(world.own.email)
    for endpoint, rule, url in _get_routes(app, world):
        if rule.startswith(CLIENT_PAGES):
            continue
        response = client.get(url)
        if endpoint == "auth.favicon":  # an image, the same for everyone
            assert response.status_code == 200 and response.mimetype.startswith("image/")
            continue
        body = response.get_data(as_text=True)
        if endpoint.startswith("emergency."):
            # Break-glass is for providers and admins: a client is refused the whole
            # feature (403) whatever the id, so the answer tells nothing about the record.
            assert response.status_code == 403, (endpoint, url)
        elif "<int:client_id>" in rule:
            assert response.status_code == 404, (endpoint, url)
        else:  # the dashboard, admin pages, account pages: never a crash
            assert response.status_code < 500, (endpoint, url)
        assert leaks(body) == [], (endpoint, url)
        assert "Alex Client" not in body, (endpoint, url)


def test_the_search_finds_a_blind_weight_when_one_is_shown():
    """The search itself must not miss a weight a page might print."""
    for shown in ("47.3", "47.30", "47,3", "47.300 kg", "Weight: 47.3kg"):
        assert leaks(f"<p>{shown}</p>"), shown
    for harmless in ("147.3", "47.35", "2047.3", "x=47.31"):
        assert not leaks(f"<p>{harmless}</p>"), harmless


def test_the_clients_email_carries_nothing_clinical(app, sink):
    world = build_world()
    own = world.own
    # A client who turns on full daily digests, even when nothing is new.
    pref = digests.preference_for(own)
    pref.frequency, pref.detail, pref.send_when_empty = "daily", "full", True
    db.session.commit()
    # Their digest holds what the portal shows them (issue 13 item 7), never the rest.
    content = digests.build_content(own, own.created_at, utcnow(), "full")
    shown = {e.id for e in shared_record.shared_timeline(world.record, limit=500).items}
    listed = {e.id for section in content.sections for e in section.entries}
    assert listed and listed <= shown and content.total == len(listed)
    assert world.ids["private"] not in listed and world.ids["medication"] not in listed
    digest_id = digests.open_window(own.id, utcnow())
    db.session.commit()
    outcome = digests.send_batch([digest_id])
    assert not outcome.failed and not outcome.retry
    # Alerts for the urgent note, the medication and the level change go to the team.
    for alert_id in db.session.scalars(select(OutboxAlert.id)):
        fan_out(alert_id)
    assert (
        db.session.scalars(select(AlertDelivery).where(AlertDelivery.user_id == own.id)).all()
        == []
    )
    mine = [m for m in sink.messages if m["To"] == own.email]
    for message in mine:
        for part in ("plain", "html"):
            body = message.get_body((part,)).get_content()
            assert leaks(body) == [], part
