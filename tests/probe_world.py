"""A world for the probes (IDOR, injection, log leaks): a client record with every kind of
content, built through the services the app uses, and helpers to snapshot it (SQLite)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from careteam.clients import services as client_services
from careteam.enums import Discipline, GoalDirection, NutritionType, Role, Visibility
from careteam.extensions import db
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.invitations import services as invitations
from careteam.medications.services import record_change
from careteam.nutrition.services import post_update
from careteam.practice.rules import AssignmentFields
from careteam.practice.services import assign_practice, log_practice
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider, make_user


def build_team(tag: str, lead_email: str) -> dict:
    """One client's record with every kind of content; every string carries the tag."""
    lead = make_provider(Discipline.PSYCHIATRIST, email=lead_email, name=f"{tag} Lead Doctor")
    dietitian = make_provider(Discipline.DIETITIAN, name=f"{tag} Diet Person")
    therapist = make_provider(Discipline.THERAPIST, name=f"{tag} Therapy Person")
    portal_user = make_user(Role.CLIENT, name=f"{tag} Portal Person")
    record = make_client(lead, name=f"{tag} Clientname Record")
    diet_row = add_member(record, dietitian, lead)
    therapist_row = add_member(record, therapist, lead)
    client_services.link_portal_account(actor=lead, client=record, email=portal_user.email)
    note = post_note(
        actor=lead, client=record, title=f"{tag} note title", body=f"{tag}-team-note-text"
    )
    post_note(
        actor=therapist,
        client=record,
        body=f"{tag}-private-note-text",
        visibility=Visibility.PRIVATE,
    )
    post_note(
        actor=lead, client=record, body=f"{tag}-shared-note-text", visibility=Visibility.CLIENT
    )

    def goal(title: str, shared: bool):
        return create_goal(
            actor=lead,
            client=record,
            fields=GoalFields(
                title=title,
                measure=f"{tag} measure",
                unit="hours",
                baseline=Decimal(5),
                target=Decimal(7),
                direction=GoalDirection.UP,
                target_date=date(2099, 1, 1),
                owner_id=lead.id,
                shared_with_client=shared,
            ),
        )

    team_goal = goal(f"{tag} team goal", shared=False)
    shared_goal = goal(f"{tag} shared goal", shared=True)
    progress = check_in(
        actor=lead, client=record, goal=shared_goal, measured_on=date.today(), value=Decimal(6)
    )
    medication = record_change(
        actor=lead,
        client=record,
        medication=f"{tag}-medication",
        action="started",
        effective_date=date.today(),
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
        reason=f"{tag} reason",
    )
    nutrition = post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.WEIGHT,
        text=f"{tag} weight note",
        weight_kg=Decimal("47.3"),
        measured_on=date.today(),
        blind=True,
    )
    practice = assign_practice(
        actor=lead,
        client=record,
        fields=AssignmentFields(
            skill=f"{tag} breathing",
            instructions=f"{tag} instructions",
            target_count=1,
            period="day",
            starts_on=date.today(),
        ),
    )
    log_practice(
        actor=portal_user,
        client=record,
        assignment=practice,
        practised_on=date.today(),
        reflection=f"{tag}-reflection-text",
    )
    invitation = invitations.invite_to_team(
        actor=lead,
        client=record,
        email=f"{tag.lower()}-invitee@example.com",
        discipline=Discipline.OTHER,
    )
    return {
        "emails": {
            "lead": lead.email,
            "dietitian": dietitian.email,
            "client": portal_user.email,
        },
        "ids": {
            "client_id": record.id,
            "member_id": diet_row.id,
            "other_member_id": therapist_row.id,
            "goal_id": team_goal.id,
            "shared_goal_id": shared_goal.id,
            "invitation_id": invitation.id,
            "user_id": dietitian.id,
            "note": note.id,
            "progress": progress.id,
            "medication": medication.id,
            "nutrition": nutrition.id,
            "practice": practice.id,
        },
    }


def row_counts() -> dict[str, int]:
    """Rows per table, except those a request writes by itself (sessions, audit)."""
    skip = {"user_sessions", "audit_events", "record_visits"}
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }
