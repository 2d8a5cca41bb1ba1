"""Personal access tokens: create (secret shown once), authenticate, list, revoke.

They belong to the accounts: the settings page, the CLI and account deactivation use them
as much as the API, whose authentication (careteam/api/auth.py) calls `authenticate`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import has_request_context, request
from sqlalchemy import select, update

from careteam import audit
from careteam.auth.models import ApiToken, User
from careteam.enums import AuditOutcome, TokenScope
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow

# Recognisable in logs, config files and secret scanners, like GitHub's "ghp_".
TOKEN_PREFIX = "ctp_"  # noqa: S105 - a public prefix, not a secret  # nosec B105
# Writing last_used_at on every request would turn each read into a write; a minute is
# precise enough to tell a user which token is still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)
EXPIRY_CHOICES_DAYS = (7, 30, 90, 365)
NAME_MAX = 100


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    *, user: User, name: str, scope: str, days: int, by_operator: bool = False
) -> tuple[ApiToken, str]:
    """A new token for the user and its secret; only the hash is stored."""
    name = name.strip()
    if not name:
        raise UserFacingError("Give the token a name, e.g. the script that will use it.", "name")
    if len(name) > NAME_MAX:
        raise UserFacingError(f"Use at most {NAME_MAX} characters.", "name")
    if scope not in set(TokenScope):
        raise UserFacingError("Choose read only, or read and write.", "scope")
    if days not in EXPIRY_CHOICES_DAYS:
        raise UserFacingError("Choose when the token expires.", "days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 4],
        token_hash=token_hash(secret),
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "create_api_token",
        object_type="api_token",
        object_id=token.id,
        actor=user,
        detail=f"scope {scope}, {days} days" + (", by an operator (CLI)" if by_operator else ""),
    )
    db.session.commit()
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, marked)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def own_token(*, user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens (what the revoke confirmation names); LookupError for
    anyone else's."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise LookupError(token_id)
    return token


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; LookupError for anyone else's."""
    token = own_token(user=user, token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("revoke_api_token", object_type="api_token", object_id=token.id, actor=user)
        db.session.commit()
    return token


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of a user (deactivation); the caller commits."""
    result = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def authenticate(secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token this secret belongs to, its use audited; None (refusal audited)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if token is None:
        return None
    now = now or utcnow()
    user = token.user
    reason = ""
    if token.revoked_at is not None:
        reason = "token revoked"
    elif token.expires_at <= now:
        reason = "token expired"
    elif not user.is_active:
        reason = "account deactivated"
    ip = (request.remote_addr or "")[:45] if has_request_context() else ""
    if reason:
        audit.record(
            "use_api_token",
            object_type="api_token",
            object_id=token.id,
            actor=user,
            outcome=AuditOutcome.DENIED,
            detail=reason,
        )
        db.session.commit()
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    token.last_used_ip = ip
    # One row per request names the token; the request id ties it to the rows the
    # request's reads and writes add. Method and route only: never the query string.
    audit.record(
        "use_api_token",
        object_type="api_token",
        object_id=token.id,
        actor=user,
        detail=f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
        if has_request_context()
        else "",
    )
    db.session.commit()
    return token
