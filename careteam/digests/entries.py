"""Which entries digest windows hold: a batch of providers' windows in two queries, or
what a client's team shared with them.

A batch of digests reads the entries of every provider's window at once (the union of
their clients, each client over the span of the windows that include it) and splits them
per window here, with the very filters one window alone would apply: a preview, a test
and a batch of 50 all go through `entries_for`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, CareTeamMember, Client
from careteam.digests.models import DigestMute
from careteam.enums import MemberStatus, Role, Visibility
from careteam.extensions import db, joins_as_written
from careteam.record.models import Entry, entries_of_every_kind

# A window's entries grouped by client, clients in id order, entries oldest first.
ByClient = list[tuple[Client, list[Entry]]]


@dataclass(frozen=True)
class Window:
    """One digest's reader and range: what changed in (start, end]."""

    user: User
    start: datetime
    end: datetime


def entries_for(windows: list[Window]) -> list[ByClient]:
    """Each window's entries, by client: the others' entries on a provider's active teams
    (not muted), or what a client's team shared with them.

    Providers' windows take two queries whatever their number and the number of entries.
    A client's window is read on its own (clients' digests are few, and what the portal
    shares with them is decided by portal.shared_record, one client at a time).
    """
    found: list[ByClient | None] = [None] * len(windows)
    providers = [i for i, w in enumerate(windows) if w.user.role != Role.CLIENT]
    for i, window in enumerate(windows):
        if i not in providers:
            found[i] = _shared_with_client(window)
    team_entries = _team_entries([windows[i] for i in providers])
    for i, by_client in zip(providers, team_entries, strict=True):
        found[i] = by_client
    return [f if f is not None else [] for f in found]


def _team_entries(windows: list[Window]) -> list[ByClient]:
    """Providers' windows: their clients in one query, then the entries in one more."""
    if not windows:
        return []
    clients_of = _active_unmuted_clients({w.user.id for w in windows})
    client_ids = sorted(set().union(*clients_of.values()))
    if not client_ids:
        return [[] for _ in windows]
    # One span for the whole batch, the earliest start to the latest end, so the statement
    # has one shape (SQLAlchemy compiles it once; this 17-table query costs milliseconds to
    # compile). Windows of one schedule share their span; a weekly or a first digest in
    # the batch widens it, and the rows outside a window are dropped below.
    start = min(w.start for w in windows)
    end = max(w.end for w in windows)
    poly = entries_of_every_kind()
    stmt = (
        select(poly)
        .where(
            poly.client_id.in_(client_ids),
            poly.created_at > start,
            poly.created_at <= end,
            poly.visibility != Visibility.PRIVATE,
            poly.superseded_at.is_(None),
        )
        .options(
            joinedload(poly.author),
            joinedload(poly.client),
            # What full-detail summaries read, loaded with the entries.
            joinedload(poly.GoalEvent.goal),
            joinedload(poly.GoalProgress.goal),
            joinedload(poly.LevelOfCareEntry.change),
            joinedload(poly.TeamEntry.change)
            .joinedload(CareTeamChange.member)
            .joinedload(CareTeamMember.provider),
        )
        .order_by(poly.client_id, poly.created_at)
    )
    if len(windows) == 1:  # the same rule as below, asked of the database
        stmt = stmt.where(poly.author_id != windows[0].user.id)
    with joins_as_written():
        entries = list(db.session.scalars(stmt).unique())
    of_client: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        of_client[entry.client_id].append(entry)
    found = []
    for window in windows:
        grouped: ByClient = []
        for client_id in sorted(clients_of.get(window.user.id, ())):
            mine = [
                e
                for e in of_client.get(client_id, ())
                if window.start < e.created_at <= window.end and e.author_id != window.user.id
            ]
            if mine:
                grouped.append((mine[0].client, mine))
        found.append(grouped)
    return found


def _active_unmuted_clients(user_ids: set[int]) -> dict[int, set[int]]:
    """Each provider's clients: active memberships, asked at send time (a member removed
    yesterday gets nothing new about that client), less the clients they muted.

    Not access.visible_client_ids: that also lists a client's own record, whose team
    entries are not theirs to read (a client's digest holds only what is shared with them).
    Resolved before the entries query, so that query filters `entries` by client on its
    index before joining the kinds' tables (as a subquery, PostgreSQL past
    join_collapse_limit joined every entry of the window to its kind's row first).
    """
    muted = exists().where(
        DigestMute.user_id == CareTeamMember.provider_id,
        DigestMute.client_id == CareTeamMember.client_id,
    )
    rows = db.session.execute(
        select(CareTeamMember.provider_id, CareTeamMember.client_id).where(
            CareTeamMember.provider_id.in_(user_ids),
            CareTeamMember.status == MemberStatus.ACTIVE,
            ~muted,
        )
    )
    clients_of: dict[int, set[int]] = defaultdict(set)
    for user_id, client_id in rows:
        clients_of[user_id].add(client_id)
    return clients_of


def _shared_with_client(window: Window) -> ByClient:
    """A client's: what the portal shows them of their own record (notes shared with them,
    shared goals and check-ins, practice, level of care, the team, open weights), new in
    the window and not their own; never a team-only or private entry."""
    from careteam.portal.shared_record import shared_between

    user = window.user
    found = []
    for client in db.session.scalars(select(Client).where(Client.user_id == user.id)):
        entries = [
            e for e in shared_between(client, window.start, window.end) if e.author_id != user.id
        ]
        if entries:
            found.append((client, entries))
    return found
