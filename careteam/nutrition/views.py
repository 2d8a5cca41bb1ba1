"""Pages of the nutrition part of a client's record: the overview, a new update, an amendment."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam import audit
from careteam.access import Action, can, load_client
from careteam.enums import NutritionType
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db
from careteam.nutrition import services
from careteam.nutrition.forms import NutritionForm
from careteam.nutrition.models import NutritionUpdate
from careteam.record.amending import audit_amend_page
from careteam.record.services import get_entry

bp = Blueprint("nutrition", __name__, url_prefix="/clients/<int:client_id>/nutrition")

SAVED = {
    NutritionType.MEAL_PLAN: "The meal plan change was added.",
    NutritionType.WEIGHT: "The weight was recorded.",
    NutritionType.SUPPLEMENT: "The supplement change was added.",
    NutritionType.NOTE: "Your nutrition note was added.",
}


def _save(form: NutritionForm, client, amends: NutritionUpdate | None = None):
    return services.post_update(
        actor=current_user,
        client=client,
        update_type=form.update_type.data,
        text=form.text.data or "",
        weight_kg=form.weight_kg.data,
        measured_on=form.measured_on.data,
        blind=form.blind.data,
        amends=amends,
    )


@bp.get("/")
@login_required
def index(client_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    client = access.client
    audit.record("view_nutrition", object_type="client", object_id=client.id, client_id=client.id)
    db.session.commit()
    # Read after the commit, which expires every loaded object.
    overview = services.overview(client, current_user)
    return render_template(
        "nutrition/index.html",
        client=client,
        active="nutrition",
        overview=overview,
        may_post=can(Action.POST_NUTRITION, access),
        types=NutritionType,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(client_id: int):
    access = load_client(client_id, Action.POST_NUTRITION)
    form = NutritionForm(today=services.today_for(current_user))
    if request.method == "GET" and request.args.get("type") in set(NutritionType):
        form.update_type.data = request.args["type"]
    if form.validate_on_submit():
        try:
            update = _save(form, access.client)
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(SAVED[NutritionType(update.update_type)], "success")
            return redirect(
                url_for("nutrition.index", client_id=client_id, _anchor=f"e{update.id}")
            )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "nutrition/form.html", form=form, client=access.client, amending=None, blocked=False
    ), status


@bp.route("/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend(client_id: int, entry_id: int):
    access = load_client(client_id, Action.POST_NUTRITION)
    try:
        old = get_entry(access.client, entry_id, current_user)
    except LookupError:
        abort(404)
    if not isinstance(old, NutritionUpdate):
        abort(404)
    # Prefilled on GET only: a POST must carry every field, never fall back to the old text.
    form = NutritionForm(
        obj=old if request.method == "GET" else None, today=services.today_for(current_user)
    )
    status = 200
    if old.author_id != current_user.id:
        form.form_errors.append(
            "Only the author can amend a nutrition update. Add a nutrition note instead."
        )
        status = 403
    elif not old.is_current:
        form.form_errors.append("This update was already amended. Amend the newest version.")
        status = 409
    elif form.validate_on_submit():
        try:
            update = _save(form, access.client, amends=old)
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The update was amended; the earlier version stays in its history.", "success")
            return redirect(
                url_for("nutrition.index", client_id=client_id, _anchor=f"e{update.id}")
            )
    if request.method == "POST" and status == 200:
        status = 400
    html = render_template(
        "nutrition/form.html", form=form, client=access.client, amending=old, blocked=status > 400
    )
    audit_amend_page(
        old, client_id=client_id, shown=request.method == "GET", refused=status == 403
    )
    return html, status
