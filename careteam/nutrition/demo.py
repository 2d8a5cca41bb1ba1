"""Demo nutrition updates: a few weeks of a dietitian's work with one client."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import NutritionType
from careteam.extensions import db, utcnow
from careteam.nutrition.models import NutritionUpdate
from careteam.nutrition.services import post_update, today_for

# (days before today, weight in kg, blind): weekly weights during restoration; the team
# weighs blind at first and moves to open weights once the client is ready.
WEIGHTS = [
    (35, "48.20", True),
    (28, "48.60", True),
    (21, "49.10", True),
    (14, "49.00", True),
    (7, "49.80", False),
    (0, "50.30", False),
]
# The first open weight; the dietitian's note of that morning says why.
OPEN_FROM = max(days_ago for days_ago, _kg, blind in WEIGHTS if not blind)


def _backdate(update: NutritionUpdate, day: date, hour: int) -> None:
    """Give a demo update the time it would have been written (the app stamps "now")."""
    update.created_at = min(datetime.combine(day, time(hour, 15), tzinfo=UTC), utcnow())


def seed_demo(client: Client, dietitian: User) -> list[NutritionUpdate]:
    """Add a realistic few weeks of nutrition updates by a dietitian on the client's team."""
    today = today_for(dietitian)  # the dietitian's today: no weight dated in their future
    name = client.preferred_name or client.full_name.split()[0]
    added: list[NutritionUpdate] = []

    def post(days_ago: int, hour: int, **values) -> NutritionUpdate:
        update = post_update(actor=dietitian, client=client, **values)
        _backdate(update, today - timedelta(days=days_ago), hour)
        added.append(update)
        return update

    post(
        36,
        16,
        update_type=NutritionType.MEAL_PLAN,
        text=(
            "Three meals and three snacks a day, about 2,600 kcal.\n"
            "Breakfast within an hour of waking; no more than 3 hours between eating.\n\n"
            "Supported lunch at IOP on programme days."
        ),
    )
    post(
        36,
        16,
        update_type=NutritionType.SUPPLEMENT,
        text="Started a daily multivitamin with iron, taken with breakfast.",
    )
    for days_ago, kg, blind in WEIGHTS:
        post(
            days_ago,
            10,
            update_type=NutritionType.WEIGHT,
            weight_kg=Decimal(kg),
            measured_on=today - timedelta(days=days_ago),
            blind=blind,
            text="Weighed in a gown before breakfast." if days_ago == 35 else "",
        )
    post(
        20,
        17,
        update_type=NutritionType.NOTE,
        text=(
            f"{name} finished every snack this week. The evening snack is still the hardest: "
            "feels too full. We agreed to try a smaller snack with a drink."
        ),
    )
    post(
        13,
        16,
        update_type=NutritionType.MEAL_PLAN,
        text=(
            "Raised to about 2,900 kcal: added a dessert with dinner three times a week.\n"
            "Evening snack now yoghurt with granola or a smoothie."
        ),
    )
    # Written just before the first open weigh-in (10:15 that day): why weights stop being blind.
    post(
        OPEN_FROM,
        9,
        update_type=NutritionType.NOTE,
        text=(
            f"{name} asked to see their weight. We talked it over at last week's team "
            f"check-in and agreed {name} is ready: from today weights are open and we look "
            "at the number together in session. The earlier weights stay blind."
        ),
    )
    post(
        6,
        11,
        update_type=NutritionType.SUPPLEMENT,
        text="Added vitamin D 1,000 IU daily (level low on last bloodwork).",
    )
    db.session.commit()
    return added
