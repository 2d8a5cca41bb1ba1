"""Provider pages: my clients, a new client, a client's record and its care team."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from careteam import audit
from careteam.access import Action, can, contact_details, load_client, require
from careteam.clients import services
from careteam.clients.confirmations import end_member_consequences, end_member_heading
from careteam.clients.forms import (
    AddMemberForm,
    ClientDetailsForm,
    ClientForm,
    ConfirmActionForm,
    ConfirmForm,
    LevelOfCareForm,
    PortalLinkForm,
    SearchForm,
)
from careteam.emergency.services import grants_for_client
from careteam.enums import Discipline, LevelOfCare
from careteam.errors import UserFacingError, attach_error
from careteam.extensions import db
from careteam.invitations.services import pending_for_client as pending_invitations
from careteam.paging import Cursor
from careteam.practice import services as practice_services
from careteam.record import acknowledgements
from careteam.record import services as record_services
from careteam.record.attention import needs_attention
from careteam.record.forms import TimelineFilterForm

bp = Blueprint("clients", __name__, url_prefix="/clients")


@bp.get("/")
@require(Action.VIEW_DASHBOARD)
def dashboard():
    search = SearchForm(request.args)
    q = search.q.data or "" if search.validate() else ""
    page = db.paginate(
        services.dashboard_query(current_user, q),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
        count=True,
    )
    ids = [c.id for c in page.items]
    sizes = services.team_sizes(ids)
    unread = record_services.unread_counts(current_user, ids)
    attention = needs_attention(current_user) if not q and page.page == 1 else []
    return render_template(
        "clients/dashboard.html",
        page=page,
        sizes=sizes,
        unread=unread,
        unread_limit=record_services.UNREAD_COUNT_LIMIT,  # that many or more: "99+ new"
        attention=attention,
        search=search,
        q=q,
    )


@bp.route("/new", methods=["GET", "POST"])
@require(Action.CREATE_CLIENT)
def new():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            client = services.create_client(
                actor=current_user,
                full_name=form.full_name.data,
                preferred_name=form.preferred_name.data or "",
                pronouns=form.pronouns.data or "",
                date_of_birth=form.date_of_birth.data,
                level_of_care=LevelOfCare(form.level_of_care.data),
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(f"{client.full_name} was added. You are the team lead.", "success")
            return redirect(url_for("clients.show", client_id=client.id))
    status = 400 if request.method == "POST" else 200
    return render_template("clients/new.html", form=form), status


@bp.get("/<int:client_id>")
@login_required
def show(client_id: int):
    """The client page: header and the shared timeline, newest first."""
    access = load_client(client_id, Action.VIEW_RECORD)
    client = access.client
    cursor = Cursor.decode(request.args.get("before"))
    if request.args.get("before") and cursor is None:
        abort(400)
    # Only the whole first page moves the marker: a filtered or older page shows a part,
    # and what it hides must stay unread. Those pages mark New what that first page did.
    filtered = bool(request.args.getlist("kind") or request.args.get("author"))
    opened = record_services.open_timeline(
        viewer=current_user, client=client, move_marker=cursor is None and not filtered
    )
    # Urgent notes the member has not marked "Seen" stay at the top of the first page.
    pinned = acknowledgements.pinned_for(current_user, access) if cursor is None else []
    filters = TimelineFilterForm(request.args)
    filters.author.choices = [("", "Anyone")] + [
        (str(u.id), u.display_name) for u in opened.authors
    ]
    kinds, author_id = [], None
    if filters.validate():
        kinds = filters.kind.data or []
        author_id = int(filters.author.data) if filters.author.data else None
    page = record_services.timeline(
        current_user, client, kinds=kinds, author_id=author_id, cursor=cursor
    )
    return render_template(
        "clients/show.html",
        client=client,
        access=access,
        page=page,
        filters=filters,
        previous_visit=opened.previous_visit,
        pinned=pinned,
        pinned_ids={note.id for note in pinned},
        is_unread=record_services.is_unread,
        adherence_of=practice_services.adherence_on_page(page.items, client=client),
        team=opened.team,
        coordinator=next((m for m in opened.team if m.is_lead), None),
        may=_posting_rights(access),
        active="timeline",
    )


def _posting_rights(access) -> dict[str, bool]:
    return {
        "note": can(Action.POST_NOTE, access),
        "goal": can(Action.POST_GOAL, access),
        "medication": can(Action.POST_MEDICATION, access),
        "nutrition": can(Action.POST_NUTRITION, access),
        "practice": can(Action.ASSIGN_PRACTICE, access),
        "details": can(Action.CORRECT_CLIENT_DETAILS, access),
    }


@bp.route("/<int:client_id>/details", methods=["GET", "POST"])
@login_required
def details(client_id: int):
    """A team lead corrects who the client is: name, preferred name, pronouns, birth date."""
    access = load_client(client_id, Action.CORRECT_CLIENT_DETAILS)
    client = access.client
    form = ClientDetailsForm(obj=client if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = services.correct_details(
                actor=current_user,
                client=client,
                full_name=form.full_name.data,
                preferred_name=form.preferred_name.data or "",
                pronouns=form.pronouns.data or "",
                date_of_birth=form.date_of_birth.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(
                "The client's details were corrected." if changed else "Nothing was changed.",
                "success" if changed else "info",
            )
            return redirect(url_for("clients.show", client_id=client_id))
    html = render_template("clients/details.html", form=form, client=client)
    if request.method == "GET":
        return audit.shown(
            html, "view_record", "client", client_id, client_id, "the client details form"
        )
    return html, 400


@bp.get("/<int:client_id>/team")
@login_required
def team(client_id: int):
    """The care team roster and the level of care with its history."""
    access = load_client(client_id, Action.VIEW_RECORD)
    can_manage = can(Action.MANAGE_TEAM, access)
    can_link_portal = can(Action.MANAGE_PORTAL_ACCESS, access)
    client = services.open_team(client_id=client_id, with_emergency_accesses=can_manage)
    roster = services.active_roster(client)
    emergency_accesses = grants_for_client(client_id) if can_manage else None
    return render_template(
        "clients/team.html",
        client=client,
        access=access,
        roster=roster,
        # The team always sees how to reach each other (access.contact_details).
        contacts={m.id: contact_details(current_user, m.provider) for m in roster},
        coordinator=next((m for m in roster if m.is_lead), None),
        past_members=[m for m in client.members if not m.is_active],
        can_manage=can_manage,
        can_change_level=can(Action.CHANGE_LEVEL_OF_CARE, access),
        can_link_portal=can_link_portal,
        # Pending invitations are the leads' business (both rights belong to leads).
        invitations=(pending_invitations(client.id) if can_manage or can_link_portal else []),
        confirm=ConfirmForm(),
        emergency_accesses=emergency_accesses,
        # Who the client is belongs with the team page too: the lead corrects it here.
        may={"details": can(Action.CORRECT_CLIENT_DETAILS, access)},
        active="team",
    )


@bp.route("/<int:client_id>/team/add", methods=["GET", "POST"])
@login_required
def add_member(client_id: int):
    access = load_client(client_id, Action.MANAGE_TEAM)
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            member = services.add_member(
                actor=current_user,
                client=access.client,
                email=form.email.data,
                discipline=Discipline(form.discipline.data),
                is_lead=form.is_lead.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(f"{member.provider.display_name} is now on the team.", "success")
            return redirect(url_for("clients.team", client_id=client_id))
    html = render_template("clients/add_member.html", form=form, client=access.client)
    if request.method == "GET":
        return audit.shown(
            html, "view_record", "client", client_id, client_id, "the add-member form"
        )
    return html, 400


def _member_action(client_id: int, member_id: int, use_case, message: str):
    access = load_client(client_id, Action.MANAGE_TEAM)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        member = use_case(actor=current_user, client=access.client, member_id=member_id)
    except LookupError:
        abort(404)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        flash(message.format(name=member.provider.display_name), "success")
    return redirect(url_for("clients.team", client_id=client_id))


@bp.route("/<int:client_id>/team/<int:member_id>/end", methods=["GET", "POST"])
@login_required
def end_member(client_id: int, member_id: int):
    """Ask first (GET, or a POST without confirm=yes), then end the membership."""
    access = load_client(client_id, Action.MANAGE_TEAM)
    form = ConfirmActionForm()
    if form.confirmed():
        return _member_action(
            client_id, member_id, services.end_member, "{name} is no longer on the team."
        )
    try:
        member = services.active_member(client=access.client, member_id=member_id)
    except LookupError:
        abort(404)
    html = render_template(
        "confirm.html",
        form=form,
        heading=end_member_heading(member, access.client),
        consequences=end_member_consequences(member, access.client, current_user),
        action=url_for("clients.end_member", client_id=client_id, member_id=member_id),
        button="End membership",
        cancel_url=url_for("clients.team", client_id=client_id),
    )
    return audit.shown(
        html, "view_record", "client", client_id, client_id, "confirm ending a membership"
    )


@bp.post("/<int:client_id>/team/<int:member_id>/lead")
@login_required
def make_lead(client_id: int, member_id: int):
    return _member_action(client_id, member_id, services.make_lead, "{name} is now a team lead.")


@bp.route("/<int:client_id>/level-of-care", methods=["GET", "POST"])
@login_required
def level_of_care(client_id: int):
    access = load_client(client_id, Action.CHANGE_LEVEL_OF_CARE)
    form = LevelOfCareForm()
    if request.method == "GET":
        form.level.data = access.client.level_of_care
    if form.validate_on_submit():
        try:
            services.change_level_of_care(
                actor=current_user,
                client=access.client,
                level=LevelOfCare(form.level.data),
                effective_date=form.effective_date.data,
                reason=form.reason.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The level of care was updated.", "success")
            return redirect(url_for("clients.team", client_id=client_id, _anchor="level-of-care"))
    html = render_template("clients/level_of_care.html", form=form, client=access.client)
    if request.method == "GET":
        return audit.shown(
            html, "view_record", "client", client_id, client_id, "the level-of-care form"
        )
    return html, 400


@bp.route("/<int:client_id>/portal", methods=["GET", "POST"])
@login_required
def portal_access(client_id: int):
    access = load_client(client_id, Action.MANAGE_PORTAL_ACCESS)
    form = PortalLinkForm()
    if form.validate_on_submit():
        try:
            services.link_portal_account(
                actor=current_user, client=access.client, email=form.email.data
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash("The client can now see their team in the portal.", "success")
            return redirect(url_for("clients.team", client_id=client_id))
    html = render_template("clients/portal_access.html", form=form, client=access.client)
    if request.method == "GET":
        return audit.shown(
            html, "view_record", "client", client_id, client_id, "the portal-access form"
        )
    return html, 400
