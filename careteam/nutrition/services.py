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
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import NutritionType, Visibility, WeightUnit
from careteam.extensions import db
from careteam.nutrition import units
from careteam.nutrition.models import TEXT_MAX, NutritionUpdate
from careteam.record.services import EntryError, add_entry, amend_entry
from careteam.timefmt import today_for, zone_of

WEIGHT_MIN_KG = units.MIN_KG
WEIGHT_MAX_KG = units.MAX_KG
CENT = units.CENT
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
    unit: str = WeightUnit.KG,
) -> dict[str, str]:
    """Every problem with a nutrition update's values, by field name; empty when valid.

    `weight_kg` is the weight as typed, in `unit` (kilograms unless the user reads pounds):
    a message names the bound that failed in the unit the user typed.
    """
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
    problem = units.weight_problem(weight_kg, unit)
    if problem:
        problems["weight_kg"] = problem
    if measured_on is None:
        problems["measured_on"] = "Enter the date the weight was measured."
    elif measured_on > today:
        problems["measured_on"] = "The date measured cannot be in the future."
    return problems


class SameDayWeight(EntryError):
    """Another current weight of this client was measured on the same day: confirm first."""

    def __init__(self, existing: NutritionUpdate, viewer: User) -> None:
        self.existing = existing
        at = existing.created_at.astimezone(zone_of(viewer)).strftime("%H:%M")
        super().__init__(
            "There is already a weight for this day "
            f"({units.format_weight(existing.weight_kg, viewer.weight_unit)} at {at}). "
            "Record another?",
            "confirm_same_day",
            http_status=409,
        )


def same_day_weight(
    client: Client, measured_on: date | None, *, viewer: User, amends: NutritionUpdate | None
) -> NutritionUpdate | None:
    """The latest current weight of the client measured that day, other than `amends`."""
    if measured_on is None:
        return None
    stmt = (
        select(NutritionUpdate)
        .where(
            NutritionUpdate.client_id == client.id,
            NutritionUpdate.update_type == NutritionType.WEIGHT,
            NutritionUpdate.superseded_at.is_(None),
            NutritionUpdate.measured_on == measured_on,
            entry_visible_to(viewer, NutritionUpdate),
        )
        .order_by(NutritionUpdate.created_at.desc(), NutritionUpdate.id.desc())
        .limit(1)
    )
    if amends is not None:
        stmt = stmt.where(NutritionUpdate.id != amends.id)
    return db.session.scalar(stmt)


def post_update(
    *,
    actor: User,
    client: Client,
    update_type: NutritionType | str,
    text: str = "",
    weight_kg: Decimal | None = None,
    measured_on: date | None = None,
    blind: bool | None = None,
    amends: NutritionUpdate | None = None,
    unit: str = WeightUnit.KG,
    confirmed_same_day: bool | None = None,
    from_draft: bool = False,
) -> NutritionUpdate:
    """Post a nutrition update, or amend one; weight, date and blind apply to weights only.

    `weight_kg` is in `unit` as typed (stored in kilograms). `blind` None follows the
    client's "weights blind by default". With `confirmed_same_day` False, a second weight
    measured on a day that already has one is refused with SameDayWeight (the web form
    asks first); None does not ask (the API, imports). `from_draft`: posted from the web
    form, whose draft (careteam/drafts) goes in the same transaction.
    """
    text = text or ""
    problems = check_update(
        update_type=update_type,
        text=text,
        weight_kg=weight_kg,
        measured_on=measured_on,
        today=today_for(actor),
        unit=unit,
    )
    if problems:
        field, message = next(iter(problems.items()))
        raise EntryError(message, field)
    kind = NutritionType(update_type)
    is_weight = kind == NutritionType.WEIGHT
    if is_weight and confirmed_same_day is False:
        existing = same_day_weight(client, measured_on, viewer=actor, amends=amends)
        if existing is not None:
            raise SameDayWeight(existing, actor)
    if blind is None:
        blind = client.weights_blind_by_default
    # Without JavaScript the form shows every field: what does not apply is ignored.
    update = NutritionUpdate(
        update_type=kind,
        text=text.strip(),
        weight_kg=units.to_kg(weight_kg, unit) if is_weight and weight_kg is not None else None,
        measured_on=measured_on if is_weight else None,
        blind=bool(blind) if is_weight else False,
        visibility=Visibility.TEAM,
    )
    if from_draft and amends is None:
        drafts.drop_posted_draft(author=actor, client=client, form=DraftForm.NUTRITION)
    if amends is not None:
        return amend_entry(amends, update, actor=actor, client=client)
    return add_entry(update, actor=actor, client=client)


