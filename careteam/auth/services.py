"""Passwords, logins and the server-side sessions that make logout final."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session, url_for
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from careteam import audit
from careteam.auth import passwords, throttle
from careteam.auth.models import User, UserSession
from careteam.auth.passwords import AccountError
from careteam.digests.preferences import adopt_browser_zone
from careteam.enums import AuditOutcome, Discipline, Role
from careteam.extensions import db, utcnow
from careteam.timefmt import TIME_ZONES

SESSION_KEY = "sid"
MIN_PASSWORD_LENGTH = passwords.MIN_PASSWORD_LENGTH
MAX_PASSWORD_LENGTH = passwords.MAX_PASSWORD_LENGTH
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """An argon2id hash of the (NFKC-normalised) password with the configured parameters."""
    return _hasher().hash(passwords.normalize(password))


def verify_password(user: User | None, password: str) -> bool:
    """Whether the password matches the user's hash; costs one verification for no user too.

    Hashes made before passwords were normalised hold the password as typed; such a
    password is accepted as typed too, and rehashed normalised (see authenticate).
    """
    stored = user.password_hash if user is not None else _dummy_hash()
    candidates = dict.fromkeys((passwords.normalize(password), password))
    return any(_verifies(stored, candidate) for candidate in candidates)


def check_password_rules(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """The one password rule book: 12-128 characters, not common, not easily guessed."""
    passwords.check_password(password, user_inputs=user_inputs)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    *,
    email: str,
    password: str,
    role: Role,
    display_name: str,
    discipline: Discipline | None = None,
    credentials: str = "",
    actor: User | None = None,
) -> User:
    """Create an account; the caller commits (with the audit row this adds)."""
    email = normalize_email(email)
    role = Role(role)
    if role == Role.PROVIDER and discipline is None:
        raise AccountError("A provider needs a discipline.")
    if role != Role.PROVIDER and discipline is not None:
        raise AccountError("Only providers have a discipline.")
    check_password_rules(password, user_inputs=(email, display_name))
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError("An account with this email address already exists.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name.strip(),
        discipline=Discipline(discipline) if discipline else None,
        credentials=credentials.strip(),
        time_zone=default_time_zone(),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("create_user", object_type="user", object_id=user.id, actor=actor, detail=role)
    return user


def default_time_zone() -> str:
    """The zone a new account starts in: the deployment's DISPLAY_TIMEZONE.

    So that a default 08:00 digest means 08:00 where the practice is. A name users could
    not pick themselves (a typo, "EST") falls back to UTC, with a warning in the log.
    """
    name = current_app.config.get("DISPLAY_TIMEZONE") or "UTC"
    if name in TIME_ZONES:
        return name
    current_app.logger.warning(
        "DISPLAY_TIMEZONE is not a time zone users can choose; new accounts start in UTC",
        extra={"display_timezone": name[:64]},
    )
    return "UTC"


def authenticate(email: str, password: str) -> User | None:
    """The active, unlocked user with these credentials, or None; audits both outcomes.

    Every refusal takes the same path: an unknown address still costs one hash
    verification, a locked account is verified too, and each runs the same failure count
    (throttle.record_failure), so neither timing nor the database work tells unknown,
    locked and wrong apart. A wrong password counts towards the account's lockout.
    """
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user, password)
    locked = user is not None and throttle.is_locked(user)
    if user is None or not ok or not user.active or locked:
        throttle.record_failure(None if ok else user)
        if locked:
            detail = "locked"
        elif user is not None and ok:
            detail = "inactive"
        else:
            detail = "bad credentials"
        audit.record(
            "login",
            object_type="user",
            object_id=user.id if user else None,
            actor=user,
            outcome=AuditOutcome.DENIED,
            detail=detail,
        )
        db.session.commit()
        return None
    hasher = _hasher()
    normalized = passwords.normalize(password)
    if hasher.check_needs_rehash(user.password_hash) or (
        normalized != password and not _verifies(user.password_hash, normalized)
    ):
        user.password_hash = hasher.hash(normalized)
    return user


def _verifies(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = f"{current_app.config['ARGON2_TIME_COST']}:{current_app.config['ARGON2_MEMORY_COST']}"
    if key not in _DUMMY:
        _DUMMY[key] = _hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, ip: str = "", browser_zone: str | None = None) -> None:
    """Begin a fresh server-side session for the user (the old cookie's data is dropped).

    `browser_zone` is the time zone the login page's script read from the browser: a user
    still in the deployment's default zone takes it (digests.adopt_browser_zone).
    """
    session.clear()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
            ip=ip[:45],
        )
    )
    user.last_login_at = now
    adopt_browser_zone(user, browser_zone)
    # Only a complete login (both steps, where two-factor applies) clears the failures.
    throttle.record_success(user)
    audit.record("login", object_type="user", object_id=user.id, actor=user)
    db.session.commit()
    session.permanent = True
    session[SESSION_KEY] = token


def user_for_session(user_id: str) -> User | None:
    """Flask-Login's loader: the user only if the cookie's session is still live."""
    token = session.get(SESSION_KEY)
    if not token or not user_id.isdigit():
        return None
    # One statement: the session with its user (a lazy load would be a second).
    row = db.session.scalar(
        select(UserSession)
        .where(UserSession.token_hash == _token_hash(token))
        .options(joinedload(UserSession.user))
    )
    now = utcnow()
    if row is None or row.user_id != int(user_id) or not _is_live(row, now):
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION and not _is_background_request():
        row.last_seen_at = now
        db.session.commit()
    g.session_ends_at = _ends_at(row)
    return user


def _is_background_request() -> bool:
    """A draft's autosave (static/js/drafts.js) is not the user's activity.

    It may go out as the idle warning opens, and must not keep alive a session the warning
    is about to end; typing counts through the throttled keep-alive instead.
    """
    return request.headers.get("X-CareTeam-Autosave") == "1"


def _ends_at(row: UserSession) -> datetime:
    """When the session ends if nothing happens: idle timeout or absolute lifetime."""
    return min(row.last_seen_at + current_app.config["SESSION_IDLE_TIMEOUT"], row.expires_at)


def keep_alive() -> datetime | None:
    """The idle warning's "Stay logged in": mark the current session as used now.

    Unlike page views (LAST_SEEN_RESOLUTION), this always writes, so the browser's
    countdown and the server agree to the second. Returns when the session now ends.
    """
    token = session.get(SESSION_KEY)
    if not token:
        return None
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    )
    if row is None:
        return None
    row.last_seen_at = utcnow()
    db.session.commit()
    return _ends_at(row)


def seconds_until_logoff() -> int | None:
    """Seconds this request's session has left without activity (None when not logged in)."""
    ends_at = g.get("session_ends_at")
    return None if ends_at is None else seconds_until(ends_at)


def seconds_until(moment: datetime) -> int:
    return max(0, int((moment - utcnow()).total_seconds()))


def _is_live(row: UserSession, now: datetime) -> bool:
    idle = current_app.config["SESSION_IDLE_TIMEOUT"]
    return row.revoked_at is None and row.expires_at > now and row.last_seen_at + idle > now


def home_for(user: User) -> str:
    """Where a logged-in user starts: their role's home page."""
    if user.is_admin:
        return url_for("admin.users")
    if user.is_client:
        return url_for("portal.home")
    return url_for("clients.dashboard")


def log_out(user: User) -> None:
    """Log out: audited, the session revoked on the server (committed)."""
    audit.record("logout", object_type="user", object_id=user.id, actor=user)
    end_session()
    db.session.commit()


def end_session() -> None:
    """Revoke the current session on the server and clear the cookie's data."""
    token = session.get(SESSION_KEY)
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    session.clear()


def change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; ends the user's other sessions."""
    if not verify_password(user, current_password):
        audit.record(
            "change_password",
            object_type="user",
            object_id=user.id,
            actor=user,
            outcome=AuditOutcome.DENIED,
            detail="wrong current password",
        )
        db.session.commit()
        raise AccountError(
            "That is not your current password. Type it again.", field="current_password"
        )
    check_password_rules(new_password, user_inputs=(user.email, user.display_name))
    user.password_hash = hash_password(new_password)
    revoke_other_sessions(user)
    audit.record("change_password", object_type="user", object_id=user.id, actor=user)
    db.session.commit()


def revoke_other_sessions(user: User) -> None:
    """End every live session of the user except the one this request belongs to."""
    token = session.get(SESSION_KEY)
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if token:
        query = query.where(UserSession.token_hash != _token_hash(token))
    db.session.execute(query.values(revoked_at=utcnow()))


def revoke_all_sessions(user: User) -> None:
    """End every live session of a user (deactivation, password change)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
