"""Drafts: what an author typed into a form and has not posted yet, theirs alone.

A draft is not an entry: it is never on the timeline, in a digest, an export or the API,
and it is deleted (not superseded) when its entry is posted or the author discards it.
One draft per author, client, form and parent entry (`key` spells the last two).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careteam.drafts.rules import DraftForm
from careteam.enums import enum_check
from careteam.extensions import db, utcnow


def draft_key(form: DraftForm, parent_id: int | None) -> str:
    """The slot of a draft for one author and client: the form, and its parent entry."""
    return str(form) if parent_id is None else f"{form}:{parent_id}"


class Draft(db.Model):
    """The unposted text of one form, saved as its author types."""

    __tablename__ = "drafts"
    __table_args__ = (
        enum_check("form", DraftForm),
        UniqueConstraint("author_id", "client_id", "key", name="uq_drafts_author_client_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    form: Mapped[str] = mapped_column(String(20))
    # The entry the form acts on (the note amended, the entry replied to), if any.
    parent_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    key: Mapped[str] = mapped_column(String(40))
    # The form's fields as typed, a JSON object of strings (limits in drafts/rules.py).
    fields_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def fields(self) -> dict[str, str]:
        data = json.loads(self.fields_json or "{}")
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    @fields.setter
    def fields(self, value: dict[str, str]) -> None:
        self.fields_json = json.dumps(value, ensure_ascii=False, sort_keys=True)
