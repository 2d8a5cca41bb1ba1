"""Emailing an invitation's link: mint a nonce, send through careteam.mail, relay, sweep."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from datetime import datetime, timedelta

from flask import current_app, render_template
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from careteam import mail
from careteam.auth.models import User
from careteam.extensions import db, utcnow
from careteam.invitations.models import Invitation, InvitationKind, InvitationStatus
from careteam.links import external_url
from careteam.relay import relay
from careteam.timefmt import zone_of

log = logging.getLogger("careteam.invitations")

SALT = "invitation"
# The email task is published after the request commits; beat's sweep sends the rest.
RELAY = relay(
    name="invitation",
    task="careteam.send_invitation",
    setting="INVITATION_RELAY",
    what="invitation_id",
)
# Beat's sweep leaves a fresh request to the after-commit relay for this long.
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 200


def max_age() -> timedelta:
    """How long a link works after it is issued (INVITATION_MAX_AGE_HOURS)."""
    return timedelta(hours=current_app.config["INVITATION_MAX_AGE_HOURS"])


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def nonce_digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def request_email(invitation: Invitation) -> None:
    """Ask for the invitation's email; the relay publishes the task once this commits."""
    invitation.send_requested_at = utcnow()
    RELAY.queue(invitation.id)


def mint_link(invitation_id: int) -> str:
    """Give the invitation a new nonce (older links die) and return its token; commits.

    The email task mints its own; this serves tests and operators who deliver a link by
    hand.
    """
    nonce = secrets.token_urlsafe(32)
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(nonce_hash=nonce_digest(nonce))
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
    return serializer().dumps({"id": invitation_id, "nonce": nonce})


def unsent_invitations(now: datetime | None = None) -> list[int]:
    """Open invitations whose requested email has not gone out (for beat's sweep)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Invitation.id)
            .where(
                Invitation.status == InvitationStatus.PENDING,
                Invitation.send_requested_at.is_not(None),
                Invitation.send_requested_at <= now - SWEEP_GRACE,
                Invitation.expires_at > now,
            )
            .order_by(Invitation.id)
            .limit(SWEEP_BATCH)
        )
    )


def _message(invitation: Invitation, token: str):
    recipient = db.session.scalar(select(User).where(User.email == invitation.email))
    zone = zone_of(recipient) if recipient is not None else zone_of(None)
    context = {
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "url": external_url("invitations.accept", token=token),
        "expires": invitation.expires_at,
        "zone": zone,
    }
    subjects = {
        InvitationKind.TEAM: f"{invitation.invited_by.display_name} invited you to a care team "
        "on CareTeam",
        InvitationKind.PORTAL: f"{invitation.invited_by.display_name} invited you to your "
        "CareTeam portal",
        InvitationKind.ACCOUNT: "You are invited to CareTeam",
    }
    return mail.build_message(
        to=invitation.email,
        subject=subjects[InvitationKind(invitation.kind)],
        text=render_template("email/invitation.txt", **context),
        html=render_template("email/invitation.html", **context),
    )


def send_invitation_email(invitation_id: int) -> bool:
    """Mint a fresh link and email it, if an email is still wanted; True when sent.

    Idempotent: the worker claims the request (clearing send_requested_at together with
    the new nonce) before talking to SMTP, so a redelivered or duplicated task sends
    nothing. If SMTP refuses, the request is put back and beat's sweep tries again.
    """
    invitation = db.session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.status != InvitationStatus.PENDING
        or invitation.send_requested_at is None
        or invitation.is_expired()
    ):
        db.session.rollback()
        return False
    requested, previous_sent_at = invitation.send_requested_at, invitation.sent_at
    nonce = secrets.token_urlsafe(32)
    message = _message(invitation, serializer().dumps({"id": invitation.id, "nonce": nonce}))
    digest = nonce_digest(nonce)
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.send_requested_at == requested,
        )
        .values(
            nonce_hash=digest,
            send_requested_at=None,
            sent_at=utcnow(),
            send_count=Invitation.send_count + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    try:
        mail.send([message])
    except (OSError, smtplib.SMTPException) as error:
        log.warning(
            "invitation email failed",
            extra={"invitation_id": invitation_id, "error": type(error).__name__},
        )
        db.session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.status == InvitationStatus.PENDING,
                Invitation.send_requested_at.is_(None),
                Invitation.nonce_hash == digest,
            )
            .values(
                nonce_hash=None,
                send_requested_at=utcnow(),
                sent_at=previous_sent_at,
                send_count=Invitation.send_count - 1,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return False
    log.info("invitation email sent", extra={"invitation_id": invitation_id})
    return True
