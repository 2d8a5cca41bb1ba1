"""Logging in and out, and sending each role to its home page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from careteam import audit
from careteam.auth import services
from careteam.auth.forms import LoginForm
from careteam.extensions import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user) -> str:
    if user.is_admin:
        return url_for("admin.users")
    if user.is_client:
        return url_for("portal.home")
    return url_for("clients.dashboard")


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            # One message whatever went wrong, so addresses cannot be probed.
            form.form_errors.append("Email or password is incorrect.")
        else:
            services.start_session(user, ip=request.remote_addr or "")
            login_user(user)
            flash(f"Welcome, {user.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    # Missing fields are a bad request; wrong credentials are an ordinary answer.
    status = 400 if any(field.errors for field in form) else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    audit.record("logout", object_type="user", object_id=current_user.id)
    services.end_session()
    logout_user()
    db.session.commit()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))
