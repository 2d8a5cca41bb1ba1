"""What a digest holds and how it reads: the window's entries, grouped by client, as email."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from flask import render_template
from sqlalchemy import func, select

from careteam import mail
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests.entries import ByClient, Window, entries_for
from careteam.digests.models import Digest
from careteam.enums import DigestDetail, DigestStatus, EntryKind, Role
from careteam.extensions import db
from careteam.links import external_url, unsubscribe_url
from careteam.record.models import Entry
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
    or, for a client, what their team shared with them (a preview, or one digest alone).
    """
    (by_client,) = entries_for([Window(user, start, end)])
    return assemble(Window(user, start, end), by_client, detail)


def assemble(window: Window, by_client: ByClient, detail: str) -> DigestContent:
    """A digest's content from its window's entries (entries.entries_for). Sections with
    something urgent come first, then the client with the newest update; urgent first,
    then newest first within each.
    """
    for_client = window.user.role == Role.CLIENT
    sections = [
        _section(client, entries, detail=detail, for_client=for_client)
        for client, entries in by_client
    ]
    sections.sort(key=lambda s: (not s.urgent, -s.newest.timestamp(), s.client.full_name))
    return DigestContent(
        user=window.user,
        start=window.start,
        end=window.end,
        sections=sections,
        detail=detail,
        for_client=for_client,
    )


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
