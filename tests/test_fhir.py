"""The FHIR R4 export (`GET /fhir/r4/Patient/<id>/$everything`): valid, complete for the
team, shared-only for the client, refused and audited like any read of the record.

Validation uses fhir.resources' R4B models: fhir.resources 8 (pydantic 2) ships R5 at the
top level and R4B (4.3) beside it; plain R4 models exist only in the pydantic-1 releases.
R4B is R4 with few changes, none to the resources exported here, so valid R4B is the
test of valid R4 we can run.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from careteam.audit import AuditEvent
from careteam.clients import services as clients
from careteam.emergency.services import open_grant
from careteam.enums import (
    AuditOutcome,
    Role,
)
from careteam.extensions import db
from tests.factories import (
    add_member,
    bearer,
    make_client,
    make_provider,
    make_token,
    make_user,
)
from tests.worlds import SHARED, World, build_world, grow, leaks

BLIND_WEIGHT = Decimal("71.3")
# 71.3 on its own in any formatting (71.3, 71.30, 71,3), not inside 171.3 or 71.35.
BLIND_RE = re.compile(r"(?<![\d.,])71[.,]30*(?!\d)")
OPEN_WEIGHT = Decimal("72.85")
TEXT = {
    "private": "Private-note-nightmares-QX",
    "team": "Team-only-readmission-KV",
    "shared": "Shared-food-diary-AB",
    "old shared": "Meet-at-three-ZZ",
    "new shared": "Meet-at-four-YY",
    "hidden goal": "Hidden-goal-purging-HG",
    "shared goal": "Sleep-through-the-night",
    "check-in": "Slept-better-CI",
    "dose reason": "Partial-response-at-50-DR",
    "stop reason": "Nausea-stop-SR",
    "meal plan": "Three-meals-two-snacks-MP",
    "blind note": "Weighed-blind-in-gown-BW",
    "level reason": "Step-up-reason-LR",
}


def _build() -> World:
    """The record of tests/worlds.py with this module's texts, in the shape its counts
    expect: one team note (urgent), one check-in, two weights, one meal plan."""
    return build_world(
        texts={
            "private note": TEXT["private"],
            "urgent team note": TEXT["team"],
            "urgent team note title": "Plan",
            "shared note": TEXT["shared"],
            "old text of an amended shared note": TEXT["old shared"],
            "current text of the amended shared note": TEXT["new shared"],
            "shared goal": TEXT["shared goal"],
            "shared check-in": TEXT["check-in"],
            "unshared goal title": TEXT["hidden goal"],
            "medication": "Sertraline",
            "medication reason": TEXT["dose reason"],
            "second medication": "Hydroxyzine",
            "stop reason": TEXT["stop reason"],
            "meal plan": TEXT["meal plan"],
            "blind weight note": TEXT["blind note"],
            "level of care reason": TEXT["level reason"],
        },
        leave_out={
            "team_note",
            "withdrawn_note",
            "hidden_check_in",
            "later_goal",
            "supplement",
            "nutrition_note",
        },
        blind_weight=BLIND_WEIGHT,
        open_weight=OPEN_WEIGHT,
    )


def _url(record_id: int) -> str:
    return f"/fhir/r4/Patient/{record_id}/$everything"


def _export(client, auth, user, record_id: int):
    auth.login(user.email)
    response = client.get(_url(record_id))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    assert response.headers["Cache-Control"] == "no-store"
    return response


# Codes with a required binding in R4, which the models do not check (no terminology).
REQUIRED_CODES = {
    ("CareTeam", "status"): "proposed active suspended inactive entered-in-error",
    ("EpisodeOfCare", "status"): "planned waitlist active onhold finished cancelled "
    "entered-in-error",
    ("Goal", "lifecycleStatus"): "proposed planned accepted active on-hold completed "
    "cancelled entered-in-error rejected",
    ("Observation", "status"): "registered preliminary final amended corrected cancelled "
    "entered-in-error unknown",
    ("MedicationStatement", "status"): "active completed entered-in-error intended stopped "
    "on-hold unknown not-taken",
    ("NutritionOrder", "status"): "draft active on-hold revoked completed entered-in-error "
    "unknown",
    ("NutritionOrder", "intent"): "proposal plan directive order original-order reflex-order "
    "filler-order instance-order option",
    ("Communication", "status"): "preparation in-progress not-done on-hold stopped completed "
    "entered-in-error unknown",
    ("Communication", "priority"): "routine urgent asap stat",
}
GOAL_ACHIEVEMENT = (
    "in-progress improving worsening no-change achieved sustaining not-achieved no-progress "
    "not-attainable"
)


def _validated(body: str) -> dict:
    """The bundle, after it and each resource in it validate against the R4B models."""
    data = json.loads(body)
    Bundle.model_validate(data)
    assert data["type"] == "collection"
    for entry in data["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        get_fhir_model_class(kind).model_validate(resource)
        for (of, element), allowed in REQUIRED_CODES.items():
            if of == kind and element in resource:
                assert resource[element] in allowed.split(), (kind, element, resource[element])
        if kind == "Goal":
            (coding,) = resource["achievementStatus"]["coding"]
            assert coding["code"] in GOAL_ACHIEVEMENT.split()
        assert entry["fullUrl"].endswith(f"/fhir/r4/{resource['resourceType']}/{resource['id']}")
    return data


def _of(data: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def test_team_export_validates_and_holds_the_record(app, client, auth):
    world = _build()
    body = _export(client, auth, world.lead, world.record.id).get_data(as_text=True)
    data = _validated(body)

    (patient,) = _of(data, "Patient")
    assert patient["birthDate"] == "2001-04-09"
    assert {n["text"] for n in patient["name"]} == {"Alex Client", "Lex"}
    assert patient["identifier"][0]["value"] == str(world.record.id)

    (team,) = _of(data, "CareTeam")
    assert team["category"][0]["coding"][0]["code"] == "LA28865-6"
    roles = {p["member"]["display"]: p for p in team["participant"]}
    assert set(roles) == {"Dana Okafor", "Dr. Raman", "Noor Haddad", "Casey Leaving"}
    assert roles["Dr. Raman"]["role"][0]["coding"][0]["code"] == "2084P0800X"
    assert roles["Noor Haddad"]["role"][0]["coding"][0]["code"] == "133V00000X"
    assert "end" in roles["Casey Leaving"]["period"]
    assert "end" not in roles["Dana Okafor"]["period"]

    practitioners = {p["name"][0]["text"]: p for p in _of(data, "Practitioner")}
    lead = practitioners["Dana Okafor"]
    assert lead["qualification"][0]["code"]["text"] == "LCSW"
    # The email is shared, the phone is not.
    assert lead["telecom"] == [{"system": "email", "value": world.lead.email, "use": "work"}]

    episodes = sorted(_of(data, "EpisodeOfCare"), key=lambda e: e["period"]["start"])
    assert [e["type"][0]["text"] for e in episodes] == [
        "Outpatient, weekly",
        "Intensive outpatient (IOP)",
    ]
    assert [e["status"] for e in episodes] == ["finished", "active"]
    assert TEXT["level reason"] not in body

    goals = {g["description"]["text"]: g for g in _of(data, "Goal")}
    assert set(goals) == {TEXT["shared goal"], TEXT["hidden goal"]}
    goal = goals[TEXT["shared goal"]]
    assert goal["lifecycleStatus"] == "active"
    assert goal["achievementStatus"]["coding"][0]["code"] == "in-progress"
    assert goal["target"] == [
        {
            "measure": {"text": "Nights with 7 hours of sleep"},
            "detailQuantity": {"value": 5, "unit": "nights a week"},
            "dueDate": "2099-01-01",
        }
    ]

    observations = _of(data, "Observation")
    (progress,) = [o for o in observations if "focus" in o]
    assert progress["focus"] == [{"reference": f"Goal/{goal['id']}"}]
    assert progress["valueQuantity"] == {"value": 3.5, "unit": "nights a week"}
    assert progress["note"] == [{"text": TEXT["check-in"]}]
    weights = {o["valueQuantity"]["value"]: o for o in observations if "focus" not in o}
    assert set(weights) == {71.3, 72.85}  # the team sees blind weights
    assert weights[71.3]["code"]["coding"][0]["code"] == "29463-7"
    assert weights[71.3]["meta"]["tag"][0]["code"] == "blind-weight"
    assert "meta" not in weights[72.85]

    statements = [
        (m["medicationCodeableConcept"]["text"], m) for m in _of(data, "MedicationStatement")
    ]
    assert [(name, m["status"]) for name, m in statements] == [
        ("Hydroxyzine", "completed"),
        ("Hydroxyzine", "stopped"),
        ("Sertraline", "completed"),
        ("Sertraline", "active"),
    ]
    assert statements[1][1]["statusReason"] == [{"text": TEXT["stop reason"]}]
    assert statements[3][1]["statusReason"] == [{"text": TEXT["dose reason"]}]
    assert statements[3][1]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 100

    (plan,) = _of(data, "NutritionOrder")
    assert plan["oralDiet"]["instruction"] == TEXT["meal plan"]
    assert (plan["status"], plan["intent"]) == ("active", "plan")

    notes = [c["payload"][0]["contentString"] for c in _of(data, "Communication")]
    assert notes == [TEXT["team"], TEXT["shared"], TEXT["new shared"]]
    # Never a private note, not even for its author; never a superseded version.
    assert TEXT["private"] not in body
    assert TEXT["old shared"] not in body


def test_client_export_holds_only_what_is_shared_with_the_client(app, client, auth):
    world = _build()
    body = _export(client, auth, world.own, world.record.id).get_data(as_text=True)
    data = _validated(body)

    kinds = {e["resource"]["resourceType"] for e in data["entry"]}
    assert kinds == {
        "Patient",
        "CareTeam",
        "Practitioner",
        "EpisodeOfCare",
        "Goal",
        "Observation",
        "Communication",
    }
    (team,) = _of(data, "CareTeam")
    # The portal's roster: active members only.
    assert {p["member"]["display"] for p in team["participant"]} == {
        "Dana Okafor",
        "Dr. Raman",
        "Noor Haddad",
    }
    assert [g["description"]["text"] for g in _of(data, "Goal")] == [TEXT["shared goal"]]
    progress, weight = _of(data, "Observation")
    assert progress["note"] == [{"text": TEXT["check-in"]}]
    # The open weight, as the portal shows it: no team comment, no author; never the blind one.
    assert weight["valueQuantity"]["value"] == 72.85
    assert "note" not in weight and "performer" not in weight
    notes = [c["payload"][0]["contentString"] for c in _of(data, "Communication")]
    assert notes == [TEXT["shared"], TEXT["new shared"]]

    for name in (
        "private",
        "team",
        "old shared",
        "hidden goal",
        "dose reason",
        "stop reason",
        "meal plan",
        "blind note",
        "level reason",
    ):
        assert TEXT[name] not in body, name
    assert not BLIND_RE.findall(body)
    assert "71.3" not in body  # the blind weight


def test_client_export_passes_the_portal_leak_search(app, client, auth):
    """The same record and search that every portal page passes (test_client_visibility)."""
    world = build_world()
    body = _export(client, auth, world.own, world.record.id).get_data(as_text=True)
    _validated(body)
    assert leaks(body) == []
    shown = {k: v for k, v in SHARED.items() if k != "practice"}  # not exported
    assert [name for name, text in shown.items() if text not in body] == []


def _events(action: str = "export_fhir") -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_exports_are_audited(app, client, auth):
    world = _build()
    _export(client, auth, world.lead, world.record.id)
    auth.logout()
    _export(client, auth, world.own, world.record.id)
    rows = [(e.actor_id, e.client_id, e.object_type, e.outcome, e.detail) for e in _events()]
    assert rows == [
        (world.lead.id, world.record.id, "client", AuditOutcome.ALLOWED, "team"),
        (world.own.id, world.record.id, "client", AuditOutcome.ALLOWED, "client"),
    ]


@pytest.mark.parametrize("who", ["outsider", "ended member", "admin", "other client"])
def test_others_get_not_found_and_the_refusal_is_audited(app, client, auth, who):
    world = _build()
    if who == "outsider":
        user = make_provider()
    elif who == "ended member":
        user = make_provider()
        member = add_member(world.record, user, world.lead)
        clients.end_member(actor=world.lead, client=world.record, member_id=member.id)
    elif who == "admin":
        user = make_user(Role.ADMIN)
    else:
        user = make_user(Role.CLIENT)
        other = make_client(world.lead)
        clients.link_portal_account(actor=world.lead, client=other, email=user.email)
    auth.login(user.email)
    response = client.get(_url(world.record.id))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert TEXT["shared"] not in response.get_data(as_text=True)
    refused = [e for e in db.session.scalars(select(AuditEvent)) if e.actor_id == user.id]
    assert [(e.client_id, e.outcome) for e in refused if e.client_id] == [
        (world.record.id, AuditOutcome.DENIED)
    ]
    assert _events() == []


def test_no_such_client_is_not_found(app, client, auth):
    world = _build()
    auth.login(world.lead.email)
    assert client.get(_url(world.record.id + 1000)).status_code == 404


def test_without_login_it_is_401_as_a_problem(app, client):
    world = _build()
    response = client.get(_url(world.record.id))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert _events() == []


def test_an_emergency_grant_does_not_export(app, client, auth):
    world = _build()
    admin = make_user(Role.ADMIN)
    open_grant(actor=admin, client=world.record, reason="Client unreachable, safety check")
    auth.login(admin.email)
    response = client.get(_url(world.record.id))
    assert response.status_code == 403
    assert TEXT["shared"] not in response.get_data(as_text=True)
    assert _events() == []
    (refused,) = _events("export_record")  # the policy's audited refusal
    assert (refused.actor_id, refused.outcome) == (admin.id, AuditOutcome.DENIED)
    assert refused.detail == "emergency access is read-only"


@pytest.mark.parametrize("role", ["team", "client"])
def test_export_queries_do_not_grow_with_the_record(app, client, auth, count_queries, role):
    world = _build()
    user = world.lead if role == "team" else world.own
    auth.login(user.email)
    url = _url(world.record.id)

    def count() -> int:
        client.get(url)  # warm-up: first-request work is not the export's
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    small = count()
    grow(world, 6)
    large = count()
    assert small == large, (small, large)


def test_the_portal_links_to_the_clients_own_export(app, client, auth):
    world = _build()
    auth.login(world.own.email)
    page = client.get("/portal/").get_data(as_text=True)
    # Offered "for health apps", apart from the printable copy (issue 13 item 14).
    link = re.search(r'For health apps:[^<]*<a href="([^"]+)"[^>]*>FHIR file<', page)
    assert link, "no download link on the portal home"
    assert link.group(1) == _url(world.record.id)
    assert client.get(link.group(1)).status_code == 200


@pytest.mark.parametrize("who", ["lead", "own", "outsider"])
def test_a_read_only_token_exports_what_its_user_may_read(app, client, who):
    world = _build()
    user = make_provider() if who == "outsider" else getattr(world, who)
    response = client.get(_url(world.record.id), headers=bearer(make_token(user, scope="read")))
    if who == "outsider":
        assert response.status_code == 404
        return
    assert response.status_code == 200
    data = _validated(response.get_data(as_text=True))
    assert len(_of(data, "Goal")) == (2 if who == "lead" else 1)
