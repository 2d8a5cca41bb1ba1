"""What needs a provider's attention across their clients, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, exists, func, select

from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import EntryKind, GoalStatus, MemberStatus
from careteam.extensions import db
from careteam.record.acknowledgements import awaiting_acknowledgement
from careteam.record.models import Note


@dataclass(frozen=True)
class Reason:
    """One line of Needs my attention and where it leads: the item itself when there is
    one (its anchor on the timeline, or its page), else the part of the record listing them.
    """

    text: str
    endpoint: str
    args: dict


@dataclass
class Attention:
    """Per client: urgent notes not yet seen, unacknowledged medication changes, overdue
    goals, dropped practice; with the newest item of each to link to."""

    client: Client
    urgent: int = 0
    unacknowledged: int = 0
    overdue_goals: int = 0
    dropped_practice: int = 0  # assignments of mine whose adherence dropped last week
    reasons: list[Reason] = field(default_factory=list)


def _my_memberships(user: User):
    return (
        select(CareTeamMember.client_id, CareTeamMember.started_at)
        .where(CareTeamMember.provider_id == user.id, CareTeamMember.status == MemberStatus.ACTIVE)
        .subquery()
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _counted(stmt) -> dict[int, tuple[int, int]]:
    """client_id -> (how many, the newest id) from a (client_id, count, max id) query."""
    return {client_id: (n, newest) for client_id, n, newest in db.session.execute(stmt)}


def needs_attention(user: User, today: date | None = None) -> list[Attention]:
    """Clients with something for this provider to do, most pressing first."""
    from careteam.goals.models import Goal
    from careteam.medications.models import MedicationAck, MedicationChange
    from careteam.practice.services import dropped_adherence

    today = today or date.today()
    mine = _my_memberships(user)
    # Urgent notes stay here until the member presses "Seen" (reading the timeline is not
    # enough: they are pinned at its top until then), like medication changes.
    urgent = _counted(
        select(Note.client_id, func.count(), func.max(Note.id))
        .join(mine, mine.c.client_id == Note.client_id)
        .where(awaiting_acknowledgement(user), Note.created_at >= mine.c.started_at)
        .group_by(Note.client_id)
    )
    acked = exists().where(
        MedicationAck.change_id == MedicationChange.id, MedicationAck.user_id == user.id
    )
    unacknowledged = _counted(
        select(MedicationChange.client_id, func.count(), func.max(MedicationChange.id))
        .join(mine, mine.c.client_id == MedicationChange.client_id)
        .where(
            MedicationChange.kind == EntryKind.MEDICATION,  # ix_entries_client_kind_created
            MedicationChange.superseded_at.is_(None),
            MedicationChange.author_id != user.id,
            MedicationChange.created_at >= mine.c.started_at,
            ~acked,
        )
        .group_by(MedicationChange.client_id)
    )
    overdue = _counted(
        select(Goal.client_id, func.count(), func.max(Goal.id))
        .join(mine, mine.c.client_id == Goal.client_id)
        .where(
            Goal.status.in_([GoalStatus.ACTIVE, GoalStatus.PROPOSED]),
            Goal.target_date < today,
            and_(Goal.owner_id == user.id),
        )
        .group_by(Goal.client_id)
    )
    dropped = dropped_adherence(user, select(mine.c.client_id))
    ids = set(urgent) | set(unacknowledged) | set(overdue) | set(dropped)
    if not ids:
        return []
    clients = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(ids)))}
    items = []
    for client_id in ids:
        item = Attention(client=clients[client_id])
        item.urgent, newest_urgent = urgent.get(client_id, (0, 0))
        item.unacknowledged, newest_change = unacknowledged.get(client_id, (0, 0))
        item.overdue_goals, newest_goal = overdue.get(client_id, (0, 0))
        item.dropped_practice = dropped.get(client_id, 0)
        if item.urgent:
            # Pinned at the top of the timeline: the anchor of the newest one is there.
            item.reasons.append(
                Reason(
                    f"{_plural(item.urgent, 'urgent note')} not yet seen",
                    "clients.show",
                    {"client_id": client_id, "_anchor": f"e{newest_urgent}"},
                )
            )
        if item.unacknowledged:
            n = item.unacknowledged
            text = f"{_plural(n, 'medication change')} to acknowledge"
            if n == 1:
                target = ("record.entry", {"client_id": client_id, "entry_id": newest_change})
            else:
                target = (
                    "medications.index",
                    {"client_id": client_id, "_anchor": "to-acknowledge"},
                )
            item.reasons.append(Reason(text, *target))
        if item.overdue_goals:
            n = item.overdue_goals
            text = f"{_plural(n, 'goal')} of yours past the target date"
            if n == 1:
                target = ("goals.show", {"client_id": client_id, "goal_id": newest_goal})
            else:
                target = ("goals.index", {"client_id": client_id})
            item.reasons.append(Reason(text, *target))
        if item.dropped_practice:
            n = item.dropped_practice
            item.reasons.append(
                Reason(
                    f"practice adherence dropped last week ({_plural(n, 'assignment')})",
                    "practice.index",
                    {"client_id": client_id},
                )
            )
        items.append(item)
    items.sort(key=lambda a: (-a.urgent, -a.unacknowledged, -a.overdue_goals, a.client.full_name))
    return items
