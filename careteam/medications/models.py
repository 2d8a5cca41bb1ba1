"""Medication changes by prescribers, and the team's acknowledgements of them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.enums import EntryKind, MedicationAction, enum_check
from careteam.extensions import db, utcnow
from careteam.record.models import Acknowledged, Entry

# The longest value of each text field of a change (services check them; drafts keep no more).
LENGTHS = {"medication": 120, "unit": 20, "route": 40, "frequency": 80, "reason": 2000}

ACTION_LABELS = {
    MedicationAction.STARTED: "Started",
    MedicationAction.DOSE_CHANGED: "Dose changed",
    MedicationAction.STOPPED: "Stopped",
    MedicationAction.CONTINUED: "Continued",
}


def medication_key(name: str) -> str:
    """The name that groups one medication's changes: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


def format_dose(dose: Decimal | None) -> str:
    """A dose without trailing zeros: Decimal("50.000") -> "50", Decimal("0.500") -> "0.5"."""
    if dose is None:
        return ""
    text = format(dose, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class MedicationChange(Acknowledged, Entry):
    """A medication started, changed, continued or stopped; the current list derives from these."""

    __tablename__ = "medication_changes"
    __table_args__ = (
        enum_check("action", MedicationAction),
        Index("ix_medication_changes_medication_key", "medication_key"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    medication: Mapped[str] = mapped_column(String(120))
    # Lower-cased name that groups one medication's history.
    medication_key: Mapped[str] = mapped_column(String(120))
    dose: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(20), default="")
    route: Mapped[str] = mapped_column(String(40), default="")
    frequency: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")

    acknowledgements: Mapped[list[MedicationAck]] = relationship(
        back_populates="change", order_by="MedicationAck.acknowledged_at"
    )

    __mapper_args__ = {"polymorphic_identity": EntryKind.MEDICATION}

    @property
    def action_label(self) -> str:
        return ACTION_LABELS[MedicationAction(self.action)]

    @property
    def is_stop(self) -> bool:
        return self.action == MedicationAction.STOPPED

    @property
    def dose_text(self) -> str:
        """ "50 mg", or "" when no dose was given (a stop)."""
        dose = format_dose(self.dose)
        return f"{dose} {self.unit}".strip() if dose else ""

    @property
    def regimen(self) -> str:
        """Dose, route and frequency as prescribers write them: "50 mg oral, once daily"."""
        head = " ".join(part for part in (self.dose_text, self.route) if part)
        return ", ".join(part for part in (head, self.frequency) if part)

    @property
    def order_key(self) -> tuple[date, datetime, int]:
        """Which of two changes of one medication is later."""
        return (self.effective_date, self.created_at, self.id)


class MedicationAck(db.Model):
    """A team member has seen a medication change."""

    __tablename__ = "medication_acks"
    __table_args__ = (
        UniqueConstraint("change_id", "user_id", name="uq_medication_acks_change_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("medication_changes.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

    change: Mapped[MedicationChange] = relationship(back_populates="acknowledgements")
    user: Mapped[User] = relationship()
