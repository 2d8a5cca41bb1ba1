"""The authorization table: every route x every kind of user, one row per route and method,
and the world it is tried in. tests/test_authorization.py checks every cell; the CSRF,
accessibility and injection sweeps take their routes and users from its rows.

Columns: anon (not logged in), client (the record's own client), other (another
client), nonmem (a provider on another team), member, lead, ended (membership ended),
admin, deact (a provider deactivated after logging in).
Cells are the HTTP status expected; "login" is a redirect to the login page.
For POSTs the body is empty but carries a valid CSRF token, so an allowed form post
answers 400 (validation), an allowed button 302 (the profile form keeps saved values
for absent fields, so it saves and answers 302; the one-click unsubscribe needs no
login and answers 200 with its confirmation; a destructive action's POST without
confirm=yes answers 200 with its confirmation page and does nothing).
"""

# ruff: noqa: E501 - the table is one row per route, wider than a line

from __future__ import annotations

from flask import url_for

from careteam.auth.reset import make_token as make_reset_token
from careteam.auth.tokens import create_token
from careteam.clients import services as client_services
from careteam.enums import Discipline, Role
from careteam.invitations import services as invitations
from careteam.invitations.sending import mint_link
from careteam.links import unsubscribe_token
from tests.factories import make_client, make_provider, make_user
from tests.helpers import truncate_all
from tests.snapshots import Snapshot
from tests.worlds import build_world

ROLES = ["anon", "client", "other", "nonmem", "member", "lead", "ended", "admin", "deact"]

