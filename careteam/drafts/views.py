"""Drafts over HTTP: the form's autosave (static/js/drafts.js) and its buttons without JS.

Both routes take the form's own fields (so a "Save draft" or "Discard draft" button of
the form posts them here with `formaction`) plus `draft_form` and, for a form about one
entry, `draft_parent`. With `Accept: application/json` they answer JSON for the script;
otherwise they lead back to the form, where the saved draft is restored.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam.access import Action, ClientAccess, load_client, load_entry
from careteam.drafts import services
from careteam.drafts.rules import SPECS, DraftForm
from careteam.enums import EntryKind
from careteam.input_guard import MAX_ID
from careteam.timefmt import zone_of

bp = Blueprint("drafts", __name__, url_prefix="/clients/<int:client_id>/drafts")

# The right a draft of each form (without a parent entry) needs: the right to post it.
POST_ACTION = {
    DraftForm.NOTE: Action.POST_NOTE,
    DraftForm.NUTRITION: Action.POST_NUTRITION,
    DraftForm.MEDICATION: Action.POST_MEDICATION,
}
# Where each form is, to go back to it without JavaScript.
FORM_ENDPOINT = {
    DraftForm.NOTE: "record.new_note",
    DraftForm.NUTRITION: "nutrition.new",
    DraftForm.MEDICATION: "medications.new",
}


def _target(client_id: int) -> tuple[ClientAccess, DraftForm, int | None]:
    """The client and form a draft belongs to, loaded with the right to post that form.

    Anyone off the client's team gets 404 before the input is even read, so a provider
    who left the team can no longer reach their drafts of that client.
    """
    load_client(client_id, Action.VIEW_RECORD)
    form = services.parse_form(request.form.get("draft_form"))
    parent_id = None
    if SPECS[form].needs_parent:
        raw = request.form.get("draft_parent", "")
        if not raw.isdigit() or int(raw) > MAX_ID:
            raise services.DraftError("Which entry is this draft about?", http_status=400)
        parent_id = int(raw)
    if form == DraftForm.NOTE_AMENDMENT:
        found = load_entry(client_id, parent_id, kinds={EntryKind.NOTE}, amend=True)
        if found.refusal is not None:
            abort(found.refusal.status)
        return found.access, form, parent_id
    return load_client(client_id, POST_ACTION[form]), form, parent_id


def _form_url(client_id: int, form: DraftForm, parent_id: int | None) -> str:
    if form == DraftForm.NOTE_AMENDMENT:
        return url_for("record.amend_note", client_id=client_id, entry_id=parent_id)
    return url_for(FORM_ENDPOINT[form], client_id=client_id)


def saved_time(moment) -> str:
    """When a draft was saved, as the author reads their clock ("14:02")."""
    return moment.astimezone(zone_of(current_user)).strftime("%H:%M")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _refused(error: services.DraftError):
    if _wants_json():
        return {"error": str(error), "field": error.field}, error.http_status
    return render_template("drafts/not_saved.html", message=str(error)), error.http_status


@bp.post("")
@login_required
def save(client_id: int):
    try:
        access, form, parent_id = _target(client_id)
        draft = services.save_draft(
            author=current_user,
            client=access.client,
            form=form,
            parent_id=parent_id,
            fields=request.form,
        )
    except services.DraftError as error:
        return _refused(error)
    saved_at = saved_time(draft.updated_at) if draft is not None else None
    if _wants_json():
        response = {"saved": draft is not None, "saved_at": saved_at}
        return response, 200, {"Cache-Control": "no-store"}
    if draft is None:
        flash("Nothing to keep: the draft is empty.", "success")
    else:
        flash(f"Draft saved at {saved_at}. Only you can see it until you post it.", "success")
    return redirect(_form_url(client_id, form, parent_id))


@bp.post("/discard")
@login_required
def discard(client_id: int):
    try:
        access, form, parent_id = _target(client_id)
    except services.DraftError as error:
        return _refused(error)
    services.discard_draft(
        author=current_user, client=access.client, form=form, parent_id=parent_id
    )
    if _wants_json():
        return "", 204
    flash("The draft was discarded.", "success")
    return redirect(_form_url(client_id, form, parent_id))
