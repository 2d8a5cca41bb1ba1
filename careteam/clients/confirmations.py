"""What ending a care-team membership does, in plain words for its confirmation page."""

from __future__ import annotations

from careteam.auth.models import User
from careteam.clients.models import CareTeamMember, Client


def possessive(name: str) -> str:
    """The possessive of a name, with a typographic apostrophe (alone after a final s)."""
    return f"{name}\u2019" if name.endswith("s") else f"{name}\u2019s"


def end_member_heading(member: CareTeamMember, client: Client) -> str:
    return (
        f"End {possessive(member.provider.display_name)} membership of "
        f"{possessive(client.full_name)} care team?"
    )


def end_member_consequences(member: CareTeamMember, client: Client, actor: User) -> list[str]:
    """The sentences the confirmation page shows, one per consequence."""
    name = member.provider.display_name
    record = f"{possessive(client.full_name)} record"
    you = member.provider_id == actor.id
    lines = [
        (
            f"You lose access to {record} at once: its timeline, goals, medications, "
            "nutrition, practice and team pages."
            if you
            else f"{name} loses access to {record} at once: its timeline, goals, "
            "medications, nutrition, practice and team pages."
        ),
        f"{'You' if you else name} no longer get{'' if you else 's'} digests or alerts "
        f"about {client.full_name}.",
        f"Everything {name} wrote stays in the record, with their name, and the team "
        "history shows when the membership ended.",
        "A team lead can add them to the team again later.",
    ]
    if member.is_lead:
        lines.insert(2, f"{name} is a team lead: the other leads keep managing the team.")
    return lines
