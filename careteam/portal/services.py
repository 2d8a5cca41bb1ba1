"""What the client portal reads: only what the team shared with the client.

Every function here answers for one client's own record and filters on what the client
may see: goals marked shared, notes with the "team and client" visibility, the current
version of each, and the weights that are not blind (nutrition.services.shared_weights).
Nothing reads medication changes or other nutrition updates: blind weights and the team's
clinical working never reach the portal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from careteam import audit
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client, LevelOfCareChange
from careteam.enums import EntryKind, MemberStatus, Visibility
from careteam.extensions import db
from careteam.goals import services as goal_services
from careteam.goals.models import OPEN_STATUSES, Goal, GoalProgress
from careteam.nutrition import services as nutrition_services
from careteam.nutrition.models import NutritionUpdate
from careteam.paging import Cursor
from careteam.portal.shared_record import shared_timeline
from careteam.record import services as record_services
from careteam.record.models import Note, RecordVisit

NOTES_PAGE = 20
HOME_NOTES = 3
# The home page draws the open goals; more than this many go to their own pages.
HOME_GOALS = 12


def own_client_id(user: User) -> int | None:
    """The id of the record linked to this client account, if any."""
    return db.session.scalar(select(Client.id).where(Client.user_id == user.id))


def roster(client: Client) -> list[CareTeamMember]:
    """Who the client can reach: active members with an active account, leads first.

    Needs the client loaded by clients.services.record_page (members and providers).
    Ended members and deactivated accounts are left out: they no longer care for the
    client and cannot be reached through CareTeam.
    """
    members = [m for m in client.members if m.status == MemberStatus.ACTIVE and m.provider.active]
    return sorted(members, key=lambda m: (not m.is_lead, m.started_at))


def shared_goals_query(client: Client) -> Select:
    """The goals shared with the client, open ones first (the portal's and the API's list)."""
    return goal_services.goals_query(client).where(Goal.shared_with_client.is_(True))


def shared_goals(client: Client, limit: int = HOME_GOALS) -> tuple[list[Goal], list[Goal]]:
    """The goals shared with the client: open ones (with check-ins) and finished ones.

    Three queries whatever the number of goals and check-ins.
    """
    goals = list(db.session.scalars(shared_goals_query(client).limit(2 * limit)).unique())
    open_goals = [g for g in goals if g.status in OPEN_STATUSES][:limit]
    done = [g for g in goals if g.status not in OPEN_STATUSES][:limit]
    return open_goals, done


def get_shared_goal(client: Client, goal_id: int) -> Goal:
    """One goal of this client that is shared with them; LookupError otherwise."""
    goal = goal_services.get_goal(client, goal_id)
    if not goal.shared_with_client:
        raise LookupError(goal_id)
    return goal


@dataclass(frozen=True)
class NotesPage:
    notes: list[Note]
    next_cursor: str | None


def shared_notes(
    client: Client, *, cursor: Cursor | None = None, limit: int = NOTES_PAGE
) -> NotesPage:
    """The current version of each note shared with the client, newest first, one page.

    The client's view of their record (shared_record.py) restricted to notes: the API's
    timeline and these pages cannot disagree on what the client sees.
    """
    page = shared_timeline(client, kinds=[EntryKind.NOTE], cursor=cursor, limit=limit)
    return NotesPage(page.items, page.next_cursor)


def previous_visit(user: User, client: Client) -> datetime | None:
    """When the client last opened their portal home (None on the first visit)."""
    return db.session.scalar(
        select(RecordVisit.last_seen_at).where(
            RecordVisit.user_id == user.id, RecordVisit.client_id == client.id
        )
    )


@dataclass
class WhatsNew:
    """What changed for the client since their last visit, all of it shareable."""

    since: datetime | None
    notes: int = 0
    checkins: int = 0
    level: LevelOfCareChange | None = None
    joined: list[CareTeamMember] = field(default_factory=list)
    left: list[CareTeamMember] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.notes or self.checkins or self.level or self.joined or self.left)


def whats_new(client: Client, since: datetime | None) -> WhatsNew:
    """Counts and changes since a visit, in three queries; nothing on the first visit.

    Needs the client loaded by clients.services.record_page (members, level history).
    """
    news = WhatsNew(since=since)
    if since is None:
        return news
    news.notes = db.session.scalar(
        select(func.count())
        .select_from(Note)
        .where(
            Note.client_id == client.id,
            Note.superseded_at.is_(None),
            Note.visibility == Visibility.CLIENT,
            Note.created_at > since,
        )
    )
    news.checkins = db.session.scalar(
        select(func.count())
        .select_from(GoalProgress)
        .join(Goal, Goal.id == GoalProgress.goal_id)
        .where(
            GoalProgress.client_id == client.id,
            GoalProgress.superseded_at.is_(None),
            GoalProgress.created_at > since,
            Goal.shared_with_client.is_(True),
        )
    )
    # Level history is newest first; the client sees the level, never the reason.
    news.level = next((c for c in client.level_changes if c.created_at > since), None)
    for member in client.members:
        if not member.provider.active:
            continue
        if member.status == MemberStatus.ACTIVE and member.started_at > since:
            news.joined.append(member)
        elif member.status == MemberStatus.ENDED and member.ended_at and member.ended_at > since:
            news.left.append(member)
    return news


def shared_weights(client: Client) -> list[NutritionUpdate]:
    """The client's open (not blind) weights, oldest first: their trend in the portal."""
    return nutrition_services.shared_weights(client)


def practice_summary(client: Client) -> list | None:
    """The client's practice assignments, once the practice feature is installed."""
    if "practice.portal_index" not in current_app.view_functions:
        return None
    try:
        from careteam.practice.services import portal_summary
    except ImportError:
        return None
    return portal_summary(client)


def load_home(client: Client) -> Client:
    """The client with what the home page shows of the team, eagerly loaded."""
    return db.session.scalar(
        select(Client)
        .where(Client.id == client.id)
        .options(
            selectinload(Client.members).joinedload(CareTeamMember.provider),
            selectinload(Client.level_changes),
        )
        .execution_options(populate_existing=True)
    )


def record_shown(
    *events: tuple[str, str, int], client_id: int, visitor: User | None = None
) -> None:
    """Record what a rendered portal page showed (ids only), and the client's visit of
    their home page, then commit.

    Called once the page is rendered: a portal page loads many small parts, and the
    commit would expire each of them; these rows are the page's only writes.
    """
    if visitor is not None:
        record_services.mark_visit(visitor, db.session.get(Client, client_id))
    for action, object_type, object_id in events:
        audit.record(action, object_type=object_type, object_id=object_id, client_id=client_id)
    db.session.commit()
