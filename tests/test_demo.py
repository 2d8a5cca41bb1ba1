"""seed-demo as a whole: weeks of a record with every kind of entry, and pages that open fast."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from careteam.auth import two_factor
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.demo import DEMO_PASSWORD
from careteam.enums import EntryKind, MedicationAction, NutritionType, Visibility
from careteam.extensions import db
from careteam.goals.models import Goal
from careteam.medications.models import MedicationChange
from careteam.nutrition.models import NutritionUpdate
from careteam.record.models import Entry, Note
from tests.factories import TOTP_SECRET

# What a record page may cost in SQL statements; the demo record has far more entries
# than this, so a page that loads per entry, member or check-in cannot stay under it.
QUERY_CEILING = 20


@pytest.fixture
def alex(app, runner) -> Client:
    result = runner.invoke(args=["careteam", "seed-demo"])
    assert result.exit_code == 0, result.output
    return db.session.scalar(select(Client).where(Client.full_name == "Alex Rivera"))


def _entries(client: Client, model=Entry) -> list:
    return list(db.session.scalars(select(model).where(model.client_id == client.id)))


def test_the_demo_record_holds_weeks_of_every_kind(alex):
    entries = _entries(alex)
    assert {e.kind for e in entries} == {kind.value for kind in EntryKind}
    notes = _entries(alex, Note)
    assert {n.visibility for n in notes} == {v.value for v in Visibility}
    assert any(n.urgent for n in notes)
    goals = list(db.session.scalars(select(Goal).where(Goal.client_id == alex.id)))
    assert len(goals) >= 2 and all(len(g.checkins) >= 3 for g in goals)
    actions = {m.action for m in _entries(alex, MedicationChange)}
    assert {MedicationAction.STARTED, MedicationAction.DOSE_CHANGED, MedicationAction.STOPPED} <= (
        actions
    )
    nutrition = _entries(alex, NutritionUpdate)
    assert {u.update_type for u in nutrition} == {t.value for t in NutritionType}
    weights = [u for u in nutrition if u.update_type == NutritionType.WEIGHT]
    assert {w.blind for w in weights} == {True, False}
    stamps = sorted(e.created_at for e in entries)
    assert stamps[-1] - stamps[0] >= timedelta(weeks=3)
    assert len({s.isocalendar()[:2] for s in stamps}) >= 3  # spread, not bunched at the ends


def test_the_switch_to_open_weights_is_explained_by_the_dietitian(alex):
    nutrition = sorted(_entries(alex, NutritionUpdate), key=lambda u: u.created_at)
    weights = [u for u in nutrition if u.update_type == NutritionType.WEIGHT]
    last_blind = max(w.created_at for w in weights if w.blind)
    first_open = min(w.created_at for w in weights if not w.blind)
    assert all(not w.blind for w in weights if w.created_at >= first_open)  # once open, open
    notes = [
        u
        for u in nutrition
        if u.update_type == NutritionType.NOTE and last_blind < u.created_at <= first_open
    ]
    assert len(notes) == 1
    (note,) = notes
    assert "see their weight" in note.text and "agreed" in note.text
    assert db.session.get(User, note.author_id).discipline == "dietitian"


def test_the_leads_pages_of_the_demo_render_with_bounded_queries(
    alex, client, auth, count_queries
):
    assert len(_entries(alex)) > QUERY_CEILING
    lead = db.session.scalar(select(User).where(User.email == "therapist@demo.careteam.example"))
    # Outside `make run` providers need two-factor: enrol the lead as the test helpers log in.
    two_factor.enrol_known_secret(user=lead, secret=TOTP_SECRET)
    db.session.commit()
    redirected = auth.login(lead.email, DEMO_PASSWORD)
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "/clients/"
    pages = {
        f"/clients/{alex.id}": "Timeline",
        f"/clients/{alex.id}/goals/": "<svg",
        f"/clients/{alex.id}/medications": "Current medications",
        f"/clients/{alex.id}/nutrition/": "Weight trend",
    }
    for path, marker in pages.items():
        client.get(path)  # warm-up: first-request work is not the page's
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200, path
        assert marker in response.get_data(as_text=True), path
        assert counter.count <= QUERY_CEILING, (path, counter.count)


def test_the_backdated_demo_history_sends_nothing(alex, sink):
    """Seeding alerts nobody about weeks-old entries, and no one's first digest holds six
    weeks: each covers the last day, like a practice that has used CareTeam all along."""
    from careteam.alerts import services as alerts
    from careteam.alerts.models import AlertDelivery, OutboxAlert
    from careteam.digests import services as digests
    from careteam.digests.content import window_start_for
    from careteam.extensions import utcnow

    assert db.session.scalar(select(func.count()).select_from(OutboxAlert)) > 0  # urgent, meds
    unprocessed = select(OutboxAlert.id).where(OutboxAlert.processed_at.is_(None))
    assert list(db.session.scalars(unprocessed)) == []
    assert alerts.unprocessed_alerts(older_than=timedelta(0)) == []
    assert db.session.scalar(select(func.count()).select_from(AlertDelivery)) == 0

    now = utcnow()
    therapist = db.session.scalar(select(User).where(User.email.like("therapist@%")))
    start = window_start_for(therapist, now)
    assert now - timedelta(days=1, minutes=5) <= start <= now - timedelta(hours=23)
    content = digests.build_content(therapist, start, now, "full")
    entries = [e for section in content.sections for e in section.entries]
    assert entries, "the last day of the demo has entries by others"
    assert all(e.created_at >= start for e in entries)
    # The account itself stays as old as the record.
    assert therapist.created_at < now - timedelta(weeks=6)
