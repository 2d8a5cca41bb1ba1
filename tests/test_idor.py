"""IDOR probes generated from the URL map: every route that takes an id, tried with ids
that belong to someone else, to nothing, or to the wrong kind of thing, answers 404 and
shows nothing of the other record.

Two teams each look after one client with rich content (notes, goals and check-ins, a
medication change, nutrition with a blind weight, practice with a reflection, a pending
invitation, a portal account). A's lead (a prescriber), A's dietitian (for the nutrition
pages) and A's client probe with B's ids, with mixed combinations (A's client id with B's
entry id and vice versa), with ids of the wrong kind and with ids that do not exist.
Everything of B carries the marker BRAVO, which must appear in no response; no probe may
change a row. A route whose URL arguments the probes do not know how to fill fails
test_every_id_route_is_probed, so a new route cannot slip past.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for

from careteam import create_app
from careteam.enums import Discipline, Role
from careteam.invitations import services as invitations
from tests.factories import make_user
from tests.helpers import row_counts, truncate_all
from tests.snapshots import Snapshot, close_database
from tests.worlds import build_world

# ~300 requests on one snapshot-restored world; the loaders do not depend on the
# database, and every route runs on PostgreSQL in its feature's tests.
pytestmark = pytest.mark.backends("sqlite")

MISSING = 999_999
MARK = "BRAVO"  # in every name and text of team B; never in a response to A
# Arguments that are not ids: signed tokens (tampering is tested with each feature)
# and static file names.
NOT_IDS = {"token", "filename"}
ID_ARGS = {
    "client_id",
    "entry_id",
    "goal_id",
    "member_id",
    "invitation_id",
    "user_id",
    "token_id",
}
# The kind of entry each endpoint with an entry_id acts on; "wrong" is another kind.
ENTRY_KIND = {
    "record.entry": "note",
    "record.amend_note": "note",
    "record.acknowledge_note": "note",
    "goals.amend_progress": "progress",
    "medications.amend": "medication",
    "medications.acknowledge": "medication",
    "nutrition.amend": "nutrition",
    "practice.show": "practice",
    "practice.amend": "practice",
    "practice.end": "practice",
    "practice.log": "practice",
}
NO_KINDS = {"record.entry"}  # shows an entry of any kind
# Routes without a client id: who probes them, and with which ids.
GLOBAL_ID_ROUTES = {
    "portal.goal": "client",
    "practice.log": "client",
    "admin.deactivate": "admin",
    "admin.reactivate": "admin",
    "admin.unlock": "admin",
    "admin.reset_two_factor": "admin",
    "invitations.revoke_account": "admin",
    "invitations.resend_account": "admin",
    # Anyone's own tokens; another user's token is 404 (tests/test_api_tokens.py).
    "settings.revoke_token": "lead",
}
# Break-glass: a provider may ask for any record by stating a reason, by design
# (tests/test_emergency_access.py); the probes only try ids that do not exist.
BREAK_GLASS = {"emergency.reason", "emergency.end"}
# A plausible body for every form, so a probe gets past validation if a loader is lax.
BODY = {
    "body": "Probe note",
    "title": "Probe",
    "visibility": "team",
    "text": "Probe text",
    "update_type": "note",
    "medication": "probe-medication",
    "action": "continued",
    "dose": "1",
    "unit": "mg",
    "route": "oral",
    "frequency": "once daily",
    "effective_date": "2026-02-02",
    "measured_on": "2026-02-02",
    "practised_on": "2026-02-02",
    "value": "6",
    "skill": "Probe skill",
    "target_count": "1",
    "period": "day",
    "starts_on": "2026-02-02",
    "measure": "Probe measure",
    "baseline": "1",
    "target": "2",
    "direction": "up",
    "target_date": "2099-01-01",
    "status": "active",
    "reflection": "Probe reflection",
    "rating": "3",
    "email": "probe@example.com",
    "discipline": "other",
    "level_of_care": "outpatient_weekly",
}


# Tables a request writes by itself (its session, the audit log, the visit marker).
REQUEST_TABLES = {"user_sessions", "audit_events", "record_visits"}


def _team(tag: str) -> dict:
    """A record of tests/worlds.py whose lead is a prescriber (who may open every page of
    the record but the dietitian's), as the emails and ids the probes use."""
    world = build_world(tag=tag, lead=Discipline.PSYCHIATRIST)
    ids = world.ids
    return {
        "emails": {
            "lead": world.lead.email,
            "dietitian": world.people["diet"].email,
            "client": world.own.email,
        },
        "ids": {
            "client_id": world.record.id,
            "member_id": world.rows["diet"].id,
            "goal_id": ids["hidden_goal"],
            "shared_goal_id": ids["shared_goal"],
            "invitation_id": ids["invitation"],
            # The lead's own entries of each kind: the control case opens them.
            "note": ids["team_note"],
            "progress": ids["shared_check_in"],
            "medication": ids["medication"],
            "nutrition": ids["blind_weight"],
            "practice": ids["assignment"],
        },
    }


@pytest.fixture(scope="module")
def world(_shared_app) -> dict:
    """Both teams built once; each case starts from a copy of the database file."""
    with _shared_app.app_context():
        truncate_all()
        a = _team("ALPHA")
        b = _team(MARK)
        admin = make_user(Role.ADMIN, email="admin@example.com")
        account = invitations.invite_provider_account(
            actor=admin, email="bravo-account@example.com", discipline=Discipline.OTHER
        )
        snapshot = {
            "a": a,
            "b": b,
            "admin": admin.email,
            "account_invitation": account.id,
            "counts": row_counts(REQUEST_TABLES),
        }
        close_database()
    return {
        **snapshot,
        "snapshot": Snapshot(_shared_app),
    }


# Cases, generated from the URL map ------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    endpoint: str
    method: str
    prober: str  # lead | dietitian | client | admin (of team A for the first three)
    case: str

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.method}-{self.prober}-{self.case}"


