"""Small builders for test data, going through the same services the app uses."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from careteam.auth import two_factor as two_factor_services
from careteam.auth.models import User
from careteam.auth.services import create_user
from careteam.clients import services as clients
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import Discipline, GoalDirection, LevelOfCare, Role
from careteam.extensions import db
from careteam.goals import services as goals
from careteam.goals.models import Goal
from careteam.goals.rules import format_number

PASSWORD = "correct horse battery staple"
# Every admin and (by default) every provider is enrolled in two-factor authentication
# with this secret, so that tests log in through the real second step (conftest's auth).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_seq = itertools.count(1)


def make_user(
    role: Role = Role.PROVIDER,
    discipline: Discipline | None = None,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    two_factor: bool | None = None,
) -> User:
    """A user; two_factor=None enrols admins and providers (TOTP_SECRET), not clients."""
    n = next(_seq)
    if role == Role.PROVIDER and discipline is None:
        discipline = Discipline.THERAPIST
    user = create_user(
        email=email or f"{role}{n}@example.com",
        password=password,
        role=role,
        display_name=name or f"{str(role).capitalize()} {n}",
        discipline=discipline,
    )
    if two_factor is None:
        two_factor = role in (Role.ADMIN, Role.PROVIDER)
    if two_factor:
        two_factor_services.enrol_known_secret(user=user, secret=TOTP_SECRET)
    db.session.commit()
    return user


def make_provider(discipline: Discipline = Discipline.THERAPIST, **kwargs) -> User:
    return make_user(Role.PROVIDER, discipline, **kwargs)


def make_client(
    lead: User,
    name: str | None = None,
    level: LevelOfCare = LevelOfCare.OUTPATIENT_WEEKLY,
) -> Client:
    return clients.create_client(
        actor=lead,
        full_name=name or f"Client {next(_seq)}",
        level_of_care=level,
        effective_date=date(2026, 1, 5),
    )


def add_member(
    client: Client, provider: User, lead: User, discipline: Discipline | None = None, **kw
) -> CareTeamMember:
    return clients.add_member(
        actor=lead,
        client=client,
        email=provider.email,
        discipline=discipline or Discipline(provider.discipline),
        **kw,
    )


def make_small_team() -> tuple[User, User, Client]:
    """A client whose team has a lead (therapist) and a member (psychiatrist)."""
    lead = make_provider(Discipline.THERAPIST)
    member = make_provider(Discipline.PSYCHIATRIST)
    record = make_client(lead)
    add_member(record, member, lead)
    return lead, member, record


def goal_fields(owner_id: int, **overrides) -> goals.GoalFields:
    """A goal's fields ("Regular meals", 1 -> 3 meals per day), with `overrides`."""
    values = {
        "title": "Regular meals",
        "measure": "Meals eaten",
        "unit": "meals per day",
        "baseline": Decimal(1),
        "target": Decimal(3),
        "direction": GoalDirection.UP,
        "target_date": date.today() + timedelta(days=30),
        "owner_id": owner_id,
    }
    values.update(overrides)
    return goals.GoalFields(**values)


def make_goal(actor: User, record: Client, **overrides) -> Goal:
    """A goal set by `actor` (its owner unless owner_id is given), through the service."""
    return goals.create_goal(
        actor=actor,
        client=record,
        fields=goal_fields(overrides.pop("owner_id", actor.id), **overrides),
    )


def goal_edit_form(goal: Goal, version: int, **overrides) -> dict:
    """The goal's edit form as the page fills it in, with `overrides` (None drops a field)."""
    data = {
        "title": goal.title,
        "description": goal.description,
        "measure": goal.measure,
        "unit": goal.unit,
        "baseline": format_number(goal.baseline),
        "target": format_number(goal.target),
        "direction": goal.direction,
        "target_date": goal.target_date.isoformat(),
        "owner_id": str(goal.owner_id),
        "status": goal.status,
        "achievement": goal.achievement,
        "version": str(version),
    }
    if goal.shared_with_client:
        data["shared_with_client"] = "y"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def make_token(user: User, scope: str = "write", days: int = 30, name: str = "test") -> str:
    """A personal access token for the user (through the real service); returns the secret."""
    from careteam.auth.tokens import create_token

    _token, secret = create_token(user=user, name=name, scope=scope, days=days)
    return secret


def bearer(secret: str) -> dict[str, str]:
    """The header that authenticates an API request with this token."""
    return {"Authorization": f"Bearer {secret}"}
