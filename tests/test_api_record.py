"""Reading the record through the API: clients, one client, the timeline, entries, goals,
medications; who may read what, filters and cursors, query counts, the client's view."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import jsonschema
import pytest
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import services as clients
from careteam.enums import AuditOutcome, Discipline, Role, Visibility
from careteam.extensions import db, utcnow
from careteam.goals.services import check_in, create_goal
from careteam.medications.services import record_change
from careteam.record import services as record
from careteam.record.models import RecordVisit
from tests.factories import add_member, bearer, make_client, make_provider, make_token, make_user
from tests.worlds import SHARED, build_world, goal_fields, grow, leaks, make_team


@pytest.fixture
def world(app):
    """A record with a lead, a psychiatrist and a portal account; another team's record."""
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    psych = make_provider(Discipline.PSYCHIATRIST, name="Dr. Raman")
    own = make_user(Role.CLIENT)
    rec = make_client(lead, name="Robin Record")
    add_member(rec, psych, lead)
    clients.link_portal_account(actor=lead, client=rec, email=own.email)
    stranger = make_provider(Discipline.DIETITIAN, name="Other Team")
    other = make_client(stranger, name="Other Person")
    other_own = make_user(Role.CLIENT)
    clients.link_portal_account(actor=stranger, client=other, email=other_own.email)
    goal = create_goal(actor=lead, client=rec, fields=goal_fields(lead, "Sleep", shared=True))
    note = record.post_note(actor=lead, client=rec, body="Team note", visibility="team")
    return {
        "record": rec,
        "other": other,
        "lead": lead,
        "psych": psych,
        "stranger": stranger,
        "own": own,
        "other_own": other_own,
        "admin": make_user(Role.ADMIN),
        "goal": goal,
        "note": note,
    }


def get(client, token: str | None, path: str, **params):
    headers = bearer(token) if token else {}
    return client.get("/api/v1" + path, headers=headers, query_string=params or None)


# Who may read what


PATHS = [
    "/clients/{record}",
    "/clients/{record}/timeline",
    "/clients/{record}/entries/{entry}",
    "/clients/{record}/goals",
    "/clients/{record}/goals/{goal}",
    "/clients/{record}/medications",
]
# role -> expected status on the paths above (the record is the world's "record").
EXPECTED = {
    "lead": 200,
    "psych": 200,
    "stranger": 404,  # a provider on another team: the record looks missing
    "own": 200,  # the client, on their own record (the client's view)
    "other_own": 404,  # another client
    "admin": 404,  # admins see no clinical content
}


def _path(template: str, world) -> str:
    return template.format(
        record=world["record"].id, entry=_event_id(world), goal=world["goal"].id
    )


def _event_id(world) -> int:
    """The goal's "set" event: an entry both the team and the client may see."""
    from careteam.goals.models import GoalEvent

    return db.session.scalar(select(GoalEvent.id).where(GoalEvent.goal_id == world["goal"].id))


@pytest.mark.parametrize("template", PATHS)
@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_read_endpoint_by_role(app, client, world, template, role):
    path = _path(template, world)
    response = get(client, make_token(world[role]), path)
    expected = EXPECTED[role]
    if role == "own" and template.endswith("/medications"):
        expected = 403  # not shared with clients
    assert response.status_code == expected, (role, path, response.get_json())
    if expected != 200:
        assert response.mimetype == "application/problem+json"
        assert "Robin Record" not in response.get_data(as_text=True)
    if expected == 404:
        denied = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.outcome == AuditOutcome.DENIED,
                AuditEvent.actor_id == world[role].id,
                AuditEvent.client_id == world["record"].id,
            )
        )
        assert denied is not None, "load_client audits the refusal"


@pytest.mark.parametrize("template", ["/clients", *PATHS])
def test_without_a_token_every_read_is_401(app, client, world, template):
    response = get(client, None, _path(template, world))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_client_is_404_for_everyone(app, client, world):
    assert get(client, make_token(world["lead"]), "/clients/999999").status_code == 404


# My clients


