"""Every feature's models in one import, for Alembic autogenerate and `flask shell`."""

from careteam.alerts.models import AlertDelivery, OutboxAlert
from careteam.api.models import IdempotentResponse
from careteam.audit import AuditEvent
from careteam.auth.models import ApiToken, User, UserSession
from careteam.auth.two_factor_models import RecoveryCode, TwoFactorCredential
from careteam.clients.models import CareTeamChange, CareTeamMember, Client, LevelOfCareChange
from careteam.digests.models import Digest, DigestMute, DigestPreference
from careteam.drafts.models import Draft
from careteam.emergency.models import EmergencyAccess
from careteam.goals.models import Goal, GoalEvent, GoalProgress
from careteam.health.models import Heartbeat
from careteam.invitations.models import Invitation
from careteam.medications.models import MedicationAck, MedicationChange
from careteam.nutrition.models import NutritionUpdate
from careteam.practice.models import PracticeAssignment, PracticeLog
from careteam.record.models import Entry, LevelOfCareEntry, Note, RecordVisit, TeamEntry

__all__ = [
    "AlertDelivery",
    "ApiToken",
    "AuditEvent",
    "CareTeamChange",
    "CareTeamMember",
    "Client",
    "Digest",
    "DigestMute",
    "DigestPreference",
    "Draft",
    "EmergencyAccess",
    "Entry",
    "Goal",
    "GoalEvent",
    "GoalProgress",
    "Heartbeat",
    "IdempotentResponse",
    "Invitation",
    "LevelOfCareChange",
    "LevelOfCareEntry",
    "MedicationAck",
    "MedicationChange",
    "Note",
    "NutritionUpdate",
    "OutboxAlert",
    "PracticeAssignment",
    "PracticeLog",
    "RecordVisit",
    "RecoveryCode",
    "TeamEntry",
    "TwoFactorCredential",
    "User",
    "UserSession",
]
