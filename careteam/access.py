"""The access policy: the one place that decides who may do what to which client.

Deny by default. A provider who is not an active member of a client's team, a client
who is not that client and an admin (who sees no clinical content) all get "not found"
for the record, so that its existence is not disclosed. A member who lacks a right the
team lead has gets "forbidden": they already know the client exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING

from flask import abort, g, request
from flask_login import current_user, login_required
from sqlalchemy import BindParameter, ColumnElement, Select, or_, select
from sqlalchemy.orm import joinedload

from careteam import audit
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.emergency.grants import LiveGrant, live_grant
from careteam.enums import (
    PRESCRIBER_DISCIPLINES,
    AuditOutcome,
    Discipline,
    EntryKind,
    MemberStatus,
    Role,
    Visibility,
)
from careteam.extensions import db, joins_as_written
from careteam.record.models import Entry, entries_of_every_kind
from careteam.timefmt import zone_of

if TYPE_CHECKING:
    from collections.abc import Callable, Collection


class Action(StrEnum):
    # Actions that concern no particular client.
    VIEW_DASHBOARD = "view_dashboard"
    CREATE_CLIENT = "create_client"
    VIEW_PORTAL = "view_portal"
    EDIT_PROFILE = "edit_profile"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an action name, not a secret  # nosec B105
    MANAGE_TWO_FACTOR = "manage_two_factor"
    MANAGE_API_TOKENS = "manage_api_tokens"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    VIEW_SYSTEM_HEALTH = "view_system_health"
    EMERGENCY_ACCESS = "emergency_access"  # ask for a break-glass grant (then read only)
    # Find a client for emergency access by id rather than by full name and birth date.
    EMERGENCY_SEARCH_BY_ID = "emergency_search_by_id"
    # Actions on one client's record.
    VIEW_RECORD = "view_record"
    VIEW_ROSTER = "view_roster"
    MANAGE_TEAM = "manage_team"
    CHANGE_LEVEL_OF_CARE = "change_level_of_care"
    MANAGE_PORTAL_ACCESS = "manage_portal_access"
    # Correct who the client is (name, preferred name, pronouns, date of birth).
    CORRECT_CLIENT_DETAILS = "correct_client_details"
    POST_NOTE = "post_note"
    POST_GOAL = "post_goal"
    POST_MEDICATION = "post_medication"
    POST_NUTRITION = "post_nutrition"
    # Whether a client's new weights are blind by default: a dietitian or the lead.
    SET_WEIGHT_DEFAULT = "set_weight_default"
    ASSIGN_PRACTICE = "assign_practice"
    EXPORT_RECORD = "export_record"  # the team's FHIR copy; never under an emergency grant
    # The client's own view of their record (portal).
    VIEW_SHARED_RECORD = "view_shared_record"
    VIEW_ACCESS_LOG = "view_access_log"
    LOG_PRACTICE = "log_practice"


GLOBAL_RIGHTS: dict[Action, frozenset[str]] = {
    Action.VIEW_DASHBOARD: frozenset({Role.PROVIDER}),
    Action.CREATE_CLIENT: frozenset({Role.PROVIDER}),
    Action.VIEW_PORTAL: frozenset({Role.CLIENT}),
    Action.EDIT_PROFILE: frozenset({Role.PROVIDER, Role.CLIENT, Role.ADMIN}),
    Action.CHANGE_PASSWORD: frozenset({Role.PROVIDER, Role.CLIENT, Role.ADMIN}),
    Action.MANAGE_TWO_FACTOR: frozenset({Role.PROVIDER, Role.CLIENT, Role.ADMIN}),
    Action.MANAGE_API_TOKENS: frozenset({Role.PROVIDER, Role.CLIENT, Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.READ_AUDIT: frozenset({Role.ADMIN}),
    Action.VIEW_SYSTEM_HEALTH: frozenset({Role.ADMIN}),
    Action.EMERGENCY_ACCESS: frozenset({Role.PROVIDER, Role.ADMIN}),
    # Administrators are few and every search is audited; a provider proves they already
    # know who the client is (full name and date of birth) with each look-up.
    Action.EMERGENCY_SEARCH_BY_ID: frozenset({Role.ADMIN}),
}

MEMBER_ACTIONS = frozenset(
    {
        Action.VIEW_RECORD,
        Action.VIEW_ROSTER,
        Action.POST_NOTE,
        Action.POST_GOAL,
        Action.ASSIGN_PRACTICE,
        Action.EXPORT_RECORD,
    }
)
# Administrators correct accounts, not records: a client's details are the team lead's to
# correct (an admin sees no record outside emergency access, which is read-only).
LEAD_ACTIONS = frozenset(
    {
        Action.MANAGE_TEAM,
        Action.CHANGE_LEVEL_OF_CARE,
        Action.MANAGE_PORTAL_ACCESS,
        Action.CORRECT_CLIENT_DETAILS,
    }
)
# What a client may do to their own record: never the team's view of it.
CLIENT_SELF_ACTIONS = frozenset(
    {Action.VIEW_ROSTER, Action.VIEW_SHARED_RECORD, Action.VIEW_ACCESS_LOG, Action.LOG_PRACTICE}
)
# What a live emergency ("break-glass") grant allows a non-member: reading, never writing.
EMERGENCY_ACTIONS = frozenset({Action.VIEW_RECORD, Action.VIEW_ROSTER})
# Which action posts (and so amends) each kind of entry; kinds not listed cannot be amended.
POST_ACTION: dict[EntryKind, Action] = {
    EntryKind.NOTE: Action.POST_NOTE,
    EntryKind.GOAL_PROGRESS: Action.POST_GOAL,
    EntryKind.MEDICATION: Action.POST_MEDICATION,
    EntryKind.NUTRITION: Action.POST_NUTRITION,
    EntryKind.PRACTICE: Action.ASSIGN_PRACTICE,
}
# Under a grant, a request that could change something is refused whatever action the view
# asks for (acknowledging a medication change is a POST that needs only VIEW_RECORD).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Decision:
    """The policy's answer; status is the HTTP status a refusal maps to."""

    allowed: bool
    status: int = 200
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _not_found(reason: str) -> Decision:
    return Decision(False, 404, reason)


