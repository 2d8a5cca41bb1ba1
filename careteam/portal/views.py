"""The client's own view: what changed, my team, my level of care, my goals and notes,
and who looked at my record."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from careteam.access import Action, ClientAccess, load_client, require
from careteam.extensions import utcnow
from careteam.paging import Cursor
from careteam.portal import access_log, contacts, levels, printable, services

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _own_record(action: Action) -> ClientAccess | None:
    """The record linked to the client's account, through the access policy; None if none."""
    client_id = services.own_client_id(current_user)
    if client_id is None:
        return None
    return load_client(client_id, action)


@bp.get("/")
@require(Action.VIEW_PORTAL)
def home():
    access = _own_record(Action.VIEW_SHARED_RECORD)
    if access is None:
        return render_template("portal/not_linked.html")
    client = services.load_home(access.client)
    since = services.previous_visit(current_user, client)
    open_goals, done_goals = services.shared_goals(client)
    roster = services.roster(client)
    reach = contacts.how_to_reach(current_user, roster)
    weights = services.shared_weights(client)
    html = render_template(
        "portal/home.html",
        client=client,
        news=services.whats_new(client, since),
        roster=roster,
        reach=reach,
        coordinator=next((m for m in roster if m.is_lead), None),
        level_text=levels.explain(client.level_of_care),
        levels=levels.all_levels(client.level_of_care),
        open_goals=open_goals,
        done_goals=done_goals,
        notes=services.shared_notes(client, limit=services.HOME_NOTES),
        practice=services.practice_summary(client),
        weights=weights,
    )
    shown = [("view_shared_weights", "client", client.id)] if weights else []
    services.record_shown(
        ("view_roster", "client", client.id),
        ("view_shared_record", "client", client.id),
        *shown,
        client_id=client.id,
        visitor=current_user,
    )
    return html


@bp.get("/goals/<int:goal_id>")
@require(Action.VIEW_PORTAL)
def goal(goal_id: int):
    access = _own_record(Action.VIEW_SHARED_RECORD)
    if access is None:
        abort(404)
    try:
        found = services.get_shared_goal(access.client, goal_id)
    except LookupError:
        abort(404)
    html = render_template("portal/goal.html", client=access.client, goal=found)
    services.record_shown(("view_shared_goal", "goal", found.id), client_id=access.client.id)
    return html


@bp.get("/notes")
@require(Action.VIEW_PORTAL)
def notes():
    access = _own_record(Action.VIEW_SHARED_RECORD)
    if access is None:
        return render_template("portal/not_linked.html")
    cursor = Cursor.decode(request.args.get("before"))
    page = services.shared_notes(access.client, cursor=cursor)
    html = render_template("portal/notes.html", client=access.client, page=page, paged=cursor)
    client_id = access.client.id
    services.record_shown(("view_shared_notes", "client", client_id), client_id=client_id)
    return html


@bp.get("/record")
@require(Action.VIEW_PORTAL)
def record():
    """The client's copy of what is shared with them, as a page to read and print."""
    access = _own_record(Action.VIEW_SHARED_RECORD)
    if access is None:
        return render_template("portal/not_linked.html")
    copy = printable.printable_record(access.client)
    html = render_template(
        "portal/record.html",
        copy=copy,
        reach=contacts.how_to_reach(current_user, copy.roster),
        now=utcnow(),
    )
    client_id = access.client.id
    weights = [("view_shared_weights", "client", client_id)] if copy.weights else []
    services.record_shown(
        ("view_printable_record", "client", client_id), *weights, client_id=client_id
    )
    return html


@bp.get("/access")
@require(Action.VIEW_PORTAL)
def access():
    found = _own_record(Action.VIEW_ACCESS_LOG)
    if found is None:
        return render_template("portal/not_linked.html")
    cursor = Cursor.decode(request.args.get("before"))
    page = access_log.access_log(found.client, cursor=cursor)
    html = render_template("portal/access.html", client=found.client, page=page, paged=cursor)
    client_id = found.client.id
    services.record_shown(("view_access_log", "client", client_id), client_id=client_id)
    return html
