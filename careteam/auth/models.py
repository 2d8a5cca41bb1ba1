"""Accounts, their server-side sessions and their personal access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.enums import Discipline, Role, TokenScope, WeightUnit, enum_check
from careteam.extensions import db, utcnow

if TYPE_CHECKING:
    from careteam.clients.models import CareTeamMember


class User(db.Model):
    """A person who logs in: a provider, a client or an admin."""

    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", Role),
        enum_check("discipline", Discipline),
        enum_check("weight_unit", WeightUnit),
        CheckConstraint(
            "(role = 'provider' AND discipline IS NOT NULL)"
            " OR (role <> 'provider' AND discipline IS NULL)",
            name="discipline_only_for_providers",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(120))
    discipline: Mapped[str | None] = mapped_column(String(40))
    credentials: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    practice_name: Mapped[str] = mapped_column(String(120), default="")
    share_email: Mapped[bool] = mapped_column(default=False)
    share_phone: Mapped[bool] = mapped_column(default=False)
    share_practice: Mapped[bool] = mapped_column(default=True)
    # IANA name; pages and digests follow it. New accounts start in the deployment's
    # DISPLAY_TIMEZONE (auth.services.create_user); the column default is the fallback.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Whether the zone is the person's own (their browser's at a login, or chosen in
    # settings) rather than the deployment's default: only a default is replaced at login.
    time_zone_chosen: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Weights are entered and shown in this unit (stored in kilograms whatever it is).
    weight_unit: Mapped[str] = mapped_column(String(2), default=WeightUnit.KG, server_default="kg")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Login lockout (careteam/auth/throttle.py): consecutive failed attempts since the last
    # successful login, and until when the account refuses every login.
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]

    memberships: Mapped[list[CareTeamMember]] = relationship(
        back_populates="provider", foreign_keys="CareTeamMember.provider_id"
    )

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def discipline_label(self) -> str:
        return Discipline(self.discipline).label if self.discipline else ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(db.Model):
    """One login, checked on every request so that logout revokes it on the server."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(45), default="")

    user: Mapped[User] = relationship()


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
