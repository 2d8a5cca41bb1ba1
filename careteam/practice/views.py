"""Practice pages: the team's assignments with adherence, and the client's own logging."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam import audit
from careteam.access import Action, ClientAccess, can, load_client, load_entry, require
from careteam.enums import EntryKind
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db
from careteam.portal.services import own_client_id
from careteam.practice import services
from careteam.practice.forms import AssignmentForm, LogForm
from careteam.practice.models import PracticeAssignment
from careteam.practice.rules import ENDED_MESSAGE
from careteam.record.services import open_amend_form

bp = Blueprint("practice", __name__)


LOG_PAGE_SIZE = 50


def _load(access: ClientAccess, entry_id: int) -> PracticeAssignment:
    try:
        return services.get_assignment(access.client, entry_id)
    except LookupError:
        abort(404)


# The team's side.


@bp.get("/clients/<int:client_id>/practice/")
@login_required
def index(client_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    client = access.client
    page = db.paginate(
        services.assignments_query(client),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
        count=True,
    )
    today = services.client_today(client)
    html = render_template(
        "practice/index.html",
        client=client,
        active="practice",
        page=page,
        adherence=services.adherence_for(page.items, today=today),
        may_assign=can(Action.ASSIGN_PRACTICE, access),
    )
    return audit.shown(html, "view_practice", "client", client_id, client_id)


@bp.route("/clients/<int:client_id>/practice/new", methods=["GET", "POST"])
@login_required
def new(client_id: int):
    access = load_client(client_id, Action.ASSIGN_PRACTICE)
    client = access.client
    form = AssignmentForm()
    again = None
    if request.method == "GET":
        form.starts_on.data = services.client_today(client)
        again_id = request.args.get("again", type=int)
        if again_id:
            again = _load(access, again_id)
            form.skill.data = again.skill
            form.instructions.data = again.instructions
            form.target_count.data = again.target_count
            form.period.data = again.period
    elif form.validate_on_submit():
        try:
            assignment = services.assign_practice(
                actor=current_user, client=client, fields=form.fields()
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(
                f"“{assignment.skill}” was assigned. The client sees it in their portal.",
                "success",
            )
            return redirect(url_for("practice.show", client_id=client_id, entry_id=assignment.id))
    html = render_template(
        "practice/form.html", form=form, client=client, active="practice", amending=None
    )
    if request.method == "POST":
        return html, 400
    if again is not None:
        return audit.shown(html, "view_entry", "entry", again.id, client_id)
    return html


@bp.get("/clients/<int:client_id>/practice/<int:entry_id>")
@login_required
def show(client_id: int, entry_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    assignment = _load(access, entry_id)
    if not assignment.is_current:
        current = services.current_version(assignment)
        return redirect(url_for("practice.show", client_id=client_id, entry_id=current.id))
    client = access.client
    logs = db.paginate(
        services.logs_query(assignment), per_page=LOG_PAGE_SIZE, error_out=False, count=True
    )
    today = services.client_today(client)
    html = render_template(
        "practice/show.html",
        client=client,
        active="practice",
        assignment=assignment,
        adherence=services.adherence_for([assignment], today=today)[assignment.id],
        logs=logs,
        may_assign=can(Action.ASSIGN_PRACTICE, access),
    )
    # The logs carry the client's reflections: clinical content.
    return audit.shown(html, "view_practice_logs", "entry", assignment.id, client_id)


# What the amend form says when the policy refuses (load_entry's refusal status).
REFUSED = {
    403: "Only the person who assigned a practice can amend it. "
    "You can end it, or write a note to the team.",
    409: "This assignment was already changed. Amend the newest version.",
}


@bp.route("/clients/<int:client_id>/practice/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id, kinds={EntryKind.PRACTICE}, amend=True)
    old = found.entry
    # Prefilled on GET only: a POST must carry every field.
    form = AssignmentForm(obj=old) if request.method == "GET" else AssignmentForm()
    status = 200
    if found.refusal is not None:
        form.form_errors.append(REFUSED[found.refusal.status])
        status = found.refusal.status
    elif request.method == "POST" and form.validate_on_submit():
        try:
            new = services.amend_assignment(
                actor=current_user, client=found.client, old=old, fields=form.fields()
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(
                "The assignment was amended; the earlier version stays in its history.", "success"
            )
            return redirect(url_for("practice.show", client_id=client_id, entry_id=new.id))
    if request.method == "POST" and status == 200:
        status = 400
    if request.method == "GET":
        open_amend_form(old, client_id=client_id)
    return render_template(
        "practice/form.html", form=form, client=found.client, active="practice", amending=old
    ), status


@bp.post("/clients/<int:client_id>/practice/<int:entry_id>/end")
@login_required
def end(client_id: int, entry_id: int):
    access = load_client(client_id, Action.ASSIGN_PRACTICE)
    old = _load(access, entry_id)
    try:
        new = services.end_assignment(actor=current_user, client=access.client, old=old)
    except UserFacingError as error:
        flash(str(error), "error")
        target = services.current_version(old)
    else:
        flash(f"“{new.skill}” was ended. Its logs stay with it.", "success")
        target = new
    return redirect(url_for("practice.show", client_id=client_id, entry_id=target.id))


# The client's side, in the portal.


def _own_record() -> ClientAccess | None:
    client_id = own_client_id(current_user)
    if client_id is None:
        return None
    return load_client(client_id, Action.LOG_PRACTICE)


@bp.get("/portal/practice/")
@require(Action.VIEW_PORTAL)
def portal_index():
    access = _own_record()
    if access is None:
        return render_template("portal/not_linked.html")
    client = access.client
    summary = services.portal_summary(client)
    current = {item.assignment.history_root_id: item.assignment for item in summary}
    html = render_template(
        "practice/portal_index.html",
        client=client,
        summary=summary,
        logs=services.recent_logs(client),
        skills=current,
        today=services.client_today(client),
    )
    return audit.shown(html, "view_practice_logs", "client", client.id, client.id)


@bp.route("/portal/practice/<int:entry_id>/log", methods=["GET", "POST"])
@require(Action.VIEW_PORTAL)
def log(entry_id: int):
    access = _own_record()
    if access is None:
        abort(404)
    client = access.client
    assignment = _load(access, entry_id)
    if not assignment.is_current:
        assignment = services.current_version(assignment)
        if request.method == "GET":
            return redirect(url_for("practice.log", entry_id=assignment.id))
    today = services.client_today(client)
    form = LogForm(assignment=assignment, today=today)
    status = 200
    if request.method == "GET":
        form.practised_on.data = today
    elif not assignment.is_active:
        form.form_errors.append(ENDED_MESSAGE)
        status = 409
    elif form.validate_on_submit():
        try:
            services.log_practice(
                actor=current_user,
                client=client,
                assignment=assignment,
                practised_on=form.practised_on.data,
                rating=form.rating_value(),
                reflection=form.reflection.data or "",
                today=today,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(f"Well done: your practice of “{assignment.skill}” was logged.", "success")
            return redirect(url_for("practice.portal_index"))
        status = 400
    else:
        status = 400
    html = render_template(
        "practice/log.html",
        client=client,
        assignment=assignment,
        form=form,
        ended_message=ENDED_MESSAGE if not assignment.is_active else None,
    )
    if request.method == "GET":
        html = audit.shown(html, "view_entry", "entry", assignment.id, client.id)
    return html, status
