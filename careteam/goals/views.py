"""Pages of a client's goals: the list with charts, one goal, setting, changing, check-ins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam import audit, wording
from careteam.access import Action, ClientAccess, can, load_client, load_entry
from careteam.enums import EntryKind, GoalAchievement, GoalDirection, GoalStatus
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db
from careteam.goals import rules, services
from careteam.goals.forms import EditGoalForm, GoalForm, ProgressForm
from careteam.goals.models import Goal
from careteam.record.services import open_amend_form

bp = Blueprint("goals", __name__, url_prefix="/clients/<int:client_id>/goals")

# Reusable by every page that draws a goal (templates/goals/_chart.html).
bp.add_app_template_global(services.goal_chart, "goal_chart")
bp.add_app_template_filter(rules.format_number, "goal_number")
bp.add_app_template_filter(rules.format_measure, "measure")
bp.add_app_template_filter(wording.plural, "plural")


def _load_goal(client_id: int, goal_id: int, action: Action) -> tuple[ClientAccess, Goal]:
    """The goal of a client the user may reach for this action, or 404."""
    access = load_client(client_id, action)
    try:
        return access, services.get_goal(access.client, goal_id)
    except LookupError:
        abort(404)


@bp.get("/")
@login_required
def index(client_id: int):
    access = load_client(client_id, Action.VIEW_RECORD)
    page = db.paginate(
        services.goals_query(access.client),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
        count=True,
    )
    html = render_template(
        "goals/index.html",
        client=access.client,
        active="goals",
        page=page,
        may_post=can(Action.POST_GOAL, access),
    )
    return audit.shown(html, "view_goals", "client", client_id, client_id)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(client_id: int):
    access = load_client(client_id, Action.POST_GOAL)
    form = GoalForm(today=services.local_today(), owners=services.owner_choices(access.client))
    if request.method == "GET":
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        try:
            goal = services.create_goal(
                actor=current_user, client=access.client, fields=form.goal_fields()
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(f"The goal “{goal.title}” was set.", "success")
            return redirect(url_for("goals.show", client_id=client_id, goal_id=goal.id))
    return render_template(
        "goals/form.html", form=form, client=access.client, active="goals", goal=None
    ), 400 if request.method == "POST" else 200


@bp.get("/<int:goal_id>")
@login_required
def show(client_id: int, goal_id: int):
    access, goal = _load_goal(client_id, goal_id, Action.VIEW_RECORD)
    html = render_template(
        "goals/show.html",
        client=access.client,
        active="goals",
        goal=goal,
        events=services.recent_events(goal),
        may_post=can(Action.POST_GOAL, access),
    )
    return audit.shown(html, "view_goal", "goal", goal_id, client_id)


@bp.get("/<int:goal_id>/history")
@login_required
def history(client_id: int, goal_id: int):
    """Every change to the goal since it was set, newest first, in pages."""
    access, goal = _load_goal(client_id, goal_id, Action.VIEW_RECORD)
    page = db.paginate(
        services.events_query(goal),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
        count=True,
    )
    html = render_template(
        "goals/history.html", client=access.client, active="goals", goal=goal, page=page
    )
    return audit.shown(html, "view_goal_history", "goal", goal_id, client_id)


@bp.route("/<int:goal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(client_id: int, goal_id: int):
    access, goal = _load_goal(client_id, goal_id, Action.POST_GOAL)
    # On a POST only what was sent counts: a missing version must not default to the goal's.
    form = EditGoalForm(
        obj=goal if request.method == "GET" else None,
        today=services.local_today(),
        owners=services.owner_choices(access.client, current=goal),
        current=goal,
    )
    conflict = False
    if request.method == "GET":
        html = render_template("goals/form.html", **_edit_context(access, goal, form, conflict))
        return audit.shown(html, "view_goal", "goal", goal_id, client_id)
    valid = form.validate_on_submit()
    if form.version.data is None:
        form.form_errors.append("This form has lost track of the goal. Reload it and edit again.")
    elif form.version.data != goal.version:
        conflict = True
    elif valid:
        try:
            event = services.update_goal(
                actor=current_user,
                client=access.client,
                goal=goal,
                fields=form.goal_fields(),
                expected_version=form.version.data,
            )
        except services.GoalConflict:
            conflict = True
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The goal was updated." if event else "Nothing was changed.", "success")
            return redirect(url_for("goals.show", client_id=client_id, goal_id=goal_id))
    if conflict:
        # Show their version and let the user save over it knowingly: the form now carries
        # the version they have seen.
        goal = services.get_goal(access.client, goal_id)
        form.form_errors.insert(0, services.CONFLICT_MESSAGE)
        form.version.raw_data = None
        form.version.data = goal.version
    html = render_template("goals/form.html", **_edit_context(access, goal, form, conflict))
    if conflict:
        return audit.shown(html, "view_goal", "goal", goal_id, client_id), 409
    return html, 400


def _edit_context(access: ClientAccess, goal: Goal, form: EditGoalForm, conflict: bool) -> dict:
    differences = []
    if conflict:
        fields = form.goal_fields()
        if _complete(fields):
            differences = services.describe_changes(goal, fields)
    return {
        "form": form,
        "client": access.client,
        "active": "goals",
        "goal": goal,
        "conflict": conflict,
        "differences": differences,
    }


def _complete(fields: services.GoalFields) -> bool:
    """Whether the typed values can be compared with the saved goal."""
    return (
        None not in (fields.baseline, fields.target, fields.target_date, fields.owner_id)
        and fields.direction in set(GoalDirection)
        and fields.status in set(GoalStatus)
        and fields.achievement in set(GoalAchievement)
    )


@bp.route("/<int:goal_id>/progress", methods=["GET", "POST"])
@login_required
def progress(client_id: int, goal_id: int):
    access, goal = _load_goal(client_id, goal_id, Action.POST_GOAL)
    today = services.local_today()
    form = ProgressForm(today=today, goal=goal)
    if request.method == "GET":
        form.measured_on.data = today
    if form.validate_on_submit():
        try:
            services.check_in(
                actor=current_user,
                client=access.client,
                goal=goal,
                measured_on=form.measured_on.data,
                value=form.value.data,
                comment=form.comment.data or "",
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The check-in was recorded.", "success")
            return redirect(url_for("goals.show", client_id=client_id, goal_id=goal_id))
    html = render_template(
        "goals/progress.html",
        form=form,
        client=access.client,
        active="goals",
        goal=goal,
        amending=None,
    )
    if request.method == "GET":
        return audit.shown(html, "view_goal", "goal", goal_id, client_id)
    return html, 400


# What the amend form says when the policy refuses (load_entry's refusal status).
REFUSED = {
    403: "Only the person who recorded a check-in can amend it.",
    409: "This check-in was already amended. Amend the newest version.",
}


@bp.route("/progress/<int:entry_id>/amend", methods=["GET", "POST"])
@login_required
def amend_progress(client_id: int, entry_id: int):
    found = load_entry(client_id, entry_id, kinds={EntryKind.GOAL_PROGRESS}, amend=True)
    old = found.entry
    # Prefilled on GET only: a POST must carry every field, never fall back to the old comment.
    form = ProgressForm(
        obj=old if request.method == "GET" else None,
        today=services.local_today(),
        goal=old.goal,
    )
    status = 200
    if found.refusal is not None:
        form.form_errors.append(REFUSED[found.refusal.status])
        status = found.refusal.status
    elif form.validate_on_submit():
        try:
            services.amend_check_in(
                actor=current_user,
                client=found.client,
                old=old,
                measured_on=form.measured_on.data,
                value=form.value.data,
                comment=form.comment.data or "",
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The check-in was amended; the earlier value stays in its history.", "success")
            return redirect(url_for("goals.show", client_id=client_id, goal_id=old.goal_id))
    if request.method == "POST" and status == 200:
        status = 400
    if request.method == "GET":
        open_amend_form(old, client_id=client_id)
    return render_template(
        "goals/progress.html",
        form=form,
        client=found.client,
        active="goals",
        goal=old.goal,
        amending=old,
    ), status
