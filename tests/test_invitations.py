"""Invitations: team, portal and account invitations from invite to accepted, refused or dead.

Emails go through the real mail path to an SMTP sink on loopback; links are read from
the email. The after-commit relay is off here: the tests call the service the Celery
task calls (tests/integration/test_account_mail.py runs a real worker).
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select, update

from careteam.admin.services import set_active
from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import AuditOutcome, Discipline, MemberStatus, Role
from careteam.extensions import db, utcnow
from careteam.invitations import sending, services
from careteam.invitations.models import Invitation, InvitationKind, InvitationStatus
from careteam.record.models import TeamEntry
from tests.factories import PASSWORD, add_member, make_client, make_provider, make_user
from tests.harness import SMTPSink, free_port
from tests.helpers import csrf_from

BASE_URL = "https://care.example.org"
CLIENT_NAME = "Avery Quinn"
NEW_PASSWORD = "a quiet meadow under snow"
LINK_RE = re.compile(re.escape(BASE_URL) + r"/invitations/[A-Za-z0-9._-]+")


@pytest.fixture
def sink(app, sink):
    """The SMTP sink, with the app publishing nothing itself."""
    app.config.update(BASE_URL=BASE_URL, INVITATION_RELAY="off")
    return sink


@pytest.fixture
def lead(app, sink):
    return make_provider(Discipline.THERAPIST, name="Tess Lindqvist", email="lead@example.com")


@pytest.fixture
def record(lead):
    return make_client(lead, name=CLIENT_NAME)


def invite_path(record: Client) -> str:
    return f"/clients/{record.id}/invitations/new"


def deliver(sink: SMTPSink, email: str) -> str:
    """Send every requested invitation email (as the task does); the path of email's link."""
    ids = db.session.scalars(
        select(Invitation.id).where(Invitation.send_requested_at.is_not(None))
    ).all()
    for invitation_id in ids:
        assert services.send_invitation_email(invitation_id)
    mine = [m for m in sink.messages if m["To"] == email]
    assert mine, f"no email to {email}"
    text = mine[-1].get_body(("plain",)).get_content()
    html = mine[-1].get_body(("html",)).get_content()
    links = LINK_RE.findall(text)
    assert len(links) == 1, text
    assert links[0] in html
    return urlsplit(links[0]).path


def invite(auth, record: Client, email: str, discipline: str = "dietitian", **extra):
    return auth.post(invite_path(record), {"email": email, "discipline": discipline, **extra})


def sign_up(client, path: str, name: str = "Dana Reyes", **extra):
    data = {
        "display_name": name,
        "credentials": "RD, CEDS",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        **extra,
    }
    # A refused link shows no form; any page of the session gives a valid CSRF token.
    page = client.get(path).get_data(as_text=True)
    if 'name="csrf_token"' not in page:
        page = client.get("/login").get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_from(page)})


def invitation_for(email: str) -> Invitation:
    return db.session.scalars(select(Invitation).where(Invitation.email == email)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def denied(action: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.outcome == AuditOutcome.DENIED)
    )


