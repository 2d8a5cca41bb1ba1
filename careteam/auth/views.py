"""Logging in and out, sending each role to its home page, and forgotten passwords."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from careteam.auth import passwords, reset, services, throttle, two_factor_views
from careteam.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm
from careteam.errors import attach_error
from careteam.extensions import limiter

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(services.home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for on their own (pages link static/favicon.svg)."""
    response = current_app.send_static_file("favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(throttle.login_limit_per_ip, methods=["POST"])
@limiter.limit(
    throttle.login_limit_per_account, methods=["POST"], key_func=throttle.submitted_account_key
)
def login():
    if current_user.is_authenticated:
        return redirect(services.home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            # One message whatever went wrong, so addresses cannot be probed.
            form.form_errors.append("Email or password is incorrect.")
        else:
            next_url = _safe_next(request.args.get("next"))
            # Enrolled in two-factor: the session starts only after the code.
            zone = form.time_zone.data
            second_step = two_factor_views.begin_second_step(user, next_url, browser_zone=zone)
            if second_step is not None:
                return second_step
            services.start_session(user, ip=request.remote_addr or "", browser_zone=zone)
            login_user(user)
            flash(f"Welcome, {user.display_name}.", "success")
            return redirect(next_url or services.home_for(user))
    # Missing fields are a bad request; wrong credentials are an ordinary answer.
    status = 400 if any(field.errors for field in form) else 200
    # static/js/idle-warning.js comes here when the idle timeout has ended the session.
    idle_logoff = request.method == "GET" and request.args.get("reason") == "idle"
    return render_template("auth/login.html", form=form, idle_logoff=idle_logoff), status


@bp.post("/logout")
@login_required
def logout():
    services.log_out(current_user)
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


@bp.post("/session/keepalive")
@login_required
def keepalive():
    """The idle warning's "Stay logged in" (static/js/idle-warning.js); CSRF header required."""
    ends_at = services.keep_alive()
    response = make_response("", 204)
    response.headers["Cache-Control"] = "no-store"
    if ends_at is not None:
        response.headers["X-Session-Expires-In"] = str(services.seconds_until(ends_at))
    return response


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(throttle.reset_limit_per_ip, methods=["POST"])
@limiter.limit(
    throttle.reset_limit_per_account, methods=["POST"], key_func=throttle.submitted_account_key
)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset.request_reset(email=form.email.data)
        # The same page whether or not the address has an account.
        return render_template("auth/forgot_sent.html")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = reset.user_for_token(token)
    except reset.ResetLinkError as error:
        return _no_referrer(render_template("auth/reset_invalid.html", error=error)), 400
    form = NewPasswordForm()
    form.password_user_inputs = (user.email, user.display_name)
    if request.method == "POST" and passwords.strength_check_requested():
        status = 200 if form.check_strength_only() else 400
        return _no_referrer(render_template("auth/reset.html", form=form, token=token)), status
    if form.validate_on_submit():
        try:
            reset.reset_password(token=token, password=form.password.data)
        except services.AccountError as error:
            attach_error(form, error)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash("Your password was changed and every session was logged out. Log in.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return _no_referrer(render_template("auth/reset.html", form=form, token=token)), status


def _no_referrer(html: str):
    """The page's own URL holds the token: never send it on in a Referer header."""
    response = make_response(html)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/password/strength")
@limiter.limit(throttle.strength_limit_per_ip)
def password_strength():
    """The meter's question (static/js/password-meter.js); CSRF header required."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("password"), str):
        abort(400)
    inputs = data.get("inputs") or []
    if not isinstance(inputs, list) or len(inputs) > 5:
        abort(400)
    words = [value[:254] for value in inputs if isinstance(value, str)]
    if current_user.is_authenticated:
        words += [current_user.email, current_user.display_name]
    verdict = passwords.strength(data["password"][:1024], user_inputs=words)
    response = jsonify(verdict.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response