TABLE = """
endpoint                     method  anon   client  other  nonmem  member  lead  ended  admin  deact
auth.index                   GET     302    302     302    302     302     302   302    302    302
auth.favicon                 GET     200    200     200    200     200     200   200    200    200
auth.login                   GET     200    302     302    302     302     302   302    302    200
auth.login                   POST    400    302     302    302     302     302   302    302    400
auth.logout                  POST    login  302     302    302     302     302   302    302    login
auth.forgot_password         GET     200    200     200    200     200     200   200    200    200
auth.forgot_password         POST    400    400     400    400     400     400   400    400    400
auth.reset_password          GET     200    200     200    200     200     200   200    200    200
auth.reset_password          POST    400    400     400    400     400     400   400    400    400
auth.password_strength       POST    400    400     400    400     400     400   400    400    400
auth.keepalive               POST    login  204     204    204     204     204   204    204    login
clients.dashboard            GET     login  403     403    200     200     200   200    403    login
clients.new                  GET     login  403     403    200     200     200   200    403    login
clients.new                  POST    login  403     403    400     400     400   400    403    login
clients.show                 GET     login  404     404    404     200     200   404    404    login
clients.team                 GET     login  404     404    404     200     200   404    404    login
clients.add_member           GET     login  404     404    404     403     200   404    404    login
clients.add_member           POST    login  404     404    404     403     400   404    404    login
clients.end_member           GET     login  404     404    404     403     200   404    404    login
clients.end_member           POST    login  404     404    404     403     200   404    404    login
clients.make_lead            POST    login  404     404    404     403     302   404    404    login
clients.level_of_care        GET     login  404     404    404     403     200   404    404    login
clients.level_of_care        POST    login  404     404    404     403     400   404    404    login
clients.portal_access        GET     login  404     404    404     403     200   404    404    login
clients.details              GET     login  404     404    404     403     200   404    404    login
clients.details              POST    login  404     404    404     403     400   404    404    login
clients.portal_access        POST    login  404     404    404     403     400   404    404    login
record.new_note              GET     login  404     404    404     200     200   404    404    login
record.new_note              POST    login  404     404    404     400     400   404    404    login
record.amend_note            GET     login  404     404    404     200     403   404    404    login
record.amend_note            POST    login  404     404    404     400     403   404    404    login
record.entry                 GET     login  404     404    404     200     200   404    404    login
drafts.save                  POST    login  404     404    404     400     400   404    404    login
drafts.discard               POST    login  404     404    404     400     400   404    404    login
record.acknowledge_note      POST    login  404     404    404     302     302   404    404    login
goals.index                  GET     login  404     404    404     200     200   404    404    login
goals.new                    GET     login  404     404    404     200     200   404    404    login
goals.new                    POST    login  404     404    404     400     400   404    404    login
goals.show                   GET     login  404     404    404     200     200   404    404    login
goals.history                GET     login  404     404    404     200     200   404    404    login
goals.edit                   GET     login  404     404    404     200     200   404    404    login
goals.edit                   POST    login  404     404    404     400     400   404    404    login
goals.progress               GET     login  404     404    404     200     200   404    404    login
goals.progress               POST    login  404     404    404     400     400   404    404    login
goals.amend_progress         GET     login  404     404    404     200     403   404    404    login
goals.amend_progress         POST    login  404     404    404     400     403   404    404    login
medications.index            GET     login  404     404    404     200     200   404    404    login
medications.new              GET     login  404     404    404     200     403   404    404    login
medications.new              POST    login  404     404    404     400     403   404    404    login
medications.amend            GET     login  404     404    404     200     403   404    404    login
medications.amend            POST    login  404     404    404     400     403   404    404    login
medications.acknowledge      POST    login  404     404    404     302     302   404    404    login
nutrition.index              GET     login  404     404    404     200     200   404    404    login
nutrition.new                GET     login  404     404    404     403     403   404    404    login
nutrition.new                POST    login  404     404    404     403     403   404    404    login
nutrition.amend              GET     login  404     404    404     403     403   404    404    login
nutrition.amend              POST    login  404     404    404     403     403   404    404    login
nutrition.blind_default      POST    login  404     404    404     403     302   404    404    login
invitations.new_team         GET     login  404     404    404     403     200   404    404    login
invitations.new_team         POST    login  404     404    404     403     400   404    404    login
invitations.new_portal       GET     login  404     404    404     403     200   404    404    login
invitations.new_portal       POST    login  404     404    404     403     400   404    404    login
invitations.revoke           POST    login  404     404    404     403     302   404    404    login
invitations.resend           POST    login  404     404    404     403     302   404    404    login
invitations.accept           GET     200    403     403    403     403     403   403    403    200
invitations.accept           POST    400    403     403    403     403     403   403    403    400
invitations.new_account      GET     login  403     403    403     403     403   403    200    login
invitations.new_account      POST    login  403     403    403     403     403   403    400    login
invitations.revoke_account   POST    login  403     403    403     403     403   403    302    login
invitations.resend_account   POST    login  403     403    403     403     403   403    302    login
practice.index               GET     login  404     404    404     200     200   404    404    login
practice.new                 GET     login  404     404    404     200     200   404    404    login
practice.new                 POST    login  404     404    404     400     400   404    404    login
practice.show                GET     login  404     404    404     200     200   404    404    login
practice.amend               GET     login  404     404    404     200     403   404    404    login
practice.amend               POST    login  404     404    404     400     403   404    404    login
practice.end                 POST    login  404     404    404     302     302   404    404    login
practice.portal_index        GET     login  200     200    403     403     403   403    403    login
practice.log                 GET     login  200     404    403     403     403   403    403    login
practice.log                 POST    login  400     404    403     403     403   403    403    login
portal.home                  GET     login  200     200    403     403     403   403    403    login
portal.goal                  GET     login  200     404    403     403     403   403    403    login
portal.notes                 GET     login  200     200    403     403     403   403    403    login
portal.access                GET     login  200     200    403     403     403   403    403    login
portal.record                GET     login  200     200    403     403     403   403    403    login
settings.profile             GET     login  200     200    200     200     200   200    200    login
settings.profile             POST    login  302     302    302     302     302   302    302    login
settings.password            GET     login  200     200    200     200     200   200    200    login
settings.tokens              GET     login  200     200    200     200     200   200    200    login
settings.tokens              POST    login  400     400    400     400     400   400    400    login
settings.revoke_token        GET     login  404     404    404     404     404   404    404    login
settings.revoke_token        POST    login  404     404    404     404     404   404    404    login
settings.password            POST    login  400     400    400     400     400   400    400    login
digests.settings             GET     login  200     200    200     200     200   200    200    login
digests.settings             POST    login  400     400    400     400     400   400    400    login
digests.preview              GET     login  200     200    200     200     200   200    200    login
digests.unsubscribe          GET     200    200     200    200     200     200   200    200    200
digests.unsubscribe_post     POST    200    200     200    200     200     200   200    200    200
digests.unsubscribe_alerts   GET     200    200     200    200     200     200   200    200    200
digests.unsubscribe_alerts_post POST  200    200     200    200     200     200   200    200    200
admin.users                  GET     login  403     403    403     403     403   403    200    login
admin.new_user               GET     login  403     403    403     403     403   403    200    login
admin.new_user               POST    login  403     403    403     403     403   403    400    login
admin.deactivate             GET     login  403     403    403     403     403   403    200    login
admin.deactivate             POST    login  403     403    403     403     403   403    200    login
admin.reactivate             POST    login  403     403    403     403     403   403    302    login
admin.reset_two_factor       POST    login  403     403    403     403     403   403    302    login
admin.audit_export           GET     login  403     403    403     403     403   403    200    login
admin.audit_log              GET     login  403     403    403     403     403   403    200    login
admin.health                 GET     login  403     403    403     403     403   403    200    login
admin.unlock                 POST    login  403     403    403     403     403   403    302    login
health.healthz               GET     200    200     200    200     200     200   200    200    200
static                       GET     200    200     200    200     200     200   200    200    200
fhir.patient_everything      GET     401    200     404    404     200     200   404    404    401
emergency.find               GET     login  403     403    200     200     200   200    200    login
emergency.find               POST    login  403     403    400     400     400   400    400    login
emergency.reason             GET     login  403     403    404     404     404   404    200    login
emergency.reason             POST    login  403     403    404     404     404   404    400    login
emergency.end                POST    login  403     403    404     404     404   404    404    login
emergency_admin.recent       GET     login  403     403    403     403     403   403    200    login
two_factor.login             GET     login  302     302    302     302     302   302    302    login
two_factor.login             POST    login  302     302    302     302     302   302    302    login
two_factor.settings          GET     login  200     200    200     200     200   200    200    login
two_factor.settings          POST    login  400     400    400     400     400   400    400    login
two_factor.regenerate_codes  POST    login  400     400    400     400     400   400    400    login
two_factor.disable           POST    login  400     400    400     400     400   400    400    login
"""


