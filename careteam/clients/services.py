"""Use cases of a client's record: create it, run its team, change its level of care."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from careteam import access, audit
from careteam.auth.models import User
from careteam.auth.services import normalize_email
from careteam.clients import rules
from careteam.clients.models import CareTeamChange, CareTeamMember, Client, LevelOfCareChange
from careteam.enums import Discipline, LevelOfCare, MemberStatus, Role, TeamChange
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.record import services as record_services
from careteam.timefmt import local_today


class RecordError(UserFacingError):
    """A use case on a record refused its input."""


def _team_change(
    client: Client, member: CareTeamMember, change: TeamChange, actor: User
) -> CareTeamChange:
    """Record a team change in its history and on the timeline."""
    row = CareTeamChange(
        client_id=client.id, member_id=member.id, change=change, actor_id=actor.id
    )
    db.session.add(row)
    db.session.flush()
    record_services.record_team_change(row, actor=actor)
    return row


def _level_change(
    client: Client, actor: User, *, alert: bool = True, **values
) -> LevelOfCareChange:
    """Record a level of care in its history and on the timeline."""
    row = LevelOfCareChange(client_id=client.id, changed_by_id=actor.id, **values)
    db.session.add(row)
    db.session.flush()
    record_services.record_level_change(row, actor=actor, alert=alert)
    return row


def _commit_change(
    *,
    actor: User,
    client: Client,
    action: str,
    object_type: str,
    object_id: int | None,
    detail: str = "",
) -> None:
    """Finish a change to a record: mark its activity, audit it, commit both at once."""
    client.last_activity_at = utcnow()
    audit.record(
        action,
        object_type=object_type,
        object_id=object_id,
        client_id=client.id,
        detail=detail,
        actor=actor,
    )
    db.session.commit()


def create_client(
    *,
    actor: User,
    full_name: str,
    level_of_care: LevelOfCare,
    preferred_name: str = "",
    pronouns: str = "",
    date_of_birth: date | None = None,
    effective_date: date | None = None,
) -> Client:
    """Create a client with the acting provider as the team's first lead."""
    if not actor.is_provider:
        raise RecordError("Only providers create clients.")
    level = LevelOfCare(level_of_care)
    client = Client(
        full_name=full_name.strip(),
        preferred_name=preferred_name.strip(),
        pronouns=pronouns.strip(),
        date_of_birth=date_of_birth,
        level_of_care=level,
        created_by_id=actor.id,
    )
    db.session.add(client)
    db.session.flush()
    member = CareTeamMember(
        client_id=client.id,
        provider_id=actor.id,
        discipline=actor.discipline,
        is_lead=True,
        status=MemberStatus.ACTIVE,
        added_by_id=actor.id,
    )
    db.session.add(member)
    db.session.flush()
    _team_change(client, member, TeamChange.ADDED, actor)
    _level_change(
        client,
        actor,
        alert=False,
        level=level,
        effective_date=effective_date or date.today(),
        reason="Initial level of care",
    )
    audit.record(
        "create_client",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        actor=actor,
    )
    db.session.commit()
    return client


def add_member(
    *,
    actor: User,
    client: Client,
    email: str,
    discipline: Discipline,
    is_lead: bool = False,
) -> CareTeamMember:
    """Put an existing, active provider account on the client's team (or back on it)."""
    provider = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if provider is None or not provider.active or provider.role != Role.PROVIDER:
        raise RecordError("No active provider account uses this email address.", "email")
    member = db.session.scalar(
        select(CareTeamMember).where(
            CareTeamMember.client_id == client.id, CareTeamMember.provider_id == provider.id
        )
    )
    if member is not None and member.status == MemberStatus.ACTIVE:
        raise RecordError(f"{provider.display_name} is already on this team.", "email")
    if member is None:
        member = CareTeamMember(client_id=client.id, provider_id=provider.id)
        db.session.add(member)
        change = TeamChange.ADDED
    else:
        change = TeamChange.REJOINED
    member.discipline = Discipline(discipline)
    member.is_lead = is_lead
    member.status = MemberStatus.ACTIVE
    member.started_at = utcnow()
    member.ended_at = None
    member.added_by_id = actor.id
    db.session.flush()
    _team_change(client, member, change, actor)
    _commit_change(
        actor=actor,
        client=client,
        action="add_team_member",
        object_type="care_team_member",
        object_id=member.id,
        detail=f"{change}; lead={is_lead}",
    )
    return member


def active_member(*, client: Client, member_id: int) -> CareTeamMember:
    """An active member of this client's team (what a confirmation page names); LookupError
    for anyone else."""
    return _active_member(client, member_id)


def _active_member(client: Client, member_id: int) -> CareTeamMember:
    member = db.session.get(CareTeamMember, member_id)
    if member is None or member.client_id != client.id or member.status != MemberStatus.ACTIVE:
        raise LookupError(member_id)
    return member


def _active_lead_count(client_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CareTeamMember)
        .where(
            CareTeamMember.client_id == client_id,
            CareTeamMember.status == MemberStatus.ACTIVE,
            CareTeamMember.is_lead.is_(True),
        )
    )


def end_member(*, actor: User, client: Client, member_id: int) -> CareTeamMember:
    """End a membership; the provider loses access at once and what they wrote stays.

    Raises LookupError when the member is not an active member of this client's team.
    """
    member = _active_member(client, member_id)
    if member.is_lead and _active_lead_count(client.id) <= 1:
        raise RecordError(
            "A team needs at least one active lead. Make another member a lead first."
        )
    member.status = MemberStatus.ENDED
    member.ended_at = utcnow()
    _team_change(client, member, TeamChange.ENDED, actor)
    _commit_change(
        actor=actor,
        client=client,
        action="end_team_member",
        object_type="care_team_member",
        object_id=member.id,
    )
    return member


def make_lead(*, actor: User, client: Client, member_id: int) -> CareTeamMember:
    """Give an active member the team lead's rights."""
    member = _active_member(client, member_id)
    if member.is_lead:
        raise RecordError(f"{member.provider.display_name} is already a team lead.")
    member.is_lead = True
    _commit_change(
        actor=actor,
        client=client,
        action="make_team_lead",
        object_type="care_team_member",
        object_id=member.id,
    )
    return member


def change_level_of_care(
    *, actor: User, client: Client, level: LevelOfCare, effective_date: date, reason: str
) -> LevelOfCareChange:
    """Record a new level of care; the current level is the one with the latest date."""
    level = LevelOfCare(level)
    if not reason.strip():
        raise RecordError("Give a reason for the change.", "reason")
    if effective_date > date.today():
        raise RecordError("Record a change once it takes effect.", "effective_date")
    latest = db.session.scalar(
        select(LevelOfCareChange)
        .where(LevelOfCareChange.client_id == client.id)
        .order_by(LevelOfCareChange.effective_date.desc(), LevelOfCareChange.id.desc())
        .limit(1)
    )
    if latest is not None and latest.level == level and effective_date >= latest.effective_date:
        raise RecordError(f"The level of care is already {level.label}.", "level")
    change = _level_change(
        client, actor, level=level, effective_date=effective_date, reason=reason.strip()
    )
    if latest is None or effective_date >= latest.effective_date:
        client.level_of_care = level
    _commit_change(
        actor=actor,
        client=client,
        action="change_level_of_care",
        object_type="level_of_care_change",
        object_id=change.id,
    )
    return change


# What the audit row keeps of each value: the detail column holds 255 characters.
_AUDIT_VALUE = 50


def _audit_value(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _AUDIT_VALUE else text[: _AUDIT_VALUE - 1] + "…"


def correct_details(
    *,
    actor: User,
    client: Client,
    full_name: str,
    preferred_name: str = "",
    pronouns: str = "",
    date_of_birth: date | None = None,
) -> list[str]:
    """Correct who the client is; returns the names of the fields that changed.

    Audited ("correct_client_details", one row per changed field) with the value before and
    after in the row's detail (never in the application log); nothing is written when
    nothing changed. The record's last activity does not move: nothing clinical happened.
    """
    full_name = full_name.strip()
    if not full_name:
        raise RecordError("Enter the client's full name.", "full_name")
    problem = rules.birth_date_problem(date_of_birth, local_today())
    if problem:
        raise RecordError(problem, "date_of_birth")
    new = {
        "full_name": full_name,
        "preferred_name": preferred_name.strip(),
        "pronouns": pronouns.strip(),
        "date_of_birth": date_of_birth,
    }
    changed = {name: value for name, value in new.items() if getattr(client, name) != value}
    if not changed:
        return []
    for name, value in changed.items():
        # One row per field, so that each keeps its values whole (up to _AUDIT_VALUE).
        before, after = _audit_value(getattr(client, name)), _audit_value(value)
        audit.record(
            "correct_client_details",
            object_type="client",
            object_id=client.id,
            client_id=client.id,
            detail=f"{name}: {before!r} -> {after!r}",
            actor=actor,
        )
        setattr(client, name, value)
    db.session.commit()
    return list(changed)


def link_portal_account(*, actor: User, client: Client, email: str) -> User:
    """Let a client account see this record in the portal."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.active or user.role != Role.CLIENT:
        raise RecordError("No active client account uses this email address.", "email")
    other = db.session.scalar(select(Client.id).where(Client.user_id == user.id))
    if other is not None and other != client.id:
        raise RecordError("This account is already linked to another record.", "email")
    if client.user_id is not None and client.user_id != user.id:
        raise RecordError("This record already has a portal account.", "email")
    client.user_id = user.id
    _commit_change(
        actor=actor,
        client=client,
        action="link_portal_account",
        object_type="user",
        object_id=user.id,
    )
    return user


def dashboard_query(user: User, search: str = "") -> Select:
    """My active clients, most recently active first, optionally narrowed by name."""
    stmt = (
        select(Client)
        .where(Client.id.in_(access.visible_client_ids(user)))
        .order_by(Client.last_activity_at.desc(), Client.id.desc())
    )
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        stmt = stmt.where(
            func.lower(Client.full_name).like(pattern)
            | func.lower(Client.preferred_name).like(pattern)
        )
    return stmt


def team_sizes(client_ids: list[int]) -> dict[int, int]:
    """Active member counts for a page of clients, in one query."""
    if not client_ids:
        return {}
    rows = db.session.execute(
        select(CareTeamMember.client_id, func.count())
        .where(
            CareTeamMember.client_id.in_(client_ids),
            CareTeamMember.status == MemberStatus.ACTIVE,
        )
        .group_by(CareTeamMember.client_id)
    )
    return {client_id: count for client_id, count in rows}


def record_page(client: Client) -> Client:
    """The client with the roster and level history a record page shows, eagerly loaded."""
    return db.session.scalar(
        select(Client)
        .where(Client.id == client.id)
        .options(
            selectinload(Client.members).selectinload(CareTeamMember.provider),
            selectinload(Client.level_changes).selectinload(LevelOfCareChange.changed_by),
        )
        .execution_options(populate_existing=True)
    )


def active_roster(client: Client) -> list[CareTeamMember]:
    """Active members, leads first, then by the date they joined."""
    members = [m for m in client.members if m.status == MemberStatus.ACTIVE]
    return sorted(members, key=lambda m: (not m.is_lead, m.started_at))


def open_team(*, client_id: int, with_emergency_accesses: bool) -> Client:
    """Open the team page: audited as a view (and, for a lead, a read of the emergency
    accesses), then the client with roster and level history loaded fresh."""
    audit.record("view_team", object_type="client", object_id=client_id, client_id=client_id)
    if with_emergency_accesses:  # leads read who opened the record in an emergency, and why
        audit.record(
            "view_emergency_accesses",
            object_type="client",
            object_id=client_id,
            client_id=client_id,
        )
    db.session.commit()
    return record_page(db.session.get(Client, client_id))
