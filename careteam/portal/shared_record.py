"""The client's own view of their record: one query, for the portal's pages and the API.

A query of its own, not the team's timeline filtered afterwards, so that nothing the
client may not see is ever loaded for them. It holds: notes shared with the client ("team
and client" visibility), the goals shared with them (their events while shared, and their
check-ins), practice assignments, level-of-care changes (the reason is the team's and is
left out by whoever shows them) and who joined or left the team (active accounts only, as
the portal's "what's new") and the weights that are not blind (the portal's "My weight").
Never private or team-only notes, medication changes, blind weights or other nutrition
updates.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, with_polymorphic

from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, CareTeamMember, Client
from careteam.enums import EntryKind, NutritionType, Visibility
from careteam.extensions import db, joins_as_written
from careteam.goals.models import Goal
from careteam.paging import Cursor, Page
from careteam.record.models import Entry
from careteam.record.services import TIMELINE_PAGE, entry_page, narrow

# The kinds of entry a client can ever see; the others are never queried for them.
SHARED_KINDS = frozenset(
    {
        EntryKind.NOTE,
        EntryKind.GOAL,
        EntryKind.GOAL_PROGRESS,
        EntryKind.PRACTICE,
        EntryKind.LEVEL_OF_CARE,
        EntryKind.TEAM,
        EntryKind.NUTRITION,  # open weights only (NutritionUpdate.shared_with_client)
    }
)


@cache
def _entries():
    """Entry with the shared kinds' own columns; built once (it cost 14 ms a portal page)."""
    from careteam.goals.models import GoalEvent, GoalProgress
    from careteam.nutrition.models import NutritionUpdate
    from careteam.practice.models import PracticeAssignment
    from careteam.record.models import LevelOfCareEntry, Note, TeamEntry

    classes = [
        Note,
        GoalEvent,
        GoalProgress,
        PracticeAssignment,
        LevelOfCareEntry,
        TeamEntry,
        NutritionUpdate,
    ]
    return with_polymorphic(Entry, classes, flat=True)


def _shared_with(poly, client: Client):
    """The condition an entry of this client must meet for the client to see it."""
    shared_goals = select(Goal.id).where(
        Goal.client_id == client.id, Goal.shared_with_client.is_(True)
    )
    reachable_changes = (
        select(CareTeamChange.id)
        .join(CareTeamMember, CareTeamMember.id == CareTeamChange.member_id)
        .join(User, User.id == CareTeamMember.provider_id)
        .where(CareTeamChange.client_id == client.id, User.active.is_(True))
    )
    return and_(
        poly.client_id == client.id,
        poly.visibility != Visibility.PRIVATE,
        or_(
            and_(poly.kind == EntryKind.NOTE, poly.visibility == Visibility.CLIENT),
            and_(poly.kind == EntryKind.PRACTICE, poly.visibility == Visibility.CLIENT),
            and_(
                poly.kind == EntryKind.GOAL,
                poly.visibility == Visibility.CLIENT,
                poly.GoalEvent.goal_id.in_(shared_goals),
            ),
            and_(
                poly.kind == EntryKind.GOAL_PROGRESS,
                poly.GoalProgress.goal_id.in_(shared_goals),
            ),
            poly.kind == EntryKind.LEVEL_OF_CARE,
            and_(
                poly.kind == EntryKind.NUTRITION,
                poly.NutritionUpdate.update_type == NutritionType.WEIGHT,
                poly.NutritionUpdate.blind.is_(False),
            ),
            and_(
                poly.kind == EntryKind.TEAM,
                poly.TeamEntry.change_id.in_(reachable_changes),
            ),
        ),
    )


def _load_options(poly):
    return (
        joinedload(poly.author),
        joinedload(poly.LevelOfCareEntry.change),
        joinedload(poly.TeamEntry.change)
        .joinedload(CareTeamChange.member)
        .joinedload(CareTeamMember.provider),
        joinedload(poly.GoalEvent.goal),
        joinedload(poly.GoalProgress.goal),
    )


def shown_to_client(client: Client, entry_ids: Collection[int]) -> set[int]:
    """Which of these entries (any version) the client may see, in one query: the portal's
    access log names only those."""
    if not entry_ids:
        return set()
    poly = _entries()
    stmt = select(poly.id).where(poly.id.in_(list(entry_ids)), _shared_with(poly, client))
    with joins_as_written():
        return set(db.session.scalars(stmt))


def shared_timeline(
    client: Client,
    *,
    kinds: list[str] | None = None,
    author_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Cursor | None = None,
    limit: int = TIMELINE_PAGE,
) -> Page[Entry]:
    """Current versions of what the client may see of their record, newest first, one page."""
    poly = _entries()
    stmt = (
        select(poly)
        .where(_shared_with(poly, client), poly.superseded_at.is_(None))
        .options(*_load_options(poly))
        .order_by(poly.created_at.desc(), poly.id.desc())
        .limit(limit + 1)
    )
    if kinds:
        stmt = stmt.where(poly.kind.in_([k for k in kinds if k in SHARED_KINDS]))
    if author_id:
        stmt = stmt.where(poly.author_id == author_id)
    stmt = narrow(stmt, poly, since=since, until=until, cursor=cursor)
    with joins_as_written():
        rows = list(db.session.scalars(stmt).unique())
    return entry_page(rows, limit)


def shared_between(client: Client, start: datetime, end: datetime) -> list[Entry]:
    """Current versions of what the client may see, created in (start, end], oldest first:
    a client's digest window (contiguous windows: each entry in exactly one)."""
    poly = _entries()
    stmt = (
        select(poly)
        .where(
            _shared_with(poly, client),
            poly.superseded_at.is_(None),
            poly.created_at > start,
            poly.created_at <= end,
        )
        .options(*_load_options(poly))
        .order_by(poly.created_at, poly.id)
    )
    with joins_as_written():
        return list(db.session.scalars(stmt).unique())


def shared_entry(client: Client, entry_id: int) -> Entry:
    """The current version of an entry the client may see; LookupError otherwise.

    Like the portal, only current versions: the text an amendment corrected is not shown
    to the client (it may be what the team withdrew from them).
    """
    poly = _entries()
    with joins_as_written():
        entry = db.session.scalar(
            select(poly)
            .where(poly.id == entry_id, poly.superseded_at.is_(None), _shared_with(poly, client))
            .options(*_load_options(poly))
        )
    if entry is None:
        raise LookupError(entry_id)
    return entry
