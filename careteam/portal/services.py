"""What the client portal reads."""

from __future__ import annotations

from sqlalchemy import select

from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.extensions import db


def own_client_id(user: User) -> int | None:
    """The id of the record linked to this client account, if any."""
    return db.session.scalar(select(Client.id).where(Client.user_id == user.id))
