"""The client's own copy of their record as a page to read and print: what the portal
shows them, all of it, in one place (their team and how to reach each member, their level
of care and its history, the goals shared with them with every check-in, the notes shared
with them, their practice, their weights that are not blind). The FHIR file (careteam/fhir)
is the same copy for health apps.

A fixed number of queries whatever the size of the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from careteam.clients.models import CareTeamMember, Client
from careteam.enums import EntryKind
from careteam.goals.models import Goal
from careteam.nutrition import services as nutrition_services
from careteam.nutrition.models import NutritionUpdate
from careteam.portal import levels
from careteam.portal.services import load_home, practice_summary, roster, shared_goals
from careteam.portal.shared_record import shared_timeline
from careteam.record.models import Note

# A copy holds at most this many goals of each kind (open, finished) and notes.
MOST = 1000


@dataclass(frozen=True)
class PrintableRecord:
    client: Client
    roster: list[CareTeamMember]
    level_text: str
    open_goals: list[Goal]
    done_goals: list[Goal]
    notes: list[Note]
    practice: list | None
    weights: list[NutritionUpdate]  # open (not blind) weights only, oldest first


def printable_record(client: Client) -> PrintableRecord:
    """Everything the client may see of their record, loaded for one page."""
    client = load_home(client)
    open_goals, done_goals = shared_goals(client, limit=MOST)
    notes = shared_timeline(client, kinds=[EntryKind.NOTE], limit=MOST).items
    return PrintableRecord(
        client=client,
        roster=roster(client),
        level_text=levels.explain(client.level_of_care),
        open_goals=open_goals,
        done_goals=done_goals,
        notes=notes,
        practice=practice_summary(client),
        weights=nutrition_services.shared_weights(client, limit=None),
    )
