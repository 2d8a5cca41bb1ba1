"""Use cases of practice between sessions: assign, amend, end, log, and adherence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from careteam import audit
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import EntryKind, PracticeStatus, Visibility
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.practice.adherence import DEFAULT_WEEKS, Adherence, adherence, week_starts
from careteam.practice.models import PracticeAssignment, PracticeLog
from careteam.practice.rules import (
    AssignmentFields,
    assignment_problems,
    log_problems,
)
from careteam.record import services as record
from careteam.record.models import Entry
from careteam.timefmt import zone_of

RECENT_LOGS = 10


class PracticeError(UserFacingError):
    """A use case on practice refused its input."""


def _raise_first(problems: list[UserFacingError]) -> None:
    if problems:
        raise problems[0]


def client_zone(client: Client) -> ZoneInfo:
    """The client's time zone: their portal account's, else the site's display zone."""
    if client.user_id is not None and client.user is not None:
        return zone_of(client.user)
    name = current_app.config.get("DISPLAY_TIMEZONE") if has_app_context() else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def client_today(client: Client, now: datetime | None = None) -> date:
    """Today's date where the client lives: practice days and weeks are theirs."""
    return (now or utcnow()).astimezone(client_zone(client)).date()


def _new_version(fields: AssignmentFields, status: str) -> PracticeAssignment:
    return PracticeAssignment(
        skill=fields.skill.strip(),
        instructions=(fields.instructions or "").strip(),
        target_count=fields.target_count,
        period=fields.period,
        starts_on=fields.starts_on,
        ends_on=fields.ends_on,
        status=status,
        # Practice is the client's own: they see their assignments in the portal.
        visibility=Visibility.CLIENT,
    )


def fields_of(assignment: PracticeAssignment) -> AssignmentFields:
    """An assignment's values, to prefill a form or copy into a new version."""
    return AssignmentFields(
        skill=assignment.skill,
        instructions=assignment.instructions,
        target_count=assignment.target_count,
        period=assignment.period,
        starts_on=assignment.starts_on,
        ends_on=assignment.ends_on,
    )


def assign_practice(
    *, actor: User, client: Client, fields: AssignmentFields
) -> PracticeAssignment:
    """Assign the client a skill to practise; it lands on the timeline and in the portal."""
    _raise_first(assignment_problems(fields))
    new = _new_version(fields, PracticeStatus.ACTIVE)
    return record.add_entry(new, actor=actor, client=client)


def amend_assignment(
    *, actor: User, client: Client, old: PracticeAssignment, fields: AssignmentFields
) -> PracticeAssignment:
    """Correct an assignment (its author only); the logs follow it to the new version."""
    _raise_first(assignment_problems(fields))
    new = _new_version(fields, old.status)
    return record.amend_entry(old, new, actor=actor, client=client)


def end_assignment(
    *, actor: User, client: Client, old: PracticeAssignment, today: date | None = None
) -> PracticeAssignment:
    """End an assignment: a new version with status ended supersedes the active one.

    Any active team member may end it (the one who assigned it may have left the
    team), which is why this does not go through amend_entry's author-only rule. The
    earlier version stays in the history and the logs stay with the assignment.
    """
    if old.client_id != client.id:
        raise LookupError(old.id)
    if not old.is_current:
        raise PracticeError("This assignment changed meanwhile. Reload it and try again.")
    if not old.is_active:
        raise PracticeError("This assignment has already ended.")
    today = today or client_today(client)
    fields = fields_of(old)
    ends_on = today if old.ends_on is None else min(old.ends_on, today)
    new = _new_version(fields, PracticeStatus.ENDED)
    new.ends_on = ends_on
    return record.supersede(
        old,
        new,
        actor=actor,
        client=client,
        action="end_practice",
        conflict=PracticeError("This assignment changed meanwhile. Reload it and try again."),
    )


