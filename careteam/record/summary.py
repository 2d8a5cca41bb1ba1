"""One-line summaries of entries, for emails in "full" detail."""

from __future__ import annotations

import re

from careteam.enums import EntryKind
from careteam.record.models import Entry

EXCERPT = 160
# A Markdown heading, quote or list marker at the start of a line.
_MARKER = re.compile(r"^(?:#{1,6}|>|[-*+]|\d+[.)])\s+")


def _excerpt(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def first_line(text: str) -> str:
    """A note's first line of text, without Markdown's heading, list or quote marks."""
    for line in (text or "").splitlines():
        line = _MARKER.sub("", line.strip()).strip()
        if line:
            return line
    return ""


def summary_line(entry: Entry) -> str:
    """What an entry says, in one line (weights are never given: they may be blind)."""
    kind = EntryKind(entry.kind)
    if kind == EntryKind.NOTE:
        return _excerpt(entry.title or first_line(entry.body))
    if kind == EntryKind.MEDICATION:
        dose = f" {entry.dose.normalize():f} {entry.unit}".rstrip() if entry.dose else ""
        action = entry.action.replace("_", " ")
        return f"{entry.medication}{dose}: {action}"
    if kind == EntryKind.NUTRITION:
        if entry.update_type == "weight":
            return "Weight measurement recorded"
        return _excerpt(entry.text)
    if kind == EntryKind.GOAL:
        return _excerpt(f"{entry.goal.title}: {entry.summary}")
    if kind == EntryKind.GOAL_PROGRESS:
        return f"Check-in on {entry.goal.title}"
    if kind == EntryKind.PRACTICE:
        verb = "ended" if entry.status == "ended" else "assigned"
        return f"Practice {verb}: {entry.skill}"
    if kind == EntryKind.LEVEL_OF_CARE:
        return f"Level of care: {entry.change.level_label}"
    if kind == EntryKind.TEAM:
        member = entry.change.member
        verb = "left the team" if entry.change.change == "ended" else "joined the team"
        return f"{member.provider.display_name} {verb}"
    return entry.kind_label


def client_short_name(client) -> str:
    """Minimal emails name a client by first name and last initial only."""
    parts = client.full_name.split()
    if len(parts) > 1:
        return f"{parts[0]} {parts[-1][0]}."
    return parts[0] if parts else "a client"