def _rows() -> list[tuple[str, str, dict[str, str]]]:
    lines = [line.split() for line in TABLE.strip().splitlines()]
    header, body = lines[0], lines[1:]
    assert header[2:] == ROLES
    return [(row[0], row[1], dict(zip(ROLES, row[2:], strict=True))) for row in body]


ROWS = _rows()


def _world():
    """The record of tests/worlds.py (its psychiatrist is the table's member, and writes
    the entries the member may amend), a member deactivated later, another team with its
    own client, an admin; accounts' tokens and signed links for the routes that take them."""
    world = build_world(
        members={"deact": Discipline.CASE_MANAGER},
        emails={"psych": "member@example.com"},
    )
    record, lead, ids = world.record, world.lead, world.ids
    nonmem = make_provider(Discipline.THERAPIST, email="nonmem@example.com")
    admin = make_user(Role.ADMIN, email="admin@example.com")
    other = make_user(Role.CLIENT, email="other@example.com")
    target = make_provider(Discipline.OTHER, email="target@example.com")
    account_invitation = invitations.invite_provider_account(
        actor=admin, email="newprov@example.com", discipline=Discipline.OTHER
    )
    elsewhere = make_client(nonmem, name="Elsewhere Client")
    client_services.link_portal_account(actor=nonmem, client=elsewhere, email=other.email)
    users = {
        "client": world.own,
        "other": other,
        "nonmem": nonmem,
        "member": world.people["psych"],
        "lead": lead,
        "ended": world.people["ended"],
        "admin": admin,
        "deact": world.people["deact"],
    }
    url_args = {
        "client_id": record.id,
        "member_id": world.rows["psych"].id,
        "user_id": target.id,
        "entry_id": ids["team_note"],
        "goal_id": ids["hidden_goal"],
        # Endpoints that act on one kind of entry get an entry of that kind.
        "entry_id:goals.amend_progress": ids["hidden_check_in"],
        "entry_id:medications.amend": ids["medication"],
        "entry_id:medications.acknowledge": ids["medication"],
        "entry_id:record.acknowledge_note": ids["urgent_note"],
        "entry_id:practice.show": ids["assignment"],
        "entry_id:practice.amend": ids["assignment"],
        "entry_id:practice.end": ids["assignment"],
        "entry_id:practice.log": ids["assignment"],
        "goal_id:portal.goal": ids["shared_goal"],
        # Someone else's token: nobody in the table may revoke it.
        "token_id": create_token(user=target, name="theirs", scope="read", days=7)[0].id,
        "invitation_id": ids["invitation"],
        "invitation_id:invitations.revoke_account": account_invitation.id,
        "invitation_id:invitations.resend_account": account_invitation.id,
        "token:invitations.accept": mint_link(ids["invitation"]),
        # A reset link for someone who never logs in here (a login retires earlier links).
        "token:auth.reset_password": make_reset_token(target),
        "filename": "css/app.css",
        # The signed one-click unsubscribe link is its own credential: no login needed.
        "token": unsubscribe_token(target.id),
        "token:digests.unsubscribe_alerts": unsubscribe_token(target.id, purpose="alerts"),
        "token:digests.unsubscribe_alerts_post": unsubscribe_token(target.id, purpose="alerts"),
    }
    return users, url_args, admin


def snapshot_world(app) -> dict:
    """The world built once on `app`'s (SQLite) database: emails and ids of its users, the
    URL arguments, and a snapshot each case starts from.

    ~900 cases each building nine accounts and a record took minutes; restoring a
    snapshot of a small SQLite database takes a millisecond and gives every case the same
    untouched world (a POST in one case cannot leak into the next).
    """
    with app.app_context():
        truncate_all()
        users, url_args, admin = _world()
        snapshot = {
            "emails": {role: user.email for role, user in users.items()},
            "ids": {role: user.id for role, user in users.items()},
            "admin_id": admin.id,
            "url_args": url_args,
        }
    snapshot["database"] = Snapshot(app)
    return snapshot


def world_url(app, endpoint: str, url_args: dict) -> str:
    """The URL of `endpoint` with the world's arguments ("name:endpoint" picks another
    value of `name` for that endpoint)."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: url_args.get(f"{name}:{endpoint}", url_args[name]) for name in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **args)


def visit_as(app, auth, world: dict, endpoint: str, role: str) -> str:
    """Start from the world's snapshot logged in as `role` ("anon": nobody); the URL of
    `endpoint` in that world. For the sweeps that reuse this table's rows and world."""
    world["database"].restore(app)
    if role != "anon":
        response = auth.login(world["emails"][role])
        assert response.status_code == 302, f"{role} could not log in"
        assert not response.headers["Location"].startswith("/login"), f"{role} could not log in"
    return world_url(app, endpoint, world["url_args"])
