"""New accounts start in the deployment's time zone (DISPLAY_TIMEZONE), whatever creates
them, so that the default 08:00 digest means 08:00 where the practice is."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from careteam.auth.models import User
from careteam.digests import services as digests
from careteam.enums import Discipline, Role
from careteam.extensions import db, utcnow
from careteam.invitations import services as invitations
from careteam.invitations.acceptance import accept_new_account
from careteam.invitations.models import Invitation
from tests.factories import PASSWORD, make_client, make_provider, make_user

ZONE = "America/New_York"


@pytest.fixture
def practice_zone(app) -> str:
    app.config["DISPLAY_TIMEZONE"] = ZONE
    return ZONE


def user_by_email(email: str) -> User:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == email)).one()


def assert_first_digest_at_0800_local(user: User) -> None:
    pref = digests.preference_for(user)
    db.session.commit()
    local = pref.next_due_at.astimezone(ZoneInfo(ZONE))
    assert local.time() == time(8, 0)
    assert timedelta(0) < pref.next_due_at - utcnow() <= timedelta(days=1)


def test_the_account_service_starts_accounts_in_the_deployments_zone(app, practice_zone):
    provider = make_provider()
    admin = make_user(Role.ADMIN)
    assert (provider.time_zone, admin.time_zone) == (ZONE, ZONE)
    assert_first_digest_at_0800_local(provider)


@pytest.mark.parametrize(
    "args",
    [
        ["create-admin", "--email", "root@example.com"],
        [
            "create-user",
            "--role",
            "provider",
            "--discipline",
            "therapist",
            "--email",
            "root@example.com",
            "--name",
            "Dana Okafor",
        ],
    ],
    ids=["create-admin", "create-user"],
)
def test_cli_accounts_start_in_the_deployments_zone(app, runner, practice_zone, args):
    result = runner.invoke(args=["careteam", *args, "--password-stdin"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = user_by_email("root@example.com")
    assert user.time_zone == ZONE
    if user.is_provider:
        assert_first_digest_at_0800_local(user)


def test_accounts_an_admin_creates_start_in_the_deployments_zone(app, client, auth, practice_zone):
    admin = make_user(Role.ADMIN)
    auth.login(admin.email)
    response = auth.post(
        "/admin/users/new",
        {
            "role": "provider",
            "email": "new@example.com",
            "display_name": "Nia Newcomer",
            "discipline": "dietitian",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/admin/users"
    assert_first_digest_at_0800_local(user_by_email("new@example.com"))


def _invitation(kind: str) -> Invitation:
    lead = make_provider(Discipline.THERAPIST)
    if kind == "team":
        return invitations.invite_to_team(
            actor=lead,
            client=make_client(lead),
            email="invited@example.com",
            discipline=Discipline.DIETITIAN,
        )
    if kind == "portal":
        return invitations.invite_to_portal(
            actor=lead, client=make_client(lead), email="invited@example.com"
        )
    return invitations.invite_provider_account(
        actor=make_user(Role.ADMIN), email="invited@example.com", discipline=Discipline.OTHER
    )


@pytest.mark.parametrize("kind", ["team", "portal", "account"])
def test_invited_accounts_start_in_the_deployments_zone(app, sink, practice_zone, kind):
    app.config.update(INVITATION_RELAY="off")
    invitation_id = _invitation(kind).id
    assert invitations.send_invitation_email(invitation_id)  # gives the link its nonce
    invitation = db.session.get(Invitation, invitation_id, populate_existing=True)
    user = accept_new_account(
        invitation=invitation, display_name="Ivy Invited", password="a quiet meadow under snow"
    )
    assert user_by_email("invited@example.com").time_zone == ZONE
    if user.is_provider:
        assert_first_digest_at_0800_local(user)


def test_demo_accounts_start_in_the_deployments_zone(app, runner, practice_zone):
    result = runner.invoke(args=["careteam", "seed-demo"])
    assert result.exit_code == 0, result.output
    zones = set(db.session.scalars(select(User.time_zone)))
    assert zones == {ZONE}


@pytest.mark.parametrize("configured", ["America/NewYork", "EST", ""])
def test_a_zone_users_could_not_choose_falls_back_to_utc(app, caplog, configured):
    app.config["DISPLAY_TIMEZONE"] = configured
    with caplog.at_level(logging.WARNING):
        user = make_provider()
    assert user.time_zone == "UTC"
    if configured:
        assert "DISPLAY_TIMEZONE" in caplog.text


def test_the_column_default_stays_utc(app):
    """A row made without the account service (a data fix, a migration) still has a zone."""
    user = User(
        email="raw@example.com",
        password_hash="!",
        role=Role.ADMIN,
        display_name="Raw Row",
    )
    db.session.add(user)
    db.session.commit()
    assert user.time_zone == "UTC"