def log_practice(
    *,
    actor: User,
    client: Client,
    assignment: PracticeAssignment,
    practised_on: date | None,
    rating: int | None = None,
    reflection: str = "",
    today: date | None = None,
) -> PracticeLog:
    """The client logs that they practised; audited, never put on the timeline."""
    if assignment.client_id != client.id or not assignment.is_current:
        raise LookupError(assignment.id)
    reflection = (reflection or "").strip()
    today = today or client_today(client)
    _raise_first(
        log_problems(
            assignment,
            practised_on=practised_on,
            rating=rating,
            reflection=reflection,
            today=today,
        )
    )
    log = PracticeLog(
        assignment_id=assignment.history_root_id,
        client_id=client.id,
        logged_by_id=actor.id,
        practised_on=practised_on,
        rating=rating,
        reflection=reflection,
        created_at=utcnow(),
    )
    db.session.add(log)
    db.session.flush()
    audit.record(
        "log_practice",
        object_type="practice_log",
        object_id=log.id,
        client_id=client.id,
        actor=actor,
    )
    db.session.commit()
    return log


# Reading.


def assignments_query(client: Client, *, running_on: date | None = None) -> Select:
    """A client's assignments, current versions, active first and newest first.

    With `running_on`, only the active ones whose end date has not passed by that day.
    """
    stmt = select(PracticeAssignment).where(
        PracticeAssignment.client_id == client.id, PracticeAssignment.superseded_at.is_(None)
    )
    if running_on is not None:
        stmt = stmt.where(
            PracticeAssignment.status == PracticeStatus.ACTIVE,
            or_(PracticeAssignment.ends_on.is_(None), PracticeAssignment.ends_on >= running_on),
        )
    order = case((PracticeAssignment.status == PracticeStatus.ACTIVE, 0), else_=1)
    return stmt.order_by(order, PracticeAssignment.starts_on.desc(), PracticeAssignment.id.desc())


def get_assignment(client: Client, entry_id: int) -> PracticeAssignment:
    """Any version of one of this client's assignments; LookupError otherwise."""
    found = db.session.scalar(
        select(PracticeAssignment).where(
            PracticeAssignment.id == entry_id, PracticeAssignment.client_id == client.id
        )
    )
    if found is None:
        raise LookupError(entry_id)
    return found


def current_version(assignment: PracticeAssignment) -> PracticeAssignment:
    """The newest version of an assignment's history."""
    if assignment.is_current:
        return assignment
    root = assignment.history_root_id
    return db.session.scalars(
        select(PracticeAssignment).where(
            or_(PracticeAssignment.id == root, PracticeAssignment.root_id == root),
            PracticeAssignment.superseded_at.is_(None),
        )
    ).one()


def logs_query(assignment: PracticeAssignment) -> Select:
    """An assignment's logs, most recent practice first."""
    return (
        select(PracticeLog)
        .where(PracticeLog.assignment_id == assignment.history_root_id)
        .order_by(
            PracticeLog.practised_on.desc(), PracticeLog.created_at.desc(), PracticeLog.id.desc()
        )
    )


def recent_logs(client: Client, limit: int = RECENT_LOGS) -> list[PracticeLog]:
    """The client's latest logs over all their assignments, newest first."""
    return list(
        db.session.scalars(
            select(PracticeLog)
            .where(PracticeLog.client_id == client.id)
            .options(selectinload(PracticeLog.assignment))
            .order_by(PracticeLog.created_at.desc(), PracticeLog.id.desc())
            .limit(limit)
        )
    )


