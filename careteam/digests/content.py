"""What a digest holds and how it reads: the window's entries, grouped by client, as email."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from careteam import mail
from careteam.auth.models import User
from careteam.clients.models import CareTeamChange, CareTeamMember, Client
from careteam.digests.models import Digest, DigestMute
from careteam.enums import DigestDetail, DigestStatus, EntryKind, MemberStatus, Visibility
from careteam.extensions import db
from careteam.links import external_url, unsubscribe_url
from careteam.record.models import Entry, entries_of_every_kind
from careteam.timefmt import zone_of


@dataclass
class ClientSection:
    client: Client
    counts: Counter = field(default_factory=Counter)
    entries: list[Entry] = field(default_factory=list)
    url: str = ""


@dataclass
class DigestContent:
    user: User
    start: datetime
    end: datetime
    sections: list[ClientSection]
    detail: str

    @property
    def total(self) -> int:
        return sum(sum(s.counts.values()) for s in self.sections)


def window_start_for(user: User, window_end: datetime) -> datetime:
    """The end of the user's previous sent (or skipped) window: windows are contiguous."""
    previous = db.session.scalar(
        select(func.max(Digest.window_end)).where(
            Digest.user_id == user.id,
            Digest.status.in_([DigestStatus.SENT, DigestStatus.SKIPPED]),
            Digest.window_end < window_end,
        )
    )
    return previous or user.created_at


def build_content(user: User, start: datetime, end: datetime, detail: str) -> DigestContent:
    """What changed on the user's active teams in (start, end], by others, not muted.

    Two queries whatever the number of entries: the user's clients, then the entries.
    """
    poly = entries_of_every_kind()
    muted = select(DigestMute.client_id).where(DigestMute.user_id == user.id)
    # Resolved first, so the entries query filters `entries` by client on its index before
    # joining the kinds' tables: as a subquery, PostgreSQL (past join_collapse_limit)
    # joined every entry of the window to its kind's row, then kept the user's.
    client_ids = list(
        db.session.scalars(
            # The user's active memberships, asked at send time: a member removed
            # yesterday gets nothing new about that client. Not access.visible_client_ids:
            # that also lists a client's own record, whose team entries are not theirs to
            # read (the portal shows a client what is shared; a digest is the team's view).
            select(CareTeamMember.client_id).where(
                CareTeamMember.provider_id == user.id,
                CareTeamMember.status == MemberStatus.ACTIVE,
                CareTeamMember.client_id.not_in(muted),
            )
        )
    )
    stmt = (
        select(poly)
        .where(
            poly.client_id.in_(client_ids),
            poly.created_at > start,
            poly.created_at <= end,
            poly.author_id != user.id,
            poly.visibility != Visibility.PRIVATE,
            poly.superseded_at.is_(None),
        )
        .options(
            joinedload(poly.author),
            joinedload(poly.client),
            # What full-detail summaries read, loaded with the entries.
            joinedload(poly.GoalEvent.goal),
            joinedload(poly.GoalProgress.goal),
            joinedload(poly.LevelOfCareEntry.change),
            joinedload(poly.TeamEntry.change)
            .joinedload(CareTeamChange.member)
            .joinedload(CareTeamMember.provider),
        )
        .order_by(poly.client_id, poly.created_at)
    )
    sections: dict[int, ClientSection] = {}
    for entry in db.session.scalars(stmt).unique():
        section = sections.setdefault(entry.client_id, ClientSection(client=entry.client))
        section.counts[EntryKind(entry.kind).label] += 1
        if detail == DigestDetail.FULL:
            section.entries.append(entry)
    ordered = sorted(sections.values(), key=lambda s: s.client.full_name)
    for section in ordered:
        section.url = external_url("clients.show", client_id=section.client.id)
    return DigestContent(user=user, start=start, end=end, sections=ordered, detail=detail)


def render_message(digest: Digest, content: DigestContent) -> EmailMessage:
    """The digest email: plain text and HTML, absolute links, one-click unsubscribe."""
    user = content.user
    unsubscribe = unsubscribe_url(user.id)
    context = {
        "content": content,
        "user": user,
        "settings_url": external_url("digests.settings"),
        "home_url": external_url("clients.dashboard"),
        "unsubscribe_url": unsubscribe,
        "zone": zone_of(user),
    }
    if content.total:
        n = content.total
        subject = f"CareTeam: {n} update{'s' * (n != 1)} on your clients' records"
    else:
        subject = "CareTeam: nothing new on your clients' records"
    message = mail.build_message(
        to=user.email,
        subject=subject,
        text=render_template("email/digest.txt", **context),
        html=render_template("email/digest.html", **context),
        unsubscribe_url=unsubscribe,
    )
    message.replace_header("Message-ID", digest.message_id)
    return message
