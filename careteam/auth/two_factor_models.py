"""TOTP two-factor credentials and one-time recovery codes.

A module of its own (not auth/models.py) so that the two-factor tables can change
without touching the User model that other features extend.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from careteam.extensions import db, utcnow


class TwoFactorCredential(db.Model):
    """A user's TOTP secret (encrypted), whether it is confirmed, and its replay guard."""

    __tablename__ = "two_factor_credentials"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # A Fernet token (AES-128-CBC + HMAC-SHA256) of the base32 secret; the key is derived
    # from SECRET_KEY or set as TWO_FACTOR_ENCRYPTION_KEY (see careteam/auth/two_factor.py).
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while the enrolment waits for its first correct code.
    confirmed_at: Mapped[datetime | None]
    # The last 30-second time step whose code was accepted: an older or equal one is refused.
    last_used_step: Mapped[int | None]
    # Wrong codes count towards the account's lockout: careteam/auth/throttle.py, on users.


class RecoveryCode(db.Model):
    """One single-use recovery code, kept only as a SHA-256 of its 80 random bits."""

    __tablename__ = "two_factor_recovery_codes"
    __table_args__ = (Index("ix_two_factor_recovery_codes_user_hash", "user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
