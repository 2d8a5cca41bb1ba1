"""Keyset paging, one way for every list: an opaque cursor on (time, id), newest first.

A page deep in a long list costs what the first one does: each page asks for the rows
after the last one shown, along an index on (..., time, id), instead of skipping an
offset. The timeline, the portal's notes and access log, the API's client list and the
admin's audit log all page this way.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")
# No id is larger; SQLite would overflow on a larger bound.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list: the (time, id) of the row it is relative to."""

    at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        """The cursor in a token, or None when the token is missing or not one of ours."""
        if not token or len(token) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, row_id = raw.split("|")
            at = datetime.fromisoformat(stamp)
            if at.tzinfo is None or not 0 < int(row_id) <= MAX_ID:
                return None
            return cls(at, int(row_id))
        except (ValueError, UnicodeDecodeError):
            return None


def older_than(
    stmt: Select, time: InstrumentedAttribute, row_id: InstrumentedAttribute, cursor: Cursor
) -> Select:
    """Rows after the cursor in newest-first order.

    The plain bound on `time` lets an index on (..., time) range-scan.
    """
    return stmt.where(
        time <= cursor.at, or_(time < cursor.at, and_(time == cursor.at, row_id < cursor.id))
    )


def cursor_parameters() -> Cursor:
    """A cursor of bound parameters, for a statement built once and run with each cursor's
    values (`cursor_values`): `older_than(stmt, ..., cursor_parameters())`."""
    return Cursor(at=bindparam("cursor_at"), id=bindparam("cursor_id"))  # type: ignore[arg-type]


def cursor_values(cursor: Cursor) -> dict:
    """The values of `cursor_parameters()` for this cursor."""
    return {"cursor_at": cursor.at, "cursor_id": cursor.id}


def newer_than(
    stmt: Select, time: InstrumentedAttribute, row_id: InstrumentedAttribute, cursor: Cursor
) -> Select:
    """Rows before the cursor in newest-first order (to page back towards the newest)."""
    return stmt.where(
        time >= cursor.at, or_(time > cursor.at, and_(time == cursor.at, row_id > cursor.id))
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a newest-first list and the token of the next one (None: the last)."""

    items: list[T]
    next_cursor: str | None


def page_of(rows: list[T], limit: int, *, at: Callable[[T], datetime]) -> Page[T]:
    """A page of `limit` rows from a query that fetched one more to see if more follow."""
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows, Cursor(at(last), last.id).encode())
