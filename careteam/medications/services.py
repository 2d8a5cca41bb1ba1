"""Use cases of medication changes: record, amend, acknowledge.

The current medication list is never stored: derive.py derives it from the current (not
superseded) changes, so an amendment corrects the list simply by replacing a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from careteam import access, audit
from careteam.access import entry_visible_to
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import AuditOutcome, MedicationAction, Visibility
from careteam.extensions import db
from careteam.medications.derive import MedicationHistory, medication_histories
from careteam.medications.models import (
    LENGTHS,
    MedicationAck,
    MedicationChange,
    format_dose,
    medication_key,
)
from careteam.record import acknowledgements
from careteam.record.services import EntryError, add_entry, amend_entry, check_amendable
from careteam.timefmt import today_for

EARLIEST_DATE = date(1900, 1, 1)
MAX_DAYS_AHEAD = 365
MAX_DOSE = Decimal("1000000")
# Actions that need a reason: the team should know why a medication stopped or changed.
NEEDS_REASON = frozenset({MedicationAction.STOPPED, MedicationAction.DOSE_CHANGED})

MESSAGES = {
    "medication": "Enter the medication's name.",
    "action": "Choose what happened: started, dose changed, stopped or continued.",
    "effective_date": "Enter the date the change takes effect.",
    "dose": "Enter the dose as a positive number, such as 50 or 0.5.",
    "unit": "Enter the unit of the dose, such as mg.",
    "route": "Enter the route, such as oral.",
    "frequency": "Enter how often it is taken, such as once daily.",
    "reason": "Give the reason for stopping or changing the dose.",
}


def parse_dose(text: str | None) -> Decimal | None:
    """The dose typed in a form as a Decimal, None when left empty.

    Refuses what is not a plain positive number with at most 3 decimals (the column's
    scale), so nothing is silently rounded.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        dose = Decimal(text)
    except InvalidOperation:
        raise EntryError(MESSAGES["dose"], "dose") from None
    if not dose.is_finite() or dose <= 0:
        raise EntryError(MESSAGES["dose"], "dose")
    if dose >= MAX_DOSE:
        raise EntryError("Enter a dose below 1,000,000.", "dose")
    if dose != dose.quantize(Decimal("0.001"), rounding="ROUND_DOWN"):
        raise EntryError("Give the dose with at most 3 decimal places.", "dose")
    return dose


def check_change(
    *,
    medication: str,
    action: str,
    effective_date: date | None,
    dose: Decimal | None,
    unit: str,
    route: str,
    frequency: str,
    reason: str,
    today: date,
) -> dict[str, str]:
    """Every problem with a change's own fields, by field name; empty when it is fine.

    Checks what needs no database; `record_change` adds the checks against the list.
    """
    problems: dict[str, str] = {}
    values = {
        "medication": medication,
        "unit": unit,
        "route": route,
        "frequency": frequency,
        "reason": reason,
    }
    for name, value in values.items():
        if len(value.strip()) > LENGTHS[name]:
            problems[name] = f"Keep this under {LENGTHS[name]} characters."
    if not medication.strip():
        problems["medication"] = MESSAGES["medication"]
    try:
        kind = MedicationAction(action)
    except ValueError:
        problems["action"] = MESSAGES["action"]
        kind = None
    if effective_date is None:
        problems["effective_date"] = MESSAGES["effective_date"]
    elif effective_date < EARLIEST_DATE:
        problems["effective_date"] = "Enter a date after 1900."
    elif effective_date > today + timedelta(days=MAX_DAYS_AHEAD):
        problems["effective_date"] = "Enter a date no more than a year ahead."
    if dose is not None and (not dose.is_finite() or dose <= 0):
        problems["dose"] = MESSAGES["dose"]
    if kind is not None and kind != MedicationAction.STOPPED:
        # A stop needs no regimen; everything else says what the client now takes.
        if dose is None:
            problems.setdefault("dose", MESSAGES["dose"])
        for name in ("unit", "route", "frequency"):
            if not values[name].strip():
                problems.setdefault(name, MESSAGES[name])
    elif dose is not None and not unit.strip():
        problems.setdefault("unit", MESSAGES["unit"])
    if kind in NEEDS_REASON and not reason.strip():
        problems.setdefault("reason", MESSAGES["reason"])
    return problems


