"""Admin pages: accounts and the audit log. No clinical content is shown here."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from careteam import audit
from careteam.access import Action, require
from careteam.admin import services
from careteam.admin.forms import AuditFilterForm, NewUserForm, UserFilterForm
from careteam.auth.models import User
from careteam.auth.services import create_user
from careteam.clients.forms import ConfirmForm
from careteam.enums import Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.invitations.services import pending_accounts

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@require(Action.MANAGE_USERS)
def users():
    filters = UserFilterForm(request.args)
    valid = filters.validate()
    page = db.paginate(
        services.users_query(
            filters.q.data or "" if valid else "", filters.role.data or "" if valid else ""
        ),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template(
        "admin/users.html",
        page=page,
        filters=filters,
        confirm=ConfirmForm(),
        invitations=pending_accounts(),
        now=utcnow(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                email=form.email.data,
                password=form.password.data,
                role=Role(form.role.data),
                display_name=form.display_name.data,
                discipline=Discipline(form.discipline.data) if form.discipline.data else None,
                credentials=form.credentials.data or "",
                actor=current_user,
            )
            db.session.commit()
        except UserFacingError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(f"The account for {user.email} was created.", "success")
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/new_user.html", form=form), status


def _set_active(user_id: int, active: bool):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.set_active(actor=current_user, user=user, active=active)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.email} was {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/deactivate")
@require(Action.MANAGE_USERS)
def deactivate(user_id: int):
    return _set_active(user_id, active=False)


@bp.post("/users/<int:user_id>/reactivate")
@require(Action.MANAGE_USERS)
def reactivate(user_id: int):
    return _set_active(user_id, active=True)


@bp.post("/users/<int:user_id>/unlock")
@require(Action.MANAGE_USERS)
def unlock(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.unlock(actor=current_user, user=user)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.email} was unlocked and can log in again.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@require(Action.READ_AUDIT)
def audit_log():
    form = AuditFilterForm(request.args)
    flt = audit.AuditFilter()
    if form.validate():
        flt = audit.AuditFilter(
            actor_email=form.email.data or "",
            client_id=form.client_id.data,
            action=(form.action.data or "").strip(),
            outcome=form.outcome.data or "",
            since=datetime.combine(form.since.data, time(), UTC) if form.since.data else None,
            until=(
                datetime.combine(form.until.data + timedelta(days=1), time(), UTC)
                if form.until.data
                else None
            ),
        )
    page = db.paginate(
        audit.filtered_query(flt),
        per_page=current_app.config["AUDIT_PAGE_SIZE"],
        error_out=False,
    )
    return render_template("admin/audit.html", page=page, form=form, actions=audit.known_actions())


@bp.get("/health")
@require(Action.VIEW_SYSTEM_HEALTH)
def health():
    """Database, broker, beat and worker, queue depth, digests and alerts: no content."""
    from careteam.health.services import system_overview

    return render_template("admin/health.html", overview=system_overview())
