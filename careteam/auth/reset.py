"""Password reset by email: the request, the signed single-use link, the email, the reset.

The link carries the user id and a fingerprint of the current password hash and last
login, signed with a timestamp (the idea of Django's PasswordResetTokenGenerator), so no
table is needed: setting a password or logging in changes the fingerprint and so spends
every link sent before, and the timestamp makes it expire.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from careteam import audit, mail
from careteam.audit import AuditEvent
from careteam.auth import throttle
from careteam.auth.models import User
from careteam.auth.services import (
    check_password_rules,
    hash_password,
    normalize_email,
    revoke_all_sessions,
)
from careteam.enums import AuditOutcome
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.links import external_url
from careteam.timefmt import zone_of

log = logging.getLogger("careteam.auth.reset")
SEND_TASK = "careteam.send_password_reset"

SALT = "password-reset"
# One email per account in this interval, however often someone asks: a flood of
# requests cannot fill a person's inbox, and a redelivered task does not send twice.
RESEND_AFTER = timedelta(seconds=60)


class ResetLinkError(UserFacingError):
    """The link is tampered with, spent, expired, or its account cannot reset."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def max_age() -> timedelta:
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    """Changes whenever the password is set or the person logs in."""
    last_login = int(user.last_login_at.timestamp()) if user.last_login_at else 0
    material = f"{user.id}:{user.password_hash}:{last_login}".encode()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:32]


def make_token(user: User) -> str:
    """A signed link token for this user, valid until used or PASSWORD_RESET_MAX_AGE_MINUTES."""
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token: str) -> User:
    """The active user a valid, unspent, unexpired token is for; else ResetLinkError."""
    invalid = ResetLinkError(
        "This password reset link does not work. It may have been used already, "
        "or copied only in part."
    )
    try:
        data = _serializer().loads(token, max_age=int(max_age().total_seconds()))
    except SignatureExpired:
        minutes = current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"]
        raise ResetLinkError(
            f"This password reset link has expired: links work for {minutes} minutes.",
            expired=True,
        ) from None
    except BadSignature:
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise invalid
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        raise invalid
    if not hmac.compare_digest(str(data.get("f", "")), _fingerprint(user)):
        raise invalid
    return user


def request_reset(*, email: str) -> None:
    """Someone asked for a reset link: queue the email if an active account has this address.

    Known and unknown addresses do the same work here (one indexed lookup, one audit row,
    one commit, one short-lived publishing thread, no hashing) and give the caller
    nothing to tell them apart.
    """
    user_id = db.session.scalar(
        select(User.id).where(User.email == normalize_email(email), User.active.is_(True))
    )
    audit.record(
        "password_reset_request",
        object_type="user",
        object_id=user_id,
        outcome=AuditOutcome.ALLOWED if user_id else AuditOutcome.DENIED,
        detail="" if user_id else "no active account",
    )
    db.session.commit()
    _queue(current_app._get_current_object(), user_id)


def _queue(app: Flask, user_id: int | None) -> None:
    """Publish the email task from a thread, for an unknown address too (it does nothing).

    Publishing may block on a broker that does not answer, and its cost would tell known
    addresses from unknown ones: never in the request.
    """
    threading.Thread(target=_publish, args=(app, user_id), daemon=True).start()


def _publish(app: Flask, user_id: int | None) -> None:
    if user_id is None:
        return
    try:
        with app.app_context():
            # By name: careteam.auth.tasks imports this module for the task's body, and the
            # web process need not have imported the task module at all.
            app.extensions["celery"].send_task(SEND_TASK, args=[user_id])
    except Exception:  # the person sees no email and can ask again
        app.logger.warning("password reset: broker unavailable", extra={"user_id": user_id})


@dataclass(frozen=True)
class ResetEmail:
    link: str
    expires_at: datetime


def send_reset_email(user_id: int, *, now: datetime | None = None) -> ResetEmail | None:
    """Send the reset email (the task's use case); None when nothing was sent.

    Nothing goes to a deactivated or deleted account, nor twice within RESEND_AFTER.
    """
    now = now or utcnow()
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    recent = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.occurred_at > now - RESEND_AFTER,
            AuditEvent.action == "password_reset_email",
            AuditEvent.object_id == user.id,
        )
    )
    if recent:
        return None
    token = make_token(user)
    email = ResetEmail(
        link=external_url("auth.reset_password", token=token), expires_at=now + max_age()
    )
    context = {
        "user": user,
        "link": email.link,
        "expires_at": email.expires_at,
        "zone": zone_of(user),
        "minutes": current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
        "forgot_url": external_url("auth.forgot_password"),
    }
    message = mail.build_message(
        to=user.email,
        subject="Reset your CareTeam password",
        text=render_template("email/password_reset.txt", **context),
        html=render_template("email/password_reset.html", **context),
    )
    mail.send([message])
    audit.record("password_reset_email", object_type="user", object_id=user.id, actor=None)
    db.session.commit()
    log.info("password reset email sent", extra={"user_id": user.id})
    return email


def reset_password(*, token: str, password: str) -> User:
    """Set a new password through a reset link and end every session of the account."""
    user = user_for_token(token)
    check_password_rules(password, user_inputs=(user.email, user.display_name))
    user.password_hash = hash_password(password)
    # Whoever guessed at the old password locked it out; the owner has just proved they
    # read the account's email, and the guessed password no longer exists.
    throttle.record_success(user)
    revoke_all_sessions(user)
    audit.record("password_reset", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    return user
