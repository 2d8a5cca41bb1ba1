"""Schemathesis against the live app's OpenAPI document, with the tokens of two teams.

A real HTTP server (tests/helpers.py's `serve`) holds two care teams, each with the
client record of tests/worlds.py: notes (private, team and shared), goals and check-ins,
weights (open and blind), medications and practice. Each team's lead has a
read-and-write token. For every operation in /api/v1/openapi.json, Schemathesis generates
requests (valid ones, then invalid ones) with each token, against the caller's own
record, the other team's record and ids of its own choosing, and checks every response:
never a 5xx, and status code, content type, headers and body as the document declares
them.

Across teams: no response to team B's token ever holds a text of team A's record (nor
the reverse), and each GET route asked directly for each of A's objects with B's token
answers 404. Generation is derandomised: a failure reproduces on the next run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from http.cookiejar import DefaultCookiePolicy

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    FailureGroup,
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import bearer, make_token
from tests.helpers import serve
from tests.worlds import build_world

pytestmark = [pytest.mark.integration, pytest.mark.backends("postgresql")]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation and token: (valid, invalid) requests for the caller's own record,
# for the other team's record and for ids of Schemathesis's choosing. About 1,500 requests
# in all: the module runs in well under two minutes.
EXAMPLES = {"own": (8, 4), "other": (3, 2), "generated": (4, 3)}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
PATH_PARAM = re.compile(r"\{(\w+)\}")
# The API's self-description is the same for everyone and needs no token.
PUBLIC_PATHS = {"/api/v1/openapi.json", "/api/v1/docs"}


def _team(tag: str, weight: Decimal) -> dict:
    """The record of tests/worlds.py, every text tagged with `tag` (which must never reach
    the other team), and a read-and-write token of its lead."""
    world = build_world(tag=tag, blind_weight=weight)
    made = world.ids
    entries = [made["private"], *(i for i in world.entry_ids() if i != made["private"])]
    ids: dict[str, list[int]] = {
        "client_id": [world.record.id],
        "entry_id": entries,
        "goal_id": [made["hidden_goal"], made["shared_goal"], made["later_goal"]],
        "medication_id": [made["medication"]],
        "assignment_id": [made["assignment"]],
    }
    return {
        "secret": make_token(world.lead, scope="write", name=f"team {tag}"),
        "texts": dict(world.texts),
        "weight": weight,
        "ids": ids,
    }


@pytest.fixture
def two_teams(app, tmp_root):
    teams = {"A": _team("TEAMA", Decimal("43.7")), "B": _team("TEAMB", Decimal("61.9"))}
    with serve(app, tmp_root) as url:
        yield url, teams


def _leaks(body: str, team: dict) -> list[str]:
    """What of `team`'s record shows in a response body."""
    found = [label for label, text in team["texts"].items() if text.lower() in body.lower()]
    weight = re.escape(str(team["weight"])).replace(r"\.", "[.,]")
    if re.search(rf"(?<![\d.,]){weight}0*(?!\d)", body):
        found.append("weight")
    return found


def _path_ids(path: str, ids: dict[str, list[int]]) -> dict[str, int] | None:
    """The first of the team's objects for each path parameter (for acknowledgements: the
    medication change, the only kind of entry acknowledged)."""
    names = PATH_PARAM.findall(path)
    if not all(name in ids for name in names):
        return None
    values = {name: ids[name][0] for name in names}
    if path.endswith("/acknowledgements"):
        values["entry_id"] = ids["medication_id"][0]
    return values


def test_the_live_api_conforms_to_its_document_and_keeps_teams_apart(two_teams):
    url, teams = two_teams
    document = requests.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, "the document lists too few operations"
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    seen: list[Seen] = []

    for caller, other in (("A", "B"), ("B", "A")):
        headers = bearer(teams[caller]["secret"])
        for operation in operations:
            targets = {"generated": None}
            own = _path_ids(operation.path, teams[caller]["ids"])
            if own:
                targets["own"] = own
                targets["other"] = _path_ids(operation.path, teams[other]["ids"])
            for target, path_parameters in targets.items():
                for mode, examples in zip(MODES, EXAMPLES[target], strict=True):
                    strategy = operation.as_strategy(
                        generation_mode=mode, path_parameters=path_parameters
                    )
                    try:
                        _run(strategy, examples, url, session, headers, caller, target, seen)
                    except Unsatisfiable:
                        # Nothing of this operation can be made invalid (no parameters,
                        # no body, or only the fixed path): there is no negative case.
                        assert mode == GenerationMode.NEGATIVE, operation.label

    for caller, other in (("A", "B"), ("B", "A")):
        for answer in (s for s in seen if s.caller == caller):
            leaked = _leaks(answer.body, teams[other])
            assert not leaked, (
                f"team {caller}'s token read team {other}'s {leaked}: {answer.method} "
                f"{answer.path} -> {answer.status} {answer.body[:500]}"
            )
    assert any(200 <= s.status < 300 for s in seen), "no request succeeded: the harness is off"

    # What each team created during the run is its own: the other team's token finds none.
    created = [(s.caller, s.location) for s in seen if s.status == 201 and s.location]
    assert created, "nothing was created: the harness is off"
    for caller, location in created:
        other = "B" if caller == "A" else "A"
        mine = session.get(url + location, headers=bearer(teams[caller]["secret"]), timeout=10)
        assert mine.status_code == 200, (caller, location, mine.status_code)
        theirs = session.get(url + location, headers=bearer(teams[other]["secret"]), timeout=10)
        assert theirs.status_code == 404, (
            f"team {other} read team {caller}'s new {location}: {theirs.status_code}"
        )


