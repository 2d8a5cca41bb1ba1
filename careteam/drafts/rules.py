"""Which forms keep a draft, the fields each draft holds and their limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from careteam.medications.models import LENGTHS as MEDICATION_LENGTHS
from careteam.nutrition.models import TEXT_MAX as NUTRITION_TEXT_MAX
from careteam.record.rules import NOTE_BODY_MAX, NOTE_TITLE_MAX

# The forms' own limits, from the models beside their columns (the services import them
# from there too; importing the services here would make a cycle through drafts.services).

# How often the browser saves while the author types (static/js/drafts.js reads it from
# the form): a pause this long after the last keystroke saves.
AUTOSAVE_DELAY_MS = 1500


class DraftForm(StrEnum):
    """A form whose text is kept as a draft (stored in drafts.form)."""

    NOTE = "note"  # a new note on a client's timeline
    NOTE_AMENDMENT = "note_amendment"  # an amendment of a note (the parent is the note)
    NUTRITION = "nutrition"  # a new nutrition update (meal plan, supplement, note, weight)
    MEDICATION = "medication"  # a new medication change (its reason above all)


@dataclass(frozen=True)
class DraftSpec:
    """What one form's draft holds.

    `fields` maps each kept field to its longest allowed length (the form's own limit,
    so a draft never holds what the form would refuse); `text` names the fields whose
    content makes a draft worth keeping (a draft with only the choices left is removed);
    `labels` name the fields in messages; `needs_parent` says the draft belongs to one
    entry (the note amended; later the entry replied to).
    """

    fields: dict[str, int]
    text: tuple[str, ...]
    labels: dict[str, str]
    needs_parent: bool = False


_NOTE = DraftSpec(
    fields={"title": NOTE_TITLE_MAX, "body": NOTE_BODY_MAX, "visibility": 10, "urgent": 5},
    text=("title", "body"),
    labels={"title": "The title", "body": "The note"},
)

SPECS: dict[DraftForm, DraftSpec] = {
    DraftForm.NOTE: _NOTE,
    DraftForm.NOTE_AMENDMENT: DraftSpec(
        fields=_NOTE.fields, text=_NOTE.text, labels=_NOTE.labels, needs_parent=True
    ),
    DraftForm.NUTRITION: DraftSpec(
        fields={
            "update_type": 20,
            "text": NUTRITION_TEXT_MAX,
            "weight_kg": 20,
            "measured_on": 10,
            "blind": 5,
        },
        text=("text", "weight_kg"),
        labels={"text": "The details", "weight_kg": "The weight"},
    ),
    DraftForm.MEDICATION: DraftSpec(
        fields={**MEDICATION_LENGTHS, "action": 20, "dose": 20, "effective_date": 10},
        text=("medication", "dose", "reason"),
        labels={"medication": "The medication", "reason": "The reason"},
    ),
}
