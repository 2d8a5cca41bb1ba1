"""Every API and FHIR route x every kind of caller, in one table. A route without a row fails.

The API's counterpart of tests/test_authorization.py. Callers hold a personal access token
(read and write unless said) of:

  anon    nobody: no Authorization header
  ro      the team lead, with a read-only token
  client  the record's own client (portal account)
  other   another client (portal account of another record)
  nonmem  a provider on another team only
  lead    the team lead (therapist)
  ther    a member therapist
  psych   a member psychiatrist (a prescriber)
  diet    a member dietitian
  ended   a provider whose membership ended
  emerg   a provider off the team with a live emergency ("break-glass") grant
  admin   an administrator
  deact   a team member deactivated by an admin (their token was revoked with the account)
  csess   the record's own client logged in with a browser session, no token

Cells are the expected HTTP status. Write routes get a valid body (BODIES), so that the
status says what the policy decided (2xx, 403, 404), never that the body was refused.
"""

# ruff: noqa: E501 - the table is one row per route, wider than a line

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import url_for
from sqlalchemy import func, select

from careteam.admin.services import set_active
from careteam.clients import services as client_services
from careteam.emergency.services import open_grant
from careteam.enums import Discipline, GoalDirection, NutritionType, Role
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.medications.services import record_change
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice
from careteam.record.services import post_note
from tests.factories import add_member, bearer, make_client, make_provider, make_token, make_user
from tests.helpers import truncate_all
from tests.snapshots import Snapshot

# The policy does not depend on the database (every route runs on PostgreSQL in its own
# feature's tests); this table runs on SQLite, from a snapshot per case.
pytestmark = pytest.mark.backends("sqlite")

API_ENDPOINTS = ("api.", "fhir.")
ROLES = [
    "anon", "ro", "client", "other", "nonmem", "lead", "ther", "psych", "diet", "ended",
    "emerg", "admin", "deact", "csess",
]  # fmt: skip

TABLE = """
endpoint                     method anon ro   client other nonmem lead ther psych diet ended emerg admin deact csess
api.openapi_document         GET    200  200  200    200   200    200  200  200   200  200   200   200   401   200
api.reference                GET    200  200  200    200   200    200  200  200   200  200   200   200   401   200
api.me                       GET    401  200  200    200   200    200  200  200   200  200   200   200   401   401
api.digest_preferences       GET    401  200  200    200   200    200  200  200   200  200   200   200   401   401
api.save_digest_preferences  PUT    401  403  200    200   200    200  200  200   200  200   200   200   401   401
fhir.patient_everything      GET    401  200  200    404   404    200  200  200   200  404   403   404   401   200
api.list_clients             GET    401  200  200    200   200    200  200  200   200  200   200   403   401   401
api.get_client               GET    401  200  200    404   404    200  200  200   200  404   200   404   401   401
api.timeline                 GET    401  200  200    404   404    200  200  200   200  404   200   404   401   401
api.get_entry                GET    401  200  200    404   404    200  200  200   200  404   200   404   401   401
api.list_goals               GET    401  200  200    404   404    200  200  200   200  404   200   404   401   401
api.get_goal                 GET    401  200  200    404   404    200  200  200   200  404   200   404   401   401
api.medications              GET    401  200  403    404   404    200  200  200   200  404   200   404   401   401
api.create_note              POST   401  403  404    404   404    201  201  201   201  404   403   404   401   401
api.create_goal              POST   401  403  404    404   404    201  201  201   201  404   403   404   401   401
api.change_goal              PATCH  401  403  404    404   404    200  200  200   200  404   403   404   401   401
api.create_progress          POST   401  403  404    404   404    201  201  201   201  404   403   404   401   401
api.create_medication        POST   401  403  404    404   404    403  403  201   403  404   403   404   401   401
api.create_nutrition         POST   401  403  404    404   404    403  403  403   201  404   403   404   401   401
api.create_practice          POST   401  403  404    404   404    201  201  201   201  404   403   404   401   401
api.create_practice_log      POST   401  403  201    404   404    403  403  403   403  404   403   404   401   401
api.amend_entry              POST   401  403  404    404   404    403  201  403   403  404   403   404   401   401
api.acknowledge              POST   401  403  404    404   404    201  201  422   201  404   403   404   401   401
"""


def _preferences(w: dict) -> dict:
    return {
        "frequency": "weekly",
        "send_time": "07:30",
        "weekday": 0,
        "time_zone": "Europe/Berlin",
        "detail": "minimal",
        "send_when_empty": False,
        "alerts_enabled": True,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
    }


