"""The clients resource: the records I may open (a client: their own), and one record with
its care team and level of care.

The same access policy and the same audit rows as the web pages: providers read the team's
view (Action.VIEW_RECORD), a client reads their own record as the portal shows it
(Action.VIEW_SHARED_RECORD, careteam/portal/shared_record.py); other records are "not found"
and the refusal is audited by load_client. Reads do not mark the record as visited: the
web timeline's unread markers and the dashboard's unread counts are about what the person
has seen on the page, and a script polling the API must not clear them. What a client sees
of their own record is less than the team sees: team members' contact details only where
the member shares them (as the portal's roster), and no reasons for level-of-care changes.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_login import current_user
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from careteam import audit
from careteam.access import Action, ClientAccess, contact_details, decide_global, load_client
from careteam.api.blueprint import bp
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem
from careteam.api.schemas import CURSOR_HELP, valid_cursor
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.clients.services import active_roster, dashboard_query, record_page, team_sizes
from careteam.enums import Discipline, LevelOfCare, MemberStatus
from careteam.extensions import db
from careteam.paging import Cursor, older_than, page_of
from careteam.portal import levels
from careteam.portal.services import roster
from careteam.record import services as record_services


def load_record(client_id: int) -> tuple[ClientAccess, bool]:
    """The client record through the policy, and whether the viewer is the client."""
    if current_user.is_client:
        return load_client(client_id, Action.VIEW_SHARED_RECORD), True
    return load_client(client_id, Action.VIEW_RECORD), False


def audit_read(action: str, object_type: str, object_id: int, client_id: int) -> None:
    """Record the read (after the response is built: the commit expires what it read)."""
    audit.record_view(
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        detail="api",
    )


class ClientsQuery(BaseModel):
    cursor: str = Field(default=None, max_length=200, description=CURSOR_HELP)
    limit: int = Field(default=50, ge=1, le=100, description="Clients per page.")

    _cursor = field_validator("cursor")(valid_cursor)


class ClientSummaryOut(BaseModel):
    """A client in a list: who, their level of care, their team's size, recent activity."""

    id: int
    name: str = Field(description="Full name, with the preferred name in brackets if any.")
    full_name: str
    preferred_name: str
    level_of_care: LevelOfCare
    level_of_care_label: str
    team_size: int = Field(description="Active care team members.")
    last_activity_at: datetime
    unread_count: int | None = Field(
        description="Entries by others since you last opened the timeline in the web app, "
        "counted up to 100 (100 means 100 or more; null for a client's own record)."
    )


class ClientPage(BaseModel):
    items: list[ClientSummaryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ContactOut(BaseModel):
    """How to reach a member; for a client, only what the member chose to share."""

    email: str | None = None
    phone: str | None = None
    practice: str | None = None


class MemberOut(BaseModel):
    id: int = Field(description="The membership's id.")
    provider_id: int
    display_name: str
    credentials: str
    discipline: Discipline
    is_lead: bool
    status: MemberStatus
    started_at: datetime
    ended_at: datetime | None = Field(description="When the membership ended, if it did.")
    contact: ContactOut


class LevelChangeOut(BaseModel):
    level: LevelOfCare
    level_label: str
    effective_date: date
    reason: str | None = Field(
        description="Why it changed (the care team only; null for a client)."
    )


class LevelOfCareStatus(BaseModel):
    current: LevelOfCare
    current_label: str
    explanation: str = Field(description="What the current level means, in plain words.")
    history: list[LevelChangeOut] = Field(description="Newest first.")


class ClientOut(BaseModel):
    """One client's record: the person, the care team and the level of care."""

    id: int
    name: str
    full_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: date | None
    last_activity_at: datetime
    has_portal_account: bool
    team: list[MemberOut] = Field(description="Active members (leads first), then past ones.")
    level_of_care: LevelOfCareStatus


def summary_out(client, *, team_size: int, unread: int | None) -> ClientSummaryOut:
    return ClientSummaryOut(
        id=client.id,
        name=client.display_name,
        full_name=client.full_name,
        preferred_name=client.preferred_name,
        level_of_care=client.level_of_care,
        level_of_care_label=client.level_of_care_label,
        team_size=team_size,
        last_activity_at=client.last_activity_at,
        unread_count=unread,
    )


def _contact(user: User) -> ContactOut:
    """What the caller may see of how to reach a member: the access policy's one rule."""
    details = contact_details(current_user, user)
    return ContactOut(email=details.email, phone=details.phone, practice=details.practice)


def _member(member) -> MemberOut:
    provider = member.provider
    return MemberOut(
        id=member.id,
        provider_id=provider.id,
        display_name=provider.display_name,
        credentials=provider.credentials,
        discipline=member.discipline,
        is_lead=member.is_lead,
        status=member.status,
        started_at=member.started_at,
        ended_at=member.ended_at,
        contact=_contact(provider),
    )


def client_out(client, *, team: list, for_client: bool) -> ClientOut:
    """A client loaded by clients.services.record_page; `team` is the members to list."""
    return ClientOut(
        id=client.id,
        name=client.display_name,
        full_name=client.full_name,
        preferred_name=client.preferred_name,
        pronouns=client.pronouns,
        date_of_birth=client.date_of_birth,
        last_activity_at=client.last_activity_at,
        has_portal_account=client.user_id is not None,
        team=[_member(m) for m in team],
        level_of_care=LevelOfCareStatus(
            current=client.level_of_care,
            current_label=client.level_of_care_label,
            explanation=levels.explain(client.level_of_care),
            history=[
                LevelChangeOut(
                    level=change.level,
                    level_label=change.level_label,
                    effective_date=change.effective_date,
                    reason=None if for_client else change.reason,
                )
                for change in client.level_changes
            ],
        ),
    )


@bp.get("/clients")
@operation(
    summary="The clients whose care team I am on (a client: my own record)",
    description="Most recently active first, in pages (keyset cursor). An administrator "
    "sees no clinical content and gets 403.",
    query=ClientsQuery,
    responses={200: ClientPage},
    tags=["Clients"],
)
def list_clients(query: ClientsQuery):
    action = Action.VIEW_PORTAL if current_user.is_client else Action.VIEW_DASHBOARD
    if not decide_global(current_user, action):
        raise ApiProblem(403, "Administrators see no clinical content, so no clients.")
    if current_user.is_client:
        return _own_client_page()
    return _provider_client_page(query)


def _own_client_page() -> ClientPage:
    clients = list(db.session.scalars(select(Client).where(Client.user_id == current_user.id)))
    sizes = team_sizes([c.id for c in clients])
    items = [summary_out(c, team_size=sizes.get(c.id, 0), unread=None) for c in clients]
    return ClientPage(items=items, next_cursor=None)


def _provider_client_page(query: ClientsQuery) -> ClientPage:
    stmt = dashboard_query(current_user).limit(query.limit + 1)
    cursor = Cursor.decode(query.cursor)
    if cursor is not None:
        stmt = older_than(stmt, Client.last_activity_at, Client.id, cursor)
    page = page_of(
        list(db.session.scalars(stmt).unique()), query.limit, at=lambda c: c.last_activity_at
    )
    clients, next_cursor = page.items, page.next_cursor
    ids = [c.id for c in clients]
    sizes = team_sizes(ids)
    unread = record_services.unread_counts(current_user, ids)
    items = [
        summary_out(c, team_size=sizes.get(c.id, 0), unread=unread.get(c.id, 0)) for c in clients
    ]
    return ClientPage(items=items, next_cursor=next_cursor)


@bp.get("/clients/<int:client_id>")
@operation(
    summary="One client with their care team and level of care",
    description="For the care team: every member with contact details, past members, and "
    "the level-of-care history with reasons. For the client: the members they can reach, "
    "only the contact details each member shares, and no reasons.",
    responses={200: ClientOut},
    tags=["Clients"],
)
def get_client(client_id: int):
    access, shared = load_record(client_id)
    client = record_page(access.client)
    if shared:
        past = [m for m in client.members if m.status == MemberStatus.ENDED and m.provider.active]
        team = roster(client) + past
    else:
        team = active_roster(client) + [m for m in client.members if not m.is_active]
    out = client_out(client, team=team, for_client=shared)
    audit_read("view_roster" if shared else "view_team", "client", client_id, client_id)
    return out
