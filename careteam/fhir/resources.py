"""One FHIR R4 resource (a plain dict) from one CareTeam object.

Pure: these functions read loaded objects and issue no query. Empty values are pruned,
since FHIR forbids empty strings, arrays and objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from careteam.enums import GoalStatus
from careteam.fhir import codes

if TYPE_CHECKING:
    from careteam.auth.models import User
    from careteam.clients.models import CareTeamMember, Client, LevelOfCareChange
    from careteam.goals.models import Goal, GoalProgress
    from careteam.medications.models import MedicationChange
    from careteam.nutrition.models import NutritionUpdate
    from careteam.record.models import Note


class Referrer(Protocol):
    refs: Refs

    def practitioner(self, user: User) -> dict: ...


@dataclass(frozen=True)
class Refs:
    """Ids, references and full URLs; a resource's id is our own id of what it holds."""

    base_url: str
    client_id: int

    @property
    def fhir_base(self) -> str:
        return f"{self.base_url.rstrip('/')}/fhir/r4"

    @property
    def client_system(self) -> str:
        """The identifier system of clients: their address in this CareTeam."""
        return f"{self.base_url.rstrip('/')}/clients"

    def full_url(self, resource: dict) -> str:
        return f"{self.fhir_base}/{resource['resourceType']}/{resource['id']}"

    def patient(self) -> dict:
        return {"reference": f"Patient/{self.client_id}"}

    def care_team(self) -> dict:
        return {"reference": f"CareTeam/{self.client_id}"}

    def practitioner(self, user: User) -> dict:
        return {"reference": f"Practitioner/{user.id}", "display": user.display_name}


def instant(moment: datetime) -> str:
    """A FHIR dateTime with seconds and time zone (stored times are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def number(value: Decimal) -> int | float:
    """A JSON number (FHIR decimals are numbers, never strings): 50, 71.3."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value.normalize())


def prune(value: Any) -> Any:
    """Drop None, "", [] and {} at every depth: FHIR allows no empty values."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (prune(v) for v in value) if v not in (None, "", [], {})]
    return value


def patient(client: Client, refs: Refs) -> dict:
    names = [{"use": "official", "text": client.full_name}]
    if client.preferred_name and client.preferred_name != client.full_name:
        names.append({"use": "usual", "text": client.preferred_name})
    return prune(
        {
            "resourceType": "Patient",
            "id": str(client.id),
            "identifier": [{"system": refs.client_system, "value": str(client.id)}],
            "active": True,
            "name": names,
            "birthDate": client.date_of_birth.isoformat() if client.date_of_birth else None,
        }
    )


def practitioner(user: User, *, contact: bool) -> dict:
    """A provider: name, credentials and, with `contact`, only the details they share."""
    telecom = []
    if contact and user.share_email:
        telecom.append({"system": "email", "value": user.email, "use": "work"})
    if contact and user.share_phone and user.phone:
        telecom.append({"system": "phone", "value": user.phone, "use": "work"})
    return prune(
        {
            "resourceType": "Practitioner",
            "id": str(user.id),
            "active": user.active,
            "name": [{"text": user.display_name}],
            "telecom": telecom,
            "qualification": [{"code": {"text": user.credentials}}] if user.credentials else [],
        }
    )


def care_team(client: Client, members: Iterable[CareTeamMember], bundle: Referrer) -> dict:
    participants = []
    for member in members:
        roles = [codes.role(member.discipline)]
        if member.is_lead and member.is_active:
            roles.append({"text": "Care coordinator"})
        participants.append(
            {
                "role": roles,
                "member": bundle.practitioner(member.provider),
                "period": {
                    "start": instant(member.started_at),
                    "end": instant(member.ended_at) if member.ended_at else None,
                },
            }
        )
    return prune(
        {
            "resourceType": "CareTeam",
            "id": str(client.id),
            "status": "active",
            "category": [{"coding": [codes.CARE_TEAM_CATEGORY]}],
            "name": f"Care team of {client.full_name}",
            "subject": bundle.refs.patient(),
            "participant": participants,
        }
    )


@dataclass(frozen=True)
class LevelPeriod:
    change: LevelOfCareChange
    end: date | None
    status: str


def level_periods(changes: Sequence[LevelOfCareChange], *, today: date) -> list[LevelPeriod]:
    """Each level of care from its effective date to the next one's, oldest first."""
    ordered = sorted(changes, key=lambda c: (c.effective_date, c.id))
    periods = []
    for change, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = following.effective_date if following is not None else None
        status = "active" if end is None or end > today else "finished"
        periods.append(LevelPeriod(change, end, status))
    return periods


def episode_of_care(period: LevelPeriod, refs: Refs) -> dict:
    # The reason for a change stays out: the client never sees it, and EpisodeOfCare
    # has no element for it.
    return prune(
        {
            "resourceType": "EpisodeOfCare",
            "id": str(period.change.id),
            "status": period.status,
            "type": [{"text": period.change.level_label}],
            "patient": refs.patient(),
            "team": [refs.care_team()],
            "period": {
                "start": period.change.effective_date.isoformat(),
                "end": period.end.isoformat() if period.end else None,
            },
        }
    )