# A valid body for each write route: (endpoint, method) -> body built from the world's ids.
BODIES: dict[tuple[str, str], Callable[[dict], dict | None]] = {
    ("api.save_digest_preferences", "PUT"): _preferences,
    ("api.create_note", "POST"): lambda w: {"body": "Called the school counsellor."},
    ("api.create_goal", "POST"): lambda w: {
        "title": "Regular meals",
        "measure": "Meals eaten",
        "unit": "meals a day",
        "baseline": 1,
        "target": 3,
        "direction": "up",
        "target_date": "2099-06-30",
    },
    ("api.change_goal", "PATCH"): lambda w: {
        "version": w["goal_version"],
        "title": "Walk every day",
    },
    ("api.create_progress", "POST"): lambda w: {"measured_on": w["yesterday"], "value": 3},
    ("api.create_medication", "POST"): lambda w: {
        "medication": "fluoxetine",
        "action": "started",
        "effective_date": w["today"],
        "dose": "20",
        "unit": "mg",
        "route": "oral",
        "frequency": "once daily",
    },
    ("api.create_nutrition", "POST"): lambda w: {
        "update_type": "meal_plan",
        "text": "Three meals and two snacks.",
    },
    ("api.create_practice", "POST"): lambda w: {
        "skill": "Grounding 5-4-3-2-1",
        "target_count": 2,
        "period": "day",
        "starts_on": w["today"],
    },
    ("api.create_practice_log", "POST"): lambda w: {"practised_on": w["today"], "rating": 4},
    # Amends the therapist's team note: a note's body.
    ("api.amend_entry", "POST"): lambda w: {"body": "A team note by the therapist, corrected"},
    # Acknowledging takes no body.
    ("api.acknowledge", "POST"): lambda w: None,
}


