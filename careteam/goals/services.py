"""Use cases of goals: set a goal, change it, check in on it, correct a check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy import Select, case, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from careteam import access
from careteam.auth.models import User
from careteam.charts import Band, Line, line_chart
from careteam.clients.models import Client
from careteam.enums import GoalAchievement, GoalDirection, GoalStatus, Visibility
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.goals.models import (
    GOAL_ACHIEVEMENT_LABELS,
    GOAL_STATUS_LABELS,
    Goal,
    GoalEvent,
    GoalProgress,
    GoalVersion,
)
from careteam.goals.rules import format_number, goal_problems, progress_problems
from careteam.record import services as record
from careteam.timefmt import format_date, local_today

CREATED = "created"
HISTORY_LIMIT = 10
CONFLICT_MESSAGE = (
    "Someone else changed this goal while you were editing. Their version is shown; "
    "your changes are kept below — review and save again."
)
# Open goals first, the one being worked on at the top.
STATUS_ORDER = {
    GoalStatus.ACTIVE: 0,
    GoalStatus.PROPOSED: 1,
    GoalStatus.ON_HOLD: 2,
    GoalStatus.COMPLETED: 3,
    GoalStatus.CANCELLED: 4,
}


class GoalConflict(UserFacingError):
    """The goal changed after the form was loaded; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(CONFLICT_MESSAGE, http_status=409)


@dataclass(frozen=True)
class GoalFields:
    """What a user sets on a goal, parsed from a form."""

    title: str
    measure: str
    unit: str
    baseline: Decimal
    target: Decimal
    direction: GoalDirection
    target_date: date
    owner_id: int
    description: str = ""
    status: GoalStatus = GoalStatus.ACTIVE
    achievement: GoalAchievement = GoalAchievement.IN_PROGRESS
    shared_with_client: bool = False


def _raise_first(problems: list[UserFacingError]) -> None:
    if problems:
        raise problems[0]


def _check_owner(client: Client, owner_id: int) -> None:
    if not access.is_active_member(owner_id, client.id):
        raise UserFacingError("Choose an owner who is on the care team now.", "owner_id")


def _values(fields: GoalFields) -> dict:
    return {
        "title": fields.title.strip(),
        "description": (fields.description or "").strip(),
        "measure": fields.measure.strip(),
        "unit": fields.unit.strip(),
        "baseline": fields.baseline,
        "target": fields.target,
        "direction": GoalDirection(fields.direction).value,
        "target_date": fields.target_date,
        "owner_id": fields.owner_id,
        "status": GoalStatus(fields.status).value,
        "achievement": GoalAchievement(fields.achievement).value,
        "shared_with_client": bool(fields.shared_with_client),
    }


def _visibility(goal: Goal) -> Visibility:
    return Visibility.CLIENT if goal.shared_with_client else Visibility.TEAM


def create_goal(
    *, actor: User, client: Client, fields: GoalFields, today: date | None = None
) -> Goal:
    """Set a goal for a client; the timeline records that it was set."""
    _raise_first(goal_problems(fields, today=today or local_today()))
    _check_owner(client, fields.owner_id)
    now = utcnow()
    goal = Goal(
        client_id=client.id,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        **_values(fields),
    )
    db.session.add(goal)
    db.session.flush()
    event = GoalEvent(
        goal_id=goal.id,
        goal=goal,
        summary=CREATED,
        visibility=_visibility(goal),
        state=GoalVersion.snapshot(goal, _shown("owner_id", goal.owner_id)),
    )
    record.add_entry(event, actor=actor, client=client)
    return goal


CHANGE_LABELS = {
    "title": "Title",
    "description": "Description",
    "measure": "What is measured",
    "unit": "Unit",
    "baseline": "Baseline",
    "target": "Target",
    "direction": "Direction",
    "target_date": "Target date",
    "owner_id": "Owner",
    "status": "Status",
    "achievement": "Achievement",
    "shared_with_client": "Shared with client",
}


def _shown(name: str, value) -> str:
    if name in ("baseline", "target"):
        return format_number(value)
    if name == "direction":
        return GoalDirection(value).label.lower()
    if name == "target_date":
        return format_date(value)
    if name == "owner_id":
        user = db.session.get(User, value)
        return user.display_name if user else "someone"
    if name == "status":
        return GOAL_STATUS_LABELS[GoalStatus(value)].lower()
    if name == "achievement":
        return GOAL_ACHIEVEMENT_LABELS[GoalAchievement(value)].lower()
    if name == "shared_with_client":
        return "yes" if value else "no"
    return str(value)


def describe_changes(goal: Goal, fields: GoalFields) -> list[str]:
    """What these values would change on the goal, as "Status: active → on hold" lines."""
    lines = []
    for name, new in _values(fields).items():
        old = getattr(goal, name)
        if old == new:
            continue
        label = CHANGE_LABELS[name]
        if name == "description":
            # The description is free text: say that it changed, the goal holds the text.
            lines.append(
                f"{label}: {'rewritten' if old and new else 'added' if new else 'removed'}"
            )
        else:
            lines.append(f"{label}: {_shown(name, old)} → {_shown(name, new)}")
    return lines


