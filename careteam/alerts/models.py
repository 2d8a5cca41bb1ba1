"""The outbox of immediate alerts, written in the same transaction as the entry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.enums import AlertStatus, enum_check
from careteam.extensions import db, utcnow
from careteam.record.models import Entry

if TYPE_CHECKING:
    from careteam.emergency.models import EmergencyAccess


class OutboxAlert(db.Model):
    """An entry the team must hear about now; a relay turns it into alert emails."""

    __tablename__ = "outbox_alerts"
    __table_args__ = (Index("ix_outbox_alerts_unprocessed", "processed_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The entry the team hears about; NULL for an emergency access, which the
    # EmergencyAccess row (emergency_accesses.alert_id) names instead.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the deliveries for every recipient were created (the fan-out).
    processed_at: Mapped[datetime | None]

    entry: Mapped[Entry | None] = relationship()
    emergency_access: Mapped[EmergencyAccess | None] = relationship(back_populates="alert")


class AlertDelivery(db.Model):
    """One alert email to one team member; unique per alert and user."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "user_id", name="uq_alert_deliveries_alert_user"),
        enum_check("status", AlertStatus),
        Index("ix_alert_deliveries_status_after", "status", "deliver_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("outbox_alerts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.PENDING)
    # Held until the user's quiet hours end.
    deliver_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(120), default="")

    alert: Mapped[OutboxAlert] = relationship()
