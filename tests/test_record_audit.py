"""Amend pages audit alike for every kind; a POST replaces every field; forms are views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careteam.audit import AuditEvent
from careteam.enums import Discipline, GoalDirection, NutritionType
from careteam.extensions import db
from careteam.goals.models import GoalProgress
from careteam.goals.services import GoalFields, check_in, create_goal
from careteam.medications.services import record_change
from careteam.nutrition.models import NutritionUpdate
from careteam.nutrition.services import post_update
from careteam.record.models import Entry
from careteam.record.services import post_note
from tests.factories import add_member, make_client, make_provider

YESTERDAY = date.today() - timedelta(days=1)


@dataclass
class World:
    record: object
    lead: object
    psych: object
    nurse: object
    dietitian: object
    dietitian2: object


@pytest.fixture
def world(app) -> World:
    lead = make_provider(Discipline.THERAPIST)
    psych = make_provider(Discipline.PSYCHIATRIST)
    nurse = make_provider(Discipline.NURSE_PRACTITIONER)
    dietitian = make_provider(Discipline.DIETITIAN)
    dietitian2 = make_provider(Discipline.DIETITIAN)
    record = make_client(lead)
    for provider in (psych, nurse, dietitian, dietitian2):
        add_member(record, provider, lead)
    return World(record, lead, psych, nurse, dietitian, dietitian2)


def _note(w: World):
    return post_note(actor=w.psych, client=w.record, body="Slept badly"), w.psych, w.lead


def _check_in(w: World):
    goal = create_goal(
        actor=w.lead,
        client=w.record,
        fields=GoalFields(
            title="Sleep",
            measure="Hours asleep",
            unit="hours",
            baseline=Decimal(5),
            target=Decimal(7),
            direction=GoalDirection.UP,
            target_date=date.today() + timedelta(days=30),
            owner_id=w.lead.id,
        ),
    )
    entry = check_in(
        actor=w.psych,
        client=w.record,
        goal=goal,
        measured_on=YESTERDAY,
        value=Decimal(6),
        comment="Better week",
    )
    return entry, w.psych, w.lead


def _nutrition(w: World):
    entry = post_update(
        actor=w.dietitian, client=w.record, update_type=NutritionType.NOTE, text="Snacks hard"
    )
    return entry, w.dietitian, w.dietitian2


def _medication(w: World):
    entry = record_change(
        actor=w.psych,
        client=w.record,
        medication="sertraline",
        action="started",
        effective_date=YESTERDAY,
        dose=Decimal("50"),
        unit="mg",
        route="oral",
        frequency="once daily",
    )
    return entry, w.psych, w.nurse


# kind: (builder, amend path, a valid POST body, the audit action of viewing the form)
KINDS = {
    "note": (
        _note,
        "notes/{id}/amend",
        {"body": "Slept well", "visibility": "team"},
        "view_entry",
    ),
    "check-in": (
        _check_in,
        "goals/progress/{id}/amend",
        {"measured_on": YESTERDAY.isoformat(), "value": "7"},
        "view_entry",
    ),
    "nutrition": (
        _nutrition,
        "nutrition/{id}/amend",
        {"update_type": "note", "text": "Snacks easier"},
        "view_entry",
    ),
    "medication": (
        _medication,
        "medications/{id}/amend",
        {
            "medication": "sertraline",
            "action": "started",
            "dose": "25",
            "unit": "mg",
            "route": "oral",
            "frequency": "once daily",
            "effective_date": YESTERDAY.isoformat(),
        },
        "view_medication_change",
    ),
}


def _events(action: str, entry_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == entry_id)
        )
    )


def _entries() -> int:
    return db.session.scalar(select(func.count()).select_from(Entry))


@pytest.mark.parametrize("kind", KINDS)
def test_the_amend_form_is_audited_as_a_view_of_the_entry(client, auth, world, kind):
    build, path, _body, view_action = KINDS[kind]
    entry, author, _other = build(world)
    auth.login(author.email)
    assert client.get(f"/clients/{world.record.id}/{path.format(id=entry.id)}").status_code == 200
    (event,) = _events(view_action, entry.id)
    assert (event.actor_id, event.object_type, event.client_id, event.outcome) == (
        author.id,
        "entry",
        world.record.id,
        "allowed",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_refused_amendment_is_audited_for_every_kind(client, auth, world, kind):
    build, path, body, _view_action = KINDS[kind]
    entry, _author, other = build(world)
    before = _entries()
    auth.login(other.email)
    url = f"/clients/{world.record.id}/{path.format(id=entry.id)}"
    assert client.get(url).status_code == 403
    assert auth.post(url, body).status_code == 403
    refusals = _events("amend_entry", entry.id)
    assert [(e.actor_id, e.outcome, e.detail) for e in refusals] == [
        (other.id, "denied", "not the author")
    ] * 2
    assert _entries() == before


def test_a_check_in_amendment_without_a_comment_clears_it(client, auth, world):
    old, author, _ = _check_in(world)
    auth.login(author.email)
    url = f"/clients/{world.record.id}/goals/progress/{old.id}/amend"
    response = auth.post(url, {"measured_on": YESTERDAY.isoformat(), "value": "5"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{world.record.id}/goals/{old.goal_id}"
    new = db.session.scalar(select(GoalProgress).where(GoalProgress.supersedes_id == old.id))
    assert (new.value, new.comment) == (5, "")


def test_a_check_in_amendment_without_a_value_is_refused_not_kept(client, auth, world):
    old, author, _ = _check_in(world)
    auth.login(author.email)
    url = f"/clients/{world.record.id}/goals/progress/{old.id}/amend"
    assert auth.post(url, {"measured_on": YESTERDAY.isoformat()}).status_code == 400
    assert (
        db.session.scalar(select(GoalProgress).where(GoalProgress.supersedes_id == old.id)) is None
    )


def test_a_nutrition_amendment_without_text_does_not_keep_the_old_text(client, auth, world):
    weight = post_update(
        actor=world.dietitian,
        client=world.record,
        update_type=NutritionType.WEIGHT,
        weight_kg=Decimal("50.10"),
        measured_on=YESTERDAY,
        text="Weighed in a gown",
    )
    note, author, _ = _nutrition(world)
    auth.login(author.email)
    base = f"/clients/{world.record.id}/nutrition"
    body = {"update_type": "weight", "weight_kg": "50.20", "measured_on": YESTERDAY.isoformat()}
    response = auth.post(f"{base}/{weight.id}/amend", body)
    assert response.status_code == 302
    new = db.session.scalar(
        select(NutritionUpdate).where(NutritionUpdate.supersedes_id == weight.id)
    )
    assert (new.weight_kg, new.text) == (Decimal("50.20"), "")
    assert response.headers["Location"] == f"{base}/#e{new.id}"
    # A note needs its text: a POST without one is refused, not saved with the old text.
    refused = auth.post(f"{base}/{note.id}/amend", {"update_type": "note"})
    assert refused.status_code == 400
    assert (
        db.session.scalar(select(NutritionUpdate).where(NutritionUpdate.supersedes_id == note.id))
        is None
    )


@pytest.mark.parametrize("page", ["team/add", "level-of-care", "portal"])
def test_the_leads_record_forms_are_audited_as_views_of_the_record(client, auth, world, page):
    auth.login(world.lead.email)
    url = f"/clients/{world.record.id}/{page}"
    assert client.get(url).status_code == 200
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_record"))
    assert (event.actor_id, event.object_type, event.object_id, event.client_id) == (
        world.lead.id,
        "client",
        world.record.id,
        world.record.id,
    )
    # A refused post re-shows the form the lead already saw: no second view.
    assert auth.post(url, {}).status_code == 400
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "view_record")
        )
        == 1
    )