def client_changes(client: Client, *, viewer: User | None = None) -> list[MedicationChange]:
    """All current medication changes of a client, with authors and acknowledgements.

    Three queries whatever their number (changes, acknowledgements, their users).
    """
    stmt = (
        select(MedicationChange)
        .where(MedicationChange.client_id == client.id, MedicationChange.superseded_at.is_(None))
        .options(
            joinedload(MedicationChange.author),
            selectinload(MedicationChange.acknowledgements).joinedload(MedicationAck.user),
        )
        .order_by(
            MedicationChange.effective_date, MedicationChange.created_at, MedicationChange.id
        )
    )
    if viewer is not None:
        stmt = stmt.where(entry_visible_to(viewer))
    return list(db.session.scalars(stmt).unique())


def _state_on(
    client: Client, key: str, on: date, *, ignore: int | None
) -> MedicationChange | None:
    """The change of one medication in effect on a date, leaving out one change."""
    rows = db.session.scalars(
        select(MedicationChange).where(
            MedicationChange.client_id == client.id,
            MedicationChange.superseded_at.is_(None),
            MedicationChange.medication_key == key,
            MedicationChange.effective_date <= on,
        )
    )
    changes = [c for c in rows if c.id != ignore]
    histories = medication_histories(changes)
    return histories[0].latest if histories else None


def _check_against_list(change: MedicationChange, *, client: Client, ignore: int | None) -> None:
    """Refuse a change that contradicts the list as it stands on its effective date."""
    latest = _state_on(client, change.medication_key, change.effective_date, ignore=ignore)
    on_list = latest is not None and not latest.is_stop
    action = MedicationAction(change.action)
    when = change.effective_date.strftime("%-d %b %Y")
    if action == MedicationAction.STARTED and on_list:
        raise EntryError(
            f"{latest.medication} is already on the list on {when} "
            f"({latest.regimen}). Record a dose change or a continuation instead.",
            "action",
        )
    if action in (MedicationAction.DOSE_CHANGED, MedicationAction.STOPPED) and not on_list:
        verb = "stop" if action == MedicationAction.STOPPED else "change the dose of"
        raise EntryError(
            f"{change.medication} is not on the current medication list on {when}, so "
            f"there is nothing to {verb}. Check the name, or record it as started.",
            "medication",
        )
    if action == MedicationAction.DOSE_CHANGED and latest.regimen == change.regimen:
        raise EntryError(
            f"That is the current dose ({latest.regimen}). Enter the new dose, "
            "or record the medication as continued.",
            "dose",
        )
    if action == MedicationAction.CONTINUED and on_list and latest.regimen != change.regimen:
        raise EntryError(
            f"Continuing keeps the current dose ({latest.regimen}). "
            "To change it, record a dose change.",
            "dose",
        )


def record_change(
    *,
    actor: User,
    client: Client,
    medication: str,
    action: str,
    effective_date: date | None,
    dose: Decimal | None = None,
    unit: str = "",
    route: str = "",
    frequency: str = "",
    reason: str = "",
    amends: MedicationChange | None = None,
    from_draft: bool = False,
) -> MedicationChange:
    """Record a medication change on the client's timeline, or amend one.

    The caller has checked that the actor may post medication changes; `amend_entry`
    checks that only the author amends, and only the current version. `from_draft`: posted
    from the web form, whose draft (careteam/drafts) goes in the same transaction.
    """
    problems = check_change(
        medication=medication,
        action=action,
        effective_date=effective_date,
        dose=dose,
        unit=unit,
        route=route,
        frequency=frequency,
        reason=reason,
        today=today_for(actor),
    )
    if problems:
        name, message = next(iter(problems.items()))
        raise EntryError(message, name)
    name = " ".join(medication.split())
    stopped = action == MedicationAction.STOPPED
    change = MedicationChange(
        medication=name,
        medication_key=medication_key(name),
        dose=dose,
        unit=unit.strip() if dose is not None else "",
        route="" if stopped and not route.strip() else route.strip(),
        frequency="" if stopped and not frequency.strip() else frequency.strip(),
        action=MedicationAction(action),
        effective_date=effective_date,
        reason=reason.strip(),
        visibility=Visibility.TEAM,
    )
    if amends is not None:
        check_amendable(amends, actor=actor, client=client)
        # Judge the correction as if the version it replaces had never been.
        _check_against_list(change, client=client, ignore=amends.id)
        return amend_entry(amends, change, actor=actor, client=client)
    _check_against_list(change, client=client, ignore=None)
    if from_draft:
        drafts.drop_posted_draft(author=actor, client=client, form=DraftForm.MEDICATION)
    return add_entry(change, actor=actor, client=client)


