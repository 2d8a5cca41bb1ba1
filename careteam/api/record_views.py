"""Reading the care record through the API: my clients, one client, the timeline, entries,
goals and medications.

The same access policy and the same audit rows as the web pages: providers read the team's
view (Action.VIEW_RECORD), a client reads their own record as the portal shows it
(Action.VIEW_SHARED_RECORD, careteam/portal/shared_record.py); other records are "not found"
and the refusal is audited by load_client. Reads do not mark the record as visited: the
web timeline's unread markers and the dashboard's unread counts are about what the person
has seen on the page, and a script polling the API must not clear them.
"""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import and_, or_, select

from careteam import audit
from careteam.access import Action, ClientAccess, decide_global, load_client
from careteam.api.client_serializers import (
    ClientOut,
    ClientPage,
    MedicationListOut,
    client_out,
    summary_out,
)
from careteam.api.goal_serializers import GoalDetailOut, GoalList, goal_out
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem
from careteam.api.record_queries import ClientsQuery, TimelineQuery
from careteam.api.serializers import EntryDetail, EntryPage, entries_out, entry_out
from careteam.api.views import bp
from careteam.clients.models import Client
from careteam.clients.services import active_roster, dashboard_query, record_page, team_sizes
from careteam.enums import AuditOutcome, MemberStatus, Visibility
from careteam.extensions import db
from careteam.portal import shared_record
from careteam.portal.services import roster
from careteam.record import services as record_services
from careteam.record.services import Cursor

RECENT_CHECKINS = 50


def _load(client_id: int) -> tuple[ClientAccess, bool]:
    """The client record through the policy, and whether the viewer is the client."""
    if current_user.is_client:
        return load_client(client_id, Action.VIEW_SHARED_RECORD), True
    return load_client(client_id, Action.VIEW_RECORD), False


def _audit(action: str, object_type: str, object_id: int, client_id: int) -> None:
    """Record the read (after the response is built: the commit expires what it read)."""
    audit.record(
        action, object_type=object_type, object_id=object_id, client_id=client_id, detail="api"
    )
    db.session.commit()


# My clients


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
        stmt = stmt.where(
            or_(
                Client.last_activity_at < cursor.created_at,
                and_(Client.last_activity_at == cursor.created_at, Client.id < cursor.id),
            )
        )
    clients = list(db.session.scalars(stmt).unique())
    next_cursor = None
    if len(clients) > query.limit:
        clients = clients[: query.limit]
        next_cursor = Cursor(clients[-1].last_activity_at, clients[-1].id).encode()
    ids = [c.id for c in clients]
    sizes = team_sizes(ids)
    unread = record_services.unread_counts(current_user, ids)
    items = [
        summary_out(c, team_size=sizes.get(c.id, 0), unread=unread.get(c.id, 0)) for c in clients
    ]
    return ClientPage(items=items, next_cursor=next_cursor)


# One client


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
    access, shared = _load(client_id)
    client = record_page(access.client)
    if shared:
        past = [m for m in client.members if m.status == MemberStatus.ENDED and m.provider.active]
        team = roster(client) + past
    else:
        team = active_roster(client) + [m for m in client.members if not m.is_active]
    out = client_out(client, team=team, for_client=shared)
    _audit("view_roster" if shared else "view_team", "client", client_id, client_id)
    return out


# The timeline and its entries


@bp.get("/clients/<int:client_id>/timeline")
@operation(
    summary="The client's timeline, newest first, in pages",
    description="The current version of each entry. Filter by `kind` (repeatable), `author` "
    "and a time window (`since` inclusive, `until` exclusive); page with `cursor`. A team "
    "member sees team and client entries and their own private notes. A client sees only "
    "what their portal shows: notes shared with them, their shared goals and check-ins, "
    "practice assignments, level-of-care and care-team changes; never private or team "
    "notes, medication changes or nutrition updates.",
    query=TimelineQuery,
    responses={200: EntryPage},
    tags=["Record"],
)
def timeline(client_id: int, query: TimelineQuery):
    access, shared = _load(client_id)
    filters = {
        "kinds": [str(k) for k in query.kind],
        "author_id": query.author,
        "since": query.since,
        "until": query.until,
        "cursor": Cursor.decode(query.cursor),
        "limit": query.limit,
    }
    if shared:
        page = shared_record.shared_timeline(access.client, **filters)
        items = entries_out(page.entries, viewer=current_user)
    else:
        page = record_services.timeline(current_user, access.client, **filters)
        team = record_services.active_members(access.client)
        items = entries_out(page.entries, viewer=current_user, team=team)
    out = EntryPage(items=items, next_cursor=page.next_cursor)
    _audit("view_shared_record" if shared else "view_record", "client", client_id, client_id)
    return out


