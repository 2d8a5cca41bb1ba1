"""Who looked at my record: the client's view of the audit log of their own record.

It lists what providers (and an administrator, should one ever reach the record) did to
this client's record, in plain words, grouped by person and day in the client's time zone
("Dana Okafor looked at your record 5 times on 2 Dec 2026"), newest first. Left out: the
client's own actions, refused attempts (nothing was shown), events without a person behind
them, and providers' notification settings about this client (not a look at the record).

It never names a kind of entry the client cannot open: a look at, or a change of, a
private or team-only note, a medication change, a nutrition update, an unshared goal... is
told as "looked at your record" or "updated your record". Only what the portal shows the
client (portal/shared_record.py decides, for entries; a goal shared with them) is named.

A page is one query for its events (keyset on occurred_at, id, served by the index
ix_audit_events_client_occurred (client_id, occurred_at)), at most ACCESS_PAGE of them,
plus at most two for which of their entries and goals the client may open, whatever the
size of the log. A page ends on a whole day: the oldest day of a full page moves to the
next one, unless it is the page's only day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db
from careteam.goals.models import Goal
from careteam.paging import Cursor, older_than
from careteam.portal.shared_record import shown_to_client
from careteam.timefmt import format_date, format_time, local_date

# Events read per page (grouped into far fewer lines).
ACCESS_PAGE = 300

# Audit actions on the record as a whole, or on what the client always sees (their team,
# level of care, practice, portal, emergency access), in the words the client reads.
ACTION_WORDS = {
    "view_record": "looked at your record",
    "view_team": "looked at your care team",
    "view_roster": "looked at your care team",
    "view_goals": "looked at your goals",
    "export_fhir": "downloaded a copy of your record",
    "create_client": "created your record",
    "add_team_member": "added someone to your care team",
    "end_team_member": "took someone off your care team",
    "make_team_lead": "changed who coordinates your care",
    "change_level_of_care": "changed your level of care",
    "link_portal_account": "connected your portal account",
    "invite_to_team": "invited someone to your care team",
    "invite_to_portal": "invited you to your portal",
    "revoke_invitation": "withdrew an invitation to your care team",
    "resend_invitation": "sent an invitation again",
    "accept_invitation": "accepted an invitation to your care team",
    "end_practice": "ended a practice assignment",
    "view_practice_logs": "looked at your practice log",
    "correct_client_details": "corrected your name or other details",
    "emergency_access_granted": "opened your record in an emergency, giving a reason",
    "emergency_access_ended": "ended their emergency access",
    "view_emergency_accesses": "looked at who opened your record in an emergency",
}
# Actions on one entry or goal: named only when the client may open it (see above).
OBJECT_WORDS = {
    "view_entry": "read an entry shared with you",
    "view_goal": "looked at one of your goals",
    "view_goal_history": "looked at the history of one of your goals",
    "create_note": "added a note shared with you",
    "create_goal": "set or changed a goal",
    "create_goal_progress": "recorded progress on a goal",
    "create_practice": "gave you a skill to practise",
    "view_practice": "looked at a practice assignment",
    "create_nutrition": "recorded a weight you can see",
    "amend_entry": "corrected an entry shared with you",
}
# Events about a provider's own settings that merely name the client, and a provider's
# private drafts (careteam/drafts): not the record until posted, and a draft of a private
# note must leave no trace for others.
NOT_RECORD_ACCESS = (
    "mute_client_in_digest",
    "unmute_client_in_digest",
    "save_draft",
    "open_draft",
    "discard_draft",
)


def describe(action: str, *, opens: bool = False) -> str:
    """An audit action in plain words. An action on one entry or goal is named only when
    the client may open it (`opens`); anything else only by its kind (view or change)."""
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    if opens and action in OBJECT_WORDS:
        return OBJECT_WORDS[action]
    if action.startswith("view_"):
        return "looked at your record"
    return "updated your record"


ONE_ACT = timedelta(seconds=1)


@dataclass
class AccessLine:
    """What one person did to the record on one day: each kind of act and how often."""

    day: date
    who: str
    role: str  # the discipline, or "Administrator, emergency access"
    is_admin: bool
    emergency: bool  # under an emergency ("break-glass") grant, at least once that day
    first_at: datetime
    last_at: datetime
    acts: dict[str, int] = field(default_factory=dict)  # words -> times, first seen first

    @property
    def times(self) -> int:
        return sum(self.acts.values())

    @property
    def what(self) -> str:
        """ "looked at your record 5 times, added a note shared with you" """
        return ", ".join(f"{words}{_times(n)}" for words, n in self.acts.items())

    @property
    def when(self) -> str:
        """ "at 09:30", or "between 09:30 and 16:10" for more than one act"""
        first, last = format_time(self.first_at), format_time(self.last_at)
        return f"at {first}" if first == last else f"between {first} and {last}"

    @property
    def sentence(self) -> str:
        return f"{self.who} {self.what} on {format_date(self.day)}"


def _times(n: int) -> str:
    return "" if n == 1 else " twice" if n == 2 else f" {n} times"


@dataclass(frozen=True)
class AccessPage:
    lines: list[AccessLine]
    next_cursor: str | None


def _role(actor: User, emergency: bool) -> str:
    if actor.role == Role.ADMIN:
        return "Administrator, emergency access"
    if emergency:
        return f"{actor.discipline_label or 'Provider'}, emergency access"
    return actor.discipline_label


def _openable(client: Client, events: Iterable[AuditEvent]) -> set[tuple[str, int]]:
    """Which (object_type, id) of these events the client may open: two queries at most."""
    entry_ids = {e.object_id for e in events if e.object_type == "entry" and e.object_id}
    goal_ids = {e.object_id for e in events if e.object_type == "goal" and e.object_id}
    opens = {("entry", i) for i in shown_to_client(client, entry_ids)}
    if goal_ids:
        shared = db.session.scalars(
            select(Goal.id).where(
                Goal.id.in_(goal_ids),
                Goal.client_id == client.id,
                Goal.shared_with_client.is_(True),
            )
        )
        opens |= {("goal", i) for i in shared}
    return opens


def group_by_person_and_day(client: Client, events: list[AuditEvent]) -> list[AccessLine]:
    """Newest-first events as lines, one per person and (the viewer's) day, newest first."""
    opens = _openable(client, events)
    lines: dict[tuple[date, int], AccessLine] = {}
    for event in events:
        actor = event.actor
        day = local_date(event.occurred_at)
        # Reads under an emergency grant are marked in the audit detail (careteam/emergency).
        emergency = event.detail.startswith("emergency") or event.action.startswith("emergency_")
        line = lines.get((day, actor.id))
        if line is None:
            line = lines[(day, actor.id)] = AccessLine(
                day=day,
                who=actor.display_name,
                role=_role(actor, emergency),
                is_admin=actor.role == Role.ADMIN,
                emergency=actor.role == Role.ADMIN or emergency,
                first_at=event.occurred_at,
                last_at=event.occurred_at,
            )
        elif emergency and not line.emergency:
            line.emergency, line.role = True, _role(actor, True)
        line.first_at = min(line.first_at, event.occurred_at)
    # One use case may write several rows (a correction of three details writes three):
    # the same person, act and object within one second is one act to the client.
    last_seen: dict[tuple, datetime] = {}
    for event in reversed(events):  # each line's acts in the order they happened
        line = lines[(local_date(event.occurred_at), event.actor.id)]
        act = (event.actor.id, event.action, event.object_type, event.object_id)
        previous, last_seen[act] = last_seen.get(act), event.occurred_at
        if previous is not None and event.occurred_at - previous < ONE_ACT:
            continue
        words = describe(event.action, opens=(event.object_type, event.object_id) in opens)
        line.acts[words] = line.acts.get(words, 0) + 1
    return list(lines.values())


def access_log(
    client: Client, *, cursor: Cursor | None = None, limit: int = ACCESS_PAGE
) -> AccessPage:
    """Providers' and administrators' views and changes of this record, by person and
    day, newest first; a page holds at most `limit` events and ends on a whole day."""
    stmt = (
        select(AuditEvent)
        .join(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.client_id == client.id,
            AuditEvent.outcome == AuditOutcome.ALLOWED,
            AuditEvent.action.not_in(NOT_RECORD_ACCESS),
            User.role.in_((Role.PROVIDER, Role.ADMIN)),
        )
        .options(contains_eager(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit + 1)
    )
    if client.user_id is not None:
        stmt = stmt.where(AuditEvent.actor_id != client.user_id)
    if cursor is not None:
        stmt = older_than(stmt, AuditEvent.occurred_at, AuditEvent.id, cursor)
    events = list(db.session.scalars(stmt))
    more = len(events) > limit
    events = events[:limit]
    if more:
        # End the page on a whole day: its oldest day starts the next page instead.
        oldest = local_date(events[-1].occurred_at)
        whole_days = [e for e in events if local_date(e.occurred_at) != oldest]
        events = whole_days or events
    next_cursor = Cursor(events[-1].occurred_at, events[-1].id).encode() if more else None
    return AccessPage(group_by_person_and_day(client, events), next_cursor)
