"""Emergency ("break-glass") access: a time-limited, read-only grant to one record."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.extensions import db, utcnow

if TYPE_CHECKING:
    from careteam.alerts.models import OutboxAlert

REASON_MIN = 20
REASON_MAX = 1000


class EmergencyAccess(db.Model):
    """A user's stated reason to read a record whose team they are not on, and until when.

    Rows are never edited except to set ended_at once (the "End emergency access" button).
    """

    __tablename__ = "emergency_accesses"
    __table_args__ = (
        CheckConstraint(
            f"length(reason) BETWEEN {REASON_MIN} AND {REASON_MAX}", name="reason_length"
        ),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        # The one lookup on every request of a non-member: "my live grant for this client".
        Index("ix_emergency_accesses_user_client_expires", "user_id", "client_id", "expires_at"),
        # The client's Team page (the lead reads the reasons) and the admin list.
        Index("ix_emergency_accesses_client_created", "client_id", "created_at"),
        Index("ix_emergency_accesses_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    # The written reason, read by the team lead and admins; never copied to the audit log.
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(45), default="")
    # The outbox row that tells the team lead(s), written in the same transaction.
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_alerts.id"), unique=True)

    user: Mapped[User] = relationship()
    client: Mapped[Client] = relationship()
    alert: Mapped[OutboxAlert | None] = relationship(back_populates="emergency_access")

    def until(self) -> datetime:
        """When the grant stops (or stopped): its expiry, or the moment it was ended."""
        return self.ended_at if self.ended_at is not None else self.expires_at

    def is_live(self, at: datetime) -> bool:
        return self.ended_at is None and self.expires_at > at
