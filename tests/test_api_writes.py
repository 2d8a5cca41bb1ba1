"""The record API's writes: every kind of entry, goals, amendments, acknowledgements,
practice logs; their refusals as problems with field pointers; Idempotency-Key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careteam.api.entries import bodies as write_schemas
from careteam.api.idempotency import HEADER
from careteam.audit.viewer import count_for
from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import Client
from careteam.enums import Discipline, PracticePeriod, Role
from careteam.extensions import db
from careteam.goals import services as goal_services
from careteam.goals.models import Goal, GoalProgress
from careteam.medications import services as medication_services
from careteam.medications.models import MedicationAck, MedicationChange
from careteam.nutrition.models import NutritionUpdate
from careteam.practice import services as practice_services
from careteam.practice.models import PracticeLog
from careteam.practice.rules import AssignmentFields
from careteam.record.models import Entry, Note
from careteam.record.views import AMEND_ENDPOINTS
from tests.factories import add_member, bearer, make_client, make_provider, make_token, make_user

TODAY = date.today()
START = TODAY - timedelta(days=20)
PROBLEM = "application/problem+json"


@dataclass
class World:
    record: Client
    lead: User  # therapist, team lead
    psych: User
    diet: User
    own: User  # the client's portal account
    tokens: dict[str, str]

    def url(self, path: str = "", client_id: int | None = None) -> str:
        return f"/api/v1/clients/{client_id or self.record.id}{path}"


@pytest.fixture
def world(app) -> World:
    lead = make_provider(Discipline.THERAPIST)
    psych = make_provider(Discipline.PSYCHIATRIST)
    diet = make_provider(Discipline.DIETITIAN)
    outsider = make_provider(Discipline.PSYCHIATRIST)
    own = make_user(Role.CLIENT)
    record = make_client(lead)
    add_member(record, psych, lead)
    add_member(record, diet, lead)
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    tokens = {
        "lead": make_token(lead),
        "psych": make_token(psych),
        "diet": make_token(diet),
        "outsider": make_token(outsider),
        "own": make_token(own),
        "lead_read": make_token(lead, scope="read"),
    }
    return World(record, lead, psych, diet, own, tokens)


@pytest.fixture
def post(client, world):
    """POST JSON with a named token of the world."""

    def send(path: str, body, who: str = "lead", *, key: str | None = None, method="POST"):
        headers = bearer(world.tokens[who])
        if key is not None:
            headers[HEADER] = key
        return client.open(world.url(path), method=method, json=body, headers=headers)

    return send


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def _pointers(response) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in _problem(response, 422).get("errors", [])}


NOTE = {"title": "Plan", "body": "Met **today**.", "visibility": "team", "urgent": False}
MEDICATION = {
    "medication": "Sertraline",
    "action": "started",
    "effective_date": START.isoformat(),
    "dose": 50,
    "unit": "mg",
    "route": "oral",
    "frequency": "once daily",
}
WEIGHT = {"update_type": "weight", "weight_kg": 52.4, "measured_on": TODAY.isoformat()}


def _goal_body(world: World, **overrides) -> dict:
    body = {
        "title": "Fewer panic attacks",
        "measure": "panic attacks",
        "unit": "per week",
        "baseline": 6,
        "target": "1.5",
        "direction": "down",
        "target_date": (TODAY + timedelta(days=60)).isoformat(),
    }
    return {**body, **overrides}


# Notes


def test_a_member_posts_a_note(post, world):
    response = post("/notes", {**NOTE, "urgent": True})
    assert response.status_code == 201
    out = response.get_json()
    assert out["kind"] == "note" and out["body"] == "Met **today**." and out["urgent"] is True
    assert out["author"]["id"] == world.lead.id
    assert response.headers["Location"] == world.url(f"/entries/{out['id']}")
    note = db.session.get(Note, out["id"])
    assert (note.title, note.body, note.client_id) == ("Plan", "Met **today**.", world.record.id)
    assert count_for("create_note", world.record.id) == 1  # audited by the service


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": "No body"}, "/body"),
        ({**NOTE, "body": "   "}, "/body"),  # the service's rule: "Write the note."
        ({**NOTE, "visibility": "everyone"}, "/visibility"),
        ({**NOTE, "colour": "red"}, "/colour"),
        ({**NOTE, "title": "x" * (write_schemas.NOTE_TITLE_MAX + 1)}, "/title"),
        ({**NOTE, "urgent": "very"}, "/urgent"),
        ({**NOTE, "body": "a\u0000b"}, "/body"),  # PostgreSQL cannot store it
    ],
)
def test_a_refused_note_names_the_field_and_saves_nothing(post, body, pointer):
    assert pointer in _pointers(post("/notes", body))
    assert _count(Note) == 0


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("own", 404), ("lead_read", 403)])
def test_who_may_not_post_a_note(post, who, status):
    problem = _problem(post("/notes", NOTE, who), status)
    assert "Traceback" not in json.dumps(problem)
    assert _count(Note) == 0


def test_a_note_for_a_missing_client_is_not_found(client, world):
    response = client.post(
        world.url("/notes", client_id=99999), json=NOTE, headers=bearer(world.tokens["lead"])
    )
    _problem(response, 404)


# The body itself


def test_body_too_large_not_json_and_malformed(app, client, world):
    headers = bearer(world.tokens["lead"])
    limit = app.config["API_MAX_BODY_BYTES"]
    huge = {**NOTE, "body": "x" * (limit + 1)}
    _problem(client.post(world.url("/notes"), json=huge, headers=headers), 413)
    _problem(client.post(world.url("/notes"), data="body=hi", headers=headers), 415)
    malformed = client.post(
        world.url("/notes"), data="{not json", content_type="application/json", headers=headers
    )
    _problem(malformed, 400)
    assert _count(Note) == 0


# Medication changes


def test_a_prescriber_records_a_medication_change(post, world):
    response = post("/medications", MEDICATION, "psych")
    assert response.status_code == 201
    out = response.get_json()
    assert (out["kind"], out["dose"], out["regimen"]) == (
        "medication",
        50,
        "50 mg oral, once daily",
    )
    assert {p["id"] for p in out["awaiting"]} == {world.lead.id, world.diet.id}
    change = db.session.get(MedicationChange, out["id"])
    assert (change.medication, change.dose, change.action) == (
        "Sertraline",
        Decimal("50"),
        "started",
    )
    assert count_for("create_medication", world.record.id) == 1


@pytest.mark.parametrize("who", ["lead", "diet"])
def test_only_prescribers_record_medication_changes(post, who):
    _problem(post("/medications", MEDICATION, who), 403)
    assert _count(MedicationChange) == 0


def test_medication_refusals_come_all_at_once_with_the_forms_sentences(post):
    huge = _pointers(post("/medications", {**MEDICATION, "dose": "1e999999999"}, "psych"))
    assert huge == {"/dose": "Enter a dose below 1,000,000."}
    errors = _pointers(post("/medications", {**MEDICATION, "dose": -5}, "psych"))
    assert errors == {"/dose": medication_services.MESSAGES["dose"]}
    errors = _pointers(
        post("/medications", {**MEDICATION, "action": "dose_changed", "unit": ""}, "psych")
    )
    assert set(errors) == {"/unit", "/reason"}
    assert _count(MedicationChange) == 0


def test_a_medication_change_must_fit_the_list(post):
    stop = {"medication": "Lithium", "action": "stopped", "effective_date": TODAY.isoformat()}
    errors = _pointers(post("/medications", {**stop, "reason": "Side effects"}, "psych"))
    assert "not on the current medication list" in errors["/medication"]
    assert _count(MedicationChange) == 0


# Nutrition updates


def test_a_dietitian_records_a_blind_weight(post, world):
    response = post("/nutrition", {**WEIGHT, "blind": True}, "diet")
    assert response.status_code == 201
    out = response.get_json()
    assert (out["weight_kg"], out["blind"]) == (52.4, True)
    update = db.session.get(NutritionUpdate, out["id"])
    assert (update.weight_kg, update.blind, update.measured_on) == (Decimal("52.40"), True, TODAY)


@pytest.mark.parametrize(
    ("body", "pointer", "words"),
    [
        ({**WEIGHT, "weight_kg": 520}, "/weight_kg", "Must be at most 350 kg."),
        ({**WEIGHT, "weight_kg": "heavy"}, "/weight_kg", "number of kilograms"),
        ({"update_type": "weight", "weight_kg": 50}, "/measured_on", "date"),
        ({"update_type": "meal_plan", "text": "Three meals", "weight_kg": 50}, "/weight_kg", ""),
        ({"update_type": "supplement"}, "/text", "supplement"),
    ],
)
def test_nutrition_refusals_name_the_field(post, body, pointer, words):
    errors = _pointers(post("/nutrition", body, "diet"))
    assert words in errors[pointer]
    assert _count(NutritionUpdate) == 0


@pytest.mark.parametrize("who", ["lead", "psych"])
def test_only_dietitians_post_nutrition(post, who):
    _problem(post("/nutrition", WEIGHT, who), 403)
    assert _count(NutritionUpdate) == 0


# Goals


def test_a_member_sets_a_goal_owned_by_themselves_by_default(post, world):
    response = post("/goals", _goal_body(world, shared_with_client=True), "psych")
    assert response.status_code == 201
    out = response.get_json()
    assert response.headers["Location"] == world.url(f"/goals/{out['id']}")
    assert (out["owner"]["id"], out["target"], out["version"]) == (world.psych.id, 1.5, 1)
    goal = db.session.get(Goal, out["id"])
    assert (goal.target, goal.direction, goal.shared_with_client) == (Decimal("1.5"), "down", True)
    assert count_for("create_goal", world.record.id) == 1


def test_goal_refusals_follow_the_goal_rules(post, world):
    past = (TODAY - timedelta(days=1)).isoformat()
    errors = _pointers(post("/goals", _goal_body(world, target=9, target_date=past)))
    assert set(errors) == {"/target", "/target_date"}
    errors = _pointers(post("/goals", _goal_body(world, owner_id=world.own.id)))
    assert set(errors) == {"/owner_id"}
    assert set(_pointers(post("/goals", _goal_body(world, status="completed")))) == {"/status"}
    assert set(_pointers(post("/goals", _goal_body(world, owner_id=2**40)))) == {"/owner_id"}
    assert _count(Goal) == 0


def test_a_goal_changes_with_its_version(post, world):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    response = post(
        f"/goals/{goal_id}", {"version": 1, "status": "on_hold"}, "psych", method="PATCH"
    )
    assert response.status_code == 200
    out = response.get_json()
    assert (out["status"], out["version"], out["title"]) == ("on_hold", 2, "Fewer panic attacks")
    assert count_for("create_goal", world.record.id) == 2  # the change is a timeline entry


def test_a_stale_version_conflicts_and_saves_nothing(post, world):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    post(f"/goals/{goal_id}", {"version": 1, "title": "Theirs"}, "psych", method="PATCH")
    response = post(f"/goals/{goal_id}", {"version": 1, "title": "Mine"}, method="PATCH")
    problem = _problem(response, 409)
    assert problem["errors"] == [{"pointer": "/version", "detail": "The goal is at version 2."}]
    assert db.session.get(Goal, goal_id).title == "Theirs"
    again = post(f"/goals/{goal_id}", {"version": 2, "title": "Mine"}, method="PATCH")
    assert again.get_json()["title"] == "Mine"


def test_a_conflict_during_the_save_is_a_409_too(post, world, monkeypatch):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]

    def raced(**kwargs):
        raise goal_services.GoalConflict()

    monkeypatch.setattr(goal_services, "update_goal", raced)
    _problem(post(f"/goals/{goal_id}", {"version": 1, "title": "Mine"}, method="PATCH"), 409)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"title": "No version"}, "/version"), ({"version": 1, "title": None}, "/title")],
)
def test_a_goal_change_needs_a_version_and_no_nulls(post, world, body, pointer):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    assert pointer in _pointers(post(f"/goals/{goal_id}", body, method="PATCH"))
    assert db.session.get(Goal, goal_id).version == 1


def test_a_check_in_on_a_goal(post, world):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    body = {"measured_on": TODAY.isoformat(), "value": 4, "comment": "Better week"}
    response = post(f"/goals/{goal_id}/progress", body)
    assert response.status_code == 201
    assert response.get_json()["kind"] == "goal_progress"
    progress = db.session.scalars(select(GoalProgress)).one()
    assert (progress.value, progress.comment) == (Decimal("4"), "Better week")
    future = {**body, "measured_on": (TODAY + timedelta(days=2)).isoformat()}
    assert set(_pointers(post(f"/goals/{goal_id}/progress", future))) == {"/measured_on"}
    assert _problem(post("/goals/99999/progress", body), 404)
    assert _count(GoalProgress) == 1


def test_goals_of_another_team_are_not_found(post, world):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    _problem(post(f"/goals/{goal_id}", {"version": 1}, "outsider", method="PATCH"), 404)
    _problem(post("/goals", _goal_body(world), "outsider"), 404)
    assert _count(Goal) == 1


# Amendments


def test_the_author_amends_a_note_once(post, world):
    note_id = post("/notes", NOTE).get_json()["id"]
    response = post(f"/entries/{note_id}/amendments", {**NOTE, "body": "Corrected."})
    assert response.status_code == 201
    out = response.get_json()
    assert (out["body"], out["supersedes_id"], out["amended"]) == ("Corrected.", note_id, True)
    assert db.session.get(Note, note_id).superseded_at is not None
    again = post(f"/entries/{note_id}/amendments", {**NOTE, "body": "Twice."})
    assert f"entry {out['id']}" in _problem(again, 409)["detail"]
    assert _count(Note) == 2


def test_only_the_author_amends(post, world):
    note_id = post("/notes", NOTE).get_json()["id"]
    _problem(post(f"/entries/{note_id}/amendments", NOTE, "psych"), 403)
    _problem(post(f"/entries/{note_id}/amendments", NOTE, "outsider"), 404)
    assert _count(Note) == 1
    assert count_for("amend_entry") == 1  # the refusal to the member, audited


def test_another_authors_private_note_cannot_be_found_to_amend(post):
    note_id = post("/notes", {**NOTE, "visibility": "private"}).get_json()["id"]
    _problem(post(f"/entries/{note_id}/amendments", NOTE, "psych"), 404)


def test_an_amendment_takes_its_kinds_body(post, world):
    note_id = post("/notes", NOTE).get_json()["id"]
    errors = _pointers(post(f"/entries/{note_id}/amendments", MEDICATION))
    assert {"/body", "/medication"} <= set(errors)
    assert _count(Note) == 1


def test_a_goal_event_cannot_be_amended(post, world):
    post("/goals", _goal_body(world))
    event_id = db.session.scalar(select(Entry.id).where(Entry.kind == "goal"))
    assert (
        "cannot be amended"
        in _problem(post(f"/entries/{event_id}/amendments", NOTE), 422)["detail"]
    )


def test_amending_a_medication_change_and_a_weight(post, world):
    change_id = post("/medications", MEDICATION, "psych").get_json()["id"]
    corrected = post(f"/entries/{change_id}/amendments", {**MEDICATION, "dose": 75}, "psych")
    assert corrected.status_code == 201
    assert corrected.get_json()["dose"] == 75
    weight_id = post("/nutrition", WEIGHT, "diet").get_json()["id"]
    fixed = post(f"/entries/{weight_id}/amendments", {**WEIGHT, "weight_kg": 54.1}, "diet")
    assert fixed.get_json()["weight_kg"] == 54.1
    errors = _pointers(
        post(f"/entries/{fixed.get_json()['id']}/amendments", {"update_type": "x"}, "diet")
    )
    assert "/update_type" in errors


def test_amending_a_check_in(post, world):
    goal_id = post("/goals", _goal_body(world)).get_json()["id"]
    body = {"measured_on": TODAY.isoformat(), "value": 4}
    entry_id = post(f"/goals/{goal_id}/progress", body).get_json()["id"]
    response = post(f"/entries/{entry_id}/amendments", {**body, "value": 3})
    assert response.get_json()["value"] == 3
    goal = goal_services.get_goal(world.record, goal_id)
    assert [c.value for c in goal.checkins] == [Decimal("3")]


# Acknowledgements


def test_team_members_acknowledge_a_medication_change(post, world):
    change_id = post("/medications", MEDICATION, "psych").get_json()["id"]
    first = post(f"/entries/{change_id}/acknowledgements", None)
    assert first.status_code == 201
    assert [a["user"]["id"] for a in first.get_json()["acknowledgements"]] == [world.lead.id]
    second = post(f"/entries/{change_id}/acknowledgements", None)
    assert second.status_code == 200
    assert _count(MedicationAck) == 1
    assert count_for("acknowledge_medication", world.record.id) == 1


def test_what_cannot_be_acknowledged(post, world):
    change_id = post("/medications", MEDICATION, "psych").get_json()["id"]
    assert _problem(post(f"/entries/{change_id}/acknowledgements", None, "psych"), 422)
    note_id = post("/notes", NOTE).get_json()["id"]
    _problem(post(f"/entries/{note_id}/acknowledgements", None, "psych"), 404)
    _problem(post(f"/entries/{change_id}/acknowledgements", None, "outsider"), 404)
    _problem(post(f"/entries/{change_id}/acknowledgements", None, "own"), 404)
    post(f"/entries/{change_id}/amendments", {**MEDICATION, "dose": 75}, "psych")
    _problem(post(f"/entries/{change_id}/acknowledgements", None), 409)
    assert _count(MedicationAck) == 0


# Practice


def test_a_member_assigns_and_the_client_logs(post, world):
    body = {
        "skill": "Box breathing",
        "target_count": 1,
        "period": "day",
        "starts_on": START.isoformat(),
    }
    response = post("/practice", body)
    assert response.status_code == 201
    assignment_id = response.get_json()["id"]
    log = {"practised_on": TODAY.isoformat(), "rating": 4, "reflection": "Calmer"}
    logged = post(f"/practice/{assignment_id}/logs", log, "own")
    assert logged.status_code == 201
    assert (logged.get_json()["rating"], logged.get_json()["assignment_id"]) == (4, assignment_id)
    assert db.session.scalars(select(PracticeLog)).one().reflection == "Calmer"
    _problem(post(f"/practice/{assignment_id}/logs", log, "lead"), 403)
    _problem(post(f"/practice/{assignment_id}/logs", log, "outsider"), 404)
    assert set(
        _pointers(post(f"/practice/{assignment_id}/logs", {**log, "rating": 9}, "own"))
    ) == {"/rating"}
    assert _count(PracticeLog) == 1


def test_an_ended_assignment_takes_no_logs(post, world):
    assignment = practice_services.assign_practice(
        actor=world.lead,
        client=world.record,
        fields=AssignmentFields("Box breathing", 1, PracticePeriod.DAY, START),
    )
    practice_services.end_assignment(actor=world.lead, client=world.record, old=assignment)
    log = {"practised_on": TODAY.isoformat()}
    _problem(post(f"/practice/{assignment.id}/logs", log, "own"), 409)


# Idempotency-Key


def test_a_repeated_post_with_its_key_creates_one_note(post):
    first = post("/notes", NOTE, key="note-1")
    again = post("/notes", NOTE, key="note-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(Note) == 1


def test_a_key_is_for_one_request_and_a_refusal_frees_it(post):
    assert post("/notes", NOTE, key="k").status_code == 201
    _problem(post("/notes", {**NOTE, "body": "Other"}, key="k"), 422)
    assert _pointers(post("/notes", {**NOTE, "body": ""}, key="k2"))
    assert post("/notes", NOTE, key="k2").status_code == 201
    assert _count(Note) == 2


def test_an_acknowledgement_is_replayed_too(post):
    change_id = post("/medications", MEDICATION, "psych").get_json()["id"]
    first = post(f"/entries/{change_id}/acknowledgements", None, key="ack")
    again = post(f"/entries/{change_id}/acknowledgements", None, key="ack")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


# The document


def test_every_kind_the_web_amends_the_api_amends_too():
    assert set(write_schemas.AMENDABLE) == set(AMEND_ENDPOINTS)


def test_the_document_describes_amendment_bodies_as_one_of_the_create_bodies(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in schemas["AmendmentIn"]["oneOf"]}
    assert refs == {model.__name__ for model in write_schemas.AMENDABLE.values()}
    path = doc["paths"]["/api/v1/clients/{client_id}/entries/{entry_id}/acknowledgements"]
    assert set(path["post"]["responses"]) >= {"200", "201", "404", "409"}
    weight = schemas["NutritionIn"]["properties"]["weight_kg"]["anyOf"][0]
    assert (weight["minimum"], weight["maximum"]) == (20, 350)
    patch = doc["paths"]["/api/v1/clients/{client_id}/goals/{goal_id}"]["patch"]
    assert schemas["GoalChangeIn"]["required"] == ["version"]
    assert "409" in patch["responses"]