def _forbidden(reason: str) -> Decision:
    return Decision(False, 403, reason)


def decide_global(user: User | None, action: Action) -> Decision:
    """May this user do an action that concerns no particular client?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return _forbidden("not logged in")
    allowed_roles = GLOBAL_RIGHTS.get(action)
    if allowed_roles is None:
        return _forbidden("not a global action")
    if user.role in allowed_roles:
        return ALLOW
    return _forbidden(f"role {user.role}")


def decide(
    user: User | None,
    action: Action,
    client: Client,
    membership: CareTeamMember | None,
    emergency: LiveGrant | None = None,
) -> Decision:
    """May this user do an action to this client's record?

    `membership` is the user's own membership of the client's team (any status), or
    None; `membership_of` loads it. `emergency` is the user's live emergency grant for
    this client, or None; `load_client` loads it (only for a provider who is not an
    active member, or an admin) and passes only one that has not expired or ended.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return _not_found("not logged in")
    if user.role == Role.CLIENT:
        if client.user_id == user.id and action in CLIENT_SELF_ACTIONS:
            return ALLOW
        return _not_found("not the client's own record")
    is_member = (
        user.role == Role.PROVIDER
        and membership is not None
        and membership.status == MemberStatus.ACTIVE
    )
    if not is_member and _grant_covers(emergency, user, client):
        if action in EMERGENCY_ACTIONS:
            return ALLOW
        return _forbidden("emergency access is read-only")
    if user.role != Role.PROVIDER:
        return _not_found(f"role {user.role} sees no clinical record")
    if not is_member:
        return _not_found("not an active team member")
    if action in MEMBER_ACTIONS:
        return ALLOW
    if action in LEAD_ACTIONS:
        return ALLOW if membership.is_lead else _forbidden("team lead only")
    if action == Action.POST_MEDICATION:
        if Discipline(membership.discipline) in PRESCRIBER_DISCIPLINES:
            return ALLOW
        return _forbidden("prescribers only")
    if action == Action.POST_NUTRITION:
        if membership.discipline == Discipline.DIETITIAN:
            return ALLOW
        return _forbidden("dietitians only")
    if action == Action.SET_WEIGHT_DEFAULT:
        if membership.is_lead or membership.discipline == Discipline.DIETITIAN:
            return ALLOW
        return _forbidden("dietitians and the team lead only")
    return _forbidden("not a record action")


def _grant_covers(emergency: LiveGrant | None, user: User, client: Client) -> bool:
    return (
        emergency is not None
        and user.role in GLOBAL_RIGHTS[Action.EMERGENCY_ACCESS]
        and emergency.user_id == user.id
        and emergency.client_id == client.id
        and emergency.ended_at is None
    )


