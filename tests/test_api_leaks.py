"""What the client may not see stays out of the API and the FHIR export, whatever they ask.

The record of tests/worlds.py that tests/test_client_visibility.py sweeps (private, team
and withdrawn notes, an amended shared note, unshared goals and check-ins, medication,
nutrition with a blind weight of 47.3 kg, a level-of-care reason) is read through every
GET route of the API and the FHIR export: with the client's own token, every page of the
timeline with every filter, every entry and goal id of the record (private ones
included), and the FHIR bundle by token and by browser session. No response may hold a
text that was not shared, nor the blind weight in any formatting (47.3, 47,3, 47.30,
47300 g, 104.3 lb). For the team: a private note reaches nobody but its author, and the
FHIR export never holds it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from careteam.extensions import db
from careteam.goals.models import Goal
from careteam.record.models import Entry
from tests.factories import bearer, make_token
from tests.worlds import NOT_SHARED, SHARED, build_world
from tests.worlds import leaks as _page_leaks

# The blind weight in other units a serializer might choose: grams, pounds.
OTHER_UNITS_RE = re.compile(r"(?<![\d.,])(?:47300|104[.,]2[78]\d*|104[.,]3)(?![\d])")
FHIR = "/fhir/r4/Patient/{client_id}/$everything"
# The API's description of itself: the same for everyone, no record in it.
PUBLIC = {"api.openapi_document", "api.reference"}
ENTRY_KINDS = ("note", "goal", "goal_progress", "medication", "nutrition", "practice")


def _leaks(body: str) -> list[str]:
    found = _page_leaks(body)
    found += [f"blind weight as {m!r}" for m in OTHER_UNITS_RE.findall(body)]
    return found


def _all_ids(model, client_id: int) -> list[int]:
    return list(db.session.scalars(select(model.id).where(model.client_id == client_id)))


def _pages(client, url: str, headers: dict) -> list[str]:
    """Every page of a cursor-paged list, following next_cursor to the end."""
    bodies = []
    separator = "&" if "?" in url else "?"
    next_url = url
    for _ in range(100):
        response = client.get(next_url, headers=headers)
        assert response.status_code == 200, (next_url, response.get_data(as_text=True)[:300])
        bodies.append(response.get_data(as_text=True))
        cursor = response.json.get("next_cursor")
        if not cursor:
            return bodies
        next_url = f"{url}{separator}cursor={quote(cursor)}"
    pytest.fail(f"{url}: more than 100 pages")


def _client_reads(app, client, world) -> dict[str, str]:
    """Every API and FHIR response the client's own token can get for their record."""
    headers = bearer(make_token(world.own, scope="read", name="my script"))
    record_id = world.record.id
    base = f"/api/v1/clients/{record_id}"
    seen: dict[str, str] = {}

    def get(url: str, *, expect: tuple[int, ...] = (200,)) -> None:
        response = client.get(url, headers=headers)
        assert response.status_code in expect, (url, response.status_code)
        seen[url] = response.get_data(as_text=True)

    for url in ("/api/v1/me", "/api/v1/me/digest-preferences", "/api/v1/clients", base):
        get(url)
    get(f"{base}/goals")
    get(f"{base}/medications", expect=(403,))
    # The timeline: all of it, each kind on its own, small pages (cursors), a time window.
    for query in ["", "?limit=1", "?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z"]:
        for number, body in enumerate(_pages(client, f"{base}/timeline{query}", headers)):
            seen[f"{base}/timeline{query}#{number}"] = body
    for kind in ENTRY_KINDS:
        for number, body in enumerate(_pages(client, f"{base}/timeline?kind={kind}", headers)):
            seen[f"{base}/timeline?kind={kind}#{number}"] = body
    author_ids = {world.lead.id, *db.session.scalars(select(Entry.author_id))}
    for author in author_ids:
        url = f"{base}/timeline?author={author}"
        for number, body in enumerate(_pages(client, url, headers)):
            seen[f"{url}#{number}"] = body
    # Every entry and goal of the record by id: private, withdrawn and old versions too.
    for entry_id in _all_ids(Entry, record_id):
        get(f"{base}/entries/{entry_id}", expect=(200, 404))
    for goal_id in _all_ids(Goal, record_id):
        get(f"{base}/goals/{goal_id}", expect=(200, 404))
    get(FHIR.format(client_id=record_id))
    return seen


