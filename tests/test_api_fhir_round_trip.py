"""Round trip: every entry created through the API appears, with its values, in the FHIR
export fetched with a token; an amendment replaces what it corrects; the client's own
export (with their token) holds what is shared with them and nothing else."""

from __future__ import annotations

import json
from datetime import date, timedelta

from tests.factories import bearer, make_token
from tests.worlds import make_team

TODAY = date.today()


def _by_type(bundle: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        found.setdefault(resource["resourceType"], []).append(resource)
    return found


def test_every_entry_posted_through_the_api_is_in_the_fhir_export(app, client):
    world = make_team()  # tests/worlds.py's team, its record empty: entries come by API
    record = world.record
    tokens = {
        "lead": make_token(world.lead),
        "psych": make_token(world.people["psych"]),
        "diet": make_token(world.people["diet"]),
        "own": make_token(world.own),
    }
    base = f"/api/v1/clients/{record.id}"

    def post(path: str, body: dict, who: str) -> dict:
        response = client.post(base + path, json=body, headers=bearer(tokens[who]))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    post("/notes", {"title": "Plan", "body": "Team note via API 4711"}, "lead")
    shared = post("/notes", {"body": "Shared note via API 4712", "visibility": "client"}, "lead")
    post("/notes", {"body": "Private note via API 4713", "visibility": "private"}, "lead")
    goal = post(
        "/goals",
        {
            "title": "Walk more via API",
            "measure": "walks",
            "unit": "per week",
            "baseline": 1,
            "target": 5,
            "direction": "up",
            "target_date": (TODAY + timedelta(days=60)).isoformat(),
            "shared_with_client": True,
        },
        "lead",
    )
    post(f"/goals/{goal['id']}/progress", {"measured_on": TODAY.isoformat(), "value": 3.5}, "lead")
    post(
        "/medications",
        {
            "medication": "lithium-api",
            "action": "started",
            "effective_date": TODAY.isoformat(),
            "dose": 300,
            "unit": "mg",
            "route": "oral",
            "frequency": "twice daily",
        },
        "psych",
    )
    post("/nutrition", {"update_type": "meal_plan", "text": "Meal plan via API 4714"}, "diet")
    post(
        "/nutrition",
        {"update_type": "weight", "weight_kg": 63.4, "measured_on": TODAY.isoformat()},
        "diet",
    )
    post(
        "/nutrition",
        {
            "update_type": "weight",
            "weight_kg": 71.3,
            "measured_on": TODAY.isoformat(),
            "blind": True,
        },
        "diet",
    )
    post(
        f"/entries/{shared['id']}/amendments",
        {"body": "Shared note via API 4712, corrected", "visibility": "client"},
        "lead",
    )

    team = client.get(f"/fhir/r4/Patient/{record.id}/$everything", headers=bearer(tokens["lead"]))
    assert team.status_code == 200
    assert team.mimetype == "application/fhir+json"
    found = _by_type(team.get_json())
    notes = {c["payload"][0]["contentString"] for c in found["Communication"]}
    assert {"Team note via API 4711", "Shared note via API 4712, corrected"} <= notes
    assert "Shared note via API 4712" not in notes  # the amended version replaced it
    assert not any("4713" in text for text in notes)  # private notes never leave
    (exported_goal,) = found["Goal"]
    assert exported_goal["description"]["text"] == "Walk more via API"
    assert exported_goal["target"][0]["detailQuantity"] == {"value": 5, "unit": "per week"}
    values = {(o["code"].get("text"), o["valueQuantity"]["value"]) for o in found["Observation"]}
    assert ("walks", 3.5) in values
    assert ("Body weight", 63.4) in values
    assert ("Body weight", 71.3) in values  # the team sees blind weights
    (statement,) = found["MedicationStatement"]
    assert statement["medicationCodeableConcept"]["text"] == "lithium-api"
    assert statement["status"] == "active"
    assert "300" in json.dumps(statement["dosage"])
    (order,) = found["NutritionOrder"]
    assert order["oralDiet"]["instruction"] == "Meal plan via API 4714"

    own_copy = client.get(
        f"/fhir/r4/Patient/{record.id}/$everything", headers=bearer(tokens["own"])
    )
    assert own_copy.status_code == 200
    text = own_copy.get_data(as_text=True)
    assert "Shared note via API 4712, corrected" in text
    assert "Walk more via API" in text
    assert "63.4" in text  # an open weight reaches the client (issue 13 item 8)
    for unshared in ("4711", "4713", "4714", "lithium-api", "71.3"):
        assert unshared not in text
