"""A client's record: the person, their care team and their level of care."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careteam.auth.models import User
from careteam.clients.rules import age_on
from careteam.enums import (
    Discipline,
    LevelOfCare,
    MemberStatus,
    TeamChange,
    enum_check,
)
from careteam.extensions import db, utcnow
from careteam.timefmt import local_today


class Client(db.Model):
    """A person receiving care, whose team coordinates here."""

    __tablename__ = "clients"
    __table_args__ = (
        enum_check("level_of_care", LevelOfCare),
        # Emergency access finds a client by exact birth date, then compares names.
        Index("ix_clients_date_of_birth", "date_of_birth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    preferred_name: Mapped[str] = mapped_column(String(120), default="")
    pronouns: Mapped[str] = mapped_column(String(40), default="")
    date_of_birth: Mapped[date | None]
    # The current level; its history is in level_of_care_changes.
    level_of_care: Mapped[str] = mapped_column(String(40))
    # The client's own portal login, if they have one.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by a dietitian or the lead: a new weight is blind unless its author unticks it.
    weights_blind_by_default: Mapped[bool] = mapped_column(default=False, server_default=false())

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    members: Mapped[list[CareTeamMember]] = relationship(
        back_populates="client", order_by="CareTeamMember.started_at"
    )
    level_changes: Mapped[list[LevelOfCareChange]] = relationship(
        back_populates="client",
        order_by="(LevelOfCareChange.effective_date.desc(), LevelOfCareChange.id.desc())",
    )

    @property
    def level_of_care_label(self) -> str:
        return LevelOfCare(self.level_of_care).label

    @property
    def coordinator(self) -> CareTeamMember | None:
        """The care coordinator: the longest-serving active team lead."""
        return next((m for m in self.members if m.is_active and m.is_lead), None)

    @property
    def age(self) -> int | None:
        """Completed years today (the viewer's today), if the date of birth is known."""
        if self.date_of_birth is None:
            return None
        return age_on(self.date_of_birth, local_today())

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.full_name:
            return f"{self.full_name} ({self.preferred_name})"
        return self.full_name


class CareTeamMember(db.Model):
    """A provider's place on one client's team."""

    __tablename__ = "care_team_members"
    __table_args__ = (
        UniqueConstraint("client_id", "provider_id", name="uq_care_team_members_client_provider"),
        enum_check("discipline", Discipline),
        enum_check("status", MemberStatus),
        # Serves "my clients": the provider's active memberships.
        Index("ix_care_team_members_provider_status", "provider_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    discipline: Mapped[str] = mapped_column(String(40))
    is_lead: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default=MemberStatus.ACTIVE)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client: Mapped[Client] = relationship(back_populates="members")
    provider: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[provider_id])

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE

    @property
    def discipline_label(self) -> str:
        return Discipline(self.discipline).label


class CareTeamChange(db.Model):
    """History of who joined and left a team, for the record's timeline."""

    __tablename__ = "care_team_changes"
    __table_args__ = (
        enum_check("change", TeamChange),
        Index("ix_care_team_changes_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("care_team_members.id"))
    change: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[CareTeamMember] = relationship()
    actor: Mapped[User] = relationship()


class LevelOfCareChange(db.Model):
    """One level of care and when it took effect; never edited, only followed by another."""

    __tablename__ = "level_of_care_changes"
    __table_args__ = (
        enum_check("level", LevelOfCare),
        Index("ix_level_of_care_changes_client_effective", "client_id", "effective_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    level: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(back_populates="level_changes")
    changed_by: Mapped[User] = relationship()

    @property
    def level_label(self) -> str:
        return LevelOfCare(self.level).label