def test_a_provider_lists_the_clients_whose_team_they_are_on(app, client, world):
    token = make_token(world["psych"])
    body = get(client, token, "/clients").get_json()
    assert [c["name"] for c in body["items"]] == ["Robin Record"]
    item = body["items"][0]
    assert item["team_size"] == 2
    assert item["level_of_care"] == "outpatient_weekly"
    # The lead's goal and note arrived since the psychiatrist's last (no) visit.
    assert item["unread_count"] == record.unread_counts(world["psych"], [item["id"]])[item["id"]]
    assert item["unread_count"] >= 2
    assert body["next_cursor"] is None


def test_clients_are_paged_with_a_cursor(app, client, world):
    lead = world["lead"]
    more = [make_client(lead, name=f"Paged {n}") for n in range(4)]
    same = utcnow()
    for rec in [world["record"], *more]:
        rec.last_activity_at = same  # equal keys: the id breaks the tie
    db.session.commit()
    token = make_token(lead)
    first = get(client, token, "/clients", limit=2).get_json()
    second = get(client, token, "/clients", limit=2, cursor=first["next_cursor"]).get_json()
    third = get(client, token, "/clients", limit=2, cursor=second["next_cursor"]).get_json()
    ids = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5
    assert third["next_cursor"] is None


def test_a_client_lists_only_their_own_record(app, client, world):
    body = get(client, make_token(world["own"]), "/clients").get_json()
    assert [c["id"] for c in body["items"]] == [world["record"].id]
    assert body["items"][0]["unread_count"] is None


def test_an_admin_gets_403_for_the_client_list(app, client, world):
    response = get(client, make_token(world["admin"]), "/clients")
    assert response.status_code == 403
    assert "clinical" in response.get_json()["detail"]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"cursor": "nope"}, {"limit": "many"}]
)
def test_bad_client_list_parameters_are_422(app, client, world, params):
    response = get(client, make_token(world["lead"]), "/clients", **params)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["pointer"].startswith("/query/")


# One client


def test_the_team_sees_every_member_contact_and_level_reasons(app, client, world):
    lead, psych, rec = world["lead"], world["psych"], world["record"]
    psych.phone, psych.share_phone = "+1 555 0100", False
    leaving = make_provider(Discipline.CASE_MANAGER, name="Casey Leaving")
    member = add_member(rec, leaving, lead)
    clients.end_member(actor=lead, client=rec, member_id=member.id)
    clients.change_level_of_care(
        actor=lead,
        client=rec,
        level="intensive_outpatient",
        effective_date=date.today(),
        reason="Step-up-reason",
    )
    body = get(client, make_token(psych), f"/clients/{rec.id}").get_json()
    names = [m["display_name"] for m in body["team"]]
    assert names[0] == "Dana Okafor"  # leads first
    ended = next(m for m in body["team"] if m["display_name"] == "Casey Leaving")
    assert ended["status"] == "ended" and ended["ended_at"]
    assert next(m for m in body["team"] if m["provider_id"] == psych.id)["contact"]["phone"]
    level = body["level_of_care"]
    assert level["current"] == "intensive_outpatient"
    assert level["history"][0]["reason"] == "Step-up-reason"
    assert _audited("view_team", psych, rec.id)


def test_the_client_sees_shared_contacts_and_no_reasons(app, client, world):
    lead, psych, rec, own = world["lead"], world["psych"], world["record"], world["own"]
    psych.phone, psych.share_phone, psych.share_email = "+1 555 0100", False, False
    lead.phone, lead.share_phone = "+1 555 0199", True
    db.session.commit()
    body = get(client, make_token(own), f"/clients/{rec.id}").get_json()
    by_name = {m["display_name"]: m["contact"] for m in body["team"]}
    assert by_name["Dr. Raman"] == {"email": None, "phone": None, "practice": None}
    assert by_name["Dana Okafor"]["phone"] == "+1 555 0199"
    assert "555 0100" not in str(body) and psych.email not in str(body)
    assert all(c["reason"] is None for c in body["level_of_care"]["history"])
    assert body["level_of_care"]["explanation"]
    assert _audited("view_roster", own, rec.id)


def _audited(action: str, user, client_id: int) -> bool:
    return (
        db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == action,
                AuditEvent.actor_id == user.id,
                AuditEvent.client_id == client_id,
                AuditEvent.outcome == AuditOutcome.ALLOWED,
            )
        )
        is not None
    )