def test_a_new_provider_accepts_and_lands_on_the_clients_page(client, auth, sink, lead, record):
    auth.login(lead.email)
    team_page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert invite_path(record) in team_page and "Invite a provider" in team_page
    response = invite(auth, record, " Dana.Reyes@Example.com ")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{record.id}/team#invitations")
    invitation = invitation_for("dana.reyes@example.com")
    assert invitation.kind == InvitationKind.TEAM and invitation.status == "pending"
    assert invitation.expires_at - utcnow() > timedelta(hours=71)
    assert invitation.nonce_hash is None and sink.messages == []  # not sent until the task

    path = deliver(sink, "dana.reyes@example.com")
    message = sink.messages[-1]
    text = message.get_body(("plain",)).get_content()
    # The email names the inviter, never the client (PHI to someone not yet on the team).
    assert "Tess Lindqvist" in message["Subject"] + text
    assert CLIENT_NAME not in str(message) and "Avery" not in text
    assert "ignore" in text and "Dietitian" in text
    invitation = invitation_for("dana.reyes@example.com")
    assert invitation.sent_at is not None and invitation.send_count == 1
    assert len(invitation.nonce_hash) == 64 and invitation.nonce_hash not in path

    team_page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert "dana.reyes@example.com" in team_page and "Pending invitations" in team_page
    auth.logout()

    form = client.get(path)
    assert form.status_code == 200
    assert "Create your CareTeam account" in form.get_data(as_text=True)
    assert CLIENT_NAME not in form.get_data(as_text=True)
    response = sign_up(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    # A new provider sets up two-factor before anything else (the production default).
    assert client.get(f"/clients/{record.id}").headers["Location"] == "/settings/two-factor"
    auth.enrol()
    page = client.get(f"/clients/{record.id}")
    assert page.status_code == 200 and CLIENT_NAME in page.get_data(as_text=True)

    user = db.session.scalars(select(User).where(User.email == "dana.reyes@example.com")).one()
    assert (user.role, user.discipline, user.credentials) == ("provider", "dietitian", "RD, CEDS")
    member = db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.provider_id == user.id)
    ).one()
    assert member.client_id == record.id and member.status == MemberStatus.ACTIVE
    entry = db.session.scalars(
        select(TeamEntry).where(TeamEntry.client_id == record.id, TeamEntry.author_id == user.id)
    ).one()
    assert entry.change.member_id == member.id
    invitation = invitation_for("dana.reyes@example.com")
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by_id == user.id and invitation.accepted_at is not None
    assert db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "accept_invitation", AuditEvent.actor_id == user.id)
    )


def test_an_accepted_link_works_once(client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "dana@example.com")
    path = deliver(sink, "dana@example.com")
    auth.logout()
    response = sign_up(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    auth.logout()
    users, members = count(User), count(CareTeamMember)
    again = client.get(path)
    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)
    assert sign_up(client, path, name="Someone Else").status_code == 410
    assert (count(User), count(CareTeamMember)) == (users, members)


