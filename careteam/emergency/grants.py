"""Live emergency ("break-glass") grants as the access policy reads them.

The access policy asks `live_grant` on every record request of a provider who is not an
active member (or an admin); audit rows written under a grant are marked here. Opening
and ending grants are use cases in `careteam.emergency.services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import g, has_request_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from careteam.audit import AuditEvent
from careteam.emergency.models import EmergencyAccess
from careteam.extensions import db, utcnow

# Marks every audit row written for the client while a request runs under a grant.
EMERGENCY_DETAIL = "emergency"


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
