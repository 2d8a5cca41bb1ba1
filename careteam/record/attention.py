"""What needs a provider's attention across their clients, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select

from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import GoalStatus, MemberStatus
from careteam.extensions import db
from careteam.record.models import Entry
from careteam.record.services import unread, visits_of


@dataclass
class Attention:
    """Per client: unread urgent notes, unacknowledged medication changes, overdue goals."""

    client: Client
    urgent: int = 0
    unacknowledged: int = 0
    overdue_goals: int = 0
    dropped_practice: int = 0  # assignments of mine whose adherence dropped last week
    reasons: list[str] = field(default_factory=list)


def _my_memberships(user: User):
    return (
        select(CareTeamMember.client_id, CareTeamMember.started_at)
        .where(CareTeamMember.provider_id == user.id, CareTeamMember.status == MemberStatus.ACTIVE)
        .subquery()
    )


def needs_attention(user: User, today: date | None = None) -> list[Attention]:
    """Clients with something for this provider to do, most pressing first."""
    from careteam.goals.models import Goal
    from careteam.medications.models import MedicationAck, MedicationChange
    from careteam.practice.services import dropped_adherence

    today = today or date.today()
    mine = _my_memberships(user)
    visits = visits_of(user)
    urgent = dict(
        db.session.execute(
            select(Entry.client_id, func.count())
            .join(mine, mine.c.client_id == Entry.client_id)
            .outerjoin(visits, visits.c.client_id == Entry.client_id)
            .where(Entry.urgent.is_(True), unread(user, visits))
            .group_by(Entry.client_id)
        ).all()
    )
    acked = exists().where(
        MedicationAck.change_id == MedicationChange.id, MedicationAck.user_id == user.id
    )
    unacknowledged = dict(
        db.session.execute(
            select(MedicationChange.client_id, func.count())
            .join(mine, mine.c.client_id == MedicationChange.client_id)
            .where(
                MedicationChange.superseded_at.is_(None),
                MedicationChange.author_id != user.id,
                MedicationChange.created_at >= mine.c.started_at,
                ~acked,
            )
            .group_by(MedicationChange.client_id)
        ).all()
    )
    overdue = dict(
        db.session.execute(
            select(Goal.client_id, func.count())
            .join(mine, mine.c.client_id == Goal.client_id)
            .where(
                Goal.status.in_([GoalStatus.ACTIVE, GoalStatus.PROPOSED]),
                Goal.target_date < today,
                and_(Goal.owner_id == user.id),
            )
            .group_by(Goal.client_id)
        ).all()
    )
    dropped = dropped_adherence(user, select(mine.c.client_id))
    ids = set(urgent) | set(unacknowledged) | set(overdue) | set(dropped)
    if not ids:
        return []
    clients = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(ids)))}
    items = []
    for client_id in ids:
        item = Attention(
            client=clients[client_id],
            urgent=urgent.get(client_id, 0),
            unacknowledged=unacknowledged.get(client_id, 0),
            overdue_goals=overdue.get(client_id, 0),
            dropped_practice=dropped.get(client_id, 0),
        )
        if item.urgent:
            item.reasons.append(f"{item.urgent} unread urgent note{'s' * (item.urgent > 1)}")
        if item.unacknowledged:
            n = item.unacknowledged
            item.reasons.append(f"{n} medication change{'s' * (n > 1)} to acknowledge")
        if item.overdue_goals:
            n = item.overdue_goals
            item.reasons.append(f"{n} goal{'s' * (n > 1)} of yours past the target date")
        if item.dropped_practice:
            n = item.dropped_practice
            item.reasons.append(
                f"practice adherence dropped last week ({n} assignment{'s' * (n > 1)})"
            )
        items.append(item)
    items.sort(key=lambda a: (-a.urgent, -a.unacknowledged, -a.overdue_goals, a.client.full_name))
    return items
