"""Write the audit log: one row per access or change, in the caller's transaction."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from careteam.audit.models import AuditEvent
from careteam.auth.models import User
from careteam.enums import AuditOutcome
from careteam.extensions import db


def _client_ip() -> str:
    if not has_request_context():
        return ""
    return (request.remote_addr or "")[:45]


def record(
    action: str,
    *,
    object_type: str = "",
    object_id: int | None = None,
    client_id: int | None = None,
    outcome: AuditOutcome = AuditOutcome.ALLOWED,
    detail: str = "",
    actor: User | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller's commit writes it."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event_row = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        ip=_client_ip(),
        outcome=outcome,
        detail=detail[:255],
        request_id=g.get("request_id", "")[:64] if has_request_context() else "",
    )
    db.session.add(event_row)
    return event_row


def record_view(
    *,
    action: str,
    object_type: str,
    object_id: int,
    client_id: int | None,
    detail: str = "",
    actor: User | None = None,
) -> None:
    """Record (and commit) that the current user was shown a record's content.

    A read use case calls it before it loads what the page shows: the commit expires what
    the session had loaded, so rows loaded after it are read once, fresh.
    """
    record(
        action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        detail=detail,
        actor=actor,
    )
    db.session.commit()


def shown(
    html: str, action: str, object_type: str, object_id: int, client_id: int, detail: str = ""
) -> str:
    """Record (and commit) that a rendered page showed a record's content; returns the page.

    Rendering comes first because the commit expires what the page has loaded.
    """
    record(
        action, object_type=object_type, object_id=object_id, client_id=client_id, detail=detail
    )
    db.session.commit()
    return html
