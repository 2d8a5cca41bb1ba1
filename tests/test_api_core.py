"""The API's frame: problem details, the OpenAPI document and its reference page,
Idempotency-Key, body limits, and the purge of kept responses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Response, g
from openapi_spec_validator import validate
from sqlalchemy import func, select

from careteam.api import idempotency
from careteam.api.models import IdempotentResponse
from careteam.api.problems import ApiProblem
from careteam.auth.models import User
from careteam.extensions import db, utcnow
from tests.factories import bearer, make_provider, make_token

PREFS = {
    "frequency": "weekly",
    "send_time": "07:30",
    "weekday": 4,
    "time_zone": "Europe/Berlin",
    "detail": "minimal",
    "send_when_empty": False,
    "alerts_enabled": True,
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


@pytest.fixture
def token(app) -> str:
    with app.app_context():
        return make_token(make_provider())


def _assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["title"]
    assert "Traceback" not in response.get_data(as_text=True)
    return problem


# Problem details


def test_errors_under_the_api_are_problem_documents(client, token):
    _assert_problem(client.get("/api/v1/me"), 401)
    _assert_problem(client.get("/api/v1/no-such-thing", headers=bearer(token)), 404)
    _assert_problem(client.delete("/api/v1/me", headers=bearer(token)), 405)
    # Web pages keep their HTML error pages.
    assert client.get("/no-such-page").mimetype == "text/html"


def test_an_unexpected_error_is_a_500_problem_without_details(app, client, token, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("careteam.api.me._me", broken)
    problem = _assert_problem(client.get("/api/v1/me", headers=bearer(token)), 500)
    assert "secret internals" not in str(problem)


def test_validation_errors_point_at_each_field_and_save_nothing(client, token):
    before = client.get("/api/v1/me/digest-preferences", headers=bearer(token)).get_json()
    body = {**PREFS, "weekday": 9, "time_zone": "Mars/Olympus", "colour": "red"}
    body.pop("detail")
    problem = _assert_problem(
        client.put("/api/v1/me/digest-preferences", json=body, headers=bearer(token)), 422
    )
    pointers = {error["pointer"]: error["detail"] for error in problem["errors"]}
    assert set(pointers) == {"/weekday", "/time_zone", "/detail", "/colour"}
    assert pointers["/detail"] == "This field is required."
    assert pointers["/colour"] == "This field is not known."
    after = client.get("/api/v1/me/digest-preferences", headers=bearer(token)).get_json()
    assert after == before


def test_bodies_that_are_not_json_objects_are_refused_clearly(client, token):
    url = "/api/v1/me/digest-preferences"
    _assert_problem(client.put(url, data="frequency=daily", headers=bearer(token)), 415)
    _assert_problem(
        client.put(url, data="{not json", content_type="application/json", headers=bearer(token)),
        400,
    )
    _assert_problem(client.put(url, json=[1, 2], headers=bearer(token)), 422)


def test_a_body_over_the_api_limit_is_413(app, client, token):
    app.config["API_MAX_BODY_BYTES"] = 1000
    body = {**PREFS, "time_zone": "x" * 2000}
    _assert_problem(
        client.put("/api/v1/me/digest-preferences", json=body, headers=bearer(token)), 413
    )
    # Over the app-wide cap too (werkzeug refuses to read it): still a problem document.
    app.config["MAX_CONTENT_LENGTH"] = 1500
    _assert_problem(
        client.put("/api/v1/me/digest-preferences", json=body, headers=bearer(token)), 413
    )


def test_preferences_round_trip(client, token):
    saved = client.put("/api/v1/me/digest-preferences", json=PREFS, headers=bearer(token))
    assert saved.status_code == 200
    again = client.get("/api/v1/me/digest-preferences", headers=bearer(token)).get_json()
    assert again == saved.get_json()
    assert again["time_zone"] == "Europe/Berlin"
    assert again["send_time"] == "07:30"
    assert again["quiet_start"] == "22:00"
    assert again["weekday"] == 4


@pytest.mark.parametrize("given", ["7:30", "07:30:00", "07:30Z", "24:00", 730])
def test_times_of_day_are_hh_mm(client, token, given):
    body = {**PREFS, "send_time": given}
    problem = _assert_problem(
        client.put("/api/v1/me/digest-preferences", json=body, headers=bearer(token)), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/send_time"]


def test_half_given_quiet_hours_are_refused(client, token):
    body = {**PREFS, "quiet_end": None}
    problem = _assert_problem(
        client.put("/api/v1/me/digest-preferences", json=body, headers=bearer(token)), 422
    )
    assert "quiet hours" in str(problem["errors"])


# The document and the reference page


def test_the_document_is_valid_openapi_3_1_and_covers_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == documented
    for ops in document["paths"].values():
        for op in ops.values():
            if op.get("security") != []:
                for status in ("401", "404", "422", "429"):
                    problem = op["responses"][status]["content"]["application/problem+json"]
                    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_reference_page_is_ours_and_lists_every_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path, ops in document["paths"].items():
        for method in ops:
            assert f"{method.upper()} {path}" in html
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    # Nothing is fetched from elsewhere: no CDN scripts or styles.
    assert not re.search(r'(src|href)="(https?:)?//', html)


# Idempotency-Key


@pytest.fixture
def poster(app):
    """Run idempotency.once() as a POST of `body` by a user, counting the real runs."""
    with app.app_context():
        user = make_provider()
        user_id = user.id
    runs = []

    def post(body: dict, key: str | None = "key-1", status: int = 201):
        headers = {"Idempotency-Key": key} if key is not None else {}
        with app.test_request_context(
            "/api/v1/clients/1/notes", method="POST", json=body, headers=headers
        ):
            g._login_user = db.session.get(User, user_id)

            def run():
                runs.append(body)
                return Response(
                    f'{{"n": {len(runs)}}}', status=status, mimetype="application/json"
                )

            try:
                return idempotency.once(run)
            finally:
                db.session.remove()  # as at the end of a request

    post.runs = runs
    return post


def test_the_same_key_and_body_answers_the_first_response_again(poster):
    first = poster({"body": "a", "visibility": "team"})
    again = poster({"visibility": "team", "body": "a"})  # same JSON, other key order
    assert poster.runs == [{"body": "a", "visibility": "team"}]
    assert again.status_code == first.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_refused(poster):
    poster({"body": "a"})
    with pytest.raises(ApiProblem) as refused:
        poster({"body": "b"})
    assert refused.value.status == 422
    assert len(poster.runs) == 1


def test_without_a_key_every_post_runs(poster):
    poster({"body": "a"}, key=None)
    poster({"body": "a"}, key=None)
    assert len(poster.runs) == 2


def test_a_failed_request_frees_its_key(poster):
    assert poster({"body": ""}, status=422).status_code == 422
    assert poster({"body": "fixed"}).status_code == 201
    assert len(poster.runs) == 2


def test_a_key_still_running_gets_409_and_an_abandoned_one_runs_again(app, poster):
    poster({"body": "a"})
    with app.app_context():
        row = db.session.scalar(select(IdempotentResponse))
        row.status_code = None  # as if the first request were still running
        db.session.commit()
    with pytest.raises(ApiProblem) as busy:
        poster({"body": "a"})
    assert busy.value.status == 409
    with app.app_context():
        row = db.session.scalar(select(IdempotentResponse))
        row.created_at = utcnow() - timedelta(minutes=10)  # its worker died
        db.session.commit()
    assert poster({"body": "a"}).status_code == 201
    assert len(poster.runs) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "café", "tab\there"])
def test_a_malformed_key_is_400(poster, key):
    with pytest.raises(ApiProblem) as refused:
        poster({"body": "a"}, key=key)
    assert refused.value.status == 400


def test_kept_responses_are_purged_after_their_time(app, poster):
    poster({"body": "a"}, key="old")
    poster({"body": "a"}, key="new")
    with app.app_context():
        old = db.session.scalar(select(IdempotentResponse).where(IdempotentResponse.key == "old"))
        old.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert idempotency.purge_expired() == 1
        keys = db.session.scalars(select(IdempotentResponse.key)).all()
        assert keys == ["new"]
        assert db.session.scalar(select(func.count()).select_from(IdempotentResponse)) == 1
    # An expired key is free again.
    poster({"body": "other"}, key="old")
    assert len(poster.runs) == 3


def test_an_id_larger_than_any_is_404_also_where_get_and_post_share_a_path(client, token):
    # werkzeug would answer 405 if the id converter refused the number (GET and POST
    # share /clients/<id>/goals); the converter maps it to 0, which names nothing.
    goal = {
        "title": "Walk",
        "measure": "walks",
        "unit": "a week",
        "baseline": 1,
        "target": 5,
        "direction": "up",
        "target_date": "2099-01-01",
    }
    url = f"/api/v1/clients/{2**31}/goals"
    _assert_problem(client.get(url, headers=bearer(token)), 404)
    _assert_problem(client.post(url, json=goal, headers=bearer(token)), 404)