def _visible_versions(found):
    """Every version of a team member's entry that they may see (private: the author's)."""
    return [
        version
        for version in record_services.history(found)
        if version.visibility != Visibility.PRIVATE or version.author_id == current_user.id
    ]


@bp.get("/clients/<int:client_id>/entries/<int:entry_id>")
@operation(
    summary="One entry with its version history",
    description="Any version of an entry the viewer may see, and every version of it they "
    "may see, oldest first. A client sees only the current version of an entry shared "
    "with them (its history is that version alone), as in the portal.",
    responses={200: EntryDetail},
    tags=["Record"],
)
def get_entry(client_id: int, entry_id: int):
    access, shared = _load(client_id)
    try:
        if shared:
            found = shared_record.shared_entry(access.client, entry_id)
        else:
            found = record_services.get_entry(access.client, entry_id, current_user)
    except LookupError:
        raise ApiProblem(404, "No such entry in this record.") from None
    if shared:
        versions, team = [found], None
    else:
        versions, team = _visible_versions(found), record_services.active_members(access.client)
    out = EntryDetail(
        entry=entry_out(found, viewer=current_user, team=team),
        history=entries_out(versions, viewer=current_user, team=team),
    )
    _audit("view_entry", "entry", found.id, client_id)
    return out


# Goals and medications


def _goals_query(client, shared: bool):
    from careteam.goals.models import Goal
    from careteam.goals.services import goals_query

    stmt = goals_query(client)
    return stmt.where(Goal.shared_with_client.is_(True)) if shared else stmt


@bp.get("/clients/<int:client_id>/goals")
@operation(
    summary="The client's goals (a client: those shared with them)",
    responses={200: GoalList},
    tags=["Record"],
)
def list_goals(client_id: int):
    access, shared = _load(client_id)
    goals = db.session.scalars(_goals_query(access.client, shared)).unique()
    out = GoalList(items=[goal_out(g) for g in goals])
    _audit("view_shared_record" if shared else "view_goals", "client", client_id, client_id)
    return out


@bp.get("/clients/<int:client_id>/goals/<int:goal_id>")
@operation(
    summary="One goal with its version (for changes) and recent check-ins",
    responses={200: GoalDetailOut},
    tags=["Record"],
)
def get_goal(client_id: int, goal_id: int):
    from careteam.goals.services import get_goal as find_goal
    from careteam.portal.services import get_shared_goal

    access, shared = _load(client_id)
    try:
        goal = (get_shared_goal if shared else find_goal)(access.client, goal_id)
    except LookupError:
        raise ApiProblem(404, "No such goal in this record.") from None
    out = goal_out(goal, checkins=RECENT_CHECKINS)
    _audit("view_shared_goal" if shared else "view_goal", "goal", goal.id, client_id)
    return out


@bp.get("/clients/<int:client_id>/medications")
@operation(
    summary="The current medication list (the care team only)",
    description="Each medication's latest change in effect today (in your time zone), and "
    "changes planned for later, with who acknowledged each and who has not yet. Medications "
    "are not shared with clients (the portal does not show them): a client gets 403 for "
    "their own record, 404 for any other.",
    responses={200: MedicationListOut},
    tags=["Record"],
)
def medications(client_id: int):
    from careteam.medications import derive
    from careteam.medications import services as medication_services

    access, shared = _load(client_id)
    if shared:
        audit.record(
            "view_medications",
            object_type="client",
            object_id=client_id,
            client_id=client_id,
            outcome=AuditOutcome.DENIED,
            detail="api: not shared with clients",
        )
        db.session.commit()
        raise ApiProblem(403, "Medications are not shared with clients. Ask your care team.")
    today = medication_services.today_for(current_user)
    changes = medication_services.client_changes(access.client, viewer=current_user)
    histories = derive.medication_histories(changes, as_of=today)
    team = record_services.active_members(access.client)
    out = MedicationListOut(
        as_of=today,
        current=entries_out(
            [h.latest for h in histories if h.on_list], viewer=current_user, team=team
        ),
        planned=entries_out(
            [h.upcoming[0] for h in histories if h.latest is None and h.upcoming],
            viewer=current_user,
            team=team,
        ),
    )
    _audit("view_medications", "client", client_id, client_id)
    return out