def adherence_for(
    assignments: list[PracticeAssignment],
    *,
    today: date | dict[int, date],
    weeks: int = DEFAULT_WEEKS,
) -> dict[int, Adherence]:
    """Adherence of each assignment by its id, from one grouped query for all of them.

    `today` is the client's date, or a client id -> date map when the assignments
    belong to clients in different time zones: each is counted in its client's weeks.
    """
    if not assignments:
        return {}
    todays = {
        a.client_id: today[a.client_id] if isinstance(today, dict) else today for a in assignments
    }
    first = min(week_starts(day, weeks)[0] for day in todays.values())
    last = max(week_starts(day, 1)[0] + timedelta(days=6) for day in todays.values())
    roots = {a.history_root_id for a in assignments}
    counts: dict[int, dict[date, int]] = defaultdict(dict)
    rows = db.session.execute(
        select(PracticeLog.assignment_id, PracticeLog.practised_on, func.count())
        .where(
            PracticeLog.assignment_id.in_(roots),
            PracticeLog.practised_on >= first,
            PracticeLog.practised_on <= last,
        )
        .group_by(PracticeLog.assignment_id, PracticeLog.practised_on)
    )
    for root_id, day, count in rows:
        counts[root_id][day] = count
    return {
        a.id: adherence(
            target_count=a.target_count,
            period=a.period,
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            counts=counts.get(a.history_root_id, {}),
            today=todays[a.client_id],
            weeks=weeks,
        )
        for a in assignments
    }


def dropped_adherence(user: User, client_ids) -> dict[int, int]:
    """Per client, how many of the user's active assignments dropped last week.

    Dropped: the last full week below half its target, after a week at or above it.
    `client_ids` is a subquery of the clients to look at (the user's teams). Two queries.
    """
    # Only an assignment practised in the last three weeks can have dropped (the week
    # before last at or above its target): the others are left in the database rather
    # than weighed one by one here. A day more either side covers every time zone; the
    # weeks themselves are still counted exactly below, in each client's own days.
    recent = date.today() - timedelta(weeks=3, days=2)
    practised = exists().where(
        PracticeLog.assignment_id
        == func.coalesce(PracticeAssignment.root_id, PracticeAssignment.id),
        PracticeLog.practised_on >= recent,
    )
    assignments = list(
        db.session.scalars(
            select(PracticeAssignment)
            .where(
                PracticeAssignment.client_id.in_(client_ids),
                PracticeAssignment.kind == EntryKind.PRACTICE,  # the client-and-kind index
                PracticeAssignment.author_id == user.id,
                PracticeAssignment.superseded_at.is_(None),
                PracticeAssignment.status == PracticeStatus.ACTIVE,
                practised,
            )
            .options(joinedload(PracticeAssignment.client).joinedload(Client.user))
        ).unique()
    )
    todays = {a.client_id: client_today(a.client) for a in assignments}
    dropped: dict[int, int] = defaultdict(int)
    result = adherence_for(assignments, today=todays, weeks=3)
    for assignment in assignments:
        before, last, _ = result[assignment.id].weeks
        if before.percent is None or last.percent is None:
            continue
        if before.percent >= 100 and last.percent < 50:
            dropped[assignment.client_id] += 1
    return dict(dropped)


def adherence_on_page(entries: Iterable[Entry], *, client: Client) -> dict[int, Adherence]:
    """Adherence of the practice assignments among a page's entries (the timeline, an
    entry's history), by id: one grouped query, whatever their number."""
    assignments = [e for e in entries if isinstance(e, PracticeAssignment)]
    if not assignments:
        return {}
    return adherence_for(assignments, today=client_today(client))


@dataclass(frozen=True)
class PortalPractice:
    """One active assignment as the portal home shows it."""

    assignment: PracticeAssignment
    adherence: Adherence

    @property
    def this_week_count(self) -> int:
        return self.adherence.this_week.count

    @property
    def this_week_target(self) -> int | None:
        return self.adherence.this_week.target


def portal_summary(client: Client) -> list[PortalPractice]:
    """The client's active assignments with this week's count and target (two queries)."""
    today = client_today(client)
    active = list(db.session.scalars(assignments_query(client, running_on=today)))
    weeks = adherence_for(active, today=today)
    return [PortalPractice(a, weeks[a.id]) for a in active]
