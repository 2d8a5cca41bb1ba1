"""The client sees only what their team shared with them, on every page and in every email.

One record holds every kind of entry: private, team and client notes, an amended
client note, shared and unshared goals with check-ins, a medication change, nutrition
updates with a blind weight, a level-of-care change and team changes, practice. The
client then requests every page they can reach, and every provider page, and the
responses (and the client's digest email) are searched for what was not shared,
above all the blind weight in any formatting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import url_for
from sqlalchemy import select

from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.alerts.services import fan_out
from careteam.clients import services as clients
from careteam.clients.models import Client
from careteam.digests import services as digests
from careteam.enums import (
    Discipline,
    GoalDirection,
    LevelOfCare,
    NutritionType,
    Role,
    Visibility,
)
from careteam.extensions import db, utcnow
from careteam.goals.services import GoalFields, check_in, create_goal, update_goal
from careteam.links import unsubscribe_token
from careteam.medications.services import record_change
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider, make_user
from tests.helpers import CSRF_RE

BLIND_WEIGHT = Decimal("47.3")
# 47.3 as a number on its own in any formatting (47.3, 47.30, 47,3), not part of a
# longer number such as 147.3 or 47.35.
BLIND_RE = re.compile(r"(?<![\d.,])47[.,]30*(?!\d)")
OPEN_WEIGHT = Decimal("52.85")

# Written by the team and not shared with the client.
NOT_SHARED = {
    "private note title": "Formulation-draft-ZX",
    "private note": "Private-process-note-about-nightmares",
    "team note title": "Insurance-appeal-QV",
    "team note": "Team-only-discuss-readmission-criteria",
    "urgent team note": "Urgent-team-safety-concern-WK",
    "old text of an amended shared note": "Meet-at-three-on-Friday",
    "note shared then unshared": "Shared-then-withdrawn-JP",
    "unshared goal title": "Reduce-purging-episodes",
    "unshared goal measure": "Purging-episodes-counted",
    "unshared goal description": "Description-hidden-goal-MM",
    "unshared goal check-in": "Comment-on-hidden-goal-RT",
    "goal unshared later": "Goal-withdrawn-from-client-BN",
    "check-in of goal unshared later": "Comment-on-withdrawn-goal-LS",
    "medication": "Olanzapinex",
    "medication reason": "Reason-for-medication-change-HG",
    "meal plan": "Meal-plan-six-exchanges-DC",
    "supplement": "Supplement-zinc-FF",
    "nutrition note": "Nutrition-note-body-image-YU",
    "blind weight note": "Weighed-blind-in-gown-EE",
    "open weight": "52.85",
    "level of care reason": "Reason-for-step-up-OP",
}
# Shared with the client: each must show somewhere, or the search proves nothing.
SHARED = {
    "shared note": "Shared-bring-your-food-diary",
    "current text of the amended shared note": "Meet-at-four-on-Friday",
    "shared goal": "Sleep-through-the-night",
    "shared check-in": "Comment-on-shared-goal-AA",
    "practice": "Box-breathing-SB",
}
# The client's own pages, and their own record's FHIR export (the shared copy).
CLIENT_PAGES = ("/portal/", "/settings/", "/unsubscribe/", "/fhir/")


@dataclass
class World:
    record: Client
    own: object
    lead: object
    ids: dict[str, int]


def _goal_fields(lead, title: str, *, shared: bool, **extra) -> GoalFields:
    values = {
        "title": title,
        "measure": "Nights with 7 hours of sleep",
        "unit": "nights a week",
        "baseline": Decimal(2),
        "target": Decimal(5),
        "direction": GoalDirection.UP,
        "target_date": date(2099, 1, 1),
        "owner_id": lead.id,
        "shared_with_client": shared,
        **extra,
    }
    return GoalFields(**values)


def _build() -> World:
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    dietitian = make_provider(Discipline.DIETITIAN, name="Noor Haddad")
    leaving = make_provider(Discipline.CASE_MANAGER, name="Casey Leaving")
    own = make_user(Role.CLIENT, email="alex@example.com")
    record = make_client(lead, name="Alex Client", level=LevelOfCare.OUTPATIENT_WEEKLY)
    add_member(record, psych, lead)
    add_member(record, dietitian, lead)
    gone = add_member(record, leaving, lead)
    clients.end_member(actor=lead, client=record, member_id=gone.id)
    clients.link_portal_account(actor=lead, client=record, email=own.email)
    s = NOT_SHARED
    ids: dict[str, int] = {}

    private = post_note(
        actor=lead,
        client=record,
        title=s["private note title"],
        body=s["private note"],
        visibility=Visibility.PRIVATE,
    )
    ids["private"] = private.id
    post_note(
        actor=psych,
        client=record,
        title=s["team note title"],
        body=s["team note"],
        visibility=Visibility.TEAM,
    )
    post_note(
        actor=psych, client=record, body=s["urgent team note"], visibility="team", urgent=True
    )
    post_note(actor=lead, client=record, body=SHARED["shared note"], visibility="client")
    old = post_note(
        actor=lead,
        client=record,
        body=s["old text of an amended shared note"],
        visibility="client",
    )
    post_note(
        actor=lead,
        client=record,
        body=SHARED["current text of the amended shared note"],
        visibility="client",
        amends=old,
    )
    withdrawn = post_note(
        actor=lead, client=record, body=s["note shared then unshared"], visibility="client"
    )
    post_note(
        actor=lead,
        client=record,
        body=s["note shared then unshared"],
        visibility="team",
        amends=withdrawn,
    )

    shared = create_goal(
        actor=lead, client=record, fields=_goal_fields(lead, SHARED["shared goal"], shared=True)
    )
    ids["shared_goal"] = shared.id
    check_in(
        actor=psych,
        client=record,
        goal=shared,
        measured_on=date(2026, 1, 12),
        value=Decimal(3),
        comment=SHARED["shared check-in"],
    )
    hidden = create_goal(
        actor=lead,
        client=record,
        fields=_goal_fields(
            lead,
            s["unshared goal title"],
            shared=False,
            measure=s["unshared goal measure"],
            description=s["unshared goal description"],
        ),
    )
    ids["hidden_goal"] = hidden.id
    progress = check_in(
        actor=psych,
        client=record,
        goal=hidden,
        measured_on=date(2026, 1, 12),
        value=Decimal(4),
        comment=s["unshared goal check-in"],
    )
    ids["progress"] = progress.id
    later = create_goal(
        actor=lead,
        client=record,
        fields=_goal_fields(lead, s["goal unshared later"], shared=True),
    )
    check_in(
        actor=lead,
        client=record,
        goal=later,
        measured_on=date(2026, 1, 13),
        value=Decimal(4),
        comment=s["check-in of goal unshared later"],
    )
    update_goal(
        actor=lead,
        client=record,
        goal=later,
        fields=_goal_fields(lead, s["goal unshared later"], shared=False),
        expected_version=later.version,
    )
    ids["later_goal"] = later.id

    medication = record_change(
        actor=psych,
        client=record,
        medication=s["medication"],
        action="started",
        effective_date=date.today(),
        dose=Decimal("2.5"),
        unit="mg",
        route="oral",
        frequency="at night",
        reason=s["medication reason"],
    )
    ids["medication"] = medication.id

    weigh = {"update_type": NutritionType.WEIGHT, "measured_on": date.today()}
    blind = post_update(
        actor=dietitian,
        client=record,
        weight_kg=BLIND_WEIGHT,
        blind=True,
        text=s["blind weight note"],
        **weigh,
    )
    ids["blind_weight"] = blind.id
    post_update(actor=dietitian, client=record, weight_kg=OPEN_WEIGHT, blind=False, **weigh)
    post_update(
        actor=dietitian, client=record, update_type=NutritionType.MEAL_PLAN, text=s["meal plan"]
    )
    post_update(
        actor=dietitian, client=record, update_type=NutritionType.SUPPLEMENT, text=s["supplement"]
    )
    post_update(
        actor=dietitian, client=record, update_type=NutritionType.NOTE, text=s["nutrition note"]
    )

    clients.change_level_of_care(
        actor=lead,
        client=record,
        level=LevelOfCare.INTENSIVE_OUTPATIENT,
        effective_date=date.today(),
        reason=s["level of care reason"],
    )
    assignment = assign_practice(
        actor=lead,
        client=record,
        fields=AssignmentFields(
            skill=SHARED["practice"],
            target_count=1,
            period="day",
            starts_on=date.today() - timedelta(days=3),
        ),
    )
    ids["assignment"] = assignment.id
    ids["member"] = gone.id
    return World(record=record, own=own, lead=lead, ids=ids)


def _leaks(body: str) -> list[str]:
    """What of the unshared content a response body shows."""
    # CSRF tokens are random text that could spell "47.3" by chance.
    body = CSRF_RE.sub("", body)
    found = [name for name, text in NOT_SHARED.items() if text in body]
    found += [f"blind weight as {m!r}" for m in BLIND_RE.findall(body)]
    return found


def _url_args(world: World, endpoint: str, rule: str, arguments: set[str]) -> dict:
    """Real ids for a route's arguments: what the client has for the portal's routes,
    and for the team's routes the entries that hold what was not shared."""
    ids = world.ids
    entry = {
        "nutrition": ids["blind_weight"],
        "medications": ids["medication"],
        "practice": ids["assignment"],
        "goals": ids["progress"],
    }.get(endpoint.split(".")[0], ids["private"])
    known = {
        "client_id": world.record.id,
        "goal_id": ids["shared_goal"] if endpoint.startswith("portal.") else ids["hidden_goal"],
        "entry_id": entry,
        "member_id": ids["member"],
        "user_id": world.lead.id,
        # Each unsubscribe link with a token of its own purpose (digests or alerts).
        "token": unsubscribe_token(
            world.own.id, purpose="alerts" if "unsubscribe_alerts" in endpoint else "digests"
        ),
    }
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
    world = _build()
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
        assert _leaks(body) == [], (endpoint, url)
        seen[url] = body
    everything = "\n".join(seen.values())
    for name, text in SHARED.items():
        assert text in everything, f"the {name} should show to the client"


