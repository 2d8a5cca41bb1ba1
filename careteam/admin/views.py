"""Admin pages: accounts and the audit log. No clinical content is shown here."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from careteam.access import Action, require
from careteam.admin import services
from careteam.admin.forms import AuditFilterForm, NewUserForm, UserFilterForm
from careteam.audit import chain as audit_chain
from careteam.audit import viewer as audit_viewer
from careteam.auth import two_factor
from careteam.auth.models import User
from careteam.clients.confirmations import possessive
from careteam.clients.forms import ConfirmActionForm, ConfirmForm
from careteam.enums import Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.invitations.services import pending_accounts
from careteam.paging import Cursor
from careteam.timefmt import zone_of

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
        two_factor_ids=two_factor.enrolled_ids([u.id for u in page.items]),
        now=utcnow(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_account(
                email=form.email.data,
                password=form.password.data,
                role=Role(form.role.data),
                display_name=form.display_name.data,
                discipline=Discipline(form.discipline.data) if form.discipline.data else None,
                credentials=form.credentials.data or "",
                actor=current_user,
            )
        except UserFacingError as error:
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


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def deactivate(user_id: int):
    """Ask first (GET, or a POST without confirm=yes), then deactivate the account."""
    form = ConfirmActionForm()
    if form.confirmed():
        return _set_active(user_id, active=False)
    user = db.get_or_404(User, user_id)
    name = user.display_name
    return render_template(
        "confirm.html",
        form=form,
        heading=f"Deactivate {possessive(name)} account?",
        consequences=[
            f"{name} ({user.email}) is logged out everywhere at once and can no longer log in.",
            f"{possessive(name)} API tokens stop working, and pending invitations to or from "
            f"{name} are withdrawn.",
            f"Everything {name} wrote stays in the records, with their name, and the "
            "audit log keeps what they did.",
            "Care-team memberships stay as they are, so each team still shows who "
            "was on it; a team lead ends a membership when someone else takes over.",
            "You can reactivate the account later.",
        ],
        action=url_for("admin.deactivate", user_id=user_id),
        button="Deactivate account",
        cancel_url=url_for("admin.users"),
    )


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


def _audit_filter(form: AuditFilterForm) -> tuple[audit_viewer.AuditFilter, bool]:
    """The filter the admin asked for, and whether the form was valid (else: no filter)."""
    form.action.choices = [("", "Any"), *((a, a) for a in audit_viewer.known_actions())]
    if not form.validate():
        return audit_viewer.AuditFilter(), False
    since, until = audit_viewer.local_day_range(
        form.since.data, form.until.data, zone_of(current_user)
    )
    flt = audit_viewer.AuditFilter(
        actor_id=audit_viewer.find_user_id(form.user.data or ""),
        client_id=form.client_id.data,
        action=form.action.data or "",
        outcome=form.outcome.data or "",
        since=since,
        until=until,
    )
    return flt, True


@bp.post("/users/<int:user_id>/reset-two-factor")
@require(Action.MANAGE_USERS)
def reset_two_factor(user_id: int):
    user = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        two_factor.admin_reset(actor=current_user, user=user)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        flash(
            f"Two-factor of {user.email} was reset and their sessions ended. They set it up "
            "again at their next login.",
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.get("/audit")
@require(Action.READ_AUDIT)
def audit_log():
    form = AuditFilterForm(request.args)
    flt, valid = _audit_filter(form)
    page = audit_viewer.page(
        flt,
        size=current_app.config["AUDIT_PAGE_SIZE"],
        before=Cursor.decode(request.args.get("before")),
        after=Cursor.decode(request.args.get("after")),
    )
    # The filter's own arguments, for the paging and export links.
    filter_args = {
        k: v for k, v in request.args.items() if k in form.data and v and k != "csrf_token"
    }
    return render_template(
        "admin/audit.html",
        page=page,
        form=form,
        valid=valid,
        filter_args=filter_args,
        seal=audit_chain.status(),
    )


@bp.get("/audit/export")
@require(Action.READ_AUDIT)
def audit_export():
    """The filtered log as a CSV download; refused (400) while the filter has errors."""
    form = AuditFilterForm(request.args)
    flt, valid = _audit_filter(form)
    if not valid:
        abort(400)
    services.record_audit_export(actor=current_user, flt=flt)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(audit_viewer.csv_lines(flt)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="careteam-audit-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/health")
@require(Action.VIEW_SYSTEM_HEALTH)
def health():
    """Database, broker, beat and worker, queue depth, digests and alerts: no content."""
    from careteam.health.services import system_overview

    return render_template("admin/health.html", overview=system_overview())
