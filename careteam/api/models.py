"""The responses kept for Idempotency-Key replays (the API's own table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careteam.extensions import db, utcnow


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
