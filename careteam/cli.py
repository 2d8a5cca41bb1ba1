"""Operator commands: `flask --app wsgi careteam ...`."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from careteam.auth.models import User
from careteam.auth.services import create_user
from careteam.auth.tokens import EXPIRY_CHOICES_DAYS, create_token
from careteam.enums import Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db

cli = AppGroup("careteam", help="CareTeam operator commands.")


def _read_password(from_stdin: bool) -> str:
    """A password from standard input or an interactive prompt, never from argv."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("No password on standard input.")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _create(**kwargs) -> User:
    try:
        user = create_user(**kwargs)
        db.session.commit()
    except UserFacingError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    return user


@cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="Administrator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(email: str, display_name: str, password_stdin: bool) -> None:
    """Create an admin account."""
    user = _create(
        email=email,
        password=_read_password(password_stdin),
        role=Role.ADMIN,
        display_name=display_name,
    )
    click.echo(f"Created admin {user.email}.")


@cli.command("create-user")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--discipline", type=click.Choice([d.value for d in Discipline]))
@click.option("--credentials", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(
    role: str,
    email: str,
    display_name: str,
    discipline: str | None,
    credentials: str,
    password_stdin: bool,
) -> None:
    """Create a provider, client or admin account."""
    if role == Role.PROVIDER and not discipline:
        raise click.UsageError("A provider needs --discipline.")
    user = _create(
        email=email,
        password=_read_password(password_stdin),
        role=Role(role),
        display_name=display_name,
        discipline=Discipline(discipline) if discipline else None,
        credentials=credentials,
    )
    click.echo(f"Created {user.role} {user.email}.")


@cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if users exist.")
@click.option(
    "--allow-production",
    is_flag=True,
    help="Seed even though the app is not in debug mode (demo passwords are public).",
)
def seed_demo(if_empty: bool, allow_production: bool) -> None:
    """Create demo accounts and two clients on shared teams, and print the logins."""
    from careteam import demo

    if not (current_app.debug or current_app.testing or allow_production):
        raise click.ClickException(
            "Refusing to seed demo accounts with public passwords outside debug mode; "
            "pass --allow-production if you really mean it."
        )
    has_users = db.session.scalar(select(func.count()).select_from(User)) > 0
    if has_users and not if_empty:
        raise click.ClickException("The database already has users; seed-demo needs an empty one.")
    if not has_users:
        demo.seed()
        click.echo("Demo data created.")
    else:
        click.echo("The database already has users; demo data left as it is.")
    click.echo(demo.logins_text())


@cli.command("send-digests")
@click.option("--now", "right_now", is_flag=True, required=True, help="Send in this process.")
@click.option("--user", "email", help="Send this user's digest now, whatever their schedule.")
def send_digests_command(right_now: bool, email: str | None) -> None:
    """Send every digest due now, retries included, without the worker (or one user's
    digest on demand), and print the totals."""
    from careteam.digests import services

    if email:
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"No account uses {email}.")
        digest_id = services.open_window(user.id, services.settled())
        db.session.commit()
        outcome = services.send_batch([digest_id] if digest_id else [])
    else:
        outcome = services.send_all_due()
    click.echo(
        f"Digests: {len(outcome.sent)} sent, {len(outcome.skipped)} with nothing new, "
        f"{len(outcome.retry)} to retry, {len(outcome.failed)} failed."
    )


@cli.command("create-token")
@click.option("--email", required=True, help="The account the token acts as.")
@click.option("--name", required=True, help="What the token is for, e.g. 'EHR sync'.")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option(
    "--days",
    type=click.Choice([str(d) for d in EXPIRY_CHOICES_DAYS]),
    default="30",
    show_default=True,
)
def create_token_command(email: str, name: str, scope: str, days: str) -> None:
    """Create a personal access token for an account and print it once (audited).

    Users create their own under Settings > API tokens; this is for setting up an
    integration from a script. Only the token goes to standard output.
    """
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        raise click.ClickException(f"No active account uses {email}.")
    try:
        _token, secret = create_token(
            user=user, name=name, scope=scope, days=int(days), by_operator=True
        )
    except UserFacingError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Token for {user.email} ({scope}, {days} days). It is shown only now:", err=True)
    click.echo(secret)


@cli.command("verify-audit")
@click.option("--seal", "seal_first", is_flag=True, help="Seal unsealed rows before verifying.")
def verify_audit(seal_first: bool) -> None:
    """Recompute the audit log's hash chain; exit 1 if a link is broken."""
    from careteam.audit import chain as audit_chain

    if seal_first:
        sealed = audit_chain.seal()
        click.echo(f"Sealed {sealed.sealed} new event(s).")
    report = audit_chain.verify()
    click.echo(f"Sealed events: {report.sealed}. Unsealed events: {report.unsealed}.")
    if not report.intact:
        click.echo(
            f"TAMPERED: the chain breaks at seq {report.broken_seq} (event id "
            f"{report.broken_id}): {report.problem}. The {report.verified} event(s) "
            "before it are intact.",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"Intact: {report.verified} event(s) verified; head seq {report.head_seq}, "
        f"hash {report.head_hash}."
    )