def test_an_existing_provider_logs_in_and_accepts(client, auth, sink, lead, record):
    psych = make_provider(Discipline.PSYCHIATRIST, name="Paul Okafor", email="paul@example.com")
    auth.login(lead.email)
    invite(auth, record, "paul@example.com", discipline="psychiatrist", is_lead="y")
    path = deliver(sink, "paul@example.com")
    auth.logout()

    asked = client.get(path)
    assert asked.status_code == 200
    body = asked.get_data(as_text=True)
    assert "Log in to accept" in body and CLIENT_NAME not in body
    login = auth.login("paul@example.com")
    assert login.status_code == 302
    assert login.headers["Location"] == "/clients/"
    response = client.post(
        "/login?next=" + path,
        data={"email": "paul@example.com", "password": PASSWORD, "csrf_token": auth.token(path)},
    )
    assert response.headers["Location"] in ("/clients/", path)  # already logged in above
    join = client.get(path)
    assert join.status_code == 200
    assert f"Join {CLIENT_NAME}'s team as Psychiatrist" in join.get_data(as_text=True)
    response = auth.post(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    member = db.session.scalars(
        select(CareTeamMember).where(CareTeamMember.provider_id == psych.id)
    ).one()
    assert member.status == MemberStatus.ACTIVE and member.is_lead
    assert member.discipline == "psychiatrist"
    assert client.get(path).status_code == 410


def test_the_login_link_comes_back_to_the_invitation(client, auth, sink, lead, record):
    make_provider(Discipline.PSYCHIATRIST, email="paul@example.com")
    auth.login(lead.email)
    invite(auth, record, "paul@example.com", discipline="psychiatrist")
    path = deliver(sink, "paul@example.com")
    auth.logout()
    body = client.get(path).get_data(as_text=True)
    assert f'href="/login?next={path}"' in body
    token = auth.token("/login")
    response = client.post(
        f"/login?next={path}",
        data={"email": "paul@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/login/two-factor"  # `next` waits for the code
    response = auth.enter_code("paul@example.com")
    assert response.headers["Location"] == path


def test_a_different_account_is_refused_and_nothing_changes(client, auth, sink, lead, record):
    make_provider(email="invited@example.com")
    other = make_provider(email="other@example.com")
    auth.login(lead.email)
    invite(auth, record, "invited@example.com")
    path = deliver(sink, "invited@example.com")
    auth.logout()
    auth.login(other.email)
    page = client.get(path)
    assert page.status_code == 403
    body = page.get_data(as_text=True)
    assert "This invitation is for another account" in body and "Log out" in body
    assert CLIENT_NAME not in body
    assert auth.post(path).status_code == 403
    assert invitation_for("invited@example.com").status == InvitationStatus.PENDING
    assert count(CareTeamMember) == 1
    assert denied("accept_invitation") == 2


def test_an_expired_link_is_refused(client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "late@example.com")
    path = deliver(sink, "late@example.com")
    auth.logout()
    db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    page = client.get(path)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert sign_up(client, path).status_code == 410
    assert count(User) == 1
    assert invitation_for("late@example.com").status == InvitationStatus.PENDING
    # The lead sees it as expired and can resend it.
    auth.login(lead.email)
    assert "Expired" in client.get(f"/clients/{record.id}/team").get_data(as_text=True)


def test_a_token_older_than_the_maximum_age_is_refused(app, client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "late@example.com")
    path = deliver(sink, "late@example.com")
    auth.logout()
    # The signature's own timestamp is checked too (itsdangerous max_age), whatever the row says.
    app.config["INVITATION_MAX_AGE_HOURS"] = -1
    assert client.get(path).status_code == 410


def test_a_revoked_invitation_is_refused(client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "dana@example.com")
    path = deliver(sink, "dana@example.com")
    invitation = invitation_for("dana@example.com")
    response = auth.post(f"/clients/{record.id}/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team#invitations"
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert "was revoked" in page and "dana@example.com</th>" not in page
    auth.logout()
    refused = client.get(path)
    assert refused.status_code == 410 and "withdrawn" in refused.get_data(as_text=True)
    assert sign_up(client, path).status_code == 410
    assert count(User) == 1
    invitation = invitation_for("dana@example.com")
    assert invitation.status == InvitationStatus.REVOKED and invitation.revoked_by_id == lead.id


def test_resend_kills_the_old_link_and_extends_the_expiry(client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "dana@example.com")
    old = deliver(sink, "dana@example.com")
    db.session.execute(update(Invitation).values(expires_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    invitation = invitation_for("dana@example.com")
    response = auth.post(f"/clients/{record.id}/invitations/{invitation.id}/resend")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}/team#invitations"
    assert client.get(old).status_code == 410  # dead at once, before the new email goes out
    new = deliver(sink, "dana@example.com")
    assert new != old
    invitation = invitation_for("dana@example.com")
    assert invitation.send_count == 2
    assert invitation.expires_at - utcnow() > timedelta(hours=71)
    auth.logout()
    replaced = client.get(old)
    assert replaced.status_code == 410 and "replaced" in replaced.get_data(as_text=True)
    assert client.get(new).status_code == 200
    redirected = sign_up(client, new)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == f"/clients/{record.id}"


def _token(secret: str, payload: dict) -> str:
    return URLSafeTimedSerializer(secret, salt="invitation").dumps(payload)


def test_tampered_and_malformed_tokens_are_not_found(app, client, auth, sink, lead, record):
    auth.login(lead.email)
    invite(auth, record, "dana@example.com")
    path = deliver(sink, "dana@example.com")
    auth.logout()
    token = path.rsplit("/", 1)[1]
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    secret = app.config["SECRET_KEY"]
    invitation = invitation_for("dana@example.com")
    bad = [
        flipped,
        token[:-3],
        "abc",
        "x" * 2000,
        _token("another-secret", {"id": invitation.id, "nonce": "n"}),
        _token(secret, {"id": invitation.id + 99, "nonce": "n"}),
        _token(secret, ["not", "a", "dict"]),
        _token(secret, {"id": "1", "nonce": 5}),
    ]
    for candidate in bad:
        response = client.get(f"/invitations/{candidate}")
        assert response.status_code == 404, candidate
        assert "not valid" in response.get_data(as_text=True)
    assert sign_up(client, f"/invitations/{flipped}").status_code == 404
    # A correctly signed token with a wrong nonce is a dead link of ours.
    assert (
        client.get(
            f"/invitations/{_token(secret, {'id': invitation.id, 'nonce': 'n'})}"
        ).status_code
        == 410
    )
    assert count(User) == 1 and invitation_for("dana@example.com").status == "pending"


def test_only_the_lead_may_invite_and_refusals_are_audited(client, auth, sink, lead, record):
    member = make_provider(email="member@example.com")
    add_member(record, member, lead)
    outsider = make_provider(email="outsider@example.com")
    make_client(outsider, name="Elsewhere")
    for email, status in ((outsider.email, 404), (member.email, 403)):
        auth.login(email)
        assert client.get(invite_path(record)).status_code == status
        assert invite(auth, record, "dana@example.com").status_code == status
        assert client.get(f"/clients/{record.id}/invitations/portal").status_code == status
        assert (
            auth.post(
                f"/clients/{record.id}/invitations/portal", {"email": "c@example.com"}
            ).status_code
            == status
        )
        auth.logout()
    assert count(Invitation) == 0
    assert denied("manage_team") == 4 and denied("manage_portal_access") == 4
    # A member does not see pending invitations on the team page.
    auth.login(lead.email)
    invite(auth, record, "dana@example.com")
    invitation = invitation_for("dana@example.com")
    auth.logout()
    auth.login(member.email)
    page = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert "Pending invitations" not in page and "dana@example.com" not in page
    for action in ("revoke", "resend"):
        url = f"/clients/{record.id}/invitations/{invitation.id}/{action}"
        assert auth.post(url).status_code == 403
    assert invitation_for("dana@example.com").status == "pending"


def test_invitation_ids_of_another_client_are_not_found(client, auth, sink, lead, record):
    other = make_client(lead, name="Second Client")
    auth.login(lead.email)
    invite(auth, other, "dana@example.com")
    invitation = invitation_for("dana@example.com")
    for action in ("revoke", "resend"):
        url = f"/clients/{record.id}/invitations/{invitation.id}/{action}"
        assert auth.post(url).status_code == 404
        assert auth.post(f"/clients/{record.id}/invitations/9999/{action}").status_code == 404
    assert invitation_for("dana@example.com").status == "pending"


@pytest.mark.parametrize(
    ("setup", "email", "message"),
    [
        ("member", "member@example.com", "is already on this team"),
        ("client_account", "person@example.com", "cannot be invited as a provider"),
        ("admin_account", "admin@example.com", "cannot be invited as a provider"),
        ("duplicate", "dana@example.com", "already pending"),
        ("deactivated", "gone@example.com", "deactivated"),
    ],
)
def test_invitations_that_make_no_sense_are_refused(
    client, auth, sink, lead, record, setup, email, message
):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    if setup == "member":
        add_member(record, make_provider(email=email, name="Mel Member"), lead)
    elif setup == "client_account":
        make_user(Role.CLIENT, email=email)
    elif setup == "deactivated":
        set_active(actor=admin, user=make_provider(email=email), active=False)
    auth.login(lead.email)
    if setup == "duplicate":
        redirected = invite(auth, record, email)
        assert redirected.status_code == 302
        assert redirected.headers["Location"] == f"/clients/{record.id}/team#invitations"
    before = count(Invitation)
    response = invite(auth, record, email.upper())
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(Invitation) == before
    assert denied("invite_to_team") == 1


def test_an_admin_invites_a_provider_without_a_team(client, auth, sink):
    admin = make_user(Role.ADMIN, email="admin@example.com", name="Ada Admin")
    auth.login(admin.email)
    users = client.get("/admin/users").get_data(as_text=True)
    assert "/admin/invitations/new" in users
    response = auth.post(
        "/admin/invitations/new", {"email": "np@example.com", "discipline": "nurse_practitioner"}
    )
    assert response.status_code == 302
    users = client.get("/admin/users").get_data(as_text=True)
    assert "np@example.com" in users and "Pending provider invitations" in users
    again = auth.post(
        "/admin/invitations/new", {"email": "np@example.com", "discipline": "therapist"}
    )
    assert again.status_code == 400 and "already pending" in again.get_data(as_text=True)
    path = deliver(sink, "np@example.com")
    assert "Ada Admin" in sink.messages[-1].get_body(("plain",)).get_content()
    auth.logout()
    response = sign_up(client, path, name="Nia Patel")
    assert response.status_code == 302 and response.headers["Location"] == "/clients/"
    user = db.session.scalars(select(User).where(User.email == "np@example.com")).one()
    assert (user.role, user.discipline) == ("provider", "nurse_practitioner")
    assert count(CareTeamMember) == 0
    auth.enrol()  # providers set up two-factor first
    assert client.get("/clients/").status_code == 200


def test_an_admin_revokes_and_resends_account_invitations(client, auth, sink):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    auth.login(admin.email)
    auth.post("/admin/invitations/new", {"email": "np@example.com", "discipline": "other"})
    invitation = invitation_for("np@example.com")
    first = deliver(sink, "np@example.com")
    response = auth.post(f"/admin/invitations/{invitation.id}/resend")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users#invitations"
    second = deliver(sink, "np@example.com")
    response = auth.post(f"/admin/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users#invitations"
    assert invitation_for("np@example.com").status == InvitationStatus.REVOKED
    again = auth.post(f"/admin/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "already accepted or revoked" in again.get_data(as_text=True)
    auth.logout()
    assert client.get(first).status_code == 410 and client.get(second).status_code == 410


def test_a_portal_invitation_creates_and_links_the_client_account(
    client, auth, sink, lead, record
):
    auth.login(lead.email)
    team = client.get(f"/clients/{record.id}/team").get_data(as_text=True)
    assert f"/clients/{record.id}/invitations/portal" in team
    response = auth.post(
        f"/clients/{record.id}/invitations/portal", {"email": "avery@example.com"}
    )
    assert response.status_code == 302
    duplicate = auth.post(
        f"/clients/{record.id}/invitations/portal", {"email": "avery2@example.com"}
    )
    assert duplicate.status_code == 400
    path = deliver(sink, "avery@example.com")
    assert CLIENT_NAME not in str(sink.messages[-1])
    auth.logout()
    form = client.get(path).get_data(as_text=True)
    assert 'name="credentials"' not in form
    response = sign_up(client, path, name="Avery")
    assert response.status_code == 302 and response.headers["Location"] == "/portal/"
    user = db.session.scalars(select(User).where(User.email == "avery@example.com")).one()
    assert user.role == Role.CLIENT and user.discipline is None
    assert db.session.get(Client, record.id).user_id == user.id
    assert client.get("/portal/").status_code == 200
    auth.logout()
    auth.login(lead.email)
    refused = auth.post(f"/clients/{record.id}/invitations/portal", {"email": "x@example.com"})
    assert refused.status_code == 400
    assert "already has portal access" in refused.get_data(as_text=True)


def test_a_portal_invitation_is_refused_for_a_provider_address(client, auth, sink, lead, record):
    auth.login(lead.email)
    response = auth.post(f"/clients/{record.id}/invitations/portal", {"email": lead.email})
    assert response.status_code == 400
    assert "cannot be invited to the portal" in response.get_data(as_text=True)
    assert count(Invitation) == 0


def test_deactivation_revokes_pending_invitations_to_and_from_the_user(
    client, auth, sink, lead, record
):
    admin = make_user(Role.ADMIN, email="admin@example.com")
    invitee = make_provider(email="invitee@example.com")
    co_lead = make_provider(email="colead@example.com")
    add_member(record, co_lead, lead, is_lead=True)
    services.invite_to_team(
        actor=lead, client=record, email="from-lead@example.com", discipline=Discipline.OTHER
    )
    services.invite_to_team(
        actor=co_lead, client=record, email=invitee.email, discipline=Discipline.OTHER
    )
    services.invite_to_team(
        actor=co_lead, client=record, email="stays@example.com", discipline=Discipline.OTHER
    )
    path = deliver(sink, "from-lead@example.com")
    entries = count(TeamEntry)
    set_active(actor=admin, user=lead, active=False)
    set_active(actor=admin, user=invitee, active=False)
    statuses = dict(db.session.execute(select(Invitation.email, Invitation.status)).all())
    assert statuses == {
        "from-lead@example.com": "revoked",
        "invitee@example.com": "revoked",
        "stays@example.com": "pending",
    }
    assert count(TeamEntry) == entries  # what they wrote stays
    assert client.get(path).status_code == 410
    # Nothing revoked is sent afterwards, even if its task was already queued.
    revoked = invitation_for("invitee@example.com")
    db.session.execute(update(Invitation).values(send_requested_at=utcnow()))
    db.session.commit()
    assert not services.send_invitation_email(revoked.id)
    assert sending.unsent_invitations(utcnow() + timedelta(minutes=5)) == [
        invitation_for("stays@example.com").id
    ]


def test_sending_twice_sends_one_email(app, sink, lead, record):
    invitation = services.invite_to_team(
        actor=lead, client=record, email="dana@example.com", discipline=Discipline.DIETITIAN
    )
    assert services.send_invitation_email(invitation.id)
    assert not services.send_invitation_email(invitation.id)
    assert len(sink.messages) == 1
    assert sending.unsent_invitations(utcnow() + timedelta(minutes=5)) == []


def test_an_smtp_failure_leaves_the_email_for_the_sweep(app, sink, lead, record):
    invitation = services.invite_to_team(
        actor=lead, client=record, email="dana@example.com", discipline=Discipline.DIETITIAN
    )
    app.config.update(MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    assert not services.send_invitation_email(invitation.id)
    row = invitation_for("dana@example.com")
    assert row.send_requested_at is not None and row.sent_at is None and row.send_count == 0
    assert row.nonce_hash is None
    assert sending.unsent_invitations() == []  # the relay's grace period first
    assert sending.unsent_invitations(utcnow() + timedelta(minutes=1)) == [invitation.id]
    app.config.update(MAIL_PORT=sink.port)
    assert services.send_invitation_email(invitation.id)
    assert len(sink.messages) == 1


def test_the_team_page_queries_do_not_grow_with_invitations(
    client, auth, sink, lead, record, count_queries
):
    others = [make_provider(name=f"Lead {n}") for n in range(3)]
    for other in others:
        add_member(record, other, lead, is_lead=True)

    def invite_many(n: int, start: int) -> None:
        for i in range(start, start + n):
            services.invite_to_team(
                actor=others[i % 3],
                client=record,
                email=f"p{i}@example.com",
                discipline=Discipline.OTHER,
            )

    invite_many(2, 0)
    auth.login(lead.email)
    path = f"/clients/{record.id}/team"

    def measure() -> int:
        client.get(path)
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200
        return counter.count

    small = measure()
    invite_many(30, 2)
    large = measure()
    assert "p31@example.com" in client.get(path).get_data(as_text=True)
    assert small == large, (small, large)


def test_the_admin_users_page_queries_do_not_grow_with_invitations(
    client, auth, sink, count_queries
):
    admins = [make_user(Role.ADMIN, email=f"admin{n}@example.com") for n in range(3)]

    def invite_many(n: int, start: int) -> None:
        for i in range(start, start + n):
            services.invite_provider_account(
                actor=admins[i % 3], email=f"p{i}@example.com", discipline=Discipline.OTHER
            )

    invite_many(2, 0)
    auth.login(admins[0].email)

    def measure() -> int:
        client.get("/admin/users")
        with count_queries() as counter:
            response = client.get("/admin/users")
        assert response.status_code == 200
        return counter.count

    small = measure()
    invite_many(30, 2)
    large = measure()
    assert "p31@example.com" in client.get("/admin/users").get_data(as_text=True)
    assert small == large, (small, large)
