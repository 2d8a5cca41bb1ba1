"""How the client reaches each member of their team: what the member shares (the access
policy's one rule, access.contact_details), or, for a member who shares nothing, someone
on the team who does, the care coordinator first; never a dead end."""

from __future__ import annotations

from dataclasses import dataclass, field

from careteam.access import ContactDetails, contact_details
from careteam.auth.models import User
from careteam.clients.models import CareTeamMember


@dataclass(frozen=True)
class Reach:
    """How to reach one member: `details` of their own, else `through` someone's."""

    details: ContactDetails
    through: CareTeamMember | None = None
    through_details: ContactDetails = field(default_factory=ContactDetails)
    # Whom to ask at the next appointment when nobody on the team shares anything.
    ask: CareTeamMember | None = None


def how_to_reach(viewer: User, roster: list[CareTeamMember]) -> dict[int, Reach]:
    """Each member's Reach by membership id; `roster` is leads first (portal.services.roster)."""
    details = {m.id: contact_details(viewer, m.provider) for m in roster}
    coordinator = next((m for m in roster if m.is_lead), roster[0] if roster else None)
    reach = {}
    for member in roster:
        own = details[member.id]
        if own:
            reach[member.id] = Reach(details=own)
            continue
        through = next((m for m in roster if m.id != member.id and details[m.id]), None)
        if through is not None:
            reach[member.id] = Reach(own, through=through, through_details=details[through.id])
        else:
            reach[member.id] = Reach(own, ask=coordinator)
    return reach
