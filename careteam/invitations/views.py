"""Inviting people (leads, admins) and accepting an invitation link (anyone with it)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from careteam.access import Action, load_client, require
from careteam.auth import services as auth_services
from careteam.clients.forms import ConfirmForm
from careteam.enums import Discipline
from careteam.errors import UserFacingError, attach_error
from careteam.invitations import acceptance, services
from careteam.invitations.forms import (
    AccountInvitationForm,
    NewAccountForm,
    PortalInvitationForm,
    TeamInvitationForm,
)
from careteam.invitations.models import Invitation, InvitationKind
from careteam.invitations.sending import max_age

bp = Blueprint("invitations", __name__)


def _hours() -> int:
    return int(max_age().total_seconds() // 3600)


def _sent_message(email: str) -> str:
    return f"An invitation is on its way to {email}. The link works for {_hours()} hours."


@bp.route("/clients/<int:client_id>/invitations/new", methods=["GET", "POST"])
@login_required
def new_team(client_id: int):
    access = load_client(client_id, Action.MANAGE_TEAM)
    form = TeamInvitationForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_to_team(
                actor=current_user,
                client=access.client,
                email=form.email.data,
                discipline=Discipline(form.discipline.data),
                is_lead=form.is_lead.data,
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(_sent_message(invitation.email), "success")
            return redirect(url_for("clients.team", client_id=client_id, _anchor="invitations"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "invitations/new_team.html", form=form, client=access.client, hours=_hours()
    ), status


@bp.route("/clients/<int:client_id>/invitations/portal", methods=["GET", "POST"])
@login_required
def new_portal(client_id: int):
    access = load_client(client_id, Action.MANAGE_PORTAL_ACCESS)
    form = PortalInvitationForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_to_portal(
                actor=current_user, client=access.client, email=form.email.data
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(_sent_message(invitation.email), "success")
            return redirect(url_for("clients.team", client_id=client_id, _anchor="invitations"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "invitations/new_portal.html", form=form, client=access.client, hours=_hours()
    ), status


def _client_invitation_action(client_id: int, invitation_id: int, use_case, message: str):
    invitation = services.client_invitation(client_id, invitation_id)
    # Each kind is guarded by its own right; both belong to the team lead.
    action = (
        Action.MANAGE_PORTAL_ACCESS
        if invitation is not None and invitation.kind == InvitationKind.PORTAL
        else Action.MANAGE_TEAM
    )
    load_client(client_id, action)
    return _invitation_action(
        invitation,
        use_case,
        message,
        back=url_for("clients.team", client_id=client_id, _anchor="invitations"),
    )


def _invitation_action(invitation: Invitation | None, use_case, message: str, *, back: str):
    """Revoke or resend behind a confirm button: 404 if gone, 400 without the token."""
    if invitation is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    email = invitation.email
    try:
        use_case(actor=current_user, invitation=invitation)
    except UserFacingError as error:
        flash(str(error), "error")
    else:
        flash(message.format(email=email, hours=_hours()), "success")
    return redirect(back)


@bp.post("/clients/<int:client_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke(client_id: int, invitation_id: int):
    return _client_invitation_action(
        client_id, invitation_id, services.revoke, "The invitation to {email} was revoked."
    )


@bp.post("/clients/<int:client_id>/invitations/<int:invitation_id>/resend")
@login_required
def resend(client_id: int, invitation_id: int):
    return _client_invitation_action(
        client_id,
        invitation_id,
        services.resend,
        "A new invitation email is on its way to {email}; the old link no longer works. "
        "The new one works for {hours} hours.",
    )


@bp.route("/admin/invitations/new", methods=["GET", "POST"])
@require(Action.MANAGE_USERS)
def new_account():
    form = AccountInvitationForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_provider_account(
                actor=current_user,
                email=form.email.data,
                discipline=Discipline(form.discipline.data),
            )
        except UserFacingError as error:
            attach_error(form, error)
        else:
            flash(_sent_message(invitation.email), "success")
            return redirect(url_for("admin.users", _anchor="invitations"))
    status = 400 if request.method == "POST" else 200
    return render_template("invitations/new_account.html", form=form, hours=_hours()), status


def _account_invitation_action(invitation_id: int, use_case, message: str):
    return _invitation_action(
        services.account_invitation(invitation_id),
        use_case,
        message,
        back=url_for("admin.users", _anchor="invitations"),
    )


@bp.post("/admin/invitations/<int:invitation_id>/revoke")
@require(Action.MANAGE_USERS)
def revoke_account(invitation_id: int):
    return _account_invitation_action(
        invitation_id, services.revoke, "The invitation to {email} was revoked."
    )


@bp.post("/admin/invitations/<int:invitation_id>/resend")
@require(Action.MANAGE_USERS)
def resend_account(invitation_id: int):
    return _account_invitation_action(
        invitation_id,
        services.resend,
        "A new invitation email is on its way to {email}; the old link no longer works.",
    )


def _refused(refused: acceptance.LinkRefused):
    acceptance.audit_refusal(refused)
    return render_template("invitations/unavailable.html", refused=refused), refused.status


def _landing(invitation: Invitation) -> str:
    if invitation.kind == InvitationKind.TEAM:
        return url_for("clients.show", client_id=invitation.client_id)
    if invitation.kind == InvitationKind.PORTAL:
        return url_for("portal.home")
    return url_for("clients.dashboard")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept(token: str):
    """The link in the email: sign up, or join as the invited account, or be told why not."""
    try:
        invitation = acceptance.read_link(token)
        if current_user.is_authenticated:
            acceptance.check_viewer(invitation, current_user)
    except acceptance.LinkRefused as refused:
        return _refused(refused)
    if current_user.is_authenticated:
        return _accept_signed_in(invitation)
    if acceptance.account_exists(invitation.email):
        login_url = url_for("auth.login", next=request.path)
        return render_template(
            "invitations/log_in.html", invitation=invitation, login_url=login_url
        )
    return _accept_new_account(invitation)


def _accept_signed_in(invitation: Invitation):
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        landing = _landing(invitation)
        try:
            acceptance.accept_existing(invitation=invitation, user=current_user)
        except acceptance.LinkRefused as refused:
            return _refused(refused)
        except UserFacingError as error:
            flash(str(error), "error")
            return redirect(url_for("auth.index"))
        flash(_welcome(invitation), "success")
        return redirect(landing)
    return render_template("invitations/join.html", invitation=invitation, form=form)


def _welcome(invitation: Invitation) -> str:
    if invitation.kind == InvitationKind.TEAM:
        return f"You joined the care team as {invitation.discipline_label}."
    if invitation.kind == InvitationKind.PORTAL:
        return "Welcome. Here you can see your care team."
    return "Welcome to CareTeam."


def _accept_new_account(invitation: Invitation):
    form = NewAccountForm()
    if invitation.kind == InvitationKind.PORTAL:
        del form.credentials
    if form.validate_on_submit():
        landing, welcome = _landing(invitation), _welcome(invitation)
        try:
            user = acceptance.accept_new_account(
                invitation=invitation,
                display_name=form.display_name.data,
                password=form.password.data,
                credentials=form.credentials.data or "" if "credentials" in form else "",
            )
        except acceptance.LinkRefused as refused:
            return _refused(refused)
        except UserFacingError as error:
            attach_error(form, error)
        else:
            auth_services.start_session(
                user, ip=request.remote_addr or "", browser_zone=form.time_zone.data
            )
            login_user(user)
            flash(f"Your account was created. {welcome}", "success")
            return redirect(landing)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "invitations/new_account_accept.html", invitation=invitation, form=form
    ), status
