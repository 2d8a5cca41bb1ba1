"""Accepting an invitation link: read it, decide who may use it, and join or sign up.

A link is refused with 404 when it is not one of ours (tampered, malformed, unknown) and
410 Gone when it was ours but no longer works (used, revoked, expired, replaced by a
newer email). Refusals change nothing but the audit log.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, SignatureExpired
from sqlalchemy import select, update

from careteam import audit
from careteam.auth.models import User
from careteam.auth.passwords import check_password
from careteam.auth.services import AccountError, create_user
from careteam.clients import services as client_services
from careteam.enums import AuditOutcome, Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.invitations.models import Invitation, InvitationKind, InvitationStatus
from careteam.invitations.sending import nonce_digest, serializer

MAX_TOKEN_LENGTH = 400
ROLE_FOR_KIND = {
    InvitationKind.TEAM: Role.PROVIDER,
    InvitationKind.PORTAL: Role.CLIENT,
    InvitationKind.ACCOUNT: Role.PROVIDER,
}


@dataclass(eq=False)
class LinkRefused(Exception):
    """Why a link cannot be used, as the page shows it."""

    status: int
    reason: str  # for the audit log
    title: str
    message: str
    invitation_id: int | None = None
    client_id: int | None = None
    offer_logout: bool = False


def _not_ours(reason: str) -> LinkRefused:
    return LinkRefused(
        404,
        reason,
        "This invitation link is not valid",
        "The link may have been cut off or changed. Open it again from the email, or ask "
        "the person who invited you to send a new invitation.",
    )


def _gone(invitation: Invitation, reason: str, title: str, message: str) -> LinkRefused:
    return LinkRefused(
        410, reason, title, message, invitation_id=invitation.id, client_id=invitation.client_id
    )


def read_link(token: str) -> Invitation:
    """The open invitation a link stands for, or LinkRefused."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise _not_ours("malformed")
    seconds = int(current_app.config["INVITATION_MAX_AGE_HOURS"] * 3600)
    try:
        data = serializer().loads(token, max_age=seconds)
    except SignatureExpired:
        raise LinkRefused(
            410,
            "expired",
            "This invitation has expired",
            "Ask the person who invited you to send it again.",
        ) from None
    except BadData:
        raise _not_ours("bad signature") from None
    if not isinstance(data, dict):
        raise _not_ours("malformed")
    invitation_id, nonce = data.get("id"), data.get("nonce")
    if not isinstance(invitation_id, int) or not isinstance(nonce, str):
        raise _not_ours("malformed")
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise _not_ours("unknown invitation")
    if not hmac.compare_digest(nonce_digest(nonce), invitation.nonce_hash or ""):
        raise _gone(
            invitation,
            "replaced link",
            "This invitation link was replaced",
            "A newer email was sent for this invitation. Use the link in the most recent email.",
        )
    if invitation.status == InvitationStatus.ACCEPTED:
        raise _gone(
            invitation,
            "already accepted",
            "This invitation was already used",
            "Each invitation link works once. Log in to continue.",
        )
    if invitation.status == InvitationStatus.REVOKED:
        raise _gone(
            invitation,
            "revoked",
            "This invitation was withdrawn",
            "Ask the person who invited you if you think this is a mistake.",
        )
    if invitation.is_expired():
        raise _gone(
            invitation,
            "expired",
            "This invitation has expired",
            "Ask the person who invited you to send it again.",
        )
    return invitation


def account_exists(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


def check_viewer(invitation: Invitation, user: User) -> None:
    """A logged-in user may use the link only as the invited account; else LinkRefused."""
    if user.email != invitation.email:
        raise LinkRefused(
            403,
            "another account",
            "This invitation is for another account",
            "You are logged in with a different email address than the one invited. Log out "
            "first, then open the link again.",
            invitation_id=invitation.id,
            client_id=invitation.client_id,
            offer_logout=True,
        )
    if invitation.kind == InvitationKind.ACCOUNT:
        raise _gone(
            invitation,
            "account exists",
            "You already have an account",
            "This invitation is no longer needed. Go to your home page to continue.",
        )
    if user.role != ROLE_FOR_KIND[InvitationKind(invitation.kind)]:
        raise LinkRefused(
            403,
            "wrong role",
            "This invitation cannot be used with your account",
            "Ask the person who invited you to invite a different address.",
            invitation_id=invitation.id,
            client_id=invitation.client_id,
        )


def audit_refusal(refused: LinkRefused) -> None:
    """Record a refused link (commits on its own: nothing else changes)."""
    db.session.rollback()
    audit.record(
        "accept_invitation",
        object_type="invitation",
        object_id=refused.invitation_id,
        client_id=refused.client_id,
        outcome=AuditOutcome.DENIED,
        detail=refused.reason,
    )
    db.session.commit()


def _claim(invitation: Invitation, user: User) -> None:
    """Mark the invitation accepted if it is still open with this link's nonce.

    A conditional UPDATE, so that two simultaneous uses of one link accept it once.
    """
    now = utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.nonce_hash == invitation.nonce_hash,
            Invitation.expires_at > now,
        )
        .values(
            status=InvitationStatus.ACCEPTED,
            accepted_at=now,
            accepted_by_id=user.id,
            send_requested_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise _gone(
            invitation,
            "already accepted",
            "This invitation was already used",
            "Each invitation link works once. Log in to continue.",
        )


def _join(invitation: Invitation, user: User, *, new_account: bool) -> None:
    """Do what the invitation grants and commit it with the acceptance, all at once."""
    audit.record(
        "accept_invitation",
        object_type="invitation",
        object_id=invitation.id,
        client_id=invitation.client_id,
        detail=f"{invitation.kind}; invited by {invitation.invited_by_id}"
        + ("; new account" if new_account else ""),
        actor=user,
    )
    kind = InvitationKind(invitation.kind)
    try:
        if kind == InvitationKind.TEAM:
            # The joining provider is the actor: they are the one acting now.
            client_services.add_member(
                actor=user,
                client=invitation.client,
                email=user.email,
                discipline=Discipline(invitation.discipline),
                is_lead=invitation.is_lead,
            )
        elif kind == InvitationKind.PORTAL:
            client_services.link_portal_account(
                actor=user, client=invitation.client, email=user.email
            )
        else:
            db.session.commit()
    except UserFacingError as error:
        db.session.rollback()
        raise UserFacingError(str(error)) from None


def accept_existing(*, invitation: Invitation, user: User) -> None:
    """The invited account, logged in, accepts: it joins the team or gets its portal."""
    check_viewer(invitation, user)
    _claim(invitation, user)
    _join(invitation, user, new_account=False)


def accept_new_account(
    *, invitation: Invitation, display_name: str, password: str, credentials: str = ""
) -> User:
    """Create the invited person's account and accept the invitation with it (one commit)."""
    if account_exists(invitation.email):
        raise AccountError("An account with this email address already exists. Log in instead.")
    try:
        check_password(password, user_inputs=(invitation.email, display_name))
    except AccountError as error:
        raise AccountError(str(error), "password") from None
    kind = InvitationKind(invitation.kind)
    role = ROLE_FOR_KIND[kind]
    user = create_user(
        email=invitation.email,
        password=password,
        role=role,
        display_name=display_name,
        discipline=Discipline(invitation.discipline) if role == Role.PROVIDER else None,
        credentials=credentials if role == Role.PROVIDER else "",
    )
    _claim(invitation, user)
    _join(invitation, user, new_account=True)
    return user