def test_the_client_gets_not_found_on_every_team_page(app, client, auth):
    world = _build()
    auth.login(world.own.email)
    for endpoint, rule, url in _get_routes(app, world):
        if rule.startswith(CLIENT_PAGES):
            continue
        response = client.get(url)
        body = response.get_data(as_text=True)
        if endpoint.startswith("emergency."):
            # Break-glass is for providers and admins: a client is refused the whole
            # feature (403) whatever the id, so the answer tells nothing about the record.
            assert response.status_code == 403, (endpoint, url)
        elif "<int:client_id>" in rule:
            assert response.status_code == 404, (endpoint, url)
        else:  # the dashboard, admin pages, account pages: never a crash
            assert response.status_code < 500, (endpoint, url)
        assert _leaks(body) == [], (endpoint, url)
        assert "Alex Client" not in body, (endpoint, url)


def test_the_search_finds_a_blind_weight_when_one_is_shown():
    """The search itself must not miss a weight a page might print."""
    for shown in ("47.3", "47.30", "47,3", "47.300 kg", "Weight: 47.3kg"):
        assert _leaks(f"<p>{shown}</p>"), shown
    for harmless in ("147.3", "47.35", "2047.3", "x=47.31"):
        assert not _leaks(f"<p>{harmless}</p>"), harmless


def test_the_clients_email_carries_nothing_clinical(app, sink):
    world = _build()
    own = world.own
    # A client who turns on full daily digests, even when nothing is new.
    pref = digests.preference_for(own)
    pref.frequency, pref.detail, pref.send_when_empty = "daily", "full", True
    db.session.commit()
    content = digests.build_content(own, own.created_at, utcnow(), "full")
    assert content.sections == [] and content.total == 0
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
            assert _leaks(body) == [], part
            assert SHARED["shared note"] not in body  # no clinical content at all