def update_goal(
    *,
    actor: User,
    client: Client,
    goal: Goal,
    fields: GoalFields,
    expected_version: int,
    today: date | None = None,
) -> GoalEvent | None:
    """Change a goal edited from the version `expected_version`; None when nothing changed.

    Refuses with GoalConflict, saving nothing, when the goal changed since that version,
    whether before this request (the version differs) or during it (the versioned UPDATE
    matches no row).
    """
    if goal.client_id != client.id:
        raise LookupError(goal.id)
    if goal.version != expected_version:
        raise GoalConflict()
    _raise_first(goal_problems(fields, today=today or local_today(), current=goal))
    if fields.owner_id != goal.owner_id:
        _check_owner(client, fields.owner_id)
    lines = describe_changes(goal, fields)
    if not lines:
        return None
    values = _values(fields)
    # Append-only history: the summary says "rewritten", the event keeps both texts.
    texts = {}
    if values["description"] != goal.description:
        texts = {
            "description_before": goal.description,
            "description_after": values["description"],
        }
    for name, value in values.items():
        setattr(goal, name, value)
    goal.updated_at = utcnow()
    event = GoalEvent(
        goal=goal,
        summary="\n".join(lines),
        visibility=_visibility(goal),
        state=GoalVersion.snapshot(goal, _shown("owner_id", goal.owner_id)),
        **texts,
    )
    try:
        record.add_entry(event, actor=actor, client=client)
    except StaleDataError as error:
        db.session.rollback()
        raise GoalConflict() from error
    return event


def check_in(
    *,
    actor: User,
    client: Client,
    goal: Goal,
    measured_on: date,
    value: Decimal,
    comment: str = "",
    today: date | None = None,
) -> GoalProgress:
    """Record a measurement of a goal on a date."""
    if goal.client_id != client.id:
        raise LookupError(goal.id)
    new = _progress(goal, measured_on, value, comment, today)
    return record.add_entry(new, actor=actor, client=client)


def amend_check_in(
    *,
    actor: User,
    client: Client,
    old: GoalProgress,
    measured_on: date,
    value: Decimal,
    comment: str = "",
    today: date | None = None,
) -> GoalProgress:
    """Correct a check-in: the new version supersedes it and both stay in the history."""
    new = _progress(old.goal, measured_on, value, comment, today)
    return record.amend_entry(old, new, actor=actor, client=client)


def _progress(
    goal: Goal, measured_on: date, value: Decimal, comment: str, today: date | None
) -> GoalProgress:
    _raise_first(
        progress_problems(
            measured_on=measured_on,
            value=value,
            comment=comment,
            today=today or local_today(),
            goal=goal,
        )
    )
    return GoalProgress(
        goal_id=goal.id,
        measured_on=measured_on,
        value=value,
        comment=(comment or "").strip(),
        visibility=_visibility(goal),
    )


def goals_query(client: Client) -> Select:
    """A client's goals, open ones first, with what their cards and charts show."""
    order = case({status.value: rank for status, rank in STATUS_ORDER.items()}, value=Goal.status)
    return (
        select(Goal)
        .where(Goal.client_id == client.id)
        .options(
            joinedload(Goal.owner),
            selectinload(Goal.checkins).joinedload(GoalProgress.author),
        )
        .order_by(order, Goal.target_date, Goal.id)
    )


def committed_version(client: Client, goal_id: int) -> int:
    """The goal's version as committed now, after a conflict: the request's transaction
    (which wrote nothing) ends first, so an SQLite read snapshot cannot hide the change."""
    client_id = client.id
    db.session.rollback()
    return get_goal(db.session.get(Client, client_id), goal_id).version


def get_goal(client: Client, goal_id: int) -> Goal:
    """One goal of this client with its check-ins; LookupError when there is none."""
    goal = db.session.scalar(goals_query(client).where(Goal.id == goal_id))
    if goal is None:
        raise LookupError(goal_id)
    return goal


def events_query(goal: Goal) -> Select:
    """Every change to a goal since it was set, newest first, with who made it."""
    return (
        select(GoalEvent)
        .where(GoalEvent.goal_id == goal.id)
        .options(joinedload(GoalEvent.author))
        .order_by(GoalEvent.created_at.desc(), GoalEvent.id.desc())
    )


def recent_events(goal: Goal, limit: int = HISTORY_LIMIT) -> list[GoalEvent]:
    """The latest changes to a goal, newest first (the goal page; the rest on its history)."""
    return list(db.session.scalars(events_query(goal).limit(limit)))


def owner_choices(client: Client, current: Goal | None = None) -> list[tuple[int, str]]:
    """Who may own a goal: the active team, plus a current owner who has since left."""
    members = sorted(access.active_members(client.id), key=lambda m: m.provider.display_name)
    options = [
        (m.provider_id, f"{m.provider.display_name} ({m.discipline_label})") for m in members
    ]
    if current is not None and current.owner_id not in {value for value, _ in options}:
        options.append((current.owner_id, f"{current.owner.display_name} (no longer on the team)"))
    return options


def goal_chart(goal: Goal) -> Markup:
    """The goal's check-ins against its baseline and target, as an accessible SVG."""
    return line_chart(
        [(c.measured_on, c.value) for c in goal.checkins],
        title=f"{goal.title}: {goal.measure}",
        unit=goal.unit,
        lines=[
            Line("Baseline", float(goal.baseline), "baseline"),
            Line("Target", float(goal.target), "target"),
        ],
        band=Band(float(goal.target), above=goal.direction == GoalDirection.UP),
    )
