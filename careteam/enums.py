"""Closed vocabularies shared by models, forms and the access policy."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class Role(StrEnum):
    PROVIDER = "provider"
    CLIENT = "client"
    ADMIN = "admin"


class TokenScope(StrEnum):
    """What a personal access token may do through the API."""

    READ = "read"
    WRITE = "write"  # read and write

    @property
    def label(self) -> str:
        return "Read and write" if self is TokenScope.WRITE else "Read only"


class Discipline(StrEnum):
    THERAPIST = "therapist"
    PSYCHIATRIST = "psychiatrist"
    DIETITIAN = "dietitian"
    PRIMARY_CARE = "primary_care"
    NURSE_PRACTITIONER = "nurse_practitioner"
    CASE_MANAGER = "case_manager"
    OTHER = "other"

    @property
    def label(self) -> str:
        return DISCIPLINE_LABELS[self]


DISCIPLINE_LABELS = {
    Discipline.THERAPIST: "Therapist",
    Discipline.PSYCHIATRIST: "Psychiatrist",
    Discipline.DIETITIAN: "Dietitian",
    Discipline.PRIMARY_CARE: "Primary care",
    Discipline.NURSE_PRACTITIONER: "Nurse practitioner",
    Discipline.CASE_MANAGER: "Case manager",
    Discipline.OTHER: "Other",
}

PRESCRIBER_DISCIPLINES = frozenset(
    {Discipline.PSYCHIATRIST, Discipline.PRIMARY_CARE, Discipline.NURSE_PRACTITIONER}
)


class MemberStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    ENDED = "ended"


class LevelOfCare(StrEnum):
    OUTPATIENT_WEEKLY = "outpatient_weekly"
    OUTPATIENT_BIWEEKLY = "outpatient_biweekly"
    OUTPATIENT_AS_NEEDED = "outpatient_as_needed"
    INTENSIVE_OUTPATIENT = "intensive_outpatient"
    PARTIAL_HOSPITALIZATION = "partial_hospitalization"
    RESIDENTIAL = "residential"
    INPATIENT = "inpatient"

    @property
    def label(self) -> str:
        return LEVEL_OF_CARE_LABELS[self]


LEVEL_OF_CARE_LABELS = {
    LevelOfCare.OUTPATIENT_WEEKLY: "Outpatient, weekly",
    LevelOfCare.OUTPATIENT_BIWEEKLY: "Outpatient, every two weeks",
    LevelOfCare.OUTPATIENT_AS_NEEDED: "Outpatient, as needed",
    LevelOfCare.INTENSIVE_OUTPATIENT: "Intensive outpatient (IOP)",
    LevelOfCare.PARTIAL_HOSPITALIZATION: "Partial hospitalization (PHP)",
    LevelOfCare.RESIDENTIAL: "Residential",
    LevelOfCare.INPATIENT: "Inpatient",
}


class TeamChange(StrEnum):
    ADDED = "added"
    REJOINED = "rejoined"
    ENDED = "ended"


class EntryKind(StrEnum):
    NOTE = "note"
    GOAL = "goal"
    GOAL_PROGRESS = "goal_progress"
    MEDICATION = "medication"
    NUTRITION = "nutrition"
    LEVEL_OF_CARE = "level_of_care"
    TEAM = "team"
    PRACTICE = "practice"

    @property
    def label(self) -> str:
        """The kind as a heading or a filter over many entries ("Notes")."""
        return ENTRY_KIND_LABELS[self]

    @property
    def singular(self) -> str:
        """The kind of one entry ("Note"), as its card says."""
        return ENTRY_KIND_SINGULAR.get(self, ENTRY_KIND_LABELS[self])


ENTRY_KIND_SINGULAR = {
    EntryKind.NOTE: "Note",
    EntryKind.GOAL: "Goal",
}
ENTRY_KIND_LABELS = {
    EntryKind.NOTE: "Notes",
    EntryKind.GOAL: "Goals",
    EntryKind.GOAL_PROGRESS: "Goal progress",
    EntryKind.MEDICATION: "Medication",
    EntryKind.NUTRITION: "Nutrition",
    EntryKind.LEVEL_OF_CARE: "Level of care",
    EntryKind.TEAM: "Care team",
    EntryKind.PRACTICE: "Practice",
}


class Visibility(StrEnum):
    PRIVATE = "private"
    TEAM = "team"
    CLIENT = "client"

    @property
    def label(self) -> str:
        return VISIBILITY_LABELS[self]


VISIBILITY_LABELS = {
    Visibility.PRIVATE: "Private (only me)",
    Visibility.TEAM: "Care team",
    Visibility.CLIENT: "Care team and client",
}


class GoalStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class GoalAchievement(StrEnum):
    IN_PROGRESS = "in_progress"
    IMPROVING = "improving"
    WORSENING = "worsening"
    NO_CHANGE = "no_change"
    ACHIEVED = "achieved"


class GoalDirection(StrEnum):
    UP = "up"
    DOWN = "down"

    @property
    def label(self) -> str:
        return "Higher is better" if self == GoalDirection.UP else "Lower is better"


class PracticePeriod(StrEnum):
    DAY = "day"
    WEEK = "week"

    @property
    def label(self) -> str:
        return "a day" if self == PracticePeriod.DAY else "a week"


class PracticeStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class MedicationAction(StrEnum):
    STARTED = "started"
    DOSE_CHANGED = "dose_changed"
    STOPPED = "stopped"
    CONTINUED = "continued"


class NutritionType(StrEnum):
    MEAL_PLAN = "meal_plan"
    WEIGHT = "weight"
    SUPPLEMENT = "supplement"
    NOTE = "note"


class WeightUnit(StrEnum):
    """The unit a user enters and reads weights in; weights are stored in kilograms."""

    KG = "kg"
    LB = "lb"

    @property
    def label(self) -> str:
        return {"kg": "Kilograms (kg)", "lb": "Pounds (lb)"}[self.value]


class DigestFrequency(StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class DigestDetail(StrEnum):
    MINIMAL = "minimal"
    FULL = "full"


class DigestStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    # Nothing new (and the user wants no "nothing new" mail), or covered by a later window.
    SKIPPED = "skipped"
    FAILED = "failed"


class AlertStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Checked again at send time and not to go out (left the team, alerts off, amended).
    DROPPED = "dropped"


class AuditOutcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


def enum_check(column: str, enum: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """A CHECK constraint that keeps a string column inside an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select field."""
    return [(m.value, getattr(m, "label", m.value.replace("_", " ").capitalize())) for m in enum]