@dataclass(frozen=True)
class Seen:
    """One request of the run, as answered."""

    caller: str
    method: str
    path: str
    status: int
    body: str
    location: str | None


def _run(strategy, examples, url, session, headers, caller, target, seen) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case):
        response = case.call(base_url=url, session=session, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if target == "other":
            # The other team's record is "not found", whatever is asked of it; a request
            # refused for its form (400, 413, 415, 422) or for a spoilt token (invalid
            # requests include invalid Authorization headers) may say so first.
            assert response.status_code in {400, 401, 404, 413, 415, 422}, (
                f"team {caller}: {case.method} {response.request.path_url} -> "
                f"{response.status_code} {response.text[:300]}"
            )
        seen.append(
            Seen(
                caller=caller,
                method=case.method,
                path=response.request.path_url,
                status=response.status_code,
                body=response.text,
                # Schemathesis keeps headers with lowercase names and lists of values.
                location=next(iter(response.headers.get("location", [])), None),
            )
        )

    check()


# Direct probes: every GET route with each of the other team's ids.


def test_no_route_opens_the_other_teams_objects(two_teams):
    url, teams = two_teams
    document = requests.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    gets = [
        path
        for path, methods in document["paths"].items()
        if "get" in methods and PATH_PARAM.search(path)
    ]
    gets.append("/fhir/r4/Patient/{client_id}/$everything")
    probed = 0
    for caller, other in (("A", "B"), ("B", "A")):
        headers = bearer(teams[caller]["secret"])
        for path in gets:
            for values in _probes(path, mine=teams[caller]["ids"], theirs=teams[other]["ids"]):
                probe = url + path.format(**values)
                response = requests.get(probe, headers=headers, timeout=10)
                probed += 1
                assert response.status_code == 404, (
                    f"team {caller} GET {probe} -> {response.status_code} {response.text[:300]}"
                )
                assert response.headers["Content-Type"] == "application/problem+json"
                assert not _leaks(response.text, teams[other])
        # The list of clients names only the caller's own record.
        listed = requests.get(f"{url}/api/v1/clients", headers=headers, timeout=10)
        assert listed.status_code == 200
        assert {item["id"] for item in listed.json()["items"]} == set(
            teams[caller]["ids"]["client_id"]
        )
    assert probed


def _probes(path: str, *, mine: dict, theirs: dict):
    """Path values naming the other team's objects: their client; each of their objects
    under their client id and under mine (an object must not be reachable through a
    record it does not belong to)."""
    names = PATH_PARAM.findall(path)
    missing = [name for name in names if name not in theirs]
    assert not missing, f"no ids of the other team for {path} {missing}: add them to _team"
    others = [name for name in names if name != "client_id"]
    if not others:
        yield {"client_id": theirs["client_id"][0]}
        return
    for client_id in (theirs["client_id"][0], mine["client_id"][0]):
        for name in others:
            for value in theirs[name]:
                values = {n: theirs[n][0] for n in others}
                values[name] = value
                if "client_id" in names:
                    values["client_id"] = client_id
                yield values


def test_a_failure_report_names_the_request(two_teams):
    """The harness itself: a broken response is caught and reported with its request."""
    url, teams = two_teams
    document = requests.get(f"{url}/api/v1/openapi.json", timeout=10).json()
    # Declare that /me answers 200 with a body it does not have: validation must fail.
    document = json.loads(json.dumps(document))
    me = document["paths"]["/api/v1/me"]["get"]["responses"]["200"]
    me["content"]["application/json"]["schema"] = {
        "type": "object",
        "required": ["no_such_field"],
    }
    schema = schemathesis.openapi.from_dict(document)
    operation = schema["/api/v1/me"]["GET"]
    case = operation.Case()
    response = case.call(base_url=url, headers=bearer(teams["A"]["secret"]), timeout=10)
    with pytest.raises(FailureGroup) as caught:
        case.validate_response(response, checks=CHECKS)
    assert any("no_such_field" in str(failure) for failure in caught.value.exceptions)
