"""Notification settings, the digest preview, and one-click unsubscribe."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from careteam.access import Action, require
from careteam.alerts import services as alert_services
from careteam.auth.models import User
from careteam.digests import services
from careteam.digests.forms import NotificationsForm
from careteam.extensions import csrf, db
from careteam.links import user_id_from_unsubscribe_token

bp = Blueprint("digests", __name__)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@require(Action.EDIT_PROFILE)
def settings():
    page = services.open_settings(current_user)
    pref, clients, muted = page.pref, page.clients, page.muted
    form = NotificationsForm(clients=clients)
    if request.method == "GET":
        form.frequency.data = pref.frequency
        form.send_time.data = pref.send_time
        form.weekday.data = str(pref.weekday)
        form.time_zone.data = current_user.time_zone
        form.detail.data = pref.detail
        form.send_when_empty.data = pref.send_when_empty
        form.alerts_enabled.data = pref.alerts_enabled
        form.quiet_start.data = pref.quiet_start
        form.quiet_end.data = pref.quiet_end
        form.muted.data = sorted(muted)
    if form.validate_on_submit():
        services.save_preferences(
            user=current_user,
            time_zone=form.time_zone.data,
            frequency=form.frequency.data,
            send_time=form.send_time.data,
            # Only weekly digests need a day; otherwise the saved one is kept.
            weekday=int(form.weekday.data) if form.weekday.data else pref.weekday,
            detail=form.detail.data,
            send_when_empty=form.send_when_empty.data,
            alerts_enabled=form.alerts_enabled.data,
            quiet_start=form.quiet_start.data,
            quiet_end=form.quiet_end.data,
        )
        wanted = set(form.muted.data or [])
        for client in clients:
            if (client.id in wanted) != (client.id in muted):
                services.set_mute(
                    user=current_user, client_id=client.id, muted=client.id in wanted
                )
        flash("Your notification settings were saved.", "success")
        return redirect(url_for("digests.settings"))
    status = 400 if request.method == "POST" else 200
    return render_template("digests/settings.html", form=form, pref=pref), status


@bp.get("/settings/notifications/preview")
@require(Action.EDIT_PROFILE)
def preview():
    content, pref = services.open_preview(current_user)
    return render_template("digests/preview.html", content=content, pref=pref)


def _user_for(token: str, purpose: str = "digests") -> User:
    user_id = user_id_from_unsubscribe_token(token, purpose)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        abort(404)
    return user


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    user = _user_for(token)
    return render_template("digests/unsubscribe.html", token=token, email=user.email, done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # the signed token is the credential; mail clients post here (RFC 8058)
def unsubscribe_post(token: str):
    user = _user_for(token)
    services.unsubscribe(user)
    return render_template("digests/unsubscribe.html", token=token, email=user.email, done=True)


@bp.get("/unsubscribe/alerts/<token>")
def unsubscribe_alerts(token: str):
    """Ask before turning immediate alerts off: mail scanners follow links with GET."""
    user = _user_for(token, "alerts")
    return render_template("alerts/unsubscribe.html", token=token, email=user.email, done=False)


@bp.post("/unsubscribe/alerts/<token>")
@csrf.exempt  # the signed token is the credential; mail clients post here (RFC 8058)
def unsubscribe_alerts_post(token: str):
    user = _user_for(token, "alerts")
    alert_services.unsubscribe(user)
    return render_template("alerts/unsubscribe.html", token=token, email=user.email, done=True)
