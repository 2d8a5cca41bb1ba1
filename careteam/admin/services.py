"""Account management for admins."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select

from careteam import audit
from careteam.audit.viewer import AuditFilter, summary
from careteam.auth import throttle
from careteam.auth.models import User
from careteam.auth.services import create_user, revoke_all_sessions
from careteam.auth.tokens import revoke_all_tokens
from careteam.enums import Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.invitations.services import revoke_for_deactivated_user


def users_query(q: str = "", role: str = "") -> Select:
    stmt = select(User).order_by(User.role, func.lower(User.display_name), User.id)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.display_name).like(pattern), User.email.like(pattern))
        )
    if role:
        stmt = stmt.where(User.role == Role(role))
    return stmt


def set_active(*, actor: User, user: User, active: bool) -> None:
    """Deactivate (ending every session at once) or reactivate an account."""
    if user.id == actor.id and not active:
        raise UserFacingError("You cannot deactivate your own account.")
    if user.active == active:
        raise UserFacingError(
            "Nothing to change: the account is already "
            + ("active." if active else "deactivated.")
        )
    user.active = active
    user.deactivated_at = None if active else utcnow()
    if not active:
        revoke_all_sessions(user)
        revoke_all_tokens(user)  # they stop working at once anyway: the account is inactive
        # Their entries stay; invitations to or from them die with the account.
        revoke_for_deactivated_user(actor=actor, user=user)
    audit.record(
        "activate_user" if active else "deactivate_user",
        object_type="user",
        object_id=user.id,
        actor=actor,
    )
    db.session.commit()


def unlock(*, actor: User, user: User) -> None:
    """Lift a login lockout early and clear the failed attempts (audited)."""
    if not throttle.is_locked(user) and not user.failed_login_count:
        raise UserFacingError("Nothing to change: the account is not locked.")
    throttle.unlock(actor=actor, user=user)
    db.session.commit()


def record_audit_export(*, actor: User, flt: AuditFilter) -> None:
    """Audit an export of the audit log (with its filter, ids only) before any row leaves."""
    audit.record("export_audit", object_type="audit_log", detail=summary(flt), actor=actor)
    db.session.commit()


def create_account(**fields) -> User:
    """An administrator creates an account (see auth.services.create_user); committed, or
    rolled back with the refusal."""
    try:
        user = create_user(**fields)
    except UserFacingError:
        db.session.rollback()
        raise
    db.session.commit()
    return user
