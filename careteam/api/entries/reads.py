"""Reading a client's entries through the API: the timeline, one entry with its history,
and the medication list.

Providers read the team's view, a client the portal's (careteam/portal/shared_record.py),
through clients.load_record; each read is audited as the web page's is.
"""

from __future__ import annotations

from datetime import date

from flask_login import current_user
from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from careteam.access import active_members, visible_entry
from careteam.api.blueprint import bp
from careteam.api.clients import audit_read, load_record
from careteam.api.entries.output import AnyEntry, MedicationOut, entries_out, entry_out
from careteam.api.openapi import operation
from careteam.api.problems import ApiProblem
from careteam.api.schemas import CURSOR_HELP, in_utc, valid_cursor
from careteam.enums import EntryKind
from careteam.input_guard import MAX_ID
from careteam.medications import derive
from careteam.medications import services as medication_services
from careteam.paging import Cursor
from careteam.portal import shared_record
from careteam.record import services as record_services


class TimelineQuery(BaseModel):
    kind: list[EntryKind] = Field(
        default_factory=list, description="Only these kinds (repeat the parameter for several)."
    )
    author: int = Field(default=None, ge=1, le=MAX_ID, description="Only entries by this user id.")
    since: AwareDatetime = Field(
        default=None,
        description="Only entries created at or after this time (ISO 8601 with an offset, "
        "e.g. 2026-03-01T00:00:00Z; send '+' as %2B).",
    )
    until: AwareDatetime = Field(
        default=None, description="Only entries created before this time (ISO 8601 with offset)."
    )
    cursor: str = Field(default=None, max_length=200, description=CURSOR_HELP)
    limit: int = Field(default=20, ge=1, le=100, description="Entries per page.")

    _cursor = field_validator("cursor")(valid_cursor)
    _times = field_validator("since", "until")(in_utc)

    @model_validator(mode="after")
    def _window(self):
        if self.since and self.until and self.since >= self.until:
            raise ValueError("`since` must be earlier than `until`.")
        return self


class EntryPage(BaseModel):
    """One page of the timeline, newest first."""

    items: list[AnyEntry]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next (older) page; null on the last page."
    )


class EntryDetail(BaseModel):
    """One entry and every version of it the viewer may see, oldest first."""

    entry: AnyEntry
    history: list[AnyEntry]


class MedicationListOut(BaseModel):
    """The current medication list, derived from the changes (each medication's latest)."""

    as_of: date
    current: list[MedicationOut] = Field(description="On the list today, by name.")
    planned: list[MedicationOut] = Field(description="Starting after today, by name.")


@bp.get("/clients/<int:client_id>/timeline")
@operation(
    summary="The client's timeline, newest first, in pages",
    description="The current version of each entry. Filter by `kind` (repeatable), `author` "
    "and a time window (`since` inclusive, `until` exclusive); page with `cursor`. A team "
    "member sees team and client entries and their own private notes. A client sees only "
    "what their portal shows: notes shared with them, their shared goals and check-ins, "
    "practice assignments, level-of-care and care-team changes, and weights that are not "
    "blind (without the team's comment); never private or team notes, medication changes, "
    "blind weights or other nutrition updates.",
    query=TimelineQuery,
    responses={200: EntryPage},
    tags=["Record"],
)
def timeline(client_id: int, query: TimelineQuery):
    access, shared = load_record(client_id)
    filters = {
        "kinds": [str(k) for k in query.kind],
        "author_id": query.author,
        "since": query.since,
        "until": query.until,
        "cursor": Cursor.decode(query.cursor),
        "limit": query.limit,
    }
    if shared:
        page = shared_record.shared_timeline(access.client, **filters)
        items = entries_out(page.items, viewer=current_user)
    else:
        page = record_services.timeline(current_user, access.client, **filters)
        team = active_members(access.client.id)
        items = entries_out(page.items, viewer=current_user, team=team)
    out = EntryPage(items=items, next_cursor=page.next_cursor)
    audit_read("view_shared_record" if shared else "view_record", "client", client_id, client_id)
    return out


@bp.get("/clients/<int:client_id>/entries/<int:entry_id>")
@operation(
    summary="One entry with its version history",
    description="Any version of an entry the viewer may see, and every version of it they "
    "may see, oldest first. A client sees only the current version of an entry shared "
    "with them (its history is that version alone), as in the portal.",
    responses={200: EntryDetail},
    tags=["Record"],
)
def get_entry(client_id: int, entry_id: int):
    access, shared = load_record(client_id)
    if shared:
        try:
            found = shared_record.shared_entry(access.client, entry_id)
        except LookupError:
            found = None
    else:
        found = visible_entry(access.client.id, entry_id, current_user, None)
    if found is None:
        raise ApiProblem(404, "No such entry in this record.")
    if shared:
        versions, team = [found], None
    else:
        versions, team = (
            record_services.history(found, viewer=current_user),
            active_members(access.client.id),
        )
    out = EntryDetail(
        entry=entry_out(found, viewer=current_user, team=team),
        history=entries_out(versions, viewer=current_user, team=team),
    )
    audit_read("view_entry", "entry", found.id, client_id)
    return out


@bp.get("/clients/<int:client_id>/medications")
@operation(
    summary="The current medication list (the care team only)",
    description="Each medication's latest change in effect today (in your time zone), and "
    "changes planned for later, with who acknowledged each and who has not yet. Medications "
    "are not shared with clients (the portal does not show them): a client gets 403 for "
    "their own record, 404 for any other.",
    responses={200: MedicationListOut},
    tags=["Record"],
)
def medications(client_id: int):
    access, shared = load_record(client_id)
    if shared:
        medication_services.refuse_list_to_client(client_id=client_id)
        raise ApiProblem(403, "Medications are not shared with clients. Ask your care team.")
    today = medication_services.today_for(current_user)
    changes = medication_services.client_changes(access.client, viewer=current_user)
    histories = derive.medication_histories(changes, as_of=today)
    team = active_members(access.client.id)
    out = MedicationListOut(
        as_of=today,
        current=entries_out(
            [h.latest for h in histories if h.on_list], viewer=current_user, team=team
        ),
        planned=entries_out(
            [h.upcoming[0] for h in histories if h.latest is None and h.upcoming],
            viewer=current_user,
            team=team,
        ),
    )
    audit_read("view_medications", "client", client_id, client_id)
    return out