def _rows() -> list[tuple[str, str, dict[str, str]]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, body = lines[0], lines[1:]
    assert header[2:] == ROLES
    return [(row[0], row[1], dict(zip(ROLES, row[2:], strict=True))) for row in body]


ROWS = _rows()
CASES = [(ep, method, role, cells[role]) for ep, method, cells in ROWS for role in ROLES]


def _api_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(API_ENDPOINTS)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_has_a_row(app):
    """A new API or FHIR route (or method) without a row in TABLE fails here."""
    routes = _api_routes(app)
    table = {(ep, method) for ep, method, _ in ROWS}
    assert routes - table == set(), "API routes without an authorization row"
    assert table - routes == set(), "rows for API routes that do not exist"


def test_every_write_route_has_a_valid_body(app):
    """Without one, a write's status would say the body was refused, not who may write."""
    writes = {(ep, method) for ep, method in _api_routes(app) if method != "GET"}
    assert writes - set(BODIES) == set(), "write routes without a body in BODIES"
    assert set(BODIES) - writes == set(), "bodies for routes that do not exist"


def _goal_fields(lead, **changes) -> GoalFields:
    fields = {
        "title": "Sleep",
        "measure": "Hours asleep",
        "unit": "hours a night",
        "baseline": Decimal(5),
        "target": Decimal(7),
        "direction": GoalDirection.UP,
        "target_date": date(2099, 1, 1),
        "owner_id": lead.id,
    }
    return GoalFields(**{**fields, **changes})


def _world() -> tuple[dict, dict, dict]:
    """A record with a team of every discipline, entries of every kind; tokens for all."""
    lead = make_provider(Discipline.THERAPIST, email="lead@example.com")
    ther = make_provider(Discipline.THERAPIST, email="ther@example.com")
    psych = make_provider(Discipline.PSYCHIATRIST, email="psych@example.com")
    diet = make_provider(Discipline.DIETITIAN, email="diet@example.com")
    ended = make_provider(Discipline.CASE_MANAGER, email="ended@example.com")
    deact = make_provider(Discipline.CASE_MANAGER, email="deact@example.com")
    nonmem = make_provider(Discipline.THERAPIST, email="nonmem@example.com")
    emerg = make_provider(Discipline.PSYCHIATRIST, email="emerg@example.com")
    admin = make_user(Role.ADMIN, email="admin@example.com")
    own = make_user(Role.CLIENT, email="client@example.com")
    other = make_user(Role.CLIENT, email="other@example.com")

    record = make_client(lead, name="Robin Record")
    for provider in (ther, psych, diet, ended, deact):
        add_member(record, provider, lead)
    ended_row = next(m for m in record.members if m.provider_id == ended.id)
    client_services.end_member(actor=lead, client=record, member_id=ended_row.id)
    client_services.link_portal_account(actor=lead, client=record, email=own.email)

    note = post_note(actor=ther, client=record, body="A team note by the therapist")
    shared_note = post_note(
        actor=ther, client=record, body="A note for the client", visibility="client"
    )
    goal = create_goal(actor=lead, client=record, fields=_goal_fields(lead))
    shared_goal = create_goal(
        actor=lead,
        client=record,
        fields=_goal_fields(lead, title="Walk daily", shared_with_client=True),
    )
    progress = check_in(
        actor=ther, client=record, goal=goal, measured_on=date.today(), value=Decimal(6)
    )
    medication = record_change(
        actor=psych,
        client=record,
        medication="sertraline",
        action="started",
        effective_date=date.today(),
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    weight = post_update(
        actor=diet,
        client=record,
        update_type=NutritionType.WEIGHT,
        weight_kg=Decimal("51.2"),
        measured_on=date.today(),
        blind=True,
    )
    meal_plan = post_update(
        actor=diet, client=record, update_type=NutritionType.MEAL_PLAN, text="Three meals"
    )
    practice = assign_practice(
        actor=ther,
        client=record,
        fields=AssignmentFields(
            skill="Box breathing", target_count=1, period="day", starts_on=date.today()
        ),
    )
    elsewhere = make_client(nonmem, name="Elsewhere Client")
    client_services.link_portal_account(actor=nonmem, client=elsewhere, email=other.email)
    open_grant(actor=emerg, client=record, reason="Seen in the emergency department tonight")

    holders = {
        "client": own,
        "other": other,
        "nonmem": nonmem,
        "lead": lead,
        "ther": ther,
        "psych": psych,
        "diet": diet,
        "ended": ended,
        "emerg": emerg,
        "admin": admin,
        "deact": deact,
    }
    secrets = {role: make_token(user) for role, user in holders.items()}
    secrets["ro"] = make_token(lead, scope="read", name="read only")
    set_active(actor=admin, user=deact, active=False)

    ids = {
        "client_id": record.id,
        "other_client_id": elsewhere.id,
        "entry_id": note.id,
        "goal_id": goal.id,
        "goal_version": shared_goal.version,
        "shared_goal_id": shared_goal.id,
        "note_id": note.id,
        "shared_note_id": shared_note.id,
        "progress_id": progress.id,
        "medication_id": medication.id,
        "weight_id": weight.id,
        "meal_plan_id": meal_plan.id,
        "practice_id": practice.id,
        "lead_id": lead.id,
        "today": date.today().isoformat(),
        "yesterday": (date.today() - timedelta(days=1)).isoformat(),
    }
    # URL arguments; "name:endpoint" picks another value for one endpoint (as the web table).
    url_args = {
        "client_id": record.id,
        # Shared with the client, so that the client's own reads show what they may see.
        "entry_id": shared_note.id,
        "goal_id": shared_goal.id,
        "assignment_id": practice.id,
        "entry_id:api.amend_entry": note.id,  # the therapist's team note
        "entry_id:api.acknowledge": medication.id,  # the psychiatrist's change
    }
    return ids, url_args, secrets


def _url(app, endpoint: str, url_args: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: url_args.get(f"{name}:{endpoint}", url_args[name]) for name in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **args)


@pytest.fixture(scope="module")
def world(_shared_app) -> dict:
    """Built once; each case starts from a snapshot of it (a write cannot leak into the
    next case)."""
    with _shared_app.app_context():
        truncate_all()
        ids, url_args, secrets = _world()
    return {
        "ids": ids,
        "url_args": url_args,
        "secrets": secrets,
        "database": Snapshot(_shared_app),
    }


@pytest.mark.parametrize(("endpoint", "method", "role", "expected"), CASES)
def test_api_authorization(app, client, auth, world, endpoint, method, role, expected):
    world["database"].restore(app)
    headers = {}
    if role == "csess":
        assert auth.login("client@example.com").status_code == 302
    elif role != "anon":
        headers = bearer(world["secrets"][role])
    url = _url(app, endpoint, world["url_args"])
    body = BODIES[(endpoint, method)](world["ids"]) if method != "GET" else None
    before = _row_counts() if method != "GET" else None
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == int(expected), (
        f"{role} {method} {url}: {response.get_data(as_text=True)[:300]}"
    )
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", f"{role} {method} {url}"
        if before is not None:
            assert _row_counts() == before, f"a refused {method} {url} changed the record"


def _row_counts() -> dict[str, int]:
    """Rows per table, but the audit log (refusals are audited) and the tokens (last use)."""
    skip = {"audit_events", "api_tokens"}
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }
