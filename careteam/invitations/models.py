"""Invitations: a signed, single-use, expiring link that brings a person onto CareTeam."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.enums import Discipline, enum_check
from careteam.extensions import db, utcnow


class InvitationKind(StrEnum):
    TEAM = "team"  # a provider onto one client's care team
    PORTAL = "portal"  # the client into their own portal
    ACCOUNT = "account"  # a provider account without a team (admins)


class InvitationStatus(StrEnum):
    # "Expired" is not stored: a pending invitation past expires_at is expired.
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invitation(db.Model):
    """One invitation; the link in its latest email is the only way to accept it.

    Only a SHA-256 of the link's random nonce is stored: a resend mints a new nonce and
    every older link stops working.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        enum_check("kind", InvitationKind),
        enum_check("status", InvitationStatus),
        enum_check("discipline", Discipline),
        CheckConstraint(
            "(kind = 'account' AND client_id IS NULL)"
            " OR (kind <> 'account' AND client_id IS NOT NULL)",
            name="client_unless_account",
        ),
        CheckConstraint(
            "(kind = 'portal' AND discipline IS NULL)"
            " OR (kind <> 'portal' AND discipline IS NOT NULL)",
            name="discipline_for_providers",
        ),
        CheckConstraint("send_count >= 0", name="send_count_valid"),
        # The team page: a client's pending invitations.
        Index("ix_invitations_client_status", "client_id", "status"),
        # Duplicate checks and deactivation: pending invitations to an address.
        Index("ix_invitations_email_status", "email", "status"),
        # Deactivation: pending invitations a user sent.
        Index("ix_invitations_invited_by_status", "invited_by_id", "status"),
        # The admin page and the unsent-email sweep: pending invitations of a kind.
        Index("ix_invitations_status_kind", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(254))  # normalised: stripped, lower case
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    # The discipline on the team, or of the new provider account; None for the portal.
    discipline: Mapped[str | None] = mapped_column(String(40))
    is_lead: Mapped[bool] = mapped_column(default=False)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=InvitationStatus.PENDING)
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when an email is wanted (invite, resend) and cleared by the worker that sends it.
    send_requested_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    send_count: Mapped[int] = mapped_column(default=0)
    nonce_hash: Mapped[str | None] = mapped_column(String(64))

    client: Mapped[Client | None] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or utcnow())

    @property
    def is_open(self) -> bool:
        """Pending and not yet expired: its current link can be accepted."""
        return self.status == InvitationStatus.PENDING and not self.is_expired()

    @property
    def state_label(self) -> str:
        if self.status == InvitationStatus.PENDING:
            return "Expired" if self.is_expired() else "Pending"
        return str(self.status).capitalize()

    @property
    def discipline_label(self) -> str:
        return Discipline(self.discipline).label if self.discipline else ""

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.kind} {self.status}>"
