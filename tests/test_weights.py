"""Weights reach the client unless blind; blind by default per client; kg or lb; a second
weight on the same day asks first (issue 13 item 8)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from careteam.audit.viewer import count_for
from careteam.clients import services as client_services
from careteam.enums import Discipline, NutritionType, Role, WeightUnit
from careteam.extensions import db
from careteam.nutrition import services, units
from careteam.nutrition.models import NutritionUpdate
from careteam.record.services import EntryError
from tests.factories import add_member, bearer, make_client, make_provider, make_token, make_user

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def team(app):
    """A client with a portal account, a therapist lead and a dietitian."""
    lead = make_provider(Discipline.THERAPIST, name="Dana Okafor")
    dietitian = make_provider(Discipline.DIETITIAN, name="Noor Haddad")
    record = make_client(lead)
    add_member(record, dietitian, lead)
    own = make_user(Role.CLIENT)
    client_services.link_portal_account(actor=lead, client=record, email=own.email)
    return record, lead, dietitian, own


def _weight(record, dietitian, kg: str, days_ago: int = 0, blind: bool | None = False, **kw):
    return services.post_update(
        actor=dietitian,
        client=record,
        update_type=NutritionType.WEIGHT,
        weight_kg=Decimal(kg),
        measured_on=TODAY - timedelta(days=days_ago),
        blind=blind,
        **kw,
    )


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(NutritionUpdate))


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


# The client sees open weights, never blind ones


def test_open_weights_show_in_the_portal_with_their_trend_and_blind_ones_never(
    app, client, auth, team
):
    record, _lead, dietitian, own = team
    _weight(record, dietitian, "61.35", days_ago=14, text="Team-only-comment-QZ")
    _weight(record, dietitian, "47.3", days_ago=7, blind=True)
    _weight(record, dietitian, "62.05", days_ago=0)
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    weights = _section(page, "weights")
    assert "My weight" in weights and '<svg class="chart"' in weights
    assert "Latest: <strong>62.05 kg</strong>" in weights
    assert "61.35 kg" in weights
    assert "47.3" not in page and "Team-only-comment-QZ" not in page
    assert count_for("view_shared_weights", record.id) == 1


def test_no_weight_section_when_every_weight_is_blind(app, client, auth, team):
    record, _lead, dietitian, own = team
    _weight(record, dietitian, "47.3", blind=True)
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="weights"' not in page and "47.3" not in page


def test_the_clients_copies_hold_open_weights_only(app, client, auth, team):
    record, _lead, dietitian, own = team
    _weight(record, dietitian, "61.35", days_ago=3, text="Team-only-comment-QZ")
    _weight(record, dietitian, "47.3", days_ago=1, blind=True)
    auth.login(own.email)
    export = client.get(f"/fhir/r4/Patient/{record.id}/$everything").get_data(as_text=True)
    values = [
        e["resource"]["valueQuantity"]["value"]
        for e in json.loads(export)["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert values == [61.35]
    assert "47.3" not in export and "Team-only-comment-QZ" not in export
    headers = bearer(make_token(own, scope="read"))
    timeline = client.get(f"/api/v1/clients/{record.id}/timeline", headers=headers).get_json()
    shown = [i for i in timeline["items"] if i["kind"] == "nutrition"]
    assert [(i["weight_kg"], i["blind"], i["text"]) for i in shown] == [(61.35, False, "")]


def test_the_client_sees_it_column_tells_the_truth(app, client, auth, team):
    record, lead, dietitian, _own = team
    _weight(record, dietitian, "47.3", days_ago=3, blind=True)
    _weight(record, dietitian, "61.35", days_ago=1)
    unlinked = make_client(lead)
    add_member(unlinked, dietitian, lead)
    _weight(unlinked, dietitian, "70.1")
    auth.login(dietitian.email)
    table = _section(
        client.get(f"/clients/{record.id}/nutrition/").get_data(as_text=True), "weights"
    )
    assert "Yes, in the portal" in table and table.count(">blind</span>") == 1
    other = client.get(f"/clients/{unlinked.id}/nutrition/").get_data(as_text=True)
    assert "Not yet: no portal access" in _section(other, "weights")
    assert "Yes, in the portal" not in other


# Blind by default


def test_a_dietitian_sets_blind_by_default_and_new_weights_follow_it(app, client, auth, team):
    record, _lead, dietitian, own = team
    auth.login(dietitian.email)
    form = f"/clients/{record.id}/nutrition/new?type=weight"
    assert 'name="blind" type="checkbox" value="y">' in client.get(form).get_data(as_text=True)
    response = auth.post(f"/clients/{record.id}/nutrition/blind-default", {"blind": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{record.id}/nutrition/#weights")
    assert db.session.get(type(record), record.id).weights_blind_by_default
    assert count_for("set_weights_blind_by_default", record.id) == 1
    # The form starts ticked; the dietitian can still untick it for one weight.
    assert 'checked id="blind" name="blind"' in client.get(form).get_data(as_text=True)
    # A program that does not say (the API) gets the client's default.
    assert _weight(record, dietitian, "60.2", days_ago=2, blind=None).blind
    assert not _weight(record, dietitian, "60.4", days_ago=1, blind=False).blind
    auth.logout()
    auth.login(own.email)
    page = client.get("/portal/").get_data(as_text=True)
    assert "60.4 kg" in page and "60.2" not in page


def test_the_lead_may_set_the_default_and_another_member_may_not(app, client, auth, team):
    record, lead, _dietitian, _own = team
    psych = make_provider(Discipline.PSYCHIATRIST)
    add_member(record, psych, lead)
    auth.login(psych.email)
    url = f"/clients/{record.id}/nutrition/blind-default"
    assert auth.post(url, {"blind": "y"}).status_code == 403
    assert "Save this setting" not in client.get(url.replace("blind-default", "")).get_data(
        as_text=True
    )
    auth.logout()
    auth.login(lead.email)
    response = auth.post(url, {"blind": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{record.id}/nutrition/#weights")
    assert db.session.get(type(record), record.id).weights_blind_by_default


# Kilograms or pounds


@pytest.mark.parametrize(
    ("pounds", "kg"),
    [("160", "72.57"), ("115.5", "52.39"), ("44.1", "20.00"), ("771.6", "349.99")],
)
def test_pounds_convert_exactly_to_a_tenth(pounds, kg):
    assert units.to_kg(Decimal(pounds), WeightUnit.LB) == Decimal(kg)
    assert units.from_kg(Decimal(kg), WeightUnit.LB) == Decimal(pounds).quantize(Decimal("0.1"))


def test_every_tenth_of_a_pound_reads_back_as_typed():
    for tenths in range(441, 7717):
        typed = Decimal(tenths) / 10
        assert units.from_kg(units.to_kg(typed, "lb"), "lb") == typed


def test_a_dietitian_who_reads_pounds_enters_and_sees_pounds(app, client, auth, team):
    record, lead, dietitian, _own = team
    auth.login(dietitian.email)
    response = auth.post(
        "/settings/profile",
        {"display_name": dietitian.display_name, "time_zone": "UTC", "weight_unit": "lb"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/profile")
    assert db.session.get(type(dietitian), dietitian.id).weight_unit == "lb"
    form = client.get(f"/clients/{record.id}/nutrition/new?type=weight").get_data(as_text=True)
    assert "Weight (lb)" in form and "between 44.1 and 771.6" in form
    too_light = {"update_type": "weight", "weight_kg": "40", "measured_on": str(YESTERDAY)}
    response = auth.post(f"/clients/{record.id}/nutrition/new", too_light)
    assert response.status_code == 400
    assert "Must be at least 44.1 lb." in response.get_data(as_text=True)
    response = auth.post(f"/clients/{record.id}/nutrition/new", {**too_light, "weight_kg": "160"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}/nutrition/#e")
    stored = db.session.scalar(select(NutritionUpdate))
    assert stored.weight_kg == Decimal("72.57")
    page = client.get(f"/clients/{record.id}/nutrition/").get_data(as_text=True)
    assert "Latest: <strong>160 lb</strong>" in page and "Weight over time (lb)" in page
    amend = client.get(f"/clients/{record.id}/nutrition/{stored.id}/amend").get_data(as_text=True)
    assert 'value="160.0"' in amend or 'value="160"' in amend
    auth.logout()
    auth.login(lead.email)  # the lead reads kilograms
    page = client.get(f"/clients/{record.id}/nutrition/").get_data(as_text=True)
    assert "Latest: <strong>72.57 kg</strong>" in page


# A second weight on the same day


def test_a_second_weight_on_the_same_day_asks_first(app, client, auth, team):
    record, _lead, dietitian, _own = team
    first = _weight(record, dietitian, "72.4", days_ago=1)
    at = first.created_at.strftime("%H:%M")  # the dietitian's zone is UTC
    auth.login(dietitian.email)
    second = {
        "update_type": "weight",
        "weight_kg": "72.9",
        "measured_on": str(YESTERDAY),
        "text": "After lunch",
    }
    response = auth.post(f"/clients/{record.id}/nutrition/new", second)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"There is already a weight for this day (72.4 kg at {at}). Record another?" in page
    assert 'name="confirm_same_day"' in page
    assert 'value="72.9"' in page and "After lunch" in page  # nothing typed is lost
    assert _count() == 1
    # Another day needs no confirmation; confirming records the second one.
    response = auth.post(
        f"/clients/{record.id}/nutrition/new", {**second, "confirm_same_day": "y"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}/nutrition/#e")
    assert _count() == 2


def test_amending_the_only_weight_of_a_day_does_not_ask(app, client, auth, team):
    record, _lead, dietitian, _own = team
    first = _weight(record, dietitian, "72.4", days_ago=1)
    auth.login(dietitian.email)
    response = auth.post(
        f"/clients/{record.id}/nutrition/{first.id}/amend",
        {"update_type": "weight", "weight_kg": "72.5", "measured_on": str(YESTERDAY)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/clients/{record.id}/nutrition/#e")


def test_the_service_asks_only_when_told_to(app, team):
    record, _lead, dietitian, _own = team
    _weight(record, dietitian, "72.4")
    with pytest.raises(EntryError, match="There is already a weight for this day"):
        _weight(record, dietitian, "72.6", confirmed_same_day=False)
    assert _weight(record, dietitian, "72.6").weight_kg == Decimal("72.60")  # the API