# The timeline


def _notes(rec, author, count: int, **kw) -> list:
    return [
        record.post_note(actor=author, client=rec, body=f"Note {n}", **kw) for n in range(count)
    ]


def test_timeline_filters_by_kind_author_and_time(app, client, world):
    lead, psych, rec = world["lead"], world["psych"], world["record"]
    early = _notes(rec, psych, 2)
    for note in early:
        note.created_at = utcnow() - timedelta(days=10)
    db.session.commit()
    token = make_token(lead)
    path = f"/clients/{rec.id}/timeline"
    kinds = get(client, token, path, kind=["note", "goal"]).get_json()["items"]
    assert {e["kind"] for e in kinds} == {"note", "goal"}
    by_psych = get(client, token, path, author=psych.id).get_json()["items"]
    assert {e["id"] for e in by_psych} == {n.id for n in early}
    cut = (utcnow() - timedelta(days=5)).isoformat()
    older = get(client, token, path, until=cut).get_json()["items"]
    assert {e["id"] for e in older} == {n.id for n in early}
    newer = get(client, token, path, since=cut).get_json()["items"]
    assert newer and not {e["id"] for e in newer} & {n.id for n in early}


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"since": "2026-01-01T00:00:00"}, "/query/since"),  # naive: which zone?
        ({"until": "yesterday"}, "/query/until"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "/query/since"),
        ({"cursor": "not-a-cursor"}, "/query/cursor"),
        ({"cursor": "MjAyNnwx"}, "/query/cursor"),  # base64 of a malformed cursor
        ({"kind": "weather"}, "/query/kind/0"),
        ({"limit": 101}, "/query/limit"),
        ({"author": 0}, "/query/author"),
        (
            {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "/query",
        ),
    ],
)
def test_bad_timeline_parameters_are_422(app, client, world, params, pointer):
    response = get(
        client, make_token(world["lead"]), f"/clients/{world['record'].id}/timeline", **params
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["pointer"] == pointer


def test_timeline_pages_across_equal_timestamps(app, client, world):
    lead, rec = world["lead"], world["record"]
    same = utcnow() + timedelta(minutes=5)
    notes = _notes(rec, lead, 25)
    for note in notes:
        note.created_at = same  # every note at the very same instant
    db.session.commit()
    token = make_token(lead)
    path, ids, cursor = f"/clients/{rec.id}/timeline", [], None
    for _ in range(3):
        params = {"kind": "note", "limit": 10, **({"cursor": cursor} if cursor else {})}
        page = get(client, token, path, **params).get_json()
        ids += [e["id"] for e in page["items"] if e["id"] in {n.id for n in notes}]
        cursor = page["next_cursor"]
    assert len(ids) == 25 and len(set(ids)) == 25
    assert ids == sorted(ids, reverse=True)


def test_timeline_read_is_audited_and_does_not_mark_a_visit(app, client, world):
    psych, rec = world["psych"], world["record"]
    before = record.unread_counts(psych, [rec.id])
    assert get(client, make_token(psych), f"/clients/{rec.id}/timeline").status_code == 200
    assert _audited("view_record", psych, rec.id)
    assert db.session.scalar(select(RecordVisit).where(RecordVisit.user_id == psych.id)) is None
    assert record.unread_counts(psych, [rec.id]) == before


def test_a_private_note_shows_to_its_author_only(app, client, world):
    lead, psych, rec = world["lead"], world["psych"], world["record"]
    private = record.post_note(
        actor=lead, client=rec, body="Private-thought-QQ", visibility="private"
    )
    path = f"/clients/{rec.id}/timeline"
    assert "Private-thought-QQ" in get(client, make_token(lead), path).get_data(as_text=True)
    assert "Private-thought-QQ" not in get(client, make_token(psych), path).get_data(as_text=True)
    entry = f"/clients/{rec.id}/entries/{private.id}"
    assert get(client, make_token(lead), entry).status_code == 200
    assert get(client, make_token(psych), entry).status_code == 404


def test_medication_entries_carry_acknowledgements(app, client, world):
    lead, psych, rec = world["lead"], world["psych"], world["record"]
    change = record_change(
        actor=psych,
        client=rec,
        medication="Sertraline",
        action="started",
        effective_date=date.today(),
        dose=Decimal(50),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    token = make_token(lead)
    items = get(client, token, f"/clients/{rec.id}/timeline", kind="medication").get_json()[
        "items"
    ]
    assert items[0]["awaiting"] == [
        {"id": lead.id, "display_name": "Dana Okafor", "discipline": "therapist"}
    ]
    assert items[0]["dose"] == 50 and items[0]["regimen"] == "50 mg oral, once daily"
    from careteam.medications.services import acknowledge

    acknowledge(actor=lead, client=rec, entry_id=change.id)
    listing = get(client, token, f"/clients/{rec.id}/medications").get_json()
    (current,) = listing["current"]
    assert current["medication"] == "Sertraline" and current["awaiting"] == []
    assert current["acknowledgements"][0]["user"]["id"] == lead.id
    assert _audited("view_medications", lead, rec.id)


# One entry


def test_an_entry_with_its_history(app, client, world):
    lead, rec, other = world["lead"], world["record"], world["other"]
    first = record.post_note(actor=lead, client=rec, body="First text", visibility="team")
    record.post_note(actor=lead, client=rec, body="Second text", visibility="team", amends=first)
    token = make_token(lead)
    body = get(client, token, f"/clients/{rec.id}/entries/{first.id}").get_json()
    assert body["entry"]["id"] == first.id and body["entry"]["current"] is False
    assert [v["body"] for v in body["history"]] == ["First text", "Second text"]
    assert body["history"][1]["amended"] and body["history"][1]["supersedes_id"] == first.id
    assert _audited("view_entry", lead, rec.id)
    # An entry of another client, asked for under this record: not found.
    foreign = record.post_note(actor=world["stranger"], client=other, body="Elsewhere")
    assert get(client, token, f"/clients/{rec.id}/entries/{foreign.id}").status_code == 404


# Goals


def test_goals_with_version_and_check_ins(app, client, world):
    lead, rec, goal = world["lead"], world["record"], world["goal"]
    check_in(actor=lead, client=rec, goal=goal, measured_on=date(2026, 1, 12), value=Decimal(3))
    hidden = create_goal(actor=lead, client=rec, fields=goal_fields(lead, "Hidden", shared=False))
    token = make_token(lead)
    listing = get(client, token, f"/clients/{rec.id}/goals").get_json()["items"]
    assert {g["title"] for g in listing} == {"Sleep", "Hidden"}
    detail = get(client, token, f"/clients/{rec.id}/goals/{goal.id}").get_json()
    assert detail["version"] == goal.version and detail["checkins"][0]["value"] == 3
    assert detail["latest_checkin"]["value"] == 3
    own = make_token(world["own"])
    assert [
        g["title"] for g in get(client, own, f"/clients/{rec.id}/goals").get_json()["items"]
    ] == ["Sleep"]
    assert get(client, own, f"/clients/{rec.id}/goals/{hidden.id}").status_code == 404
    other_goal = f"/clients/{world['other'].id}/goals/{goal.id}"
    assert get(client, make_token(world["stranger"]), other_goal).status_code == 404


# The client's view


def _client_reads(client, world) -> list[str]:
    """Everything the client can read through the API, as response bodies."""
    rec, ids = world.record, world.ids
    token = make_token(world.own)
    bodies, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = get(client, token, f"/clients/{rec.id}/timeline", **params)
        assert response.status_code == 200
        bodies.append(response.get_data(as_text=True))
        cursor = response.get_json()["next_cursor"]
        if cursor is None:
            break
    seen = [e["id"] for body in bodies for e in json.loads(body)["items"]]
    for path in ["", "/goals", f"/goals/{ids['shared_goal']}", "/medications", "?x=1"]:
        bodies.append(get(client, token, f"/clients/{rec.id}{path}").get_data(as_text=True))
    hidden = [ids["private"], ids["blind_weight"], ids["medication"], ids["hidden_check_in"]]
    for entry_id in [*seen, *hidden]:
        bodies.append(
            get(client, token, f"/clients/{rec.id}/entries/{entry_id}").get_data(as_text=True)
        )
    for goal_id in (ids["hidden_goal"], ids["later_goal"]):
        response = get(client, token, f"/clients/{rec.id}/goals/{goal_id}")
        assert response.status_code == 404
    bodies.append(get(client, token, "/clients").get_data(as_text=True))
    return bodies


def test_the_clients_api_view_holds_nothing_that_was_not_shared(app, client):
    world = build_world()
    bodies = _client_reads(client, world)
    for body in bodies:
        assert leaks(body) == [], body[:300]
    everything = "\n".join(bodies)
    for name, text in SHARED.items():
        assert text in everything, f"the {name} should show to the client"
    assert "medication" not in {k for b in bodies for k in _kinds(b)}
    # Of nutrition, only the open weight, without the team's comment.
    weights = [item for body in bodies for item in _items(body) if item.get("kind") == "nutrition"]
    assert weights and all(
        w["update_type"] == "weight" and not w["blind"] and w["text"] == "" for w in weights
    )


def _items(body: str) -> list[dict]:
    try:
        data = json.loads(body)
    except ValueError:
        return []
    items = data.get("items", []) if isinstance(data, dict) else []
    return [i for i in items if isinstance(i, dict)]


def _kinds(body: str) -> set[str]:
    return {i.get("kind") for i in _items(body)}


def test_private_and_team_entries_are_not_found_for_the_client(app, client, world):
    rec, own = world["record"], make_token(world["own"])
    private = record.post_note(actor=world["lead"], client=rec, body="p", visibility="private")
    for entry in (private, world["note"]):
        assert get(client, own, f"/clients/{rec.id}/entries/{entry.id}").status_code == 404
    assert world["note"].visibility == Visibility.TEAM
    for kind in ("medication", "nutrition"):  # kinds a client never sees: an empty page
        body = get(client, own, f"/clients/{rec.id}/timeline", kind=kind).get_json()
        assert body == {"items": [], "next_cursor": None}


# Query counts


def _count(client, count_queries, token: str, path: str) -> int:
    get(client, token, path)  # warm-up
    with count_queries() as counter:
        response = get(client, token, path)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("who", ["lead", "own"])
def test_timeline_queries_do_not_grow_with_entries(app, client, count_queries, who):
    world = make_team()  # tests/worlds.py's team; grow() writes every kind of entry
    token = make_token(world.lead if who == "lead" else world.own)
    path = f"/clients/{world.record.id}/timeline?limit=100"
    grow(world, 1)  # one of each kind: each eager load runs once
    small = _count(client, count_queries, token, path)
    grow(world, 6, tag="b")
    large = _count(client, count_queries, token, path)
    assert small == large, (small, large)


def test_client_list_queries_do_not_grow_with_clients(app, client, world, count_queries):
    lead = world["lead"]
    token = make_token(lead)
    small = _count(client, count_queries, token, "/clients")
    for _ in range(8):
        rec = make_client(lead)
        add_member(rec, make_provider(Discipline.OTHER), lead)
        record.post_note(actor=lead, client=rec, body="x")
    large = _count(client, count_queries, token, "/clients")
    assert small == large, (small, large)


# The document


def test_responses_conform_to_the_openapi_document(app, client, world):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for name in (
        "ClientPage",
        "ClientOut",
        "EntryPage",
        "EntryDetail",
        "NoteOut",
        "GoalList",
        "GoalDetailOut",
        "MedicationListOut",
    ):
        assert name in schemas, name
    rec = world["record"]
    record_change(
        actor=world["psych"],
        client=rec,
        medication="Sertraline",
        action="started",
        effective_date=date.today(),
        dose=Decimal(50),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    token = make_token(world["lead"])
    for template, method in [
        ("/clients", "get"),
        *[(t, "get") for t in PATHS],
    ]:
        path = _path(template, world)
        response = get(client, token, path)
        assert response.status_code == 200, path
        operation = doc["paths"][
            "/api/v1"
            + template.replace("{record}", "{client_id}")
            .replace("{entry}", "{entry_id}")
            .replace("{goal}", "{goal_id}")
        ][method]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(
            response.get_json(),
            {**schema, "components": doc["components"]},
            cls=jsonschema.Draft202012Validator,
        )
