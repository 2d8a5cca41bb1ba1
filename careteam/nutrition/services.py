"""Use cases of nutrition updates: post or amend one, and read a client's nutrition page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from careteam import audit
from careteam.access import entry_visible_to
from careteam.auth.models import User
from careteam.charts import line_chart
from careteam.clients.models import Client
from careteam.enums import NutritionType, Visibility
from careteam.extensions import db
from careteam.nutrition.models import NutritionUpdate
from careteam.record.services import EntryError, add_entry, amend_entry
from careteam.timefmt import today_for

WEIGHT_MIN_KG = Decimal("20")
WEIGHT_MAX_KG = Decimal("350")
CENT = Decimal("0.01")
TEXT_MAX = 5000
# What the nutrition page shows at most: two years of weekly weights, and recent updates.
WEIGHT_LIMIT = 104
SUPPLEMENT_LIMIT = 5
RECENT_LIMIT = 10

TEXT_REQUIRED = {
    NutritionType.MEAL_PLAN: "Describe the meal plan change.",
    NutritionType.SUPPLEMENT: "Describe the supplement change.",
    NutritionType.NOTE: "Write the note.",
}


def check_update(
    *,
    update_type: str | None,
    text: str,
    weight_kg: Decimal | None,
    measured_on: date | None,
    today: date,
) -> dict[str, str]:
    """Every problem with a nutrition update's values, by field name; empty when valid."""
    try:
        kind = NutritionType(update_type)
    except ValueError:
        return {"update_type": "Choose what kind of update this is."}
    problems: dict[str, str] = {}
    if len(text) > TEXT_MAX:
        problems["text"] = f"Keep it under {TEXT_MAX} characters."
    if kind != NutritionType.WEIGHT:
        if not text.strip():
            problems["text"] = TEXT_REQUIRED[kind]
        return problems
    if weight_kg is None:
        problems["weight_kg"] = "Enter the weight in kilograms."
    elif not weight_kg.is_finite():
        problems["weight_kg"] = "Enter the weight as a number of kilograms, for example 52.4."
    elif not WEIGHT_MIN_KG <= weight_kg <= WEIGHT_MAX_KG:
        problems["weight_kg"] = (
            f"Enter a weight between {WEIGHT_MIN_KG} and {WEIGHT_MAX_KG} kg. "
            "Check that it is in kilograms, not pounds or grams."
        )
    elif weight_kg != weight_kg.quantize(CENT):
        problems["weight_kg"] = "Enter the weight with at most two decimals, for example 52.45."
    if measured_on is None:
        problems["measured_on"] = "Enter the date the weight was measured."
    elif measured_on > today:
        problems["measured_on"] = "The date measured cannot be in the future."
    return problems


def post_update(
    *,
    actor: User,
    client: Client,
    update_type: NutritionType | str,
    text: str = "",
    weight_kg: Decimal | None = None,
    measured_on: date | None = None,
    blind: bool = False,
    amends: NutritionUpdate | None = None,
) -> NutritionUpdate:
    """Post a nutrition update, or amend one; weight, date and blind apply to weights only."""
    text = text or ""
    problems = check_update(
        update_type=update_type,
        text=text,
        weight_kg=weight_kg,
        measured_on=measured_on,
        today=today_for(actor),
    )
    if problems:
        field, message = next(iter(problems.items()))
        raise EntryError(message, field)
    kind = NutritionType(update_type)
    is_weight = kind == NutritionType.WEIGHT
    # Without JavaScript the form shows every field: what does not apply is ignored.
    update = NutritionUpdate(
        update_type=kind,
        text=text.strip(),
        weight_kg=weight_kg.quantize(CENT) if is_weight and weight_kg is not None else None,
        measured_on=measured_on if is_weight else None,
        blind=bool(blind) if is_weight else False,
        visibility=Visibility.TEAM,
    )
    if amends is not None:
        return amend_entry(amends, update, actor=actor, client=client)
    return add_entry(update, actor=actor, client=client)


@dataclass(frozen=True)
class NutritionOverview:
    """What the team sees on a client's nutrition page."""

    weights: list[NutritionUpdate]  # oldest first by date measured
    more_weights: bool  # older measurements exist beyond WEIGHT_LIMIT
    meal_plan: NutritionUpdate | None
    supplements: list[NutritionUpdate]  # newest first
    recent: list[NutritionUpdate]  # newest first, every type

    @property
    def latest_weight(self) -> NutritionUpdate | None:
        return self.weights[-1] if self.weights else None

    @property
    def previous_weight(self) -> NutritionUpdate | None:
        return self.weights[-2] if len(self.weights) > 1 else None

    @property
    def weight_change(self) -> str:
        """The change from the previous to the latest weight, such as "+0.5" or "-1.2"."""
        if self.latest_weight is None or self.previous_weight is None:
            return ""
        change = self.latest_weight.weight_kg - self.previous_weight.weight_kg
        text = format(abs(change), "f").rstrip("0").rstrip(".") if change else "0"
        return ("+" if change > 0 else "-" if change < 0 else "±") + text

    def chart(self) -> Markup:
        """The weight trend: every current measurement shown to the team, blind ones too."""
        return line_chart(
            [(w.measured_on, w.weight_kg) for w in self.weights],
            title="Weight over time (kg)",
            unit="kg",
        )


def _current(client: Client, viewer: User):
    return (
        select(NutritionUpdate)
        .where(
            NutritionUpdate.client_id == client.id,
            NutritionUpdate.superseded_at.is_(None),
            entry_visible_to(viewer, NutritionUpdate),
        )
        .options(joinedload(NutritionUpdate.author))
    )


def open_overview(*, viewer: User, client: Client) -> NutritionOverview:
    """Open the nutrition page: audited as a view first, then loaded (fresh)."""
    audit.record_view(
        action="view_nutrition", object_type="client", object_id=client.id, client_id=client.id
    )
    return overview(client, viewer)


def overview(client: Client, viewer: User) -> NutritionOverview:
    """The current (non-superseded) nutrition updates a page shows, in four queries."""
    newest = (NutritionUpdate.created_at.desc(), NutritionUpdate.id.desc())
    weights = list(
        db.session.scalars(
            _current(client, viewer)
            .where(NutritionUpdate.update_type == NutritionType.WEIGHT)
            .order_by(NutritionUpdate.measured_on.desc(), *newest)
            .limit(WEIGHT_LIMIT + 1)
        )
    )
    meal_plan = db.session.scalar(
        _current(client, viewer)
        .where(NutritionUpdate.update_type == NutritionType.MEAL_PLAN)
        .order_by(*newest)
        .limit(1)
    )
    supplements = list(
        db.session.scalars(
            _current(client, viewer)
            .where(NutritionUpdate.update_type == NutritionType.SUPPLEMENT)
            .order_by(*newest)
            .limit(SUPPLEMENT_LIMIT)
        )
    )
    recent = list(
        db.session.scalars(_current(client, viewer).order_by(*newest).limit(RECENT_LIMIT))
    )
    return NutritionOverview(
        weights=list(reversed(weights[:WEIGHT_LIMIT])),
        more_weights=len(weights) > WEIGHT_LIMIT,
        meal_plan=meal_plan,
        supplements=supplements,
        recent=recent,
    )
