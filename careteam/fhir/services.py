"""Build a FHIR R4 `Bundle` (type "collection") of one client's record, as plain dicts.

Two audiences, as on the web: the care team gets the team's shared record, and the
client gets exactly what their portal shows them. Both read the current version of each
amended entry only, and neither ever gets a private note: private notes are the
author's own working notes (psychotherapy notes stay out of the shared record), and an
export is a copy that leaves CareTeam, so not even their author gets them here.

The number of SQL queries does not grow with the record (tests/test_fhir.py counts them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from careteam import audit
from careteam.auth.models import User
from careteam.clients import services as client_services
from careteam.clients.models import CareTeamMember, Client
from careteam.enums import MemberStatus, NutritionType, Visibility
from careteam.extensions import db, utcnow
from careteam.fhir import resources
from careteam.goals import services as goal_services
from careteam.goals.models import Goal
from careteam.medications import services as medication_services
from careteam.medications.derive import MedicationHistory, medication_histories
from careteam.medications.models import MedicationChange
from careteam.nutrition import services as nutrition_services
from careteam.nutrition.models import NutritionUpdate
from careteam.portal import services as portal_services
from careteam.record.models import Note


class Audience(StrEnum):
    """Whose copy of the record: the care team's, or the client's own."""

    TEAM = "team"
    CLIENT = "client"


@dataclass
class Bundle:
    """Resources collected in order, and the practitioners they refer to."""

    refs: resources.Refs
    entries: list[dict] = field(default_factory=list)
    practitioners: dict[int, User] = field(default_factory=dict)

    def add(self, resource: dict) -> None:
        self.entries.append(resource)

    def practitioner(self, user: User) -> dict:
        """A reference to a user's Practitioner, which the bundle will then hold."""
        self.practitioners.setdefault(user.id, user)
        return self.refs.practitioner(user)


def export_everything(client: Client, *, audience: Audience, base_url: str) -> dict:
    """The `$everything` export: the bundle, audited (and committed) once it is built."""
    client_id = client.id
    bundle = everything(client, audience=audience, base_url=base_url)
    audit.record(
        "export_fhir",
        object_type="client",
        object_id=client_id,
        client_id=client_id,
        detail=str(audience),
    )
    db.session.commit()
    return bundle


def everything(client: Client, *, audience: Audience, base_url: str) -> dict:
    """The client's record as a FHIR Bundle for one audience (see the module docstring).

    `base_url` is CareTeam's own address (BASE_URL): entries' fullUrls are under its FHIR
    base (".../fhir/r4") and the client's identifier system is derived from it.
    """
    client = client_services.record_page(client)
    refs = resources.Refs(base_url=base_url, client_id=client.id)
    bundle = Bundle(refs=refs)
    for_client = audience == Audience.CLIENT

    bundle.add(resources.patient(client, refs))
    members = _members(client, for_client=for_client)
    bundle.add(resources.care_team(client, members, bundle))
    for period in resources.level_periods(client.level_changes, today=date.today()):
        bundle.add(resources.episode_of_care(period, refs))
    for goal in _goals(client, for_client=for_client):
        bundle.add(resources.goal(goal, bundle))
        for checkin in goal.checkins:
            if checkin.visibility == Visibility.PRIVATE:
                continue
            bundle.add(
                resources.progress_observation(checkin, goal, bundle, credit=not for_client)
            )
    if for_client:
        # The portal shows no medication and, of nutrition, only the weights that are not
        # blind (nutrition.services.shared_weights), so neither does the client's copy.
        for weight in nutrition_services.shared_weights(client, limit=None):
            bundle.add(resources.weight_observation(weight, bundle, credit=False))
    else:
        # The team sees blind weights (blind to the client only), so its copy holds them.
        _medications(client, bundle)
        _nutrition(client, bundle)
    for note in _notes(client, for_client=for_client):
        bundle.add(resources.communication(note, bundle, topic=note.title))

    # The roster's contact details (only those each provider chose to share) go with the
    # members listed; anyone else named (an author who left the team) by name only.
    reachable = {m.provider_id for m in members}
    practitioners = [
        resources.practitioner(user, contact=user.id in reachable)
        for user in sorted(bundle.practitioners.values(), key=lambda u: u.id)
    ]
    ordered = bundle.entries[:2] + practitioners + bundle.entries[2:]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": resources.instant(utcnow()),
        "total": len(ordered),
        "entry": [{"fullUrl": refs.full_url(r), "resource": r} for r in ordered],
    }