def _may_hold_grant(user: User) -> bool:
    """Only then is the one indexed look-up for a live emergency grant worth making."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in GLOBAL_RIGHTS[Action.EMERGENCY_ACCESS]
    )


def membership_of(user: User, client_id: int) -> CareTeamMember | None:
    """The user's membership row on a client's team, whatever its status."""
    if not user.is_authenticated or user.role != Role.PROVIDER:
        return None
    return db.session.scalar(
        select(CareTeamMember).where(
            CareTeamMember.client_id == client_id, CareTeamMember.provider_id == user.id
        )
    )


def is_active_member(user_id: int, client_id: int) -> bool:
    """Is this provider an active member of the client's team now? One indexed query."""
    return (
        db.session.scalar(
            select(CareTeamMember.id).where(
                CareTeamMember.client_id == client_id,
                CareTeamMember.provider_id == user_id,
                CareTeamMember.status == MemberStatus.ACTIVE,
            )
        )
        is not None
    )


def active_members(client_id: int) -> list[CareTeamMember]:
    """The client's active team, with each provider loaded: who may open the record now."""
    return list(
        db.session.scalars(
            select(CareTeamMember)
            .where(
                CareTeamMember.client_id == client_id,
                CareTeamMember.status == MemberStatus.ACTIVE,
            )
            .options(joinedload(CareTeamMember.provider))
        )
    )


def visible_client_ids(user: User) -> Select:
    """A subquery of the ids of clients whose record the user may open."""
    if user.role == Role.PROVIDER and user.is_active:
        return select(CareTeamMember.client_id).where(
            CareTeamMember.provider_id == user.id,
            CareTeamMember.status == MemberStatus.ACTIVE,
        )
    if user.role == Role.CLIENT and user.is_active:
        return select(Client.id).where(Client.user_id == user.id)
    return select(Client.id).where(Client.id.is_(None))


@dataclass(frozen=True)
class ClientAccess:
    """A client record the current user was allowed to reach, with their membership.

    `emergency` is the live break-glass grant the access rests on, if any.
    """

    client: Client
    membership: CareTeamMember | None
    emergency: LiveGrant | None = None


def load_client(client_id: int, action: Action) -> ClientAccess:
    """Look up a client for the current user, check the policy, audit a refusal, or abort.

    Every view that touches a client's record comes through here.
    """
    client = db.session.get(Client, client_id)
    if client is None:
        abort(404)
    user = current_user._get_current_object()
    membership = membership_of(user, client_id)
    emergency = None
    if _may_hold_grant(user) and (membership is None or membership.status != MemberStatus.ACTIVE):
        emergency = live_grant(user_id=user.id, client_id=client_id)
    decision = decide(user, action, client, membership, emergency)
    if decision and emergency is not None and request.method not in READ_METHODS:
        decision = _forbidden("emergency access is read-only")
    if not decision:
        audit.record(
            str(action),
            object_type="client",
            object_id=client.id,
            client_id=client.id,
            outcome=AuditOutcome.DENIED,
            detail=decision.reason,
        )
        db.session.commit()
        abort(decision.status)
    if emergency is not None:
        # Record pages show the banner; audit rows of this request are marked "emergency".
        # Its time is formatted now, while the user is loaded (a commit expires it).
        g.emergency_access = emergency
        g.emergency_until = emergency.expires_at.astimezone(zone_of(user)).strftime("%H:%M")
    return ClientAccess(client=client, membership=membership, emergency=emergency)


def entry_visible_to(
    viewer: User | BindParameter[int], entity: type[Entry] = Entry
) -> ColumnElement[bool]:
    """The condition an entry must meet for a team member to see it: private is the author's.

    `viewer` may be a bound parameter of the viewer's id, for a statement built once and
    run for each viewer (record.services.timeline).
    """
    viewer_id = viewer if isinstance(viewer, BindParameter) else viewer.id
    return or_(entity.visibility != Visibility.PRIVATE, entity.author_id == viewer_id)


@dataclass(frozen=True)
class EntryAccess:
    """An entry the current user was allowed to reach, with the client access it rests on.

    `refusal` is set only when the entry was loaded to be amended and this user may not
    amend it: 403 (not the author), 409 (not the newest version) or 422 (a kind that is
    never amended). The page still shows the entry with the refusal, as a form error.
    """

    access: ClientAccess
    entry: Entry
    refusal: Decision | None = None

    @property
    def client(self) -> Client:
        return self.access.client


def load_entry(
    client_id: int,
    entry_id: int,
    *,
    kinds: Collection[EntryKind] | None = None,
    amend: bool = False,
) -> EntryAccess:
    """Look up an entry of a client's record for the current user, or abort.

    The client comes through `load_client`: to view it, or, with `amend`, with the right
    to post the entry's kind (prescribers for medication changes...). The entry must be
    one of `kinds` (any kind when None) and visible to the user (a private entry is its
    author's), else 404. With `amend`, "only the author amends, and only the newest
    version" is decided here, and a refusal to a non-author is audited (and committed).
    """
    actions = {POST_ACTION.get(kind, Action.VIEW_RECORD) for kind in kinds or ()}
    first = actions.pop() if amend and len(actions) == 1 else Action.VIEW_RECORD
    access = load_client(client_id, first)
    user = current_user._get_current_object()
    entry = visible_entry(access.client.id, entry_id, user, kinds)
    if entry is None:
        abort(404)
    if not amend:
        return EntryAccess(access, entry)
    kind = EntryKind(entry.kind)
    if kind not in POST_ACTION:
        return EntryAccess(access, entry, Decision(False, 422, f"a {kind.value} is never amended"))
    if POST_ACTION[kind] != first:
        access = load_client(client_id, POST_ACTION[kind])
    if entry.author_id != user.id:
        audit.record(
            "amend_entry",
            object_type="entry",
            object_id=entry.id,
            client_id=client_id,
            outcome=AuditOutcome.DENIED,
            detail="not the author",
        )
        db.session.commit()
        return EntryAccess(access, entry, _forbidden("not the author"))
    if not entry.is_current:
        return EntryAccess(access, entry, Decision(False, 409, "not the newest version"))
    return EntryAccess(access, entry)


def visible_entry(
    client_id: int, entry_id: int, viewer: User, kinds: Collection[EntryKind] | None
) -> Entry | None:
    """The entry of this client that the viewer may see (one of `kinds`), else None.

    One query: the entry as its own kind (one kind asked: that class only).
    """
    if kinds is not None and len(kinds) == 1:
        (kind,) = kinds
        entity = Entry.__mapper__.polymorphic_map[str(kind)].class_
    else:
        entity = entries_of_every_kind()
    stmt = (
        select(entity)
        .where(entity.id == entry_id, entity.client_id == client_id)
        .where(entry_visible_to(viewer, entity))
        .options(joinedload(entity.author))
    )
    if isinstance(entity, type):  # one kind: two tables
        entry = db.session.scalar(stmt)
    else:
        with joins_as_written():  # every kind's table
            entry = db.session.scalar(stmt)
    if entry is None or (kinds is not None and entry.kind not in {str(k) for k in kinds}):
        return None
    return entry


def require(action: Action) -> Callable:
    """Decorate a view that needs a login and a global right (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            decision = decide_global(current_user, action)
            if not decision:
                abort(decision.status)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can(action: Action, access: ClientAccess) -> bool:
    """For templates: may the current user do this to the client already loaded?"""
    return bool(decide(current_user, action, access.client, access.membership, access.emergency))


@dataclass(frozen=True)
class ContactDetails:
    """What one viewer may see of how to reach a provider; None where nothing is shown."""

    email: str | None = None
    phone: str | None = None
    practice: str | None = None

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.practice)


def contact_details(viewer: User, provider: User) -> ContactDetails:
    """The one rule for a provider's contact details, for the Team page, the portal, the
    API (and the client's copy of their record).

    Colleagues (providers, and an administrator under emergency access) see every detail
    the provider recorded: the profile page promises that the team always can reach them.
    A client, or anyone else, sees only what the provider chose to share with clients.
    Callers show it only about members of a team the viewer was let into (load_client).
    """
    if viewer.is_authenticated and viewer.role in (Role.PROVIDER, Role.ADMIN):
        return ContactDetails(
            email=provider.email,
            phone=provider.phone or None,
            practice=provider.practice_name or None,
        )
    return ContactDetails(
        email=provider.email if provider.share_email else None,
        phone=provider.phone if provider.share_phone and provider.phone else None,
        practice=provider.practice_name
        if provider.share_practice and provider.practice_name
        else None,
    )
