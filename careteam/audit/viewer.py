"""Read the audit log: the admin viewer's filters, keyset pages and streamed CSV export.

Pages are keyset pages over (occurred_at, id), newest first, so a page deep in a large
log costs what the first one does; the indexes (occurred_at), (client_id, occurred_at),
(actor_id, occurred_at) and (action, occurred_at) serve the filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import selectinload

from careteam.audit.models import AuditEvent
from careteam.auth.models import User
from careteam.extensions import db
from careteam.paging import Cursor, newer_than, older_than

# Counting every match of a filter costs a scan of a large log; past this, say "more than".
COUNT_CAP = 1000
EXPORT_BATCH = 1000
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = (
    "id",
    "seq",
    "occurred_at_utc",
    "actor_id",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "client_id",
    "outcome",
    "ip",
    "request_id",
    "detail",
    "row_hash",
)


@dataclass(frozen=True)
class AuditFilter:
    """What an admin narrowed the audit log to (see page() and csv_lines()).

    Times are UTC bounds, `until` exclusive; actor_id 0 matches no one.
    """

    actor_id: int | None = None
    client_id: int | None = None
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


def count_for(action: str, client_id: int | None = None) -> int:
    """How many events of one action exist (for tests and health figures)."""
    stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    return db.session.scalar(stmt) or 0


def find_user_id(value: str) -> int | None:
    """The id of the account named by an email or an id (0 when none matches)."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value) if len(value) < 10 else 0
    found = db.session.scalar(select(User.id).where(User.email == value.lower()))
    return found or 0


def local_day_range(
    since: date | None, until: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of whole days in the admin's time zone: [since 00:00, until+1 00:00)."""

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time(), zone).astimezone(UTC)

    return (
        start_of(since) if since else None,
        start_of(until + timedelta(days=1)) if until else None,
    )


def known_actions() -> list[str]:
    """Distinct action names in the log, one index probe each (a loose index scan)."""
    rows = db.session.execute(
        text(
            "WITH RECURSIVE acts(action) AS ("
            " SELECT min(action) FROM audit_events"
            " UNION ALL"
            " SELECT (SELECT min(e.action) FROM audit_events e WHERE e.action > acts.action)"
            " FROM acts WHERE acts.action IS NOT NULL"
            ") SELECT action FROM acts WHERE action IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


def _cursor_of(event: AuditEvent) -> Cursor:
    return Cursor(event.occurred_at, event.id)


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, with links to the neighbouring pages."""

    items: list[AuditEvent]
    newer: Cursor | None
    older: Cursor | None
    total: int
    total_capped: bool


def _where(stmt: Select, flt: AuditFilter) -> Select:
    if flt.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == flt.actor_id)
    if flt.client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == flt.client_id)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.outcome:
        stmt = stmt.where(AuditEvent.outcome == flt.outcome)
    if flt.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < flt.until)
    return stmt


def page(
    flt: AuditFilter, *, size: int, before: Cursor | None = None, after: Cursor | None = None
) -> AuditPage:
    """The page of matching events older than `before`, or newer than `after`, or newest."""
    base = _where(select(AuditEvent).options(selectinload(AuditEvent.actor)), flt)
    if after is not None:
        rows = list(
            db.session.scalars(
                newer_than(base, AuditEvent.occurred_at, AuditEvent.id, after)
                .order_by(AuditEvent.occurred_at.asc(), AuditEvent.id.asc())
                .limit(size + 1)
            )
        )
        more_newer = len(rows) > size
        items = list(reversed(rows[:size]))
        newer = _cursor_of(items[0]) if more_newer else None
        older = _cursor_of(items[-1]) if items else None
    else:
        stmt = (
            older_than(base, AuditEvent.occurred_at, AuditEvent.id, before)
            if before is not None
            else base
        )
        rows = list(
            db.session.scalars(
                stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(size + 1)
            )
        )
        items = rows[:size]
        older = _cursor_of(items[-1]) if len(rows) > size else None
        newer = _cursor_of(items[0]) if before is not None and items else None
    capped = _where(select(AuditEvent.id), flt).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    return AuditPage(
        items=items,
        newer=newer,
        older=older,
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
    )


def summary(flt: AuditFilter) -> str:
    """The filter in ids and names only, for the export's own audit row."""
    parts = [
        f"{name}={value}"
        for name, value in (
            ("user", flt.actor_id),
            ("client", flt.client_id),
            ("action", flt.action),
            ("outcome", flt.outcome),
            ("since", flt.since.isoformat() if flt.since else None),
            ("until", flt.until.isoformat() if flt.until else None),
        )
        if value not in (None, "")
    ]
    return ("filter: " + " ".join(parts)) if parts else "filter: none (whole log)"


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(flt: AuditFilter) -> Iterator[str]:
    """The filtered log as RFC 4180 CSV, newest first, read and written in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    stmt = _where(
        select(
            AuditEvent.id,
            AuditEvent.seq,
            AuditEvent.occurred_at,
            AuditEvent.actor_id,
            User.email,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.client_id,
            AuditEvent.outcome,
            AuditEvent.ip,
            AuditEvent.request_id,
            AuditEvent.detail,
            AuditEvent.row_hash,
        ).outerjoin(User, User.id == AuditEvent.actor_id),
        flt,
    ).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    cursor: Cursor | None = None
    while True:
        batch_stmt = (
            older_than(stmt, AuditEvent.occurred_at, AuditEvent.id, cursor) if cursor else stmt
        )
        rows = db.session.execute(batch_stmt.limit(EXPORT_BATCH)).all()
        for row in rows:
            values = list(row)
            values[2] = row.occurred_at.astimezone(UTC).isoformat()
            writer.writerow([_cell(v) for v in values])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        cursor = Cursor(rows[-1].occurred_at, rows[-1].id)