def get_change(client: Client, entry_id: int, viewer: User) -> MedicationChange:
    """A medication change of this client that the viewer may see; LookupError otherwise."""
    change = db.session.scalar(
        select(MedicationChange)
        .where(MedicationChange.id == entry_id, MedicationChange.client_id == client.id)
        .where(entry_visible_to(viewer))
        .options(selectinload(MedicationChange.acknowledgements))
    )
    if change is None:
        raise LookupError(entry_id)
    return change


def acknowledge(*, actor: User, client: Client, entry_id: int) -> bool:
    """Record that a team member has seen a medication change.

    Idempotent: acknowledging twice keeps one acknowledgement and returns False the
    second time. The caller has checked that the actor is an active team member.
    """
    change = get_change(client, entry_id, actor)
    if change.author_id == actor.id:
        raise EntryError("You recorded this change, so there is nothing to acknowledge.")
    if not change.is_current:
        raise EntryError("This change was amended. Acknowledge the newest version instead.")
    if change.acknowledged_by(actor.id):
        return False
    return acknowledgements.store(
        MedicationAck(change_id=change.id, user_id=actor.id),
        action="acknowledge_medication",
        entry=change,
        client=client,
        actor=actor,
    )


def change_form_data(change: MedicationChange) -> dict:
    """A change's values as a form's initial data (to amend it, or to change or stop it)."""
    return {
        "medication": change.medication,
        "action": change.action,
        "dose": format_dose(change.dose),
        "unit": change.unit,
        "route": change.route,
        "frequency": change.frequency,
        "effective_date": change.effective_date,
        "reason": change.reason,
    }


@dataclass(frozen=True)
class MedicationList:
    """What the medications page shows: each medication's history, split for the page."""

    histories: list[MedicationHistory]
    current: list[MedicationHistory]
    planned: list[MedicationHistory]
    team: list[CareTeamMember]
    today: date
    # Changes the viewer has not acknowledged yet, newest first: shown above the list.
    to_acknowledge: list[MedicationChange]


def open_medication_list(*, viewer: User, client: Client) -> MedicationList:
    """Open a client's medication list: audited as a view first, then loaded (fresh)."""
    client_id = client.id
    audit.record_view(
        action="view_medications", object_type="client", object_id=client_id, client_id=client_id
    )
    today = today_for(viewer)
    changes = client_changes(client, viewer=viewer)
    histories = medication_histories(changes, as_of=today)
    team = access.active_members(client_id)
    return MedicationList(
        histories=histories,
        current=[h for h in histories if h.on_list],
        planned=[h for h in histories if h.latest is None and h.upcoming],
        team=team,
        today=today,
        to_acknowledge=sorted(
            (c for c in changes if c.may_acknowledge(viewer, team)),
            key=lambda c: (c.created_at, c.id),
            reverse=True,
        ),
    )


def prefill_change(
    *, viewer: User, client: Client, key: str, action: str, today: date
) -> dict | None:
    """The form data to change or stop a medication on the list (the list's links).

    None when the key names nothing on the list. Showing it is audited as a view of the
    change it starts from.
    """
    histories = medication_histories(client_changes(client, viewer=viewer), as_of=today)
    history = next((h for h in histories if h.key == key and h.on_list), None)
    if history is None:
        return None
    data = change_form_data(history.latest)
    audit.record_view(
        action="view_medication_change",
        object_type="entry",
        object_id=history.latest.id,
        client_id=history.latest.client_id,
    )
    data.update(action=action, effective_date=today, reason="")
    if action == MedicationAction.STOPPED:
        data.update(dose="", unit="", route="", frequency="")
    return data


def refuse_list_to_client(*, client_id: int) -> None:
    """A client asked the API for their medication list, which is the team's: the refusal
    is audited (and committed) before the 403."""
    audit.record(
        "view_medications",
        object_type="client",
        object_id=client_id,
        client_id=client_id,
        outcome=AuditOutcome.DENIED,
        detail="api: not shared with clients",
    )
    db.session.commit()
