"""Digest preferences and the record of every digest window."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.enums import DigestDetail, DigestFrequency, DigestStatus, enum_check
from careteam.extensions import db, utcnow


class DigestPreference(db.Model):
    """How and when one user hears about what changed on their teams."""

    __tablename__ = "digest_preferences"
    __table_args__ = (
        enum_check("frequency", DigestFrequency),
        enum_check("detail", DigestDetail),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_valid"),
        # The dispatcher's one query: who is due now.
        Index("ix_digest_preferences_due", "frequency", "next_due_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), default=DigestFrequency.DAILY)
    send_time: Mapped[time] = mapped_column(default=time(8, 0))
    weekday: Mapped[int] = mapped_column(default=0)  # Monday, for weekly digests
    detail: Mapped[str] = mapped_column(String(10), default=DigestDetail.MINIMAL)
    send_when_empty: Mapped[bool] = mapped_column(default=False)
    alerts_enabled: Mapped[bool] = mapped_column(default=True)
    quiet_start: Mapped[time | None]
    quiet_end: Mapped[time | None]
    # The next scheduled send, in UTC, recomputed from the local schedule after each one.
    next_due_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class DigestMute(db.Model):
    """A client whose updates a user does not want in their digest."""

    __tablename__ = "digest_mutes"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id", name="uq_digest_mutes_user_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))


class Digest(db.Model):
    """One digest window of one user; the unique (user, window end) stops double sends."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("user_id", "window_end", name="uq_digests_user_window_end"),
        enum_check("status", DigestStatus),
        Index("ix_digests_status_created", "status", "created_at"),
        Index("ix_digests_user_status_end", "user_id", "status", "window_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when sending: the end of the user's previous sent (or skipped) window.
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=DigestStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    # Fixed before the first attempt, so a resend after a crash carries the same id.
    message_id: Mapped[str] = mapped_column(String(200))
    # A worker holds the digest until this time (renewed during its batch); after a
    # crash another may take it.
    lease_until: Mapped[datetime | None]
    # After a failed attempt: not before this time (exponential backoff with jitter).
    # Once failed for good there is no next attempt: it then holds when the digest failed.
    next_attempt_at: Mapped[datetime | None]
    item_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The error's class name only, never a message that could echo content.
    last_error: Mapped[str] = mapped_column(String(120), default="")

    user: Mapped[User] = relationship()
