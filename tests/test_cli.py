"""Operator commands: create-admin, create-user, seed-demo."""

from __future__ import annotations

from sqlalchemy import func, select

from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.extensions import db


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def test_create_admin_reads_password_from_stdin(app, runner, auth):
    result = runner.invoke(
        args=["careteam", "create-admin", "--email", "Root@Example.com", "--password-stdin"],
        input="a strong admin password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root@example.com." in result.output
    assert "a strong admin password" not in result.output
    assert _user("root@example.com").role == "admin"
    assert auth.login("root@example.com", "a strong admin password").headers["Location"] == (
        "/admin/users"
    )


def test_create_admin_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["careteam", "create-admin", "--email", "prompt@example.com"],
        input="prompted password 1\nprompted password 1\n",
    )
    assert result.exit_code == 0, result.output
    assert _user("prompt@example.com") is not None


def test_password_is_never_an_argument(app, runner):
    result = runner.invoke(
        args=["careteam", "create-admin", "--email", "x@example.com", "--password", "nope"]
    )
    assert result.exit_code != 0
    assert "No such option" in result.output


def test_create_user_provider(app, runner):
    result = runner.invoke(
        args=[
            "careteam",
            "create-user",
            "--role",
            "provider",
            "--discipline",
            "psychiatrist",
            "--email",
            "doc@example.com",
            "--name",
            "Dr. Doc",
            "--credentials",
            "MD",
            "--password-stdin",
        ],
        input="a long password here\n",
    )
    assert result.exit_code == 0, result.output
    user = _user("doc@example.com")
    assert user.discipline == "psychiatrist" and user.credentials == "MD"


def test_create_user_errors_are_plain(app, runner):
    missing = runner.invoke(
        args=[
            "careteam",
            "create-user",
            "--role",
            "provider",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--password-stdin",
        ],
        input="a long password here\n",
    )
    assert missing.exit_code != 0 and "A provider needs --discipline." in missing.output
    short = runner.invoke(
        args=[
            "careteam",
            "create-user",
            "--role",
            "client",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert short.exit_code != 0 and "Use at least 12 characters." in short.output
    assert _user("b@example.com") is None


def test_seed_demo_creates_shared_teams_and_prints_logins(app, runner, auth):
    result = runner.invoke(args=["careteam", "seed-demo"])
    assert result.exit_code == 0, result.output
    for email in ("admin@", "therapist@", "psychiatrist@", "dietitian@", "alex@", "sam@"):
        assert email in result.output
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2
    therapist = _user("therapist@demo.careteam.example")
    teams = db.session.scalar(
        select(func.count())
        .select_from(CareTeamMember)
        .where(CareTeamMember.provider_id == therapist.id)
    )
    assert teams == 2  # the therapist shares both clients with the psychiatrist
    from careteam.demo import DEMO_PASSWORD

    response = auth.login("therapist@demo.careteam.example", DEMO_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/clients/"
    again = runner.invoke(args=["careteam", "seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "left as it is" in again.output
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2
    refused = runner.invoke(args=["careteam", "seed-demo"])
    assert refused.exit_code != 0


def test_seed_demo_refuses_production_without_flag(app, tmp_path, monkeypatch):
    from careteam import create_app

    prod = create_app(
        {"SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    )
    with prod.app_context():  # the CLI runs in the production app, not the test one
        result = prod.test_cli_runner().invoke(args=["careteam", "seed-demo"])
    assert result.exit_code != 0
    assert "Refusing to seed demo accounts" in result.output


def test_create_token_prints_only_the_token_which_then_opens_the_api(app, runner, client):
    from careteam.audit import AuditEvent
    from careteam.auth.models import ApiToken
    from tests.factories import bearer, make_provider

    provider = make_provider(email="ehr@example.com")
    result = runner.invoke(
        args=[
            "careteam",
            "create-token",
            "--email",
            "EHR@example.com",
            "--name",
            "EHR sync",
            "--scope",
            "write",
            "--days",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("ctp_") and "\n" not in secret
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == provider.id))
    assert (token.name, token.scope) == ("EHR sync", "write")
    assert secret not in {token.token_hash, token.prefix}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create_api_token"))
    assert "operator" in event.detail
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["email"] == provider.email


def test_create_token_refuses_unknown_or_inactive_accounts(app, runner):
    result = runner.invoke(
        args=["careteam", "create-token", "--email", "nobody@example.com", "--name", "x"]
    )
    assert result.exit_code != 0 and "No active account uses" in result.output
