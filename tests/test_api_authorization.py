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

import pytest
from flask import url_for

from careteam.admin.services import set_active
from careteam.clients import services as client_services
from careteam.emergency.services import open_grant
from careteam.enums import Discipline, Role
from careteam.extensions import db
from careteam.goals.models import Goal
from tests.factories import bearer, make_client, make_provider, make_token, make_user
from tests.helpers import row_counts, truncate_all
from tests.snapshots import Snapshot
from tests.worlds import build_world

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
# What a refused request writes by itself: the audit of the refusal, the token's last use.
NOT_COUNTED = {"audit_events", "api_tokens"}
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


def _world() -> tuple[dict, dict, dict]:
    """The record of tests/worlds.py, its team of every discipline with a member therapist
    (who wrote the team note) and a member to deactivate; an emergency grant, another
    team with its client, an admin; tokens for all."""
    world = build_world(
        members={"ther": Discipline.THERAPIST, "deact": Discipline.CASE_MANAGER},
        authors={"team_note": "ther"},
    )
    record, lead, people, made = world.record, world.lead, world.people, world.ids
    nonmem = make_provider(Discipline.THERAPIST, email="nonmem@example.com")
    emerg = make_provider(Discipline.PSYCHIATRIST, email="emerg@example.com")
    admin = make_user(Role.ADMIN, email="admin@example.com")
    other = make_user(Role.CLIENT, email="other@example.com")
    elsewhere = make_client(nonmem, name="Elsewhere Client")
    client_services.link_portal_account(actor=nonmem, client=elsewhere, email=other.email)
    open_grant(actor=emerg, client=record, reason="Seen in the emergency department tonight")

    holders = {
        "client": world.own,
        "other": other,
        "nonmem": nonmem,
        "lead": lead,
        "ther": people["ther"],
        "psych": people["psych"],
        "diet": people["diet"],
        "ended": people["ended"],
        "emerg": emerg,
        "admin": admin,
        "deact": people["deact"],
    }
    secrets = {role: make_token(user) for role, user in holders.items()}
    secrets["ro"] = make_token(lead, scope="read", name="read only")
    set_active(actor=admin, user=people["deact"], active=False)

    ids = {
        "client_id": record.id,
        "other_client_id": elsewhere.id,
        "entry_id": made["team_note"],
        "goal_id": made["hidden_goal"],
        "goal_version": db.session.get(Goal, made["shared_goal"]).version,
        "shared_goal_id": made["shared_goal"],
        "note_id": made["team_note"],
        "shared_note_id": made["shared_note"],
        "progress_id": made["hidden_check_in"],
        "medication_id": made["medication"],
        "weight_id": made["blind_weight"],
        "meal_plan_id": made["meal_plan"],
        "practice_id": made["assignment"],
        "lead_id": lead.id,
        "today": date.today().isoformat(),
        "yesterday": (date.today() - timedelta(days=1)).isoformat(),
    }
    # URL arguments; "name:endpoint" picks another value for one endpoint (as the web table).
    url_args = {
        "client_id": record.id,
        # Shared with the client, so that the client's own reads show what they may see.
        "entry_id": made["shared_note"],
        "goal_id": made["shared_goal"],
        "assignment_id": made["assignment"],
        "entry_id:api.amend_entry": made["team_note"],  # the therapist's team note
        "entry_id:api.acknowledge": made["medication"],  # the psychiatrist's change
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
        redirected = auth.login("client@example.com")
        assert redirected.status_code == 302
        assert redirected.headers["Location"] == "/portal/"
    elif role != "anon":
        headers = bearer(world["secrets"][role])
    url = _url(app, endpoint, world["url_args"])
    body = BODIES[(endpoint, method)](world["ids"]) if method != "GET" else None
    before = row_counts(NOT_COUNTED) if method != "GET" else None
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == int(expected), (
        f"{role} {method} {url}: {response.get_data(as_text=True)[:300]}"
    )
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", f"{role} {method} {url}"
        if before is not None:
            assert row_counts(NOT_COUNTED) == before, (
                f"a refused {method} {url} changed the record"
            )
