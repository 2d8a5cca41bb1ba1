"""Pages of the medications part of a client's record: the list, its history, changes, acks."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam.access import Action, can, load_client, load_entry
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import EntryKind, MedicationAction
from careteam.errors import UserFacingError, attach_error
from careteam.medications import services
from careteam.medications.forms import (
    FREQUENCIES,
    ROUTES,
    UNITS,
    AcknowledgeForm,
    MedicationChangeForm,
)
from careteam.medications.models import MedicationChange
from careteam.record.services import open_amend_form

bp = Blueprint("medications", __name__, url_prefix="/clients/<int:client_id>/medications")


@bp.get("", strict_slashes=False)
@login_required
def index(client_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    page = services.open_medication_list(viewer=current_user, client=access.client)
    return render_template(
        "medications/index.html",
        client=access.client,
        active="medications",
        histories=page.histories,
        current=page.current,
        planned=page.planned,
        team=page.team,
        to_acknowledge=page.to_acknowledge,
        viewer=current_user,
        today=page.today,
        can_post=can(Action.POST_MEDICATION, access),
        ack_back="medications",
    )


def _render_form(
    form: MedicationChangeForm,
    client,
    *,
    amends: MedicationChange | None = None,
    draft=None,
    draft_form: DraftForm | None = None,
):
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "medications/form.html",
        form=form,
        client=client,
        amends=amends,
        units=UNITS,
        routes=ROUTES,
        frequencies=FREQUENCIES,
        draft=draft,
        draft_form=draft_form,
    )
    return page, status


def _save(form: MedicationChangeForm, client, *, amends: MedicationChange | None = None):
    """Run the use case with the form's values; None when it refused them."""
    try:
        return services.record_change(
            actor=current_user,
            client=client,
            medication=form.medication.data or "",
            action=form.action.data or "",
            effective_date=form.effective_date.data,
            dose=form.dose_value,
            unit=form.unit.data or "",
            route=form.route.data or "",
            frequency=form.frequency.data or "",
            reason=form.reason.data or "",
            amends=amends,
            from_draft=amends is None,  # a new change's form keeps a draft
        )
    except UserFacingError as error:
        attach_error(form, error)
        return None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(client_id: int):
    access = load_client(client_id, Action.POST_MEDICATION)
    client = access.client
    today = services.today_for(current_user)
    form = MedicationChangeForm()
    form.today = today
    draft = None
    if request.method == "GET":
        form.effective_date.data = today
        draft = drafts.open_draft(author=current_user, client=client, form=DraftForm.MEDICATION)
        if draft is not None:
            # What the prescriber typed and did not post comes first; they may discard it.
            _restore(form, draft)
        else:
            _prefill_from_list(form, client, today)
    elif form.validate():
        change = _save(form, client)
        if change is not None:
            flash(
                f"{change.action_label}: {change.medication}. "
                "The team is asked to acknowledge the change.",
                "success",
            )
            return redirect(_landing(client_id, change))
    return _render_form(form, client, draft=draft, draft_form=DraftForm.MEDICATION)


def _restore(form: MedicationChangeForm, draft) -> None:
    """Put a saved draft back into the form, each field as it was typed."""
    fields = draft.fields
    for name in ("medication", "dose", "unit", "route", "frequency", "reason"):
        getattr(form, name).data = fields.get(name, "")
    if fields.get("action") in set(MedicationAction):
        form.action.data = fields["action"]
    if fields.get("effective_date"):
        form.effective_date.raw_data = [fields["effective_date"]]


def _landing(client_id: int, change: MedicationChange) -> str:
    """Where a saved change lands: the new entry itself, on top of the timeline (where the
    team acknowledges it), as a note does; the medications page keeps it in a closed
    history."""
    return url_for("clients.show", client_id=client_id, _anchor=f"e{change.id}")


def _prefill_from_list(form: MedicationChangeForm, client, today) -> None:
    """Fill the form from the list, for the list's "Change dose" and "Stop" links."""
    key = request.args.get("medication", "")
    action = request.args.get("action", "")
    if not key or action not in set(MedicationAction) - {MedicationAction.STARTED}:
        return
    data = services.prefill_change(
        viewer=current_user, client=client, key=key, action=action, today=today
    )
    if data is not None:
        form.process(data=data)


# What the amend form says when the policy refuses (load_entry's refusal status).
REFUSED = {
    403: "Only the prescriber who recorded a change can amend it. "
    "Record a new change or write a note instead.",
    409: "This change was already amended. Amend the newest version.",
}


@bp.route("/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id, kinds={EntryKind.MEDICATION}, amend=True)
    client, old = found.client, found.entry
    if request.method == "POST":
        form = MedicationChangeForm()
    else:
        form = MedicationChangeForm(data=services.change_form_data(old))
        open_amend_form(old, client_id=client_id, action="view_medication_change")
    form.today = services.today_for(current_user)
    # Like notes: refuse with the form shown, so the prescriber sees what they wanted.
    if found.refusal is not None:
        form.form_errors.append(REFUSED[found.refusal.status])
        return _render_form(form, client, amends=old)[0], found.refusal.status
    if request.method == "POST" and form.validate():
        change = _save(form, client, amends=old)
        if change is not None:
            flash(
                f"The change to {change.medication} was amended. "
                "The earlier version stays in its history.",
                "success",
            )
            return redirect(_landing(client_id, change))
    return _render_form(form, client, amends=old)


@bp.post("/<int:entry_id>/acknowledge")
@login_required
def acknowledge(client_id: int, entry_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    if not AcknowledgeForm().validate_on_submit():
        abort(400)
    try:
        created = services.acknowledge(actor=current_user, client=access.client, entry_id=entry_id)
    except LookupError:
        abort(404)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        if created:
            flash("Acknowledged. The team can see that you have seen this change.", "success")
        else:
            flash("You had already acknowledged this change.", "success")
    if request.args.get("back") == "medications":
        return redirect(url_for("medications.index", client_id=client_id))
    return redirect(url_for("clients.show", client_id=client_id, _anchor=f"e{entry_id}"))
