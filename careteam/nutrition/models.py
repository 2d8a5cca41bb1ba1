"""Nutrition updates by dietitians: meal plans, weights, supplements, notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column

from careteam.enums import EntryKind, NutritionType, enum_check
from careteam.record.models import Entry

# The longest text of a nutrition update (services check it; drafts keep no more).
TEXT_MAX = 5000

NUTRITION_TYPE_LABELS = {
    NutritionType.MEAL_PLAN: "Meal plan change",
    NutritionType.WEIGHT: "Weight",
    NutritionType.SUPPLEMENT: "Supplement change",
    NutritionType.NOTE: "Nutrition note",
}


class NutritionUpdate(Entry):
    """One nutrition update; a weight may be blind (never shown to the client)."""

    __tablename__ = "nutrition_updates"
    __table_args__ = (
        enum_check("update_type", NutritionType),
        # A weight has its value and date; the other types carry text only.
        CheckConstraint(
            "(update_type = 'weight' AND weight_kg IS NOT NULL AND measured_on IS NOT NULL)"
            " OR (update_type <> 'weight' AND weight_kg IS NULL AND measured_on IS NULL"
            " AND NOT blind)",
            name="weight_only_for_weights",
        ),
        CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    update_type: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    measured_on: Mapped[date | None]
    # Eating-disorder care often weighs "blind": the team sees the weight, the client
    # never does. The portal must leave out every weight with this flag set.
    blind: Mapped[bool] = mapped_column(default=False)

    __mapper_args__ = {"polymorphic_identity": EntryKind.NUTRITION}

    def __repr__(self) -> str:
        # Never the weight or the text: objects end up in logs and tracebacks.
        return f"<NutritionUpdate {self.id} {self.update_type}>"

    @property
    def type_label(self) -> str:
        return NUTRITION_TYPE_LABELS[NutritionType(self.update_type)]

    @property
    def is_weight(self) -> bool:
        return self.update_type == NutritionType.WEIGHT

    @property
    def shown_to_client(self) -> bool:
        """The client sees this update in their portal and copies: a current open weight.

        The one rule, in Python; `shared_with_client()` is the same rule in SQL.
        """
        return self.is_weight and not self.blind and self.superseded_at is None

    @classmethod
    def shared_with_client(cls):
        """SQL: the updates a client sees (with the caller's own current-version filter)."""
        return and_(cls.update_type == NutritionType.WEIGHT, cls.blind.is_(False))

    @property
    def weight_label(self) -> str:
        """The weight without trailing zeros, such as "52.4" (kg)."""
        if self.weight_kg is None:
            return ""
        text = format(Decimal(self.weight_kg).quantize(Decimal("0.01")), "f")
        return text.rstrip("0").rstrip(".")