def _rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    # The JSON API answers sessions with 401; tests/test_api_authorization.py and the
    # schemathesis run probe it with tokens of two teams.
    return [
        rule
        for rule in app.url_map.iter_rules()
        if set(rule.arguments) - NOT_IDS and not rule.endpoint.startswith("api.")
    ]


def _probes() -> list[Probe]:
    probes = []
    for rule in _rules():
        args = set(rule.arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if "client_id" in args:
                prober = "dietitian" if rule.endpoint.startswith("nutrition.") else "lead"
                cases = ["b", "missing"]
                if rule.endpoint in BREAK_GLASS:
                    cases = ["missing"]
                elif args - {"client_id"}:
                    cases += ["a-client-b-object", "b-client-a-object", "a-client-missing"]
                if args & {"entry_id", "goal_id"} and rule.endpoint not in NO_KINDS:
                    cases.append("a-client-wrong-kind")
                if method == "GET" and rule.endpoint not in BREAK_GLASS:
                    cases.append("own")  # the control: A's own ids open the page
                probes += [Probe(rule.endpoint, method, prober, case) for case in cases]
                probes.append(Probe(rule.endpoint, method, "client", "b"))
            else:
                prober = GLOBAL_ID_ROUTES.get(rule.endpoint, "unknown")
                cases = ["missing"]
                if "user_id" not in args:  # users have no other kind
                    cases.append("wrong-kind")
                if prober == "client":
                    cases.append("b")
                    if method == "GET":
                        cases.append("own")
                probes += [Probe(rule.endpoint, method, prober, case) for case in cases]
    return probes


PROBES = _probes()


def test_every_id_route_is_probed():
    """A route whose URL arguments the probes cannot fill fails here: teach them first."""
    unknown = []
    for rule in _rules():
        args = set(rule.arguments) - NOT_IDS
        if args - ID_ARGS:
            unknown.append(f"{rule.endpoint}: arguments {sorted(args - ID_ARGS)}")
        if "entry_id" in args and rule.endpoint not in ENTRY_KIND:
            unknown.append(f"{rule.endpoint}: add its entry kind to ENTRY_KIND")
        if "client_id" not in args and rule.endpoint not in GLOBAL_ID_ROUTES:
            unknown.append(f"{rule.endpoint}: add who probes it to GLOBAL_ID_ROUTES")
    assert unknown == []
    assert len(PROBES) > 150


WRONG_KIND = {"note": "medication", "progress": "note", "medication": "note"}


def _ids(probe: Probe, world: dict) -> dict[str, int]:
    """The URL arguments for one probe."""
    a, b = world["a"]["ids"], world["b"]["ids"]
    kind = ENTRY_KIND.get(probe.endpoint, "note")
    if probe.endpoint == "portal.goal":
        own, other = a["shared_goal_id"], b["shared_goal_id"]
    else:
        own, other = a["goal_id"], b["goal_id"]

    def objects(ids: dict, goal: int) -> dict[str, int]:
        return {
            "entry_id": ids[kind],
            "goal_id": goal,
            "member_id": ids["member_id"],
            "invitation_id": ids["invitation_id"],
            "user_id": MISSING,
        }

    missing = dict.fromkeys(ID_ARGS, MISSING)
    if probe.case == "own":
        return {**objects(a, own), "client_id": a["client_id"]}
    if probe.case == "b":
        return {**objects(b, other), "client_id": b["client_id"]}
    if probe.case == "missing":
        return missing
    if probe.case == "a-client-b-object":
        return {**objects(b, other), "client_id": a["client_id"]}
    if probe.case == "b-client-a-object":
        return {**objects(a, own), "client_id": b["client_id"]}
    if probe.case == "a-client-missing":
        return {**missing, "client_id": a["client_id"]}
    if probe.case == "a-client-wrong-kind":
        return {
            **objects(a, own),
            "client_id": a["client_id"],
            "entry_id": a[WRONG_KIND.get(kind, "note")],
            "goal_id": a["note"],
        }
    if probe.case == "wrong-kind":
        # The account routes given a team invitation; the portal given a team-only goal
        # or a note.
        return {
            **missing,
            "invitation_id": a["invitation_id"],
            "goal_id": a["goal_id"],
            "entry_id": a["note"],
        }
    raise AssertionError(f"unknown case {probe.case}")


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_probe(app, client, auth, world, probe):
    assert probe.prober != "unknown", f"no prober for {probe.endpoint}: see GLOBAL_ID_ROUTES"
    app.config["RATELIMIT_ENABLED"] = False  # ~300 logins; throttling has its own tests
    world["snapshot"].restore(app)
    email = world["admin"] if probe.prober == "admin" else world["a"]["emails"][probe.prober]
    redirected = auth.login(email)
    assert redirected.status_code == 302, f"{email} could not log in"
    assert not redirected.headers["Location"].startswith("/login"), f"{email} could not log in"
    token = auth.token()
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == probe.endpoint)
    ids = _ids(probe, world)
    with app.test_request_context():
        url = url_for(probe.endpoint, **{name: ids[name] for name in rule.arguments})
    if probe.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**BODY, "csrf_token": token})
    body = response.get_data(as_text=True)
    if probe.case == "own":
        assert response.status_code == 200, f"control: {url} should open for A's {probe.prober}"
        return
    where = f"{probe.method} {url} as A's {probe.prober}"
    if response.status_code == 403:
        # A refusal that does not depend on the ids (a role without the right at all)
        # discloses nothing: the same request with ids that do not exist is refused alike.
        with app.test_request_context():
            nowhere = url_for(probe.endpoint, **dict.fromkeys(rule.arguments, MISSING))
        again = (
            client.get(nowhere)
            if probe.method == "GET"
            else client.post(nowhere, data={**BODY, "csrf_token": token})
        )
        assert again.status_code == 403, f"{where}: 403, but 404 for ids that do not exist"
    else:
        assert response.status_code == 404, where
    assert MARK not in body.upper(), f"{probe.method} {url} shows team B's content"
    assert row_counts(REQUEST_TABLES) == world["counts"], f"{probe.method} {url} changed something"
