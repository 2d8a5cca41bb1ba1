"""Demo medication changes: a few weeks of a prescriber's changes and the team's acks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import MedicationAction
from careteam.extensions import db
from careteam.medications import services

# (days ago, medication, action, dose, unit, route, frequency, reason, acked by (indexes))
CHANGES = [
    (
        27,
        "Sertraline",
        MedicationAction.STARTED,
        "50",
        "mg",
        "oral",
        "once daily, in the morning",
        "Depressive episode with prominent anxiety; SSRI first line. "
        "Discussed sleep and GI side effects.",
        (0, 1),
    ),
    (
        20,
        "Hydroxyzine",
        MedicationAction.STARTED,
        "25",
        "mg",
        "oral",
        "as needed, up to three times daily",
        "Short-term relief of acute anxiety while sertraline takes effect.",
        (0, 1),
    ),
    (
        9,
        "Sertraline",
        MedicationAction.DOSE_CHANGED,
        "100",
        "mg",
        "oral",
        "once daily, in the morning",
        "Partial response at 50 mg after three weeks; well tolerated.",
        (0,),
    ),
    (
        3,
        "Hydroxyzine",
        MedicationAction.STOPPED,
        None,
        "",
        "",
        "",
        "Daytime drowsiness; anxiety now manageable with the skills practised in therapy.",
        (),
    ),
]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def seed_demo(client: Client, prescriber: User, acknowledgers: Sequence[User]) -> None:
    """Add a realistic few weeks of medication changes to a demo client.

    `prescriber` must be a prescriber on the client's team; `acknowledgers` are other
    active members, the first of whom acknowledges most changes. Entries are back-dated
    so the timeline and the list read like weeks of care, not one minute of seeding.
    """
    today = date.today()
    for days_ago, name, action, dose, unit, route, frequency, reason, acked_by in CHANGES:
        day = today - timedelta(days=days_ago)
        change = services.record_change(
            actor=prescriber,
            client=client,
            medication=name.lower(),
            action=action,
            effective_date=day,
            dose=Decimal(dose) if dose else None,
            unit=unit,
            route=route,
            frequency=frequency,
            reason=reason,
        )
        change.created_at = _at(day, 15)
        db.session.commit()
        for index in acked_by:
            if index < len(acknowledgers):
                services.acknowledge(actor=acknowledgers[index], client=client, entry_id=change.id)
        for n, ack in enumerate(change.acknowledgements):
            ack.acknowledged_at = _at(day + timedelta(days=1), 9 + 2 * n)
        db.session.commit()
