"""The shared record: notes, an entry's history, and amendments of notes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam import audit
from careteam.access import Action, load_client
from careteam.enums import EntryKind, Visibility
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db
from careteam.record import services
from careteam.record.amending import audit_amend_page
from careteam.record.forms import NoteForm
from careteam.record.models import Note

bp = Blueprint("record", __name__, url_prefix="/clients/<int:client_id>")

# Where each kind of entry is amended; kinds not listed cannot be amended.
AMEND_ENDPOINTS = {
    EntryKind.NOTE: "record.amend_note",
    EntryKind.GOAL_PROGRESS: "goals.amend_progress",
    EntryKind.MEDICATION: "medications.amend",
    EntryKind.NUTRITION: "nutrition.amend",
    EntryKind.PRACTICE: "practice.amend",
}
POST_ACTION = {
    EntryKind.NOTE: Action.POST_NOTE,
    EntryKind.GOAL_PROGRESS: Action.POST_GOAL,
    EntryKind.MEDICATION: Action.POST_MEDICATION,
    EntryKind.NUTRITION: Action.POST_NUTRITION,
    EntryKind.PRACTICE: Action.ASSIGN_PRACTICE,
}


@bp.route("/notes/new", methods=["GET", "POST"])
@login_required
def new_note(client_id: int):
    access = load_client(client_id, Action.POST_NOTE)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            note = services.post_note(
                actor=current_user,
                client=access.client,
                title=form.title.data or "",
                body=form.body.data,
                visibility=Visibility(form.visibility.data),
                urgent=form.urgent.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("Your note was added to the timeline.", "success")
            return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{note.id}"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "record/note_form.html", form=form, client=access.client, amending=None
    ), status


@bp.route("/notes/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend_note(client_id: int, entry_id: int):
    access = load_client(client_id, Action.POST_NOTE)
    try:
        old = services.get_entry(access.client, entry_id, current_user)
    except LookupError:
        abort(404)
    if not isinstance(old, Note):
        abort(404)
    # Prefilled on GET only: a POST must carry every field, never fall back to the old text.
    form = NoteForm(obj=old) if request.method == "GET" else NoteForm()
    status = 200
    if old.author_id != current_user.id or not old.is_current:
        form.form_errors.append(
            "Only the author can amend a note, and only its newest version."
            if old.author_id != current_user.id
            else "This note was already amended. Amend the newest version."
        )
        status = 403 if old.author_id != current_user.id else 409
    elif form.validate_on_submit():
        try:
            note = services.post_note(
                actor=current_user,
                client=access.client,
                title=form.title.data or "",
                body=form.body.data,
                visibility=Visibility(form.visibility.data),
                urgent=form.urgent.data,
                amends=old,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The note was amended; the earlier version stays in its history.", "success")
            return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{note.id}"))
    if request.method == "POST" and status == 200:
        status = 400
    html = render_template("record/note_form.html", form=form, client=access.client, amending=old)
    audit_amend_page(
        old, client_id=client_id, shown=request.method == "GET", refused=status == 403
    )
    return html, status


@bp.get("/entries/<int:entry_id>")
@login_required
def entry(client_id: int, entry_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    try:
        found = services.get_entry(access.client, entry_id, current_user)
    except LookupError:
        abort(404)
    versions = [
        v
        for v in services.history(found)
        if v.visibility != Visibility.PRIVATE or v.author_id == current_user.id
    ]
    audit.record("view_entry", object_type="entry", object_id=found.id, client_id=access.client.id)
    db.session.commit()
    current = next((v for v in versions if v.is_current), versions[-1])
    amend_endpoint = AMEND_ENDPOINTS.get(EntryKind(current.kind))
    may_amend = (
        amend_endpoint is not None
        and current.author_id == current_user.id
        and bool(_may_post(access, current.kind))
    )
    return render_template(
        "record/entry.html",
        client=access.client,
        versions=list(reversed(versions)),
        current=current,
        amend_url=(
            url_for(amend_endpoint, client_id=client_id, entry_id=current.id)
            if may_amend
            else None
        ),
        team=services.active_members(access.client),
    )


def _may_post(access, kind: str) -> bool:
    from careteam.access import can

    action = POST_ACTION.get(EntryKind(kind))
    return action is not None and can(action, access)
