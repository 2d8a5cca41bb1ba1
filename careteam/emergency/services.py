"""Emergency ("break-glass") access use cases: find, grant, end and list grants.

A grant lets a provider who is not on a client's team, or an admin, read that record for
EMERGENCY_ACCESS_MINUTES after stating a reason; careteam/access.py decides what it
allows (reading only). The reason is stored in the grant row and never copied into the
audit log or an email.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from careteam import access, audit
from careteam.alerts.outbox import queue_emergency_alert
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.emergency.grants import live_grant
from careteam.emergency.models import REASON_MAX, REASON_MIN, EmergencyAccess
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow

# A name and birth date shared by more people than this is not a search, it is a list.
MAX_MATCHES = 5


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


def open_grant(
    *, actor: User, client: Client, reason: str, now: datetime | None = None
) -> EmergencyAccess:
    """Grant read access for EMERGENCY_ACCESS_MINUTES, tell the lead(s), audit it; commits."""

    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise UserFacingError(
            f"Write between {REASON_MIN} and {REASON_MAX} characters.", field="reason"
        )
    if access.is_active_member(actor.id, client.id):
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


def record_list_viewed(*, page: int) -> None:
    """An administrator read a page of the emergency accesses and their reasons (audited)."""
    audit.record("view_emergency_accesses", detail=f"page {page}")
    db.session.commit()
