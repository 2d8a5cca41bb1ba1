"""Use cases of invitations: invite, list, revoke, resend, and deactivation's revocations.

Emailing the link lives in sending.py, accepting it in acceptance.py.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from careteam import access, audit
from careteam.auth.models import User
from careteam.auth.services import normalize_email
from careteam.clients.models import Client
from careteam.enums import AuditOutcome, Discipline, Role
from careteam.errors import UserFacingError
from careteam.extensions import db, utcnow
from careteam.invitations.models import Invitation, InvitationKind, InvitationStatus
from careteam.invitations.sending import max_age, request_email
from careteam.invitations.sending import send_invitation_email as send_invitation_email

__all__ = [
    "InvitationError",
    "account_invitation",
    "client_invitation",
    "invite_provider_account",
    "invite_to_portal",
    "invite_to_team",
    "pending_accounts",
    "pending_for_client",
    "resend",
    "revoke",
    "revoke_for_deactivated_user",
    "send_invitation_email",
]


class InvitationError(UserFacingError):
    """An invitation use case refused its input."""


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def _pending(**criteria) -> Invitation | None:
    stmt = select(Invitation).where(Invitation.status == InvitationStatus.PENDING)
    for name, value in criteria.items():
        stmt = stmt.where(getattr(Invitation, name) == value)
    return db.session.scalars(stmt.limit(1)).first()


def _refuse(
    actor: User, action: str, message: str, *, client_id: int | None, detail: str
) -> InvitationError:
    """Audit a refused invitation (committed on its own) and return the error to raise."""
    db.session.rollback()
    audit.record(
        action,
        object_type="invitation",
        client_id=client_id,
        outcome=AuditOutcome.DENIED,
        detail=detail,
        actor=actor,
    )
    db.session.commit()
    return InvitationError(message, "email")


def _create(invitation: Invitation, *, actor: User, action: str) -> Invitation:
    invitation.expires_at = utcnow() + max_age()
    db.session.add(invitation)
    db.session.flush()
    request_email(invitation)
    audit.record(
        action,
        object_type="invitation",
        object_id=invitation.id,
        client_id=invitation.client_id,
        detail=invitation.kind,
        actor=actor,
    )
    db.session.commit()
    return invitation


def invite_to_team(
    *,
    actor: User,
    client: Client,
    email: str,
    discipline: Discipline,
    is_lead: bool = False,
) -> Invitation:
    """Invite a provider (with or without an account) to join the client's team."""
    email = normalize_email(email)
    action = "invite_to_team"
    user = _user_by_email(email)
    if user is not None:
        if user.role != Role.PROVIDER:
            raise _refuse(
                actor,
                action,
                "This address cannot be invited as a provider. Use the provider's own work "
                "address.",
                client_id=client.id,
                detail="not a provider account",
            )
        if not user.active:
            raise _refuse(
                actor,
                action,
                "The account for this address is deactivated. An administrator can reactivate it.",
                client_id=client.id,
                detail="deactivated account",
            )
        if access.is_active_member(user.id, client.id):
            raise _refuse(
                actor,
                action,
                f"{user.display_name} is already on this team.",
                client_id=client.id,
                detail="already a member",
            )
    if _pending(kind=InvitationKind.TEAM, client_id=client.id, email=email) is not None:
        raise _refuse(
            actor,
            action,
            "An invitation to this address is already pending. Use Resend in the list of "
            "pending invitations to send it again.",
            client_id=client.id,
            detail="duplicate",
        )
    invitation = Invitation(
        kind=InvitationKind.TEAM,
        email=email,
        client_id=client.id,
        discipline=Discipline(discipline),
        is_lead=is_lead,
        invited_by_id=actor.id,
    )
    return _create(invitation, actor=actor, action=action)


def invite_to_portal(*, actor: User, client: Client, email: str) -> Invitation:
    """Invite the client to their portal; accepting creates (or links) their account."""
    email = normalize_email(email)
    action = "invite_to_portal"
    if client.user_id is not None:
        raise _refuse(
            actor,
            action,
            "This client already has portal access.",
            client_id=client.id,
            detail="already linked",
        )
    user = _user_by_email(email)
    if user is not None and (
        user.role != Role.CLIENT
        or not user.active
        or db.session.scalar(select(Client.id).where(Client.user_id == user.id)) is not None
    ):
        raise _refuse(
            actor,
            action,
            "This address cannot be invited to the portal. Use the client's own address.",
            client_id=client.id,
            detail="address unusable",
        )
    if _pending(kind=InvitationKind.PORTAL, client_id=client.id) is not None:
        raise _refuse(
            actor,
            action,
            "A portal invitation for this client is already pending. Resend or revoke it in "
            "the list of pending invitations.",
            client_id=client.id,
            detail="duplicate",
        )
    invitation = Invitation(
        kind=InvitationKind.PORTAL, email=email, client_id=client.id, invited_by_id=actor.id
    )
    return _create(invitation, actor=actor, action=action)


