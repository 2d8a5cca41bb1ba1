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
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from careteam import create_app
from careteam.clients import services as client_services
from careteam.enums import Discipline, GoalDirection, NutritionType, Role, Visibility
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.invitations import services as invitations
from careteam.medications.services import record_change
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice, log_practice
from careteam.record.services import post_note
from tests.conftest import csrf_from, truncate_all
from tests.factories import add_member, make_client, make_provider, make_user

# ~300 requests on one snapshot-restored world; the loaders do not depend on the
# database, and every route runs on PostgreSQL in its feature's tests.
pytestmark = pytest.mark.backends("sqlite")

MISSING = 999_999
MARK = "BRAVO"  # in every name and text of team B; never in a response to A
# Arguments that are not ids: signed tokens (tampering is tested with each feature)
# and static file names.
NOT_IDS = {"token", "filename"}
ID_ARGS = {"client_id", "entry_id", "goal_id", "member_id", "invitation_id", "user_id"}
# The kind of entry each endpoint with an entry_id acts on; "wrong" is another kind.
ENTRY_KIND = {
    "record.entry": "note",
    "record.amend_note": "note",
    "goals.amend_progress": "progress",
    "medications.amend": "medication",
    "medications.acknowledge": "medication",
    "nutrition.amend": "nutrition",
    "practice.show": "practice",
    "practice.amend": "practice",
    "practice.end": "practice",
    "practice.log": "practice",
}
# Routes without a client id: who probes them, and with which ids.
GLOBAL_ID_ROUTES = {
    "portal.goal": "client",
    "practice.log": "client",
    "admin.deactivate": "admin",
    "admin.reactivate": "admin",
    "invitations.revoke_account": "admin",
    "invitations.resend_account": "admin",
}
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


def _build_team(tag: str, lead_email: str) -> dict:
    """One client's record with every kind of content; every string carries the tag."""
    lead = make_provider(Discipline.PSYCHIATRIST, email=lead_email, name=f"{tag} Lead Doctor")
    dietitian = make_provider(Discipline.DIETITIAN, name=f"{tag} Diet Person")
    therapist = make_provider(Discipline.THERAPIST, name=f"{tag} Therapy Person")
    portal_user = make_user(Role.CLIENT, name=f"{tag} Portal Person")
    record = make_client(lead, name=f"{tag} Clientname Record")
    diet_row = add_member(record, dietitian, lead)
    therapist_row = add_member(record, therapist, lead)
    client_services.link_portal_account(actor=lead, client=record, email=portal_user.email)
    note = post_note(
        actor=lead, client=record, title=f"{tag} note title", body=f"{tag}-team-note-text"
    )
    post_note(
        actor=therapist,
        client=record,
        body=f"{tag}-private-note-text",
        visibility=Visibility.PRIVATE,
    )
    post_note(
        actor=lead, client=record, body=f"{tag}-shared-note-text", visibility=Visibility.CLIENT
    )

    def goal(title: str, shared: bool):
        return create_goal(
            actor=lead,
            client=record,
            fields=GoalFields(
                title=title,
                measure=f"{tag} measure",
                unit="hours",
                baseline=Decimal(5),
                target=Decimal(7),
                direction=GoalDirection.UP,
                target_date=date(2099, 1, 1),
                owner_id=lead.id,
                shared_with_client=shared,
            ),
        )

    team_goal = goal(f"{tag} team goal", shared=False)
    shared_goal = goal(f"{tag} shared goal", shared=True)
    progress = check_in(
        actor=lead, client=record, goal=shared_goal, measured_on=date.today(), value=Decimal(6)
    )
    medication = record_change(
        actor=lead,
        client=record,
        medication=f"{tag}-medication",
        action="started",
        effective_date=date.today(),
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
        reason=f"{tag} reason",
    )
    nutrition = post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.WEIGHT,
        text=f"{tag} weight note",
        weight_kg=Decimal("47.3"),
        measured_on=date.today(),
        blind=True,
    )
    practice = assign_practice(
        actor=lead,
        client=record,
        fields=AssignmentFields(
            skill=f"{tag} breathing",
            instructions=f"{tag} instructions",
            target_count=1,
            period="day",
            starts_on=date.today(),
        ),
    )
    log_practice(
        actor=portal_user,
        client=record,
        assignment=practice,
        practised_on=date.today(),
        reflection=f"{tag}-reflection-text",
    )
    invitation = invitations.invite_to_team(
        actor=lead,
        client=record,
        email=f"{tag.lower()}-invitee@example.com",
        discipline=Discipline.OTHER,
    )
    return {
        "emails": {
            "lead": lead.email,
            "dietitian": dietitian.email,
            "client": portal_user.email,
        },
        "ids": {
            "client_id": record.id,
            "member_id": diet_row.id,
            "other_member_id": therapist_row.id,
            "goal_id": team_goal.id,
            "shared_goal_id": shared_goal.id,
            "invitation_id": invitation.id,
            "user_id": dietitian.id,
            "note": note.id,
            "progress": progress.id,
            "medication": medication.id,
            "nutrition": nutrition.id,
            "practice": practice.id,
        },
    }


