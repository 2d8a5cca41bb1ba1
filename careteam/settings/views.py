"""Settings pages of the logged-in person."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from careteam.access import Action, require
from careteam.auth import passwords
from careteam.auth import services as accounts
from careteam.auth import tokens as api_tokens
from careteam.auth.forms import ChangePasswordForm
from careteam.clients.forms import ConfirmActionForm
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import utcnow
from careteam.settings import services
from careteam.settings.forms import ApiTokenForm, ProfileForm
from careteam.timefmt import format_datetime

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
            weight_unit=form.weight_unit.data,
            **fields,
        )
        flash("Your profile was saved.", "success")
        return redirect(url_for("settings.profile"))
    status = 400 if request.method == "POST" else 200
    return render_template("settings/profile.html", form=form), status


@bp.route("/password", methods=["GET", "POST"])
@require(Action.CHANGE_PASSWORD)
def password():
    form = ChangePasswordForm()
    form.password_user_inputs = (current_user.email, current_user.display_name)
    if request.method == "POST" and passwords.strength_check_requested():
        status = 200 if form.check_strength_only() else 400
        return render_template("settings/password.html", form=form), status
    if form.validate_on_submit():
        try:
            accounts.change_password(
                user=current_user,
                current_password=form.current_password.data,
                new_password=form.password.data,
            )
        except accounts.AccountError as error:
            attach_error(form, error)
        else:
            flash(
                "Your password was changed. You were logged out on your other devices.",
                "success",
            )
            return redirect(url_for("settings.password"))
    status = 400 if request.method == "POST" else 200
    return render_template("settings/password.html", form=form), status


@bp.route("/tokens", methods=["GET", "POST"])
@require(Action.MANAGE_API_TOKENS)
def tokens():
    """The user's personal access tokens for the API; a new one's secret is shown once."""
    form = ApiTokenForm()
    created = secret = None
    status = 200
    if form.validate_on_submit():
        try:
            created, secret = api_tokens.create_token(
                user=current_user,
                name=form.name.data,
                scope=form.scope.data,
                days=form.days.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
            status = 400
        else:
            form = ApiTokenForm(formdata=None)  # an empty form under the new secret
    elif request.method == "POST":
        status = 400
    # The secret is rendered by this response only: not flashed (the session would keep
    # it), not redirected to, never cached, never sent on in a Referer.
    response = make_response(
        render_template(
            "settings/tokens.html",
            form=form,
            tokens=api_tokens.tokens_of(current_user),
            created=created,
            secret=secret,
            now=utcnow(),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@require(Action.MANAGE_API_TOKENS)
def revoke_token(token_id: int):
    """Ask first (GET, or a POST without confirm=yes), then revoke one's own token."""
    form = ConfirmActionForm()
    if not form.confirmed():
        try:
            token = api_tokens.own_token(user=current_user, token_id=token_id)
        except LookupError:
            abort(404)
        if token.revoked_at is not None:
            flash(f"The token \u201c{token.name}\u201d is already revoked.", "success")
            return redirect(url_for("settings.tokens"))
        last_used = (
            f"It was last used {format_datetime(token.last_used_at)}."
            if token.last_used_at
            else "It has never been used."
        )
        return render_template(
            "confirm.html",
            form=form,
            heading=f"Revoke the token \u201c{token.name}\u201d?",
            consequences=[
                "Any program that uses this token (your practice's EHR, a script) stops "
                f"working at once: its next request is refused. {last_used}",
                "This cannot be undone: to connect the program again, create a new token "
                "and give it the new one.",
                "What the program already did stays in the records and in the audit log.",
            ],
            action=url_for("settings.revoke_token", token_id=token_id),
            button="Revoke token",
            cancel_url=url_for("settings.tokens"),
        )
    try:
        token = api_tokens.revoke_token(user=current_user, token_id=token_id)
    except LookupError:
        abort(404)
    flash(f"The token \u201c{token.name}\u201d was revoked. It no longer works.", "success")
    return redirect(url_for("settings.tokens"))
