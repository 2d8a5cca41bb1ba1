"""The shared record: notes, an entry's history, and amendments of notes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam.access import POST_ACTION, Action, can, load_client, load_entry
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import EntryKind, Visibility
from careteam.errors import UserFacingError, attach_error
from careteam.practice import services as practice_services
from careteam.record import acknowledgements, services
from careteam.record.forms import NoteForm, SeenForm

bp = Blueprint("record", __name__, url_prefix="/clients/<int:client_id>")

# Where each kind of entry is amended; kinds not listed cannot be amended.
AMEND_ENDPOINTS = {
    EntryKind.NOTE: "record.amend_note",
    EntryKind.GOAL_PROGRESS: "goals.amend_progress",
    EntryKind.MEDICATION: "medications.amend",
    EntryKind.NUTRITION: "nutrition.amend",
    EntryKind.PRACTICE: "practice.amend",
}
# What the amend form says when the policy refuses (load_entry's refusal status).
REFUSED = {
    403: "Only the author can amend a note, and only its newest version.",
    409: "This note was already amended. Amend the newest version.",
}


@bp.route("/notes/new", methods=["GET", "POST"])
@login_required
def new_note(client_id: int):
    access = load_client(client_id, Action.POST_NOTE)
    draft = None
    if request.method == "GET":
        draft = drafts.open_draft(author=current_user, client=access.client, form=DraftForm.NOTE)
    form = NoteForm(data=_draft_data(draft)) if draft is not None else NoteForm()
    if form.validate_on_submit():
        try:
            note = services.post_note(
                actor=current_user,
                client=access.client,
                title=form.title.data or "",
                body=form.body.data,
                visibility=Visibility(form.visibility.data),
                urgent=form.urgent.data,
                from_draft=True,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("Your note was added to the timeline.", "success")
            return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{note.id}"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "record/note_form.html",
        form=form,
        client=access.client,
        amending=None,
        draft=draft,
        draft_form=DraftForm.NOTE,
    ), status


def _draft_data(draft) -> dict:
    """A saved draft's fields as the note form's data (a ticked box is saved as "y")."""
    fields = draft.fields
    return {
        "title": fields.get("title", ""),
        "body": fields.get("body", ""),
        "visibility": fields.get("visibility") or Visibility.TEAM,
        "urgent": fields.get("urgent", "") in ("y", "on", "true", "1"),
    }


@bp.route("/notes/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend_note(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id, kinds={EntryKind.NOTE}, amend=True)
    old = found.entry
    draft = None
    if request.method == "GET" and found.refusal is None:
        draft = drafts.open_draft(
            author=current_user,
            client=found.client,
            form=DraftForm.NOTE_AMENDMENT,
            parent_id=old.id,
        )
    # Prefilled on GET only: a POST must carry every field, never fall back to the old text.
    if draft is not None:
        form = NoteForm(data=_draft_data(draft))
    else:
        form = NoteForm(obj=old) if request.method == "GET" else NoteForm()
    status = 200
    if found.refusal is not None:
        form.form_errors.append(REFUSED[found.refusal.status])
        status = found.refusal.status
    elif form.validate_on_submit():
        try:
            note = services.post_note(
                actor=current_user,
                client=found.client,
                title=form.title.data or "",
                body=form.body.data,
                visibility=Visibility(form.visibility.data),
                urgent=form.urgent.data,
                amends=old,
                from_draft=True,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The note was amended; the earlier version stays in its history.", "success")
            return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{note.id}"))
    if request.method == "POST" and status == 200:
        status = 400
    if request.method == "GET":
        services.open_amend_form(old, client_id=client_id)
    return render_template(
        "record/note_form.html",
        form=form,
        client=found.client,
        amending=old,
        draft=draft,
        draft_form=DraftForm.NOTE_AMENDMENT if found.refusal is None else None,
    ), status


@bp.get("/entries/<int:entry_id>")
@login_required
def entry(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id)
    page = services.open_entry(found.entry, viewer=current_user, client=found.client)
    amend_endpoint = AMEND_ENDPOINTS.get(EntryKind(page.current.kind))
    post_action = POST_ACTION.get(EntryKind(page.current.kind))
    may_amend = (
        amend_endpoint is not None
        and page.current.author_id == current_user.id
        and post_action is not None
        and can(post_action, found.access)
    )
    return render_template(
        "record/entry.html",
        client=found.client,
        versions=page.versions,
        current=page.current,
        amend_url=(
            url_for(amend_endpoint, client_id=client_id, entry_id=page.current.id)
            if may_amend
            else None
        ),
        team=page.team,
        adherence_of=practice_services.adherence_on_page(page.versions, client=found.client),
    )


@bp.post("/notes/<int:entry_id>/seen")
@login_required
def acknowledge_note(client_id: int, entry_id: int):
    """The "Seen" button of an urgent note: the team sees who has seen it, and it leaves
    the top of the member's timeline and their Needs my attention."""
    found = load_entry(client_id, entry_id, kinds={EntryKind.NOTE})
    if not SeenForm().validate_on_submit():
        abort(400)
    try:
        created = acknowledgements.acknowledge_note(
            actor=current_user, client=found.client, note=found.entry
        )
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        if created:
            flash("Marked as seen. The team can see that you have read this note.", "success")
        else:
            flash("You had already marked this note as seen.", "success")
    return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{entry_id}"))