def _sqlite_file(app) -> Path:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.get_backend_name() == "sqlite" and url.database
    return Path(url.database)


def _close_database() -> None:
    db.session.remove()
    db.engine.dispose()


def _row_counts() -> dict[str, int]:
    """Rows per table, except those a request writes by itself (sessions, audit)."""
    skip = {"user_sessions", "audit_events", "record_visits"}
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }


@pytest.fixture(scope="module")
def world(_shared_app) -> dict:
    """Both teams built once; each case starts from a copy of the database file."""
    with _shared_app.app_context():
        truncate_all()
        a = _build_team("ALPHA", "alpha-lead@example.com")
        b = _build_team(MARK, "bravo-lead@example.com")
        admin = make_user(Role.ADMIN, email="admin@example.com")
        account = invitations.invite_provider_account(
            actor=admin, email="bravo-account@example.com", discipline=Discipline.OTHER
        )
        snapshot = {
            "a": a,
            "b": b,
            "admin": admin.email,
            "account_invitation": account.id,
            "counts": _row_counts(),
        }
        _close_database()
    return {
        **snapshot,
        "bytes": _sqlite_file(_shared_app).read_bytes(),
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
    return [rule for rule in app.url_map.iter_rules() if set(rule.arguments) - NOT_IDS]


def _probes() -> list[Probe]:
    probes = []
    for rule in _rules():
        args = set(rule.arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if "client_id" in args:
                prober = "dietitian" if rule.endpoint.startswith("nutrition.") else "lead"
                cases = ["b", "missing"]
                if args - {"client_id"}:
                    cases += ["a-client-b-object", "b-client-a-object", "a-client-missing"]
                if args & {"entry_id", "goal_id"} and rule.endpoint != "record.entry":
                    cases.append("a-client-wrong-kind")
                if method == "GET":
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


def _login(client, email: str) -> str:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": "correct horse battery staple",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, f"{email} could not log in"
    return csrf_from(client.get("/settings/profile").get_data(as_text=True))


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_probe(app, client, world, probe):
    assert probe.prober != "unknown", f"no prober for {probe.endpoint}: see GLOBAL_ID_ROUTES"
    _close_database()
    _sqlite_file(app).write_bytes(world["bytes"])
    email = world["admin"] if probe.prober == "admin" else world["a"]["emails"][probe.prober]
    token = _login(client, email)
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
    assert response.status_code == 404, f"{probe.method} {url} as A's {probe.prober}"
    assert MARK not in body.upper(), f"{probe.method} {url} shows team B's content"
    assert _row_counts() == world["counts"], f"{probe.method} {url} changed something"
