"""Who looked at my record: the client's view of the audit log of their own record.

It lists what providers (and an administrator, should one ever reach the record) did to
this client's record, in plain words, newest first. Left out: the client's own actions,
refused attempts (nothing was shown), events without a person behind them, and
providers' notification settings about this client (not a look at the record).
The index ix_audit_events_client_occurred (client_id, occurred_at) serves the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import AuditOutcome, Role
from careteam.extensions import db
from careteam.paging import Cursor, older_than, page_of

ACCESS_PAGE = 30

# Audit actions on a client's record, in the words the client reads.
ACTION_WORDS = {
    "view_record": "opened your record",
    "view_team": "looked at your care team",
    "view_roster": "looked at your care team",
    "view_goals": "looked at your goals",
    "view_goal": "looked at one of your goals",
    "view_goal_history": "looked at the history of one of your goals",
    "view_entry": "read an entry in your record",
    "view_medications": "looked at your medications",
    "view_medication_change": "read a medication change",
    "view_nutrition": "looked at your nutrition updates",
    "export_fhir": "downloaded a copy of your record",
    "create_client": "created your record",
    "create_note": "added a note",
    "create_goal": "set or changed a goal",
    "create_goal_progress": "recorded progress on a goal",
    "create_medication": "recorded a medication change",
    "create_nutrition": "added a nutrition update",
    "amend_entry": "corrected an entry",
    "acknowledge_medication": "confirmed they saw a medication change",
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
    "create_practice": "gave you a skill to practise",
    "end_practice": "ended a practice assignment",
    "view_practice": "looked at a practice assignment",
    "view_practice_logs": "looked at your practice log",
    "emergency_access_granted": "opened your record in an emergency, giving a reason",
    "emergency_access_ended": "ended their emergency access",
    "view_emergency_accesses": "looked at who opened your record in an emergency",
}
# Events about a provider's own settings that merely name the client.
NOT_RECORD_ACCESS = ("mute_client_in_digest", "unmute_client_in_digest")


def describe(action: str) -> str:
    """An audit action in plain words; unknown ones by their kind (view or change)."""
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    if action.startswith("view_"):
        return "looked at your record"
    return "updated your record"


@dataclass(frozen=True)
class AccessRow:
    """One line of the client's access log."""

    occurred_at: datetime
    who: str
    role: str  # the discipline, or "Administrator (emergency access)"
    what: str
    is_admin: bool
    emergency: bool = False  # under an emergency ("break-glass") grant


@dataclass(frozen=True)
class AccessPage:
    rows: list[AccessRow]
    next_cursor: str | None


def _row(event: AuditEvent) -> AccessRow:
    actor = event.actor
    is_admin = actor.role == Role.ADMIN
    # Reads under an emergency grant are marked in the audit detail (careteam/emergency).
    emergency = event.detail.startswith("emergency") or event.action.startswith("emergency_")
    if is_admin:
        role = "Administrator (emergency access)"
    elif emergency:
        role = f"{actor.discipline_label or 'Provider'} (emergency access)"
    else:
        role = actor.discipline_label
    return AccessRow(
        occurred_at=event.occurred_at,
        who=actor.display_name,
        role=role,
        what=describe(event.action),
        is_admin=is_admin,
        emergency=is_admin or emergency,
    )


def access_log(
    client: Client, *, cursor: Cursor | None = None, limit: int = ACCESS_PAGE
) -> AccessPage:
    """Providers' and administrators' views and changes of this record, newest first.

    One query per page whatever the size of the log (keyset on occurred_at, id).
    """
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
    page = page_of(list(db.session.scalars(stmt)), limit, at=lambda event: event.occurred_at)
    return AccessPage([_row(e) for e in page.items], page.next_cursor)