def invite_provider_account(*, actor: User, email: str, discipline: Discipline) -> Invitation:
    """An admin invites a provider to create an account, without a team."""
    email = normalize_email(email)
    action = "invite_provider_account"
    if _user_by_email(email) is not None:
        raise _refuse(
            actor,
            action,
            "An account with this email address already exists.",
            client_id=None,
            detail="account exists",
        )
    if _pending(kind=InvitationKind.ACCOUNT, email=email) is not None:
        raise _refuse(
            actor,
            action,
            "An invitation to this address is already pending. Use Resend in the list of "
            "pending invitations to send it again.",
            client_id=None,
            detail="duplicate",
        )
    invitation = Invitation(
        kind=InvitationKind.ACCOUNT,
        email=email,
        discipline=Discipline(discipline),
        invited_by_id=actor.id,
    )
    return _create(invitation, actor=actor, action=action)


def pending_for_client(client_id: int) -> list[Invitation]:
    """A client's pending invitations (expired ones too, to resend), newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.client_id == client_id,
                Invitation.status == InvitationStatus.PENDING,
            )
            .options(selectinload(Invitation.invited_by))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def pending_accounts() -> list[Invitation]:
    """Pending account invitations for the admin users page, newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.kind == InvitationKind.ACCOUNT,
                Invitation.status == InvitationStatus.PENDING,
            )
            .options(selectinload(Invitation.invited_by))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def client_invitation(client_id: int, invitation_id: int) -> Invitation | None:
    """A team or portal invitation of this client, or None."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.client_id != client_id:
        return None
    return invitation


def account_invitation(invitation_id: int) -> Invitation | None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.kind != InvitationKind.ACCOUNT:
        return None
    return invitation


def _change_pending(invitation: Invitation, **values) -> bool:
    """Update a still-pending invitation; False when it was accepted or revoked meanwhile."""
    result = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def revoke(*, actor: User, invitation: Invitation) -> None:
    """Revoke a pending invitation: its link stops working at once."""
    now = utcnow()
    changed = _change_pending(
        invitation,
        status=InvitationStatus.REVOKED,
        revoked_at=now,
        revoked_by_id=actor.id,
        send_requested_at=None,
    )
    if not changed:
        raise _refuse(
            actor,
            "revoke_invitation",
            "This invitation was already accepted or revoked.",
            client_id=invitation.client_id,
            detail="not pending",
        )
    audit.record(
        "revoke_invitation",
        object_type="invitation",
        object_id=invitation.id,
        client_id=invitation.client_id,
        actor=actor,
    )
    db.session.commit()


def resend(*, actor: User, invitation: Invitation) -> None:
    """Send a fresh link: the old link dies now, the expiry starts again, the sender is you."""
    now = utcnow()
    changed = _change_pending(
        invitation,
        nonce_hash=None,
        expires_at=now + max_age(),
        invited_by_id=actor.id,
    )
    if not changed:
        raise _refuse(
            actor,
            "resend_invitation",
            "This invitation was already accepted or revoked.",
            client_id=invitation.client_id,
            detail="not pending",
        )
    request_email(invitation)
    audit.record(
        "resend_invitation",
        object_type="invitation",
        object_id=invitation.id,
        client_id=invitation.client_id,
        actor=actor,
    )
    db.session.commit()


def revoke_for_deactivated_user(*, actor: User, user: User) -> int:
    """Revoke pending invitations to or from a user being deactivated (the caller commits)."""
    ids = list(
        db.session.scalars(
            select(Invitation.id).where(
                Invitation.status == InvitationStatus.PENDING,
                or_(Invitation.email == user.email, Invitation.invited_by_id == user.id),
            )
        )
    )
    if not ids:
        return 0
    db.session.execute(
        update(Invitation)
        .where(Invitation.id.in_(ids), Invitation.status == InvitationStatus.PENDING)
        .values(
            status=InvitationStatus.REVOKED,
            revoked_at=utcnow(),
            revoked_by_id=actor.id,
            send_requested_at=None,
        )
        .execution_options(synchronize_session="fetch")
    )
    for invitation_id in ids:
        audit.record(
            "revoke_invitation",
            object_type="invitation",
            object_id=invitation_id,
            detail="user deactivated",
            actor=actor,
        )
    return len(ids)
