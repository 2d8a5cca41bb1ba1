"""Two-factor pages: enrolment and recovery codes in Settings, the second login step,
and the guard that keeps a user who must enrol on the enrolment page."""

from __future__ import annotations

import time
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user

from careteam.access import Action, require
from careteam.auth import services, throttle, two_factor
from careteam.auth.models import User
from careteam.auth.two_factor_forms import AppCodeForm, LoginCodeForm, ResetCodeForm
from careteam.errors import attach_error
from careteam.extensions import db, limiter

bp = Blueprint("two_factor", __name__)

# Signed-session keys. PENDING: the password was right, the code is still to come
# (user id, when, where to go next). VERIFIED: this session passed the guard's check,
# so that it does not cost a query on every request.
PENDING_KEY = "tfa_pending"
VERIFIED_KEY = "tfa_ok"
# What a user who must enrol may still reach (typing the code keeps the session alive).
ENROLMENT_ENDPOINTS = frozenset(
    {"two_factor.settings", "auth.logout", "auth.keepalive", "static", "auth.favicon"}
)


def enforce_enrolment():
    """before_request: a user whom the policy requires to use two-factor and who has not
    enrolled reaches only the enrolment page (and logout) until they do."""
    if request.endpoint is None or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if g.get("api_token") is not None:
        return None  # created after a verified login; revoked when the account is
    if not current_user.is_authenticated or session.get(VERIFIED_KEY) == current_user.id:
        return None
    if not two_factor.required_for(current_user):
        return None
    if two_factor.is_enrolled(current_user):
        session[VERIFIED_KEY] = current_user.id
        return None
    return redirect(url_for("two_factor.settings"))


# The second login step


def begin_second_step(user: User, next_url: str | None, browser_zone: str | None = None):
    """After a correct password: the response that asks for the second factor, or None
    if this user logs in with the password alone (not enrolled). The browser's time zone
    waits with the rest for the session to start."""
    if not two_factor.is_enrolled(user):
        return None
    two_factor.password_accepted(user)
    session.clear()  # nothing from before the login survives into it
    session[PENDING_KEY] = {
        "user_id": user.id,
        "at": int(time.time()),
        "next": next_url,
        "zone": browser_zone or None,
    }
    return redirect(url_for("two_factor.login"))


def _pending() -> tuple[User, str | None] | None:
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    age = time.time() - float(state.get("at", 0))
    user = db.session.get(User, int(state.get("user_id", 0)))
    if not 0 <= age <= current_app.config["TWO_FACTOR_PENDING_SECONDS"] or user is None:
        session.pop(PENDING_KEY, None)
        return None
    if not user.active:
        session.pop(PENDING_KEY, None)
        return None
    return user, state.get("next")


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(throttle.login_limit_per_ip, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(services.home_for(current_user))
    pending = _pending()
    if pending is None:
        flash("Your log-in timed out. Enter your email and password again.", "info")
        return redirect(url_for("auth.login"))
    user, next_url = pending
    form = LoginCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            how = two_factor.verify_login(user=user, code=form.code.data)
        except two_factor.TwoFactorLocked as error:
            session.pop(PENDING_KEY, None)
            flash(str(error), "error")
            return redirect(url_for("auth.login"))
        except two_factor.TwoFactorError as error:
            attach_error(form, error)
        else:
            zone = session[PENDING_KEY].get("zone")  # start_session clears the session
            services.start_session(user, ip=request.remote_addr or "", browser_zone=zone)
            login_user(user)
            session[VERIFIED_KEY] = user.id
            flash(f"Welcome, {user.display_name}.", "success")
            if how == "recovery code":
                left = two_factor.recovery_codes_left(user)
                flash(
                    f"You used a recovery code; {left} left. Make new ones in Settings, "
                    "Two-factor authentication, if you are running out.",
                    "info",
                )
            return redirect(next_url or services.home_for(user))
    elif request.method == "POST":
        status = 400
    return _private(render_template("auth/two_factor.html", form=form)), status


# Settings: enrol, recovery codes, disable


@bp.route("/settings/two-factor", methods=["GET", "POST"])
@require(Action.MANAGE_TWO_FACTOR)
def settings():
    if two_factor.is_enrolled(current_user):
        regenerate_form = AppCodeForm()
        status = 200
        if request.method == "POST":  # a second enrolment form, sent from a stale page
            regenerate_form.form_errors.append("Two-factor authentication is already on.")
            status = 400
        return _status_page(regenerate_form, ResetCodeForm(prefix="disable"), status=status)
    form = AppCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user=current_user, code=form.code.data)
        except two_factor.TwoFactorError as error:
            attach_error(form, error)
        else:
            session[VERIFIED_KEY] = current_user.id
            flash("Two-factor authentication is on.", "success")
            return _codes_page(codes)
    enrolment = two_factor.begin_enrolment(user=current_user)
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "settings/two_factor_enrol.html",
        form=form,
        enrolment=enrolment,
        required=two_factor.required_for(current_user),
    )
    return _private(page), status


@bp.post("/settings/two-factor/recovery-codes")
@require(Action.MANAGE_TWO_FACTOR)
def regenerate_codes():
    if not two_factor.is_enrolled(current_user):
        abort(400)
    form = AppCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_recovery_codes(user=current_user, code=form.code.data)
        except two_factor.TwoFactorError as error:
            attach_error(form, error)
        else:
            flash("New recovery codes were made; the old ones no longer work.", "success")
            return _codes_page(codes)
    return _status_page(form, ResetCodeForm(prefix="disable"), status=400)


@bp.post("/settings/two-factor/disable")
@require(Action.MANAGE_TWO_FACTOR)
def disable():
    if not two_factor.is_enrolled(current_user):
        abort(400)
    form = ResetCodeForm(prefix="disable")
    if form.validate_on_submit():
        try:
            two_factor.disable(user=current_user, code=form.code.data)
        except two_factor.TwoFactorError as error:
            attach_error(form, error)
        else:
            session.pop(VERIFIED_KEY, None)
            if two_factor.required_for(current_user):
                flash("Your two-factor authentication was reset. Set it up again now.", "success")
            else:
                flash("Two-factor authentication is off.", "success")
            return redirect(url_for("two_factor.settings"))
    return _status_page(AppCodeForm(), form, status=400)


def _status_page(regenerate_form: AppCodeForm, disable_form: ResetCodeForm, status: int = 200):
    page = render_template(
        "settings/two_factor.html",
        regenerate_form=regenerate_form,
        disable_form=disable_form,
        codes_left=two_factor.recovery_codes_left(current_user),
        required=two_factor.required_for(current_user),
    )
    return _private(page), status


def _codes_page(codes: list[str]):
    """The recovery codes, shown this once; "download" is a data: link (no copy kept)."""
    text = "CareTeam recovery codes for " + current_user.email + "\n"
    text += "Each code works once. Keep them somewhere safe.\n\n" + "\n".join(codes) + "\n"
    download = "data:text/plain;charset=utf-8," + quote(text)
    return _private(
        render_template("settings/two_factor_codes.html", codes=codes, download=download)
    )


def _private(html: str):
    """Secrets and codes on the page: never cached, never sent on in a Referer."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
