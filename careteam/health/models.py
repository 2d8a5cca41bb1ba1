"""Heartbeats written by the worker, so the web side can tell it is alive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from careteam.extensions import db, utcnow


class Heartbeat(db.Model):
    """The last time a periodic component reported in ("beat", "worker")."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str] = mapped_column(String(255), default="")