def _members(client: Client, *, for_client: bool) -> list[CareTeamMember]:
    """The team's participants: for the team every membership that began (active and
    ended, not invitations); for the client the portal's roster."""
    if for_client:
        return portal_services.roster(client)
    joined = [m for m in client.members if m.status != MemberStatus.INVITED]
    return sorted(joined, key=lambda m: (m.started_at, m.id))


def _goals(client: Client, *, for_client: bool) -> list[Goal]:
    """Goals with their owners and current check-ins (three queries); the client's copy
    holds the goals shared with them, as the portal does."""
    stmt = goal_services.goals_query(client)
    if for_client:
        stmt = stmt.where(Goal.shared_with_client.is_(True))
    return list(db.session.scalars(stmt).unique())


def _medications(client: Client, bundle: Bundle) -> None:
    changes = [
        c for c in medication_services.client_changes(client) if c.visibility != Visibility.PRIVATE
    ]
    for history in medication_histories(changes, as_of=date.today()):
        for change in history.changes:
            bundle.add(
                resources.medication_statement(change, _medication_status(change, history), bundle)
            )


def _medication_status(change: MedicationChange, history: MedicationHistory) -> str:
    """MedicationStatement.status from where a change stands in its medication's history.

    A stop is "stopped"; the change in effect today "active"; a change dated later
    "intended"; an earlier one, replaced by a later change, "completed".
    """
    if change.is_stop:
        return "stopped"
    if change in history.upcoming:
        return "intended"
    if change is history.latest:
        return "active"
    return "completed"


def _nutrition(client: Client, bundle: Bundle) -> None:
    """Every current weight, meal plan, supplement and nutrition note, in one query.

    Not nutrition.services.overview: that caps the weights for the page's chart, and an
    export holds the whole history.
    """
    updates = list(
        db.session.scalars(
            select(NutritionUpdate)
            .where(
                NutritionUpdate.client_id == client.id,
                NutritionUpdate.superseded_at.is_(None),
                NutritionUpdate.visibility != Visibility.PRIVATE,
            )
            .options(joinedload(NutritionUpdate.author))
            .order_by(NutritionUpdate.created_at, NutritionUpdate.id)
        )
    )
    plans = [u for u in updates if u.update_type == NutritionType.MEAL_PLAN]
    for update in updates:
        kind = NutritionType(update.update_type)
        if kind == NutritionType.WEIGHT:
            bundle.add(resources.weight_observation(update, bundle))
        elif kind == NutritionType.MEAL_PLAN:
            # The latest meal plan is the one in force; each earlier one was replaced.
            status = "active" if update is plans[-1] else "completed"
            bundle.add(resources.nutrition_order(update, bundle, status=status))
        elif kind == NutritionType.SUPPLEMENT:
            bundle.add(resources.nutrition_order(update, bundle, status="unknown"))
        else:
            bundle.add(resources.communication(update, bundle, topic="Nutrition note"))


def _notes(client: Client, *, for_client: bool) -> Iterable[Note]:
    """Current notes: the team's and the client's for the team, the client's for the
    client (the portal's rule). Never private ones (see the module docstring)."""
    tiers = [Visibility.CLIENT] if for_client else [Visibility.TEAM, Visibility.CLIENT]
    return db.session.scalars(
        select(Note)
        .where(
            Note.client_id == client.id,
            Note.superseded_at.is_(None),
            Note.visibility.in_(tiers),
        )
        .options(joinedload(Note.author))
        .order_by(Note.created_at, Note.id)
    )
