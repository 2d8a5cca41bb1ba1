"""Hostile input through every form and query parameter, discovered from the pages.

Every GET route of the URL map is opened as a person who may see it (the first role
with a 200 in the authorization table, or the dietitian for nutrition pages), and its
<form> elements are parsed with the standard library's html.parser. Each form with a
text field is then submitted with XSS and SQL-injection payloads in its text fields and
valid values elsewhere: what saves is stored verbatim (searched in the database) and the
pages that show it escape it; nothing answers 500. Null bytes and over-long values get
a 400 on both databases (PostgreSQL refuses NUL in text). Query parameters, oversized
bodies and malformed requests get a clear 4xx.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import url_for
from markupsafe import escape
from sqlalchemy import String, Text, or_, select

from careteam import create_app
from careteam.auth.reset import make_token as make_reset_token
from careteam.auth.tokens import create_token
from careteam.enums import Discipline, Role
from careteam.extensions import db
from careteam.invitations import services as invitations
from careteam.invitations.sending import mint_link
from careteam.links import unsubscribe_token
from tests.authz_table import ROWS
from tests.factories import PASSWORD, make_provider, make_user
from tests.helpers import AuthActions, csrf_from, truncate_all
from tests.snapshots import Snapshot, close_database
from tests.worlds import build_world

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '[click](javascript:alert(1)) <a href="javascript:alert(1)">x</a> <svg onload=alert(1)>',
]
SQL = ["' OR 1=1 --", "Robert'); DROP TABLE clients;--"]
# Accents, an emoji sequence, a right-to-left override, fullwidth brackets, mathematical
# letters, a zero-width space, an Arabic ligature, Greek with a tonos.
UNICODE = [
    "Zo\u00eb \u00c5ngstr\u00f6m \U0001f469\U0001f3fd\u200d\u2695\ufe0f \u202eevil\u202c "
    "\uff1cscript\uff1e \U0001d518\U0001d52b \u200b \ufdfd \u03ac"
]
SAVED = XSS + SQL + UNICODE
NUL = "before\x00after"
LONG = "A" * 200_000  # longer than any field allows, well under MAX_CONTENT_LENGTH


class ActiveMarkup(HTMLParser):
    """Find markup that would run in a browser: inline scripts, event-handler attributes
    and javascript: URLs, as a browser parses them (escaped text is not markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


def active_markup(html: str) -> list[str]:
    parser = ActiveMarkup()
    parser.feed(html)
    return parser.found


# Valid values for fields that are not free text, so that a form saves.
VALID = {
    "email": "probe.person@example.com",
    "current_password": PASSWORD,
    "password": "a much longer passphrase for probes",
    "confirm": "a much longer passphrase for probes",
    "new_password": "a much longer passphrase for probes",
    "dose": "50",
    "weight_kg": "60.5",
    "value": "6",
    "baseline": "1",
    "target": "2",
    "target_count": "1",
    "rating": "3",
    "phone": "+1 555 0100",
    "time_of_day": "08:00",
    "timezone": "Europe/Berlin",
    # The medication form checks these lengths on the server only.
    "code": "000000",  # a one-time code: nothing typed freely (see test_two_factor.py)
    "unit": "mg",
    "route": "oral",
    "frequency": "once daily",
}
# Selects whose current value would change nothing (the level of care is already that).
SELECT_CHANGES = {"level": "partial_hospitalization"}  # the world is at intensive outpatient
# Empty inputs of these types get a valid value.
EMPTY_BY_TYPE = {
    "date": date.today().isoformat(),
    "time": "08:00",
    "number": "1",
    "email": "probe.person@example.com",
}
# Fields that need a few words (an emergency-access reason): short payloads are padded.
MIN_LENGTH = {"reason": 20}
# Fields whose value is not stored as typed (hashed, or only used to look something up).
NOT_STORED = {"current_password", "password", "confirm", "new_password", "q", "email"}
QUERY_PARAMS = [
    *("q", "page", "cursor", "before", "kind", "author", "since", "zz_junk"),
    # What views read from the query string (grep request.args).
    *("again", "type", "medication", "action", "back", "next", "user", "client", "start"),
]
# A well-formed timeline cursor (created_at|id) naming an id no column can hold.
HUGE_CURSOR = base64.urlsafe_b64encode(
    b"2026-01-01T00:00:00+00:00|99999999999999999999999"
).decode()
ROLE_PREFERENCE = ["lead", "member", "client", "admin", "anon"]


# The world: one record of tests/worlds.py plus the tokens its anonymous pages need.


def _build_world() -> dict:
    world = build_world(tag="ALPHA", lead=Discipline.PSYCHIATRIST)
    admin = make_user(Role.ADMIN, email="admin@example.com")
    target = make_provider(Discipline.OTHER, email="target@example.com")
    invitation = invitations.invite_provider_account(
        actor=admin, email="newcomer@example.com", discipline=Discipline.OTHER
    )
    ids = world.ids
    lead_token, _secret = create_token(user=world.lead, name="Probe", scope="read", days=30)
    return {
        "emails": {
            "lead": world.lead.email,
            "dietitian": world.people["diet"].email,
            "client": world.own.email,
            "admin": admin.email,
        },
        "url_args": {
            "client_id": world.record.id,
            "member_id": world.rows["diet"].id,
            "goal_id": ids["hidden_goal"],
            "goal_id:portal.goal": ids["shared_goal"],
            # The lead's own entries (a prescriber's), the dietitian's weight.
            "entry_id": ids["team_note"],
            "entry_id:goals.amend_progress": ids["shared_check_in"],
            "entry_id:medications.amend": ids["medication"],
            "entry_id:nutrition.amend": ids["blind_weight"],
            "entry_id:practice.show": ids["assignment"],
            "entry_id:practice.amend": ids["assignment"],
            "entry_id:practice.log": ids["assignment"],
            "invitation_id": ids["invitation"],
            "user_id": target.id,
            "token_id": lead_token.id,
            "token:invitations.accept": mint_link(invitation.id),
            "token:auth.reset_password": make_reset_token(target),
            "token": unsubscribe_token(target.id),
            "token:digests.unsubscribe_alerts": unsubscribe_token(target.id, purpose="alerts"),
            "token:digests.unsubscribe_alerts_post": unsubscribe_token(
                target.id, purpose="alerts"
            ),
            "filename": "css/app.css",
        },
    }


def _role_for(endpoint: str) -> str | None:
    """Who opens the page: the first role the authorization table lets in."""
    if endpoint.startswith("nutrition."):
        return "dietitian"
    for ep, method, cells in ROWS:
        if ep == endpoint and method == "GET":
            for role in ROLE_PREFERENCE:
                if cells[role] == "200":
                    return "lead" if role == "member" else role
            return "anon"  # a redirect for everybody (the home page)
    return None  # no row in the authorization table: the table test fails too


def _get_endpoints() -> list[str]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    return sorted(
        {
            r.endpoint
            for r in app.url_map.iter_rules()
            # JSON, not HTML (tests/test_api_*.py); the API reference shows no user input.
            if "GET" in r.methods and not r.endpoint.startswith("api.")
        }
        - {"static", "auth.favicon"}  # files, not pages
    )


GET_ENDPOINTS = _get_endpoints()


def _url(app, endpoint: str, url_args: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    missing = [n for n in rule.arguments if n not in url_args]
    assert not missing, f"{endpoint}: teach _build_world its arguments {missing}"
    args = {name: url_args.get(f"{name}:{endpoint}", url_args[name]) for name in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **args)


def _login(client, email: str | None) -> None:
    """Log in through the real forms (both steps), or stay anonymous."""
    if email is not None:
        response = AuthActions(client).login(email)
        assert response.status_code == 302, f"{email} could not log in"
        assert not response.headers["Location"].startswith("/login"), f"{email} could not log in"


@pytest.fixture(scope="module")
def _snapshot(_shared_app) -> dict:
    """SQLite: the world built once; each test (or submit) starts from a copy of the file."""
    with _shared_app.app_context():
        truncate_all()
        built = _build_world()
        close_database()
    built["snapshot"] = Snapshot(_shared_app)
    return built


@pytest.fixture
def world(app, backend, request) -> dict:
    """The world for one test, with `restore()` that puts it back as it was built.

    On PostgreSQL it is built for the test (the tests that run there submit only input
    that must be refused, so they need no restore between requests).
    """
    app.config["RATELIMIT_ENABLED"] = False  # many logins; throttling has its own tests
    if backend != "sqlite":
        built = _build_world()
        return {**built, "restore": lambda: None}
    snapshot = request.getfixturevalue("_snapshot")

    def restore() -> None:
        snapshot["snapshot"].restore(app)

    restore()
    return {**snapshot, "restore": restore}


# Forms, parsed from the page -------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> a valid value
    text: list[str] = field(default_factory=list)  # free-text fields
    multi: dict[str, list[str]] = field(default_factory=dict)  # checkbox groups
    maxlength: dict[str, int] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Collect every form with its fields, as a browser would submit them untouched."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urlsplit(a.get("action") or self.page_url)
            path = action.path + (f"?{action.query}" if action.query else "")
            self._form = Form(a.get("method", "get").lower(), path)
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "option" and self._select:
            value = a.get("value", "")
            if "selected" in a or (not self._form.fields[self._select] and value):
                self._form.fields[self._select] = value
            return
        if not a.get("name"):
            return
        name, kind = a["name"], a.get("type", "text").lower()
        if tag == "input":
            if kind in {"submit", "button", "reset", "file", "image"}:
                return
            if kind in {"checkbox", "radio"}:
                if kind == "checkbox" and name in self._form.fields:
                    self._form.multi.setdefault(name, [self._form.fields[name]])
                if "checked" in a or name not in self._form.fields:
                    self._form.fields[name] = a.get("value", "on")
                return
            value = a.get("value", "")
            if not value:
                value = VALID.get(_key(name)) or EMPTY_BY_TYPE.get(kind, "")
            self._form.fields[name] = value
            if kind in {"text", "search", "email", "url", "tel", "password"}:
                self._form.text.append(name)
                if a.get("maxlength"):
                    self._form.maxlength[name] = int(a["maxlength"])
        elif tag == "textarea":
            self._textarea = name
            self._form.fields[name] = ""
            self._form.text.append(name)
            if a.get("maxlength"):
                self._form.maxlength[name] = int(a["maxlength"])
        elif tag == "select":
            self._select = name
            self._form.fields.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data


def _forms(html: str, page_url: str) -> list[Form]:
    parser = FormParser(page_url)
    parser.feed(html)
    # Forms that take typed input; buttons (hidden fields only) have nothing to inject.
    return [f for f in parser.forms if f.text and f.action != "/logout"]


def _key(name: str) -> str:
    """A field's name without its form's prefix ("disable-code" is a "code")."""
    return name.rsplit("-", 1)[-1]


def _fill(form: Form, payload: str, *, everywhere: bool = False) -> dict[str, str]:
    """The form's values with the payload in its free-text fields (or in all of them)."""
    data = dict(form.fields)
    for name in form.text:
        if everywhere:
            data[name] = payload
        elif _key(name) in VALID:
            data[name] = VALID[_key(name)]
        else:  # within the field's own limits, so that the form can save
            value = payload.ljust(MIN_LENGTH.get(_key(name), 0), ".")
            data[name] = value[: form.maxlength.get(name, len(value))].strip()
    if not everywhere:
        data.update({k: v for k, v in SELECT_CHANGES.items() if k in data})
    if "confirm" in data and not everywhere:
        data["confirm"] = data.get("password", "")
    return data


def _errors(response) -> list[str]:
    """The field errors on a refused form, to say why in a failure."""
    return re.findall(
        r'id="([\w-]+)-error">([^<]*)<|<div class="error-summary"[^>]*>\s*<p>([^<]*)<',
        response.get_data(as_text=True),
    )


def _stored(value: str) -> bool:
    """Whether some text column of some row holds exactly this value."""
    if "\x00" in value and db.engine.dialect.name == "postgresql":
        return False  # PostgreSQL cannot hold it (a request that tried answered 500)
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if (
            columns
            and db.session.execute(
                select(table).where(or_(*(c == value for c in columns))).limit(1)
            ).first()
        ):
            return True
    return False


def _assert_inert(response, where: str) -> None:
    assert response.status_code != 500, f"{where}: 500"
    if response.mimetype == "text/html":
        found = active_markup(response.get_data(as_text=True))
        assert found == [], f"{where}: markup that would run: {found}"


def _pages_after(client, response, page_url: str) -> list[str]:
    """What the person sees after a save: where they were sent, and the page itself."""
    urls = [page_url]
    if response.status_code in (302, 303) and response.headers.get("Location"):
        urls.insert(0, response.headers["Location"])
    bodies = []
    for url in urls:
        seen = client.get(url, follow_redirects=True)
        _assert_inert(seen, f"GET {url}")
        bodies.append(seen.get_data(as_text=True))
    return bodies


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_forms_store_payloads_verbatim_and_render_them_inert(app, client, world, endpoint):
    role = _role_for(endpoint)
    assert role is not None, f"{endpoint}: no role may open it (see the authorization table)"
    page_url = _url(app, endpoint, world["url_args"])
    email = None if role == "anon" else world["emails"][role]
    _login(client, email)
    page = client.get(page_url)
    assert page.status_code in (200, 302), f"{role} cannot open {page_url}"
    forms = _forms(page.get_data(as_text=True), page_url)
    for form in forms:
        if all(_key(name) in VALID for name in form.text):
            continue  # nothing typed freely (an email): the NUL test below covers it
        for payload in SAVED:
            world["restore"]()
            _login(client, email)
            html = client.get(page_url).get_data(as_text=True)
            token = csrf_from(html) if "csrf_token" in form.fields else None
            data = _fill(form, payload)
            if token:
                data["csrf_token"] = token
            where = f"{form.method.upper()} {form.action} with {payload!r}"
            if form.method == "get":
                response = client.get(form.action, query_string=data)
            else:
                response = client.post(form.action, data=data)
            _assert_inert(response, where)
            assert response.status_code < 500
            if form.method == "get":
                continue
            assert response.status_code in (200, 302), (
                f"{where}: {response.status_code} {_errors(response)} data={data}"
            )
            _pages_after(client, response, page_url)
            if response.status_code != 302:
                continue  # an answer on the page (a strength check, a confirmation)
            saved = [n for n in form.text if _key(n) not in VALID.keys() | NOT_STORED]
            for name in saved:
                assert _stored(data[name]), f"{where}: {name} not stored verbatim"


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_null_bytes_and_overlong_values_never_cause_a_500(app, client, world, endpoint):
    """On both databases (PostgreSQL cannot store NUL in text, and checks lengths): a NUL
    anywhere gets a 400; an over-long value is refused, or stored whole, never cut."""
    role = _role_for(endpoint)
    assert role is not None, f"{endpoint}: no row in the authorization table"
    page_url = _url(app, endpoint, world["url_args"])
    email = None if role == "anon" else world["emails"][role]
    _login(client, email)
    forms = _forms(client.get(page_url).get_data(as_text=True), page_url)
    for form in forms:
        for payload, everywhere in ((NUL, True), (LONG, False)):
            html = client.get(page_url).get_data(as_text=True)
            data = _fill(form, payload, everywhere=everywhere)
            if everywhere is False:
                data.update({n: LONG for n in form.text if n not in VALID})
            if "csrf_token" in form.fields:
                data["csrf_token"] = csrf_from(html)
            where = f"{form.method.upper()} {form.action} with {payload[:12]!r}"
            if form.method == "get":
                response = client.get(form.action, query_string=data)
            else:
                response = client.post(form.action, data=data)
            assert response.status_code in (200, 302, 400, 413), f"{where}: {response.status_code}"
            if payload == NUL:
                assert response.status_code == 400, f"{where}: a NUL was accepted"
                assert not _stored(payload)
            elif response.status_code == 302:
                for name in form.text:
                    if name not in VALID and name not in NOT_STORED:
                        assert _stored(LONG), f"{where}: {name} saved, but not whole"


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("endpoint", GET_ENDPOINTS)
def test_query_parameters_never_cause_a_500(app, client, world, endpoint):
    role = _role_for(endpoint)
    assert role is not None
    page_url = _url(app, endpoint, world["url_args"])
    _login(client, None if role == "anon" else world["emails"][role])
    # Text payloads in every parameter at once (escaping), then structural junk in each
    # parameter alone (parsing).
    requests = [dict.fromkeys(QUERY_PARAMS, payload) for payload in [*SAVED, LONG[:5000]]]
    junk = [NUL, "9" * 40, "-1", "2026-13-45", HUGE_CURSOR, XSS[1]]
    requests += [{name: payload} for name in QUERY_PARAMS for payload in junk]
    for query in requests:
        response = client.get(page_url, query_string=query)
        where = f"GET {page_url}?{str(query)[:80]}"
        assert response.status_code in (200, 302, 400, 404), f"{where}: {response.status_code}"
        _assert_inert(response, where)


def test_a_saved_payload_is_shown_escaped(app, client, world):
    """The check above finds no live markup; this one sees the payload shown as text."""
    _login(client, world["emails"]["lead"])
    token = csrf_from(client.get("/clients/new").get_data(as_text=True))
    name = XSS[1]
    created = client.post(
        "/clients/new",
        data={"full_name": name, "level_of_care": "outpatient_weekly", "csrf_token": token},
    )
    assert created.status_code == 302
    assert re.fullmatch(r"/clients/\d+", created.headers["Location"])
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert str(escape(name)) in page and active_markup(page) == []
    url = created.headers["Location"] + "/notes/new"
    token = csrf_from(client.get(url).get_data(as_text=True))
    posted = client.post(url, data={"body": XSS[2], "visibility": "team", "csrf_token": token})
    assert posted.status_code == 302
    assert posted.headers["Location"].startswith(created.headers["Location"] + "#e")
    timeline = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "alert(1)" in timeline and active_markup(timeline) == []  # nh3 kept the text


# Requests that are broken as a whole -----------------------------------------------------


def _lead_client(client, world) -> str:
    _login(client, world["emails"]["lead"])
    return csrf_from(client.get("/settings/profile").get_data(as_text=True))


def test_oversized_body_gets_413_with_our_page(app, client, world):
    token = _lead_client(client, world)
    url = _url(app, "record.new_note", world["url_args"])
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post(url, data={"csrf_token": token, "body": "x" * size})
    assert response.status_code == 413
    assert "That was too large" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/clients/99999999999999999999999999",
        "/clients/9223372036854775808",
        "/clients/2147483648/goals/",
        "/portal/goals/99999999999999999999",
        "/clients/1/entries/99999999999999999999999",
    ],
)
def test_huge_ids_in_urls_are_not_found(app, client, world, path):
    _lead_client(client, world)
    response = client.get(path)
    # As for an id that merely does not exist: 404, or 403 where the page is not for
    # this kind of user whatever the id (the lead on a portal page).
    missing = client.get(re.sub(r"\d{10,}", "999999", path))
    assert response.status_code == missing.status_code
    assert response.status_code in (403, 404)
    if not path.startswith("/portal/"):
        assert response.status_code == 404


def test_huge_ids_in_posts_are_not_found(app, client, world):
    token = _lead_client(client, world)
    client_id = world["url_args"]["client_id"]
    response = client.post(f"/clients/{client_id}/team/{10**30}/end", data={"csrf_token": token})
    assert response.status_code == 404


def test_invalid_utf8_wrong_content_type_and_duplicates_get_a_clear_answer(app, client, world):
    token = _lead_client(client, world)
    url = _url(app, "record.new_note", world["url_args"])
    raw = b"csrf_token=" + token.encode() + b"&body=%FF%FE%C0%AF&title=\xff\xfe"
    bad_utf8 = client.post(url, data=raw, content_type="application/x-www-form-urlencoded")
    assert bad_utf8.status_code in (302, 400)
    as_json = client.post(url, json={"body": "hello", "csrf_token": token})
    assert as_json.status_code == 400
    as_text = client.post(url, data="body=hello", content_type="text/plain")
    assert as_text.status_code == 400
    broken_multipart = client.post(
        url, data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"
    )
    assert broken_multipart.status_code == 400
    duplicated = client.post(
        url,
        data=f"csrf_token={token}&body=first&body=second&visibility=team&visibility=nonsense",
        content_type="application/x-www-form-urlencoded",
    )
    assert duplicated.status_code in (302, 400)
    for response in (bad_utf8, as_json, as_text, broken_multipart, duplicated):
        assert "Traceback" not in response.get_data(as_text=True)
    unsupported = client.open(url, method="PUT", data={"csrf_token": token})
    assert unsupported.status_code == 405
    assert "That action is not available here" in unsupported.get_data(as_text=True)
