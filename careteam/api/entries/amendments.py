"""The API's writes on an existing entry: amending it, acknowledging a medication change or
an urgent note.

Who may amend which entry is the access policy's (`access.load_entry(..., amend=True)`,
as on the web pages); this module only says its refusals the API's way.
"""

from __future__ import annotations

from flask_login import current_user
from pydantic import ValidationError

from careteam.access import Action, active_members, load_client, load_entry, visible_entry
from careteam.api.blueprint import CLIENT, bp
from careteam.api.entries.bodies import AMENDABLE, AmendmentIn
from careteam.api.entries.output import EntryOut, entry_out
from careteam.api.entries.writes import (
    created,
    entry_path,
    save_medication,
    save_note,
    save_nutrition,
    save_practice,
    save_progress,
)
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem, pydantic_errors
from careteam.enums import EntryKind
from careteam.medications import services as medications
from careteam.record import acknowledgements
from careteam.record import services as record
from careteam.record.models import Entry

ENTRY = f"{CLIENT}/entries/<int:entry_id>"
SAVERS = {
    EntryKind.NOTE: save_note,
    EntryKind.GOAL_PROGRESS: save_progress,
    EntryKind.MEDICATION: save_medication,
    EntryKind.NUTRITION: save_nutrition,
    EntryKind.PRACTICE: save_practice,
}
AMENDABLE_KINDS = ", ".join(kind.value for kind in AMENDABLE)


def _newest(entry: Entry) -> Entry:
    return next(v for v in record.history(entry, viewer=current_user) if v.is_current)


def _refused(status: int, old: Entry) -> ApiProblem:
    """The policy's refusal of an amendment (load_entry decided and audited it), in words."""
    if status == 422:
        return ApiProblem(
            422,
            f"Entries of kind {old.kind} cannot be amended; only {AMENDABLE_KINDS}. "
            "Add a note instead.",
        )
    if status == 403:
        return ApiProblem(403, "Only the author can amend an entry. Add a note instead.")
    return ApiProblem(
        409,
        f"This entry was already amended. Amend the newest version, entry {_newest(old).id}.",
    )


@bp.post(f"{ENTRY}/amendments")
@operation(
    summary="Amend an entry",
    body=AmendmentIn,
    responses={201: EntryOut},
    description=f"Correct an entry of kind {AMENDABLE_KINDS}: send the whole entry again, "
    "in the body that kind is created with (a note's for a note, and so on). The "
    "corrected version replaces the entry on the timeline; both stay in its history. Only "
    "the author amends (403 for anyone else), with the right to post that kind, and only "
    "the newest version (409 when it was already amended). Other kinds of entry cannot be "
    "amended (422).",
)
def amend_entry(client_id: int, entry_id: int, body: AmendmentIn):
    # The entry must be visible (404), of a kind that is amended (422), and then the user
    # needs the right to post that kind (e.g. prescribers only: 403), to be its author (403)
    # and to amend the newest version (409), in this order.
    found = load_entry(client_id, entry_id, amend=True)
    old = found.entry
    if found.refusal is not None:
        raise _refused(found.refusal.status, old)
    kind = EntryKind(old.kind)
    try:
        values = AMENDABLE[kind].model_validate(body.root)
    except ValidationError as error:
        raise ApiProblem(
            422,
            f"Send the body a {kind.value} entry is created with; see errors.",
            errors=pydantic_errors(error),
        ) from None
    return created(
        SAVERS[kind](found.access, values, amends=old), with_team=kind == EntryKind.MEDICATION
    )


@bp.post(f"{ENTRY}/acknowledgements")
@operation(
    summary="Acknowledge a medication change or an urgent note",
    responses={200: EntryOut, 201: EntryOut},
    description="Say that you have seen a medication change or an urgent note (the web "
    "page's Acknowledge and Seen buttons): 201 the first time, 200 when you had already "
    "(nothing changes). Any member of the care team but the entry's author (422 for the "
    "author). 404 for any entry that is not a medication change or an urgent note you can "
    "see; 409 for an entry that was amended since (acknowledge the newest version). "
    "Answers with the entry and its acknowledgements.",
)
def acknowledge(client_id: int, entry_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    note = visible_entry(access.client.id, entry_id, current_user, {EntryKind.NOTE})
    if note is not None and note.needs_acknowledgement:
        return _acknowledge_note(access, note)
    try:
        change = medications.get_change(access.client, entry_id, current_user)
    except LookupError:
        raise ApiProblem(
            404, "There is no medication change or urgent note with this id on this record."
        ) from None
    if not change.is_current:
        raise ApiProblem(
            409,
            "This change was amended. Acknowledge the newest version, entry "
            f"{_newest(change).id}.",
        )
    first = medications.acknowledge(actor=current_user, client=access.client, entry_id=entry_id)
    change = medications.get_change(access.client, entry_id, current_user)
    out = EntryOut(entry_out(change, viewer=current_user, team=active_members(client_id)))
    if first:
        return out, 201, {"Location": entry_path(change)}
    return out, 200


def _acknowledge_note(access, note: Entry):
    """An urgent note seen ("Seen" on the web page): the same answers as a medication's."""
    if not note.is_current:
        raise ApiProblem(
            409,
            f"This note was amended. Acknowledge the newest version, entry {_newest(note).id}.",
        )
    first = acknowledgements.acknowledge_note(actor=current_user, client=access.client, note=note)
    client_id, note_id = access.client.id, note.id
    note = visible_entry(client_id, note_id, current_user, {EntryKind.NOTE})
    out = EntryOut(entry_out(note, viewer=current_user, team=active_members(client_id)))
    if first:
        return out, 201, {"Location": entry_path(note)}
    return out, 200