def set_weights_blind_by_default(*, actor: User, client: Client, blind: bool) -> bool:
    """Set whether the client's new weights are blind unless unticked; True if it changed.

    Weights already recorded keep their own flag. Audited, one commit.
    """
    changed = client.weights_blind_by_default != bool(blind)
    if changed:
        client.weights_blind_by_default = bool(blind)
        audit.record(
            "set_weights_blind_by_default",
            object_type="client",
            object_id=client.id,
            client_id=client.id,
            detail="blind" if blind else "open",
            actor=actor,
        )
    db.session.commit()
    return changed


@dataclass(frozen=True)
class NutritionOverview:
    """What the team sees on a client's nutrition page."""

    weights: list[NutritionUpdate]  # oldest first by date measured
    more_weights: bool  # older measurements exist beyond WEIGHT_LIMIT
    meal_plan: NutritionUpdate | None
    supplements: list[NutritionUpdate]  # newest first
    recent: list[NutritionUpdate]  # newest first, every type
    unit: str = WeightUnit.KG  # the viewer's unit
    client_in_portal: bool = False  # the client has an active portal account
    blind_by_default: bool = False

    @property
    def latest_weight(self) -> NutritionUpdate | None:
        return self.weights[-1] if self.weights else None

    @property
    def previous_weight(self) -> NutritionUpdate | None:
        return self.weights[-2] if len(self.weights) > 1 else None

    @property
    def weight_change(self) -> str:
        """The change from the previous to the latest weight in the viewer's unit, such as
        "+0.5" or "-1.2"."""
        if self.latest_weight is None or self.previous_weight is None:
            return ""
        change = units.from_kg(self.latest_weight.weight_kg, self.unit) - units.from_kg(
            self.previous_weight.weight_kg, self.unit
        )
        text = units.number(abs(change)) if change else "0"
        return ("+" if change > 0 else "-" if change < 0 else "±") + text

    def chart(self) -> Markup:
        """The weight trend: every current measurement shown to the team, blind ones too."""
        return weight_chart(self.weights, self.unit)

    def client_sees(self, weight: NutritionUpdate) -> str:
        """The "Client sees it" column: what the client really sees of this weight."""
        if not weight.shown_to_client:
            return "No (blind)"
        return "Yes, in the portal" if self.client_in_portal else "Not yet: no portal access"


def weight_chart(weights: list[NutritionUpdate], unit: str) -> Markup:
    """Weights over time in a unit (the team's page, and the client's open weights)."""
    return line_chart(
        [(w.measured_on, units.from_kg(w.weight_kg, unit)) for w in weights],
        title=f"Weight over time ({unit})",
        unit=str(unit),
    )


def shared_weights(client: Client, limit: int | None = WEIGHT_LIMIT) -> list[NutritionUpdate]:
    """The weights the client sees (current, not blind), oldest first, the latest `limit`
    (None: all, for an export).

    One query: the portal's trend and the client's copies of their record.
    """
    stmt = (
        select(NutritionUpdate)
        .where(
            NutritionUpdate.client_id == client.id,
            NutritionUpdate.superseded_at.is_(None),
            NutritionUpdate.visibility != Visibility.PRIVATE,
            NutritionUpdate.shared_with_client(),
        )
        .options(joinedload(NutritionUpdate.author))
        .order_by(
            NutritionUpdate.measured_on.desc(),
            NutritionUpdate.created_at.desc(),
            NutritionUpdate.id.desc(),
        )
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(reversed(list(db.session.scalars(stmt))))


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
        unit=units.unit_of(viewer.weight_unit),
        client_in_portal=client.user is not None and client.user.active,
        blind_by_default=client.weights_blind_by_default,
    )