def test_the_clients_api_and_export_hold_nothing_that_was_not_shared(app, client, auth):
    world = build_world()
    seen = _client_reads(app, client, world)
    for url, body in seen.items():
        assert _leaks(body) == [], url
    # Every GET route of the API was read: a new one must be added to _client_reads.
    adapter = app.url_map.bind("careteam.test")
    covered = {adapter.match(url.split("#")[0].split("?")[0])[0] for url in seen}
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("api.", "fhir.")) and "GET" in rule.methods
    }
    assert routes - covered - PUBLIC == set(), "GET routes the client's reads leave out"
    # The search proves something only if what was shared does show.
    everything = "\n".join(seen.values())
    for name, text in SHARED.items():
        assert text in everything, f"the {name} should reach the client through the API"
    # Ids of private notes and of the blind weight answer exactly as ids that do not exist.
    base = f"/api/v1/clients/{world.record.id}/entries"
    private = seen[f"{base}/{world.ids['private']}"]
    blind = seen[f"{base}/{world.ids['blind_weight']}"]
    missing = seen.get(f"{base}/999999") or client.get(
        f"{base}/999999", headers=bearer(make_token(world.own, scope="read"))
    ).get_data(as_text=True)
    assert _without_instance(private) == _without_instance(blind) == _without_instance(missing)


def _without_instance(problem: str) -> str:
    return re.sub(r'"instance": "[^"]*"', "", problem)


def test_the_clients_browser_download_holds_nothing_that_was_not_shared(app, client, auth):
    world = build_world()
    redirected = auth.login(world.own.email)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/portal/"
    response = client.get(FHIR.format(client_id=world.record.id))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _leaks(body) == []
    assert SHARED["shared note"] in body


def test_a_private_note_reaches_only_its_author_and_never_the_export(app, client):
    """The team's view: another member never reads a private note, nor does any export."""
    world = build_world()
    private_text = NOT_SHARED["private note"]
    members = [m.provider for m in world.record.members if m.status == "active"]
    others = [user for user in members if user.id != world.lead.id]
    assert others, "the record needs members besides the private note's author"
    record_id = world.record.id
    base = f"/api/v1/clients/{record_id}"
    for user in [world.lead, *others]:
        headers = bearer(make_token(user, scope="read", name=f"{user.id}"))
        bodies = [
            *_pages(client, f"{base}/timeline", headers),
            *_pages(client, f"{base}/timeline?kind=note", headers),
        ]
        entry = client.get(f"{base}/entries/{world.ids['private']}", headers=headers)
        export = client.get(FHIR.format(client_id=record_id), headers=headers)
        assert export.status_code == 200
        assert private_text not in export.get_data(as_text=True), "a private note was exported"
        assert NOT_SHARED["private note title"] not in export.get_data(as_text=True)
        if user.id == world.lead.id:
            # The author reads their own private note, through the API as on the page.
            assert entry.status_code == 200
            assert any(private_text in body for body in bodies)
        else:
            assert entry.status_code == 404
            assert not any(private_text in body for body in bodies), user.display_name


def test_the_blind_weight_search_also_finds_other_units():
    for shown in ("47300", "104.28", "104,3", "104.277"):
        assert _leaks(f'{{"value": {shown}}}'), shown
    for harmless in ("147300", "104.4", "1104.3"):
        assert not _leaks(f'{{"value": {harmless}}}'), harmless
