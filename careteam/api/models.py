"""Personal access tokens and the responses kept for Idempotency-Key replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.enums import TokenScope, enum_check
from careteam.extensions import db, utcnow


class ApiToken(db.Model):
    """A user's personal access token. Only the SHA-256 of the secret is stored.

    The secret is 32 random bytes, so a fast hash is enough (nobody can guess it from the
    hash), and every API request can check it without argon2's deliberate slowness.
    Tokens are never deleted: revoking sets revoked_at, and the row names the token in
    the audit log.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        enum_check("scope", TokenScope),
        # The settings page lists a user's tokens, newest first.
        Index("ix_api_tokens_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token ("ctp_Ab12"), shown so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # Looked up on every API request.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10), default=TokenScope.READ)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    @property
    def may_write(self) -> bool:
        return self.scope == TokenScope.WRITE


class IdempotentResponse(db.Model):
    """The first response to a POST that carried an Idempotency-Key, kept 24 hours.

    Keys are per user. `fingerprint` is the SHA-256 of method, path and body: the same key
    with another request is refused. A row without a status is a request still running.
    The stored body is the record's own content (it is purged by the beat sweep after
    `expires_at`).
    """

    __tablename__ = "api_idempotent_responses"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_api_idempotent_responses_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    status_code: Mapped[int | None]
    headers: Mapped[str | None] = mapped_column(Text)  # JSON of the headers worth replaying
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
