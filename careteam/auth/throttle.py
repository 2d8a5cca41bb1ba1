"""Login throttling: rate limits per IP and per account, and the per-account lockout.

For the second login step (two-factor) and any other check of a secret of a known account,
use the lockout like this, inside your use case and before its one commit:

    if throttle.is_locked(user):            # refuse with the same message as a wrong code
        ...
    throttle.record_failure(user)           # a wrong code: counts, audits the lock
    throttle.record_success(user)           # the whole login succeeded: clears the count

None of these commit. A failure of either step counts towards the same lock, so five
wrong passwords or codes in a row (LOGIN_LOCKOUT_THRESHOLD) lock the account.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import or_, update

from careteam import audit
from careteam.auth.models import User
from careteam.extensions import db, utcnow


def is_locked(user: User, *, now: datetime | None = None) -> bool:
    """Whether the account refuses every login attempt until its lock runs out."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def record_failure(user: User | None, *, now: datetime | None = None) -> bool:
    """Count one failed attempt on the account; lock it at each multiple of the threshold.

    Pass None for an unknown address: the same statement runs and matches no row, so the
    database work does not tell known addresses from unknown ones. Attempts on a locked
    account do not count (an attacker cannot stretch a victim's lock). The increment is one
    atomic UPDATE, so parallel attempts cannot slip past the threshold. Returns whether
    this failure locked the account.
    """
    now = now or utcnow()
    # No account has id 0: an unknown address takes the same path and changes nothing.
    count = db.session.execute(
        update(User)
        .where(
            User.id == (user.id if user is not None else 0),
            or_(User.locked_until.is_(None), User.locked_until <= now),
        )
        .values(failed_login_count=User.failed_login_count + 1)
        .returning(User.failed_login_count)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    threshold = max(1, int(current_app.config["LOGIN_LOCKOUT_THRESHOLD"]))
    if user is None or count is None or count % threshold:
        return False
    minutes = lock_minutes(count // threshold)
    user.locked_until = now + timedelta(minutes=minutes)
    audit.record(
        "account_locked",
        object_type="user",
        object_id=user.id,
        actor=user,
        detail=f"{count} failed attempts; locked for {minutes} minutes",
    )
    return True


def lock_minutes(lock_number: int) -> int:
    """The length of the n-th lock in a row: LOGIN_LOCKOUT_MINUTES doubled each time, capped."""
    cfg = current_app.config
    base, cap = int(cfg["LOGIN_LOCKOUT_MINUTES"]), int(cfg["LOGIN_LOCKOUT_MAX_MINUTES"])
    return min(cap, base * 2 ** min(max(lock_number - 1, 0), 20))


def record_success(user: User) -> None:
    """A complete login: the count of consecutive failures starts again."""
    if user.failed_login_count or user.locked_until is not None:
        user.failed_login_count = 0
        user.locked_until = None


def unlock(*, actor: User, user: User) -> None:
    """An admin lifts the lock and clears the failures; the caller commits."""
    user.failed_login_count = 0
    user.locked_until = None
    audit.record("unlock_user", object_type="user", object_id=user.id, actor=actor)


# Keys for Flask-Limiter (careteam/auth/views.py).


def submitted_account_key() -> str:
    """The per-account rate-limit key: a keyed hash of the normalised email submitted.

    Hashed so that the limiter's storage (Redis) never holds addresses, which here may
    reveal who is a client. An empty address gives an empty key, which Flask-Limiter skips
    (the form refuses it anyway, and the per-IP limit still applies).
    """
    email = (request.form.get("email") or "").strip().lower()[:254]
    if not email:
        return ""
    secret = current_app.config["SECRET_KEY"].encode()
    return "account:" + hmac.new(secret, email.encode(), hashlib.sha256).hexdigest()[:32]


def login_limit_per_ip() -> str:
    return current_app.config["RATELIMIT_LOGIN_PER_IP"]


def login_limit_per_account() -> str:
    return current_app.config["RATELIMIT_LOGIN_PER_ACCOUNT"]


def reset_limit_per_ip() -> str:
    return current_app.config["RATELIMIT_RESET_REQUEST_PER_IP"]


def reset_limit_per_account() -> str:
    return current_app.config["RATELIMIT_RESET_REQUEST_PER_ACCOUNT"]


def strength_limit_per_ip() -> str:
    return current_app.config["RATELIMIT_STRENGTH_CHECK_PER_IP"]
