"""Every feature's models in one import, for Alembic autogenerate and `flask shell`."""

from careteam.audit import AuditEvent
from careteam.auth.models import User, UserSession
from careteam.clients.models import CareTeamChange, CareTeamMember, Client, LevelOfCareChange
from careteam.health.models import Heartbeat

__all__ = [
    "AuditEvent",
    "CareTeamChange",
    "CareTeamMember",
    "Client",
    "Heartbeat",
    "LevelOfCareChange",
    "User",
    "UserSession",
]
