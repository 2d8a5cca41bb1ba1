"""Settings pages of the logged-in person."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from careteam.access import Action, require
from careteam.settings import services
from careteam.settings.forms import ProfileForm

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/profile", methods=["GET", "POST"])
@require(Action.EDIT_PROFILE)
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        fields = {}
        if current_user.is_provider:
            fields = {name: getattr(form, name).data for name in services.PROVIDER_FIELDS}
        services.update_profile(
            user=current_user,
            display_name=form.display_name.data,
            time_zone=form.time_zone.data,
            **fields,
        )
        flash("Your profile was saved.", "success")
        return redirect(url_for("settings.profile"))
    status = 400 if request.method == "POST" else 200
    return render_template("settings/profile.html", form=form), status
