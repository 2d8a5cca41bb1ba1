"""Emergency ("break-glass") access pages: find the client, state the reason, end it early."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from careteam.access import Action, decide_global, is_active_member, require
from careteam.clients.models import Client
from careteam.emergency import services
from careteam.emergency.forms import FindClientForm, ReasonForm
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db, limiter
from careteam.timefmt import format_datetime

bp = Blueprint("emergency", __name__, url_prefix="/emergency")
admin_bp = Blueprint("emergency_admin", __name__, url_prefix="/admin/emergency")

# The ids the last search of this session found. A provider reaches a reason form only
# for one of them: proving that they already know the client's full name and date of
# birth is the price of each look-up, so nobody can walk the ids to list who is a
# client here. An administrator (few, and every search audited) may also give an id,
# and sees the client's name only after stating the reason.
FOUND_KEY = "emergency_found"


def _search_limit() -> str:
    return current_app.config["RATELIMIT_EMERGENCY_SEARCH_PER_USER"]


def _searcher() -> str:
    return f"emergency-search:{current_user.get_id()}"


@bp.route("", methods=["GET", "POST"])
# Name and birth date are guessable in bulk: a person gets a few searches an hour.
@limiter.limit(_search_limit, key_func=_searcher, methods=["POST"])
@require(Action.EMERGENCY_ACCESS)
def find():
    form = FindClientForm()
    if request.method == "GET" and not form.full_name.data:
        # From a search that found none of the user's clients: the name they typed.
        form.full_name.data = request.args.get("full_name", "", type=str)[:120]
    form.by_id_allowed = _may_search_by_id()
    if form.validate_on_submit():
        if form.by_id_allowed and form.client_id.data is not None:
            ids = services.find_by_id(actor=current_user, client_id=form.client_id.data)
        else:
            ids = services.find_by_name_and_birth_date(
                actor=current_user,
                full_name=form.full_name.data,
                date_of_birth=form.date_of_birth.data,
            )
        session[FOUND_KEY] = ids
        members = {i for i in ids if is_active_member(current_user.id, i)}
        return render_template("emergency/find.html", form=form, found=ids, members=members)
    status = 400 if request.method == "POST" else 200
    return render_template("emergency/find.html", form=form, found=None, members=set()), status


def _may_search_by_id() -> bool:
    return bool(decide_global(current_user, Action.EMERGENCY_SEARCH_BY_ID))


def _reachable(client_id: int) -> Client:
    """The client a reason form may be shown for, or 404 (see FOUND_KEY)."""
    client = db.session.get(Client, client_id)
    if client is None:
        abort(404)
    if not _may_search_by_id() and client_id not in session.get(FOUND_KEY, []):
        abort(404)
    return client


@bp.route("/<int:client_id>", methods=["GET", "POST"])
@require(Action.EMERGENCY_ACCESS)
def reason(client_id: int):
    client = _reachable(client_id)
    if is_active_member(current_user.id, client_id):
        flash("You are on this client's team: no emergency access is needed.", "success")
        return redirect(url_for("clients.show", client_id=client_id))
    live = services.live_grant(user_id=current_user.id, client_id=client_id)
    if live is not None:
        flash(
            f"You already have emergency access until {format_datetime(live.expires_at)}.",
            "success",
        )
        return redirect(url_for("clients.show", client_id=client_id))
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            grant = services.open_grant(actor=current_user, client=client, reason=form.reason.data)
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(
                f"Emergency access is open until {format_datetime(grant.expires_at)}. "
                "Every view is logged and the team lead has been told.",
                "success",
            )
            return redirect(url_for("clients.show", client_id=client_id))
    status = 400 if request.method == "POST" else 200
    # The name only to someone who typed it (or after the grant, for an administrator).
    named = client_id in session.get(FOUND_KEY, []) and not _may_search_by_id()
    return render_template(
        "emergency/reason.html",
        form=form,
        client_id=client_id,
        client_name=client.full_name if named else None,
        minutes=current_app.config["EMERGENCY_ACCESS_MINUTES"],
    ), status


@bp.post("/<int:client_id>/end")
@require(Action.EMERGENCY_ACCESS)
def end(client_id: int):
    try:
        services.end_grant(actor=current_user, client_id=client_id)
    except LookupError:
        abort(404)
    flash("Emergency access ended. The record is closed to you again.", "success")
    return redirect(url_for("emergency.find"))


@admin_bp.get("")
@require(Action.READ_AUDIT)
def recent():
    """Every emergency access with its reason, newest first (an audited read)."""
    page = db.paginate(
        services.recent_query(),
        per_page=current_app.config["AUDIT_PAGE_SIZE"],
        error_out=False,
    )
    services.record_list_viewed(page=page.page)
    return render_template("emergency/admin.html", page=page)


@bp.app_context_processor
def emergency_banner() -> dict:
    """The red banner on every record page while the current request runs under a grant."""
    from flask import g

    grant = g.get("emergency_access")
    if grant is None:
        return {"emergency_banner": None}
    return {"emergency_banner": {"client_id": grant.client_id, "until": g.emergency_until}}
