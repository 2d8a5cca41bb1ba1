"""Clients as JSON: the list, one client with team and level of care, the medication list.

What a client sees of their own record is less than the team sees: team members' contact
details only where the member shares them (as the portal's roster), and no reasons for
level-of-care changes.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from careteam.api.serializers import MedicationOut
from careteam.auth.models import User
from careteam.enums import Discipline, LevelOfCare, MemberStatus
from careteam.portal import levels


class ClientSummaryOut(BaseModel):
    """A client in a list: who, their level of care, their team's size, recent activity."""

    id: int
    name: str = Field(description="Full name, with the preferred name in brackets if any.")
    full_name: str
    preferred_name: str
    level_of_care: LevelOfCare
    level_of_care_label: str
    team_size: int = Field(description="Active care team members.")
    last_activity_at: datetime
    unread_count: int | None = Field(
        description="Entries by others since you last opened the timeline in the web app "
        "(null for a client's own record)."
    )


class ClientPage(BaseModel):
    items: list[ClientSummaryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ContactOut(BaseModel):
    """How to reach a member; for a client, only what the member chose to share."""

    email: str | None = None
    phone: str | None = None
    practice: str | None = None


class MemberOut(BaseModel):
    id: int = Field(description="The membership's id.")
    provider_id: int
    display_name: str
    credentials: str
    discipline: Discipline
    is_lead: bool
    status: MemberStatus
    started_at: datetime
    ended_at: datetime | None = Field(description="When the membership ended, if it did.")
    contact: ContactOut


class LevelChangeOut(BaseModel):
    level: LevelOfCare
    level_label: str
    effective_date: date
    reason: str | None = Field(
        description="Why it changed (the care team only; null for a client)."
    )


class LevelOfCareStatus(BaseModel):
    current: LevelOfCare
    current_label: str
    explanation: str = Field(description="What the current level means, in plain words.")
    history: list[LevelChangeOut] = Field(description="Newest first.")


class ClientOut(BaseModel):
    """One client's record: the person, the care team and the level of care."""

    id: int
    name: str
    full_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: date | None
    last_activity_at: datetime
    has_portal_account: bool
    team: list[MemberOut] = Field(description="Active members (leads first), then past ones.")
    level_of_care: LevelOfCareStatus


class MedicationListOut(BaseModel):
    """The current medication list, derived from the changes (each medication's latest)."""

    as_of: date
    current: list[MedicationOut] = Field(description="On the list today, by name.")
    planned: list[MedicationOut] = Field(description="Starting after today, by name.")


def summary_out(client, *, team_size: int, unread: int | None) -> ClientSummaryOut:
    return ClientSummaryOut(
        id=client.id,
        name=client.display_name,
        full_name=client.full_name,
        preferred_name=client.preferred_name,
        level_of_care=client.level_of_care,
        level_of_care_label=client.level_of_care_label,
        team_size=team_size,
        last_activity_at=client.last_activity_at,
        unread_count=unread,
    )


def _contact(user: User, *, shared_only: bool) -> ContactOut:
    if not shared_only:
        return ContactOut(
            email=user.email, phone=user.phone or None, practice=user.practice_name or None
        )
    return ContactOut(
        email=user.email if user.share_email else None,
        phone=user.phone if user.share_phone and user.phone else None,
        practice=user.practice_name if user.share_practice and user.practice_name else None,
    )


def _member(member, *, shared_only: bool) -> MemberOut:
    provider = member.provider
    return MemberOut(
        id=member.id,
        provider_id=provider.id,
        display_name=provider.display_name,
        credentials=provider.credentials,
        discipline=member.discipline,
        is_lead=member.is_lead,
        status=member.status,
        started_at=member.started_at,
        ended_at=member.ended_at,
        contact=_contact(provider, shared_only=shared_only),
    )


def client_out(client, *, team: list, for_client: bool) -> ClientOut:
    """A client loaded by clients.services.record_page; `team` is the members to list."""
    return ClientOut(
        id=client.id,
        name=client.display_name,
        full_name=client.full_name,
        preferred_name=client.preferred_name,
        pronouns=client.pronouns,
        date_of_birth=client.date_of_birth,
        last_activity_at=client.last_activity_at,
        has_portal_account=client.user_id is not None,
        team=[_member(m, shared_only=for_client) for m in team],
        level_of_care=LevelOfCareStatus(
            current=client.level_of_care,
            current_label=client.level_of_care_label,
            explanation=levels.explain(client.level_of_care),
            history=[
                LevelChangeOut(
                    level=change.level,
                    level_label=change.level_label,
                    effective_date=change.effective_date,
                    reason=None if for_client else change.reason,
                )
                for change in client.level_changes
            ],
        ),
    )
