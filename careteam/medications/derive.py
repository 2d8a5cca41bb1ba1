"""The current medication list and each medication's history, derived from changes.

The current medication list is never stored: it is derived from the current (not
superseded) changes, so an amendment corrects the list simply by replacing a change.
Pure: these functions work on the changes given and issue no query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from careteam.medications.models import MedicationChange, medication_key


@dataclass
class MedicationHistory:
    """One medication's changes, oldest first, and where it stands on a date."""

    key: str
    changes: list[MedicationChange] = field(default_factory=list)
    # The latest change in effect on the date asked about (None: none in effect yet).
    latest: MedicationChange | None = None
    # Changes dated after that date, oldest first.
    upcoming: list[MedicationChange] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The spelling of the most recent change."""
        return self.changes[-1].medication

    @property
    def on_list(self) -> bool:
        return self.latest is not None and not self.latest.is_stop


def medication_histories(
    changes: Iterable[MedicationChange], *, as_of: date | None = None
) -> list[MedicationHistory]:
    """Group changes by medication and find each one's latest change, sorted by name.

    Only current versions count: a superseded change (one that was amended) is ignored,
    its amendment stands in its place. The latest change of a medication is the last by
    (effective date, time recorded, id); with `as_of`, changes dated after it are
    `upcoming`, not yet in effect. Pure: works on the objects given, issues no query.
    """
    groups: dict[str, MedicationHistory] = {}
    for change in changes:
        if not change.is_current:
            continue
        key = change.medication_key or medication_key(change.medication)
        groups.setdefault(key, MedicationHistory(key)).changes.append(change)
    for history in groups.values():
        history.changes.sort(key=lambda c: c.order_key)
        for change in history.changes:
            if as_of is not None and change.effective_date > as_of:
                history.upcoming.append(change)
            else:
                history.latest = change
    return sorted(groups.values(), key=lambda h: (h.name.casefold(), h.key))


def current_medications(
    changes: Iterable[MedicationChange], *, as_of: date | None = None
) -> list[MedicationChange]:
    """The current medication list: each medication's latest change, unless a stop."""
    return [h.latest for h in medication_histories(changes, as_of=as_of) if h.on_list]
