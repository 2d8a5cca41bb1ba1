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
from careteam.enums import DigestDetail, DigestStatus, EntryKind, MemberStatus, Role, Visibility
from careteam.extensions import db, joins_as_written
from careteam.links import external_url, unsubscribe_url
from careteam.record.models import Entry, entries_of_every_kind
from careteam.record.summary import summary_line
from careteam.timefmt import zone_of


@dataclass
class DigestLine:
    """One line of a full-detail section: an entry, or repeats of one kind collapsed into
    one ("3 weights recorded"). `url` opens the (newest) entry on the timeline."""

    kind: str
    text: str
    urgent: bool
    at: datetime
    count: int
    authors: list[str]
    url: str = ""

    @property
    def by(self) -> str:
        if len(self.authors) == 1:
            return self.authors[0]
        if len(self.authors) == 2:
            return " and ".join(self.authors)
        return f"{len(self.authors)} people"


@dataclass
class ClientSection:
    """One client's part of a digest: urgent first, then newest first."""

    client: Client
    counts: Counter = field(default_factory=Counter)
    entries: list[Entry] = field(default_factory=list)  # full detail only, in order
    lines: list[DigestLine] = field(default_factory=list)  # full detail only
    url: str = ""
    urgent: int = 0
    urgent_url: str = ""  # the newest urgent entry, linked in minimal detail too
    newest: datetime | None = None


@dataclass
class DigestContent:
    user: User
    start: datetime
    end: datetime
    sections: list[ClientSection]
    detail: str
    # A client's own digest: what their team shared with them, in their words.
    for_client: bool = False

    @property
    def total(self) -> int:
        return sum(sum(s.counts.values()) for s in self.sections)


def _newest_first(entries: list[Entry]) -> list[Entry]:
    """Urgent entries first, then newest first."""
    return sorted(entries, key=lambda e: (not e.urgent, -e.created_at.timestamp(), -e.id))


def _repeat_key(entry: Entry) -> tuple:
    """Entries that say the same thing collapse into one line; a note never does."""
    kind = EntryKind(entry.kind)
    if entry.urgent or kind == EntryKind.NOTE:
        return ("entry", entry.id)
    if kind == EntryKind.NUTRITION and entry.update_type == "weight":
        return ("weight",)
    if kind == EntryKind.GOAL_PROGRESS:
        return ("check-in", entry.goal_id)
    return (kind.value, summary_line(entry))


def _repeated(entry: Entry, n: int) -> str:
    """The text of `n` collapsed entries like `entry` (the newest of them)."""
    if n == 1:
        return summary_line(entry)
    kind = EntryKind(entry.kind)
    if kind == EntryKind.NUTRITION and entry.update_type == "weight":
        return f"{n} weights recorded"
    if kind == EntryKind.GOAL_PROGRESS:
        return f"{n} check-ins on {entry.goal.title}"
    return f"{summary_line(entry)} ({n} times)"


def _lines(entries: list[Entry], anchor) -> list[DigestLine]:
    """`entries` (urgent first, newest first) as lines, repeats collapsed at the newest."""
    groups: dict[tuple, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(_repeat_key(entry), []).append(entry)
    lines = []
    for group in groups.values():
        newest = group[0]
        authors = list(dict.fromkeys(e.author.display_name for e in group))
        lines.append(
            DigestLine(
                kind=newest.kind_label,
                text=_repeated(newest, len(group)),
                urgent=bool(newest.urgent),
                at=newest.created_at,
                count=len(group),
                authors=authors,
                url=anchor(newest),
            )
        )
    return lines


def _section(client: Client, entries: list[Entry], *, detail: str, for_client: bool):
    """A client's section from their entries in the window."""
    ordered = _newest_first(entries)
    if for_client:
        url = external_url("portal.home")

        def anchor(entry: Entry) -> str:
            return url
    else:
        url = external_url("clients.show", client_id=client.id)

        def anchor(entry: Entry) -> str:
            return external_url("clients.show", client_id=client.id, _anchor=f"e{entry.id}")

    section = ClientSection(client=client, url=url, newest=max(e.created_at for e in entries))
    for entry in ordered:
        section.counts[EntryKind(entry.kind).label] += 1
    urgent = [e for e in ordered if e.urgent]
    section.urgent = len(urgent)
    if urgent:
        section.urgent_url = anchor(urgent[0])
    if detail == DigestDetail.FULL:
        section.entries = ordered
        section.lines = _lines(ordered, anchor)
    return section


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
    """What changed in (start, end], by others: on a provider's active teams (not muted),
    or, for a client, what their team shared with them. Sections with something urgent
    come first, then the client with the newest update; urgent first, then newest first
    within each.
    """
    if user.role == Role.CLIENT:
        by_client = _shared_with_client(user, start, end)
    else:
        by_client = _team_entries(user, start, end)
    sections = [
        _section(client, entries, detail=detail, for_client=user.role == Role.CLIENT)
        for client, entries in by_client
    ]
    sections.sort(key=lambda s: (not s.urgent, -s.newest.timestamp(), s.client.full_name))
    return DigestContent(
        user=user,
        start=start,
        end=end,
        sections=sections,
        detail=detail,
        for_client=user.role == Role.CLIENT,
    )


def _team_entries(user: User, start: datetime, end: datetime) -> list[tuple[Client, list]]:
    """A provider's: the others' entries on their active teams. Two queries whatever the
    number of entries: the user's clients, then the entries."""
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
            # read (a client's digest holds only what is shared with them, below).
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
    grouped: dict[int, tuple[Client, list]] = {}
    with joins_as_written():
        entries = list(db.session.scalars(stmt).unique())
    for entry in entries:
        grouped.setdefault(entry.client_id, (entry.client, []))[1].append(entry)
    return list(grouped.values())


def _shared_with_client(user: User, start: datetime, end: datetime) -> list[tuple[Client, list]]:
    """A client's: what the portal shows them of their own record (notes shared with them,
    shared goals and check-ins, practice, level of care, the team, open weights), new in
    the window and not their own; never a team-only or private entry."""
    from careteam.portal.shared_record import shared_between

    found = []
    for client in db.session.scalars(select(Client).where(Client.user_id == user.id)):
        entries = [e for e in shared_between(client, start, end) if e.author_id != user.id]
        if entries:
            found.append((client, entries))
    return found


def render_message(digest: Digest, content: DigestContent) -> EmailMessage:
    """The digest email: plain text and HTML, absolute links, one-click unsubscribe."""
    user = content.user
    unsubscribe = unsubscribe_url(user.id)
    context = {
        "content": content,
        "user": user,
        "settings_url": external_url("digests.settings"),
        "home_url": external_url("portal.home" if content.for_client else "clients.dashboard"),
        "unsubscribe_url": unsubscribe,
        "zone": zone_of(user),
    }
    n = content.total
    if content.for_client:
        subject = (
            f"CareTeam: {n} update{'s' * (n != 1)} from your care team"
            if n
            else "CareTeam: nothing new from your care team"
        )
    elif n:
        urgent = sum(section.urgent for section in content.sections)
        head = f"{urgent} urgent, " if urgent else ""
        subject = f"CareTeam: {head}{n} update{'s' * (n != 1)} on your clients' records"
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
