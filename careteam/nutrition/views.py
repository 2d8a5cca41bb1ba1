"""Pages of the nutrition part of a client's record: the overview, a new update, an amendment."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam.access import Action, can, load_client, load_entry
from careteam.drafts import services as drafts
from careteam.drafts.rules import DraftForm
from careteam.enums import EntryKind, NutritionType
from careteam.errors import UserFacingError, attach_error
from careteam.nutrition import services, units
from careteam.nutrition.forms import BlindDefaultForm, NutritionForm
from careteam.nutrition.models import NutritionUpdate
from careteam.record.services import open_amend_form

bp = Blueprint("nutrition", __name__, url_prefix="/clients/<int:client_id>/nutrition")


def weight_filter(kg, unit: str | None = None, with_unit: bool = True) -> str:
    """`{{ entry.weight_kg|weight }}`: a stored weight in the viewer's unit ("52.4 kg")."""
    if unit is None:
        unit = current_user.weight_unit if current_user.is_authenticated else "kg"
    return units.format_weight(kg, unit, with_unit=with_unit)


bp.add_app_template_filter(weight_filter, "weight")
bp.add_app_template_global(services.weight_chart, "weight_chart")

SAVED = {
    NutritionType.MEAL_PLAN: "The meal plan change was added.",
    NutritionType.WEIGHT: "The weight was recorded.",
    NutritionType.SUPPLEMENT: "The supplement change was added.",
    NutritionType.NOTE: "Your nutrition note was added.",
}


def _save(form: NutritionForm, client, amends: NutritionUpdate | None = None):
    # A new update comes from a form that keeps a draft; an amendment does not (yet).
    return services.post_update(
        actor=current_user,
        client=client,
        update_type=form.update_type.data,
        text=form.text.data or "",
        weight_kg=form.weight_kg.data,
        measured_on=form.measured_on.data,
        blind=form.blind.data,
        amends=amends,
        unit=form.unit,
        confirmed_same_day=bool(form.confirm_same_day.data),
        from_draft=amends is None,
    )


def _restore(form: NutritionForm, draft) -> None:
    """Put a saved draft back into the form, each field as it was typed."""
    fields = draft.fields
    if fields.get("update_type") in set(NutritionType):
        form.update_type.data = fields["update_type"]
    for name in ("weight_kg", "measured_on"):
        if fields.get(name):
            getattr(form, name).raw_data = [fields[name]]
    form.blind.data = fields.get("blind", "") in ("y", "on", "true", "1")
    form.text.data = fields.get("text", "")


def _unit() -> str:
    return units.unit_of(current_user.weight_unit)


@bp.get("/")
@login_required
def index(client_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    client = access.client
    overview = services.open_overview(viewer=current_user, client=client)
    return render_template(
        "nutrition/index.html",
        client=client,
        active="nutrition",
        overview=overview,
        may_post=can(Action.POST_NUTRITION, access),
        may_set_default=can(Action.SET_WEIGHT_DEFAULT, access),
        default_form=BlindDefaultForm(blind=client.weights_blind_by_default),
        types=NutritionType,
    )


@bp.post("/blind-default")
@login_required
def blind_default(client_id: int):
    """A dietitian or the lead sets whether the client's new weights are blind by default."""
    access = load_client(client_id, Action.SET_WEIGHT_DEFAULT)
    form = BlindDefaultForm()
    if not form.validate_on_submit():
        flash("The setting was not saved: reload the page and try again.", "error")
        return redirect(url_for("nutrition.index", client_id=client_id, _anchor="weights"))
    services.set_weights_blind_by_default(
        actor=current_user, client=access.client, blind=form.blind.data
    )
    flash(
        "New weights are now blind by default: the client will not see them."
        if form.blind.data
        else "New weights are now shown to the client by default.",
        "success",
    )
    return redirect(url_for("nutrition.index", client_id=client_id, _anchor="weights"))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(client_id: int):
    access = load_client(client_id, Action.POST_NUTRITION)
    form = NutritionForm(today=services.today_for(current_user), unit=_unit())
    draft = None
    if request.method == "GET":
        form.blind.data = access.client.weights_blind_by_default
        # Most weights are taken the day they are recorded: the date starts as today.
        form.measured_on.data = form.today
        if request.args.get("type") in set(NutritionType):
            form.update_type.data = request.args["type"]
        draft = drafts.open_draft(
            author=current_user, client=access.client, form=DraftForm.NUTRITION
        )
        if draft is not None:
            _restore(form, draft)
    same_day = None
    if form.validate_on_submit():
        try:
            update = _save(form, access.client)
        except services.SameDayWeight as error:
            same_day = str(error)
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(SAVED[NutritionType(update.update_type)], "success")
            return redirect(
                url_for("nutrition.index", client_id=client_id, _anchor=f"e{update.id}")
            )
    status = (409 if same_day else 400) if request.method == "POST" else 200
    return render_template(
        "nutrition/form.html",
        form=form,
        client=access.client,
        amending=None,
        blocked=False,
        same_day=same_day,
        draft=draft,
        draft_form=DraftForm.NUTRITION,
    ), status


# What the amend form says when the policy refuses (load_entry's refusal status).
REFUSED = {
    403: "Only the author can amend a nutrition update. Add a nutrition note instead.",
    409: "This update was already amended. Amend the newest version.",
}


@bp.route("/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id, kinds={EntryKind.NUTRITION}, amend=True)
    old = found.entry
    # Prefilled on GET only: a POST must carry every field, never fall back to the old text.
    form = NutritionForm(
        obj=old if request.method == "GET" else None,
        today=services.today_for(current_user),
        unit=_unit(),
    )
    if request.method == "GET" and old.weight_kg is not None:
        form.weight_kg.data = units.from_kg(old.weight_kg, form.unit)
    status = 200
    same_day = None
    if found.refusal is not None:
        form.form_errors.append(REFUSED[found.refusal.status])
        status = found.refusal.status
    elif form.validate_on_submit():
        try:
            update = _save(form, found.client, amends=old)
        except services.SameDayWeight as error:
            same_day = str(error)
            status = 409
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The update was amended; the earlier version stays in its history.", "success")
            return redirect(
                url_for("nutrition.index", client_id=client_id, _anchor=f"e{update.id}")
            )
    if request.method == "POST" and status == 200:
        status = 400
    if request.method == "GET":
        open_amend_form(old, client_id=client_id)
    return render_template(
        "nutrition/form.html",
        form=form,
        client=found.client,
        amending=old,
        blocked=status > 400 and not same_day,
        same_day=same_day,
    ), status
