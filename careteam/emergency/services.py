"""Emergency ("break-glass") access use cases: find, grant, end and list grants.

A grant lets a provider who is not on a client's team, or an admin, read that record for
EMERGENCY_ACCESS_MINUTES after stating a reason; careteam/access.py decides what it
allows (reading only). The reason is stored in the grant row and never copied into the
audit log or an email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, g, has_request_context, request
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, selectinload

from careteam import audit
from careteam.audit import AuditEvent
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.emergency.models import REASON_MAX, REASON_MIN, EmergencyAccess
from careteam.enums import MemberStatus
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow

# Marks every audit row written for the client while a request runs under a grant.
EMERGENCY_DETAIL = "emergency"
# A name and birth date shared by more people than this is not a search, it is a list.
MAX_MATCHES = 5


@dataclass(frozen=True)
class LiveGrant:
    """A grant as the access policy and the banner need it, detached from the session."""

    id: int
    user_id: int
    client_id: int
    expires_at: datetime
    ended_at: datetime | None = None


def live_grant(*, user_id: int, client_id: int, now: datetime | None = None) -> LiveGrant | None:
    """The user's grant for this client that has neither expired nor ended: one indexed query."""
    now = now or utcnow()
    row = db.session.execute(
        select(EmergencyAccess.id, EmergencyAccess.expires_at)
        .where(
            EmergencyAccess.user_id == user_id,
            EmergencyAccess.client_id == client_id,
            EmergencyAccess.expires_at > now,
            EmergencyAccess.ended_at.is_(None),
        )
        .order_by(EmergencyAccess.expires_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return LiveGrant(id=row.id, user_id=user_id, client_id=client_id, expires_at=row.expires_at)


def _normal_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def find_by_name_and_birth_date(*, actor: User, full_name: str, date_of_birth: date) -> list[int]:
    """Ids of the clients with exactly this full name and date of birth (audited, ids only).

    Both must match exactly (case and spacing aside): someone who does not already know
    who the client is cannot list records through this search.
    """
    wanted = _normal_name(full_name)
    rows = db.session.execute(
        select(Client.id, Client.full_name)
        .where(Client.date_of_birth == date_of_birth)
        .order_by(Client.id)
        .limit(200)
    ).all()
    found = [row.id for row in rows if _normal_name(row.full_name) == wanted][:MAX_MATCHES]
    audit.record(
        "emergency_search", actor=actor, detail=f"by name and birth date; found {len(found)}"
    )
    db.session.commit()
    return found


def find_by_id(*, actor: User, client_id: int) -> list[int]:
    """An administrator's look-up by client id (audited, ids only)."""
    found = db.session.scalar(select(Client.id).where(Client.id == client_id))
    audit.record("emergency_search", actor=actor, detail=f"by id; found {int(found is not None)}")
    db.session.commit()
    return [found] if found is not None else []


def is_active_member(user: User, client_id: int) -> bool:
    return (
        db.session.scalar(
            select(CareTeamMember.id).where(
                CareTeamMember.client_id == client_id,
                CareTeamMember.provider_id == user.id,
                CareTeamMember.status == MemberStatus.ACTIVE,
            )
        )
        is not None
    )


def open_grant(
    *, actor: User, client: Client, reason: str, now: datetime | None = None
) -> EmergencyAccess:
    """Grant read access for EMERGENCY_ACCESS_MINUTES, tell the lead(s), audit it; commits."""
    from careteam.alerts.services import queue_emergency_alert

    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise UserFacingError(
            f"Write between {REASON_MIN} and {REASON_MAX} characters.", field="reason"
        )
    if is_active_member(actor, client.id):
        raise UserFacingError("You are on this client's team: open the record directly.")
    now = now or utcnow()
    grant = EmergencyAccess(
        user_id=actor.id,
        client_id=client.id,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(minutes=current_app.config["EMERGENCY_ACCESS_MINUTES"]),
        ip=(request.remote_addr or "")[:45] if has_request_context() else "",
    )
    db.session.add(grant)
    db.session.flush()
    queue_emergency_alert(grant)
    # The reason's length only: the text itself stays in the grant row.
    audit.record(
        "emergency_access_granted",
        object_type="emergency_access",
        object_id=grant.id,
        client_id=client.id,
        actor=actor,
        detail=f"reason_length={len(reason)}",
    )
    db.session.commit()
    return grant


def end_grant(*, actor: User, client_id: int, now: datetime | None = None) -> EmergencyAccess:
    """End the actor's live grant for this client now; LookupError if there is none."""
    now = now or utcnow()
    live = live_grant(user_id=actor.id, client_id=client_id, now=now)
    if live is None:
        raise LookupError("no live emergency access")
    grant = db.session.get(EmergencyAccess, live.id)
    grant.ended_at = now
    audit.record(
        "emergency_access_ended",
        object_type="emergency_access",
        object_id=grant.id,
        client_id=client_id,
        actor=actor,
    )
    db.session.commit()
    return grant


def grants_for_client(client_id: int, limit: int = 20) -> list[EmergencyAccess]:
    """The client's most recent grants, newest first, with who opened them (one query each)."""
    return list(
        db.session.scalars(
            select(EmergencyAccess)
            .where(EmergencyAccess.client_id == client_id)
            .options(selectinload(EmergencyAccess.user))
            .order_by(EmergencyAccess.created_at.desc(), EmergencyAccess.id.desc())
            .limit(limit)
        )
    )


def recent_query() -> Select:
    """Every grant, newest first, for the admin list (paginated by the caller)."""
    return (
        select(EmergencyAccess)
        .options(selectinload(EmergencyAccess.user), selectinload(EmergencyAccess.client))
        .order_by(EmergencyAccess.created_at.desc(), EmergencyAccess.id.desc())
    )


@event.listens_for(Session, "before_flush")
def _mark_emergency_audit_rows(session: Session, flush_context, instances) -> None:
    """Every audit row of the grant's user on the grant's client, during a request under
    the grant, says "emergency": admins and the client's access log can tell.

    Done here rather than in each view, so that a page added later is marked too.
    """
    if not has_request_context():
        return
    grant = g.get("emergency_access")
    if grant is None:
        return
    for obj in session.new:
        if (
            isinstance(obj, AuditEvent)
            and obj.client_id == grant.client_id
            and obj.actor_id == grant.user_id
            and not (obj.detail or "").startswith(EMERGENCY_DETAIL)
        ):
            obj.detail = f"{EMERGENCY_DETAIL} {obj.detail or ''}".strip()[:255]