def goal(found: Goal, bundle: Referrer) -> dict:
    baseline = f"Baseline {number(found.baseline)} {found.unit}; {found.direction_label.lower()}."
    return prune(
        {
            "resourceType": "Goal",
            "id": str(found.id),
            "lifecycleStatus": codes.GOAL_LIFECYCLE[GoalStatus(found.status)],
            "achievementStatus": codes.achievement(found.achievement),
            "description": {"text": found.title},
            "subject": bundle.refs.patient(),
            "startDate": found.created_at.date().isoformat(),
            "statusDate": found.updated_at.date().isoformat(),
            # R4 Goal has no owner; expressedBy (who set the goal) is the nearest element,
            # and our owner is the provider who set it up with the client and tracks it.
            "expressedBy": bundle.practitioner(found.owner),
            "target": [
                {
                    "measure": {"text": found.measure},
                    "detailQuantity": {"value": number(found.target), "unit": found.unit},
                    "dueDate": found.target_date.isoformat(),
                }
            ],
            "note": [{"text": found.description}, {"text": baseline}],
        }
    )


def _status(entry) -> str:
    """Observation.status: the current version of an amended entry is "amended"."""
    return "amended" if entry.is_amendment else "final"


def progress_observation(
    checkin: GoalProgress, found: Goal, bundle: Referrer, *, credit: bool
) -> dict:
    """A goal check-in; `credit` names who recorded it (the portal does not)."""
    return prune(
        {
            "resourceType": "Observation",
            "id": str(checkin.id),
            "status": _status(checkin),
            "code": {"text": found.measure},
            "subject": bundle.refs.patient(),
            # Observation.focus: what the observation is about, here the goal it measures.
            "focus": [{"reference": f"Goal/{found.id}"}],
            "effectiveDateTime": checkin.measured_on.isoformat(),
            "issued": instant(checkin.created_at),
            "performer": [bundle.practitioner(checkin.author)] if credit else [],
            "valueQuantity": {"value": number(checkin.value), "unit": found.unit},
            "note": [{"text": checkin.comment}],
        }
    )


def weight_observation(update: NutritionUpdate, bundle: Referrer, *, credit: bool = True) -> dict:
    """A body weight; a blind one is tagged (only the team's copy ever holds one).

    The client's copy (`credit` False) holds the weight without the team's comment or
    its author, as the portal shows it.
    """
    return prune(
        {
            "resourceType": "Observation",
            "id": str(update.id),
            "meta": {"tag": [codes.BLIND_WEIGHT_TAG]} if update.blind else None,
            "status": _status(update),
            "category": [{"coding": [codes.VITAL_SIGNS]}],
            "code": {"coding": [codes.BODY_WEIGHT], "text": "Body weight"},
            "subject": bundle.refs.patient(),
            "effectiveDateTime": update.measured_on.isoformat(),
            "issued": instant(update.created_at),
            "performer": [bundle.practitioner(update.author)] if credit else [],
            "valueQuantity": {
                "value": number(update.weight_kg),
                "unit": "kg",
                "system": codes.UCUM,
                "code": "kg",
            },
            "note": [{"text": update.text}] if credit else [],
        }
    )


def medication_statement(change: MedicationChange, status: str, bundle: Referrer) -> dict:
    dose = (
        [{"doseQuantity": {"value": number(change.dose), "unit": change.unit}}]
        if change.dose is not None
        else []
    )
    dosage = (
        [{"text": change.regimen, "route": {"text": change.route}, "doseAndRate": dose}]
        if not change.is_stop
        else []
    )
    return prune(
        {
            "resourceType": "MedicationStatement",
            "id": str(change.id),
            "status": status,
            "statusReason": [{"text": change.reason}],
            "medicationCodeableConcept": {"text": change.medication},
            "subject": bundle.refs.patient(),
            "effectiveDateTime": change.effective_date.isoformat(),
            "dateAsserted": instant(change.created_at),
            "informationSource": bundle.practitioner(change.author),
            "dosage": dosage,
            # What the prescriber did (started, dose changed, continued, stopped).
            "note": [{"text": change.action_label}],
        }
    )


def nutrition_order(update: NutritionUpdate, bundle: Referrer, *, status: str) -> dict:
    """A meal plan (oralDiet) or a supplement, as the dietitian's plan for the client."""
    instruction = update.text or update.type_label
    is_plan = update.update_type == "meal_plan"
    return prune(
        {
            "resourceType": "NutritionOrder",
            "id": str(update.id),
            "status": status,
            "intent": "plan",
            "patient": bundle.refs.patient(),
            "dateTime": instant(update.created_at),
            "orderer": bundle.practitioner(update.author),
            "oralDiet": {"instruction": instruction} if is_plan else None,
            "supplement": [] if is_plan else [{"instruction": instruction}],
        }
    )


def communication(entry: Note | NutritionUpdate, bundle: Referrer, *, topic: str) -> dict:
    """A note to the team (or shared with the client), from its author."""
    body = entry.body if hasattr(entry, "body") else entry.text
    return prune(
        {
            "resourceType": "Communication",
            "id": str(entry.id),
            "status": "completed",
            "priority": "urgent" if entry.urgent else "routine",
            "subject": bundle.refs.patient(),
            "topic": {"text": topic},
            "sent": instant(entry.created_at),
            "sender": bundle.practitioner(entry.author),
            "payload": [{"contentString": body}],
        }
    )
