"""No clinical content, passwords or tokens in any log line.

A full scenario runs through the test client and the Celery tasks (run in-process with
`apply`, so Celery's own trace logging runs too): logins with two factors, a new client,
an urgent note, a goal, a medication change, nutrition with a blind weight, practice with
a reflection, a portal invitation accepted through its emailed link, a password reset
through its emailed link, a password change, a digest and alerts sent to a real SMTP
sink; and the every-kind record of tests/worlds.py is read through its team's pages, the
portal, the digest, the API and the FHIR export. Everything logged meanwhile is
captured: the app's JSON lines (its own handler, redirected), every other logger at INFO
(werkzeug, celery, root), Python warnings and whatever reached the process's stdout and
stderr. None of the clinical strings, passwords, tokens, session cookies or CSRF tokens
may appear in it.

The development server's access log (werkzeug) and gunicorn's access log in production
are checked separately: a request line carries the path, and reset, invitation and
unsubscribe links carry their token in the path.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import shlex
import threading
import urllib.request
import warnings
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select

from careteam.alerts import tasks as alert_tasks
from careteam.auth import tasks as auth_tasks
from careteam.auth.models import User
from careteam.clients.models import Client
from careteam.digests import services as digests
from careteam.digests import tasks as digest_tasks
from careteam.enums import Discipline, Role
from careteam.extensions import db, utcnow
from careteam.invitations import tasks as invitation_tasks
from careteam.invitations.models import Invitation
from careteam.logs import JSONFormatter
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    add_member,
    bearer,
    make_provider,
    make_token,
    make_user,
)
from tests.harness import SMTPSink
from tests.helpers import AuthActions, FreshContextClient, csrf_from
from tests.worlds import build_world

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://careteam.example.org"

CLINICAL = {
    "client name": "Quillon Zebrafinch",
    "preferred name": "Quilly-ZF",
    "note title": "TITLE-HERON-5521",
    "note": "ZEBRA-MEDICATION-NOTE-731",
    "goal": "GOAL-KITE-4417",
    "goal measure": "MEASURE-TAPIR-610",
    "medication": "MED-OKAPI-882",
    "medication reason": "REASON-LYNX-27",
    "nutrition note": "NUTRI-NARWHAL-55",
    # Not a value a log's clock can print: "47.35" matched a timestamp's "…:47.351".
    "blind weight": "147.35",
    "practice skill": "SKILL-IBEX-90",
    "practice reflection": "REFLECT-QUOKKA-12",
}
LEAD_PASSWORD = PASSWORD
CLIENT_PASSWORD = "CLIENT-PASS-wombat-velvet-9931"
RESET_PASSWORD = "RESET-PASS-marmot-cobalt-4410"
CHANGED_PASSWORD = "CHANGED-PASS-gecko-saffron-2287"


class EverythingFormatter(logging.Formatter):
    """Every attribute of a record, extras and arguments included, not only its message."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.name} {record.levelname} {record.getMessage()} {vars(record)!r}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class Capture:
    """Everything logged, as the app's handler formats it and as plain text."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(EverythingFormatter())
        self.app_streams: list[tuple[logging.StreamHandler, object]] = []
        self.saved_levels: dict[str, int] = {}

    def __enter__(self) -> Capture:
        app_logger = logging.getLogger("careteam")
        # The app's own JSON handler writes here instead of stderr: exactly its output.
        for handler in app_logger.handlers:
            if isinstance(handler.formatter, JSONFormatter) and hasattr(handler, "setStream"):
                self.app_streams.append((handler, handler.setStream(self.stream)))
        assert self.app_streams, "the app's JSON log handler is not installed"
        self.saved_levels["careteam"] = app_logger.level
        app_logger.setLevel(logging.DEBUG)  # stricter than production: debug lines too
        app_logger.addHandler(self.handler)
        for name in ("", "werkzeug", "celery", "celery.app.trace", "celery.task", "py.warnings"):
            logger = logging.getLogger(name)
            self.saved_levels[name] = logger.level
            if logger.level in (logging.NOTSET,) or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
        logging.getLogger().addHandler(self.handler)
        logging.captureWarnings(True)
        return self

    def __exit__(self, *exc) -> None:
        logging.captureWarnings(False)
        logging.getLogger().removeHandler(self.handler)
        logging.getLogger("careteam").removeHandler(self.handler)
        for name, level in self.saved_levels.items():
            logging.getLogger(name).setLevel(level)
        for handler, old in self.app_streams:
            handler.setStream(old)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def sink(app, sink):
    app.config.update(BASE_URL=BASE_URL, RATELIMIT_ENABLED=False)
    return sink


class Scenario:
    """A person's requests, keeping every secret that passes through them."""

    def __init__(self, app, secrets: set[str]) -> None:
        app.test_client_class = FreshContextClient
        self.client = app.test_client()
        self.auth = AuthActions(self.client)
        self.secrets = secrets

    def page(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        html = response.get_data(as_text=True)
        self.secrets.add(csrf_from(html))
        return html

    def submit(self, path: str, data: dict, expect: int = 302):
        token = csrf_from(self.page(path))
        response = self.client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == expect, f"POST {path}: {response.status_code}"
        self._keep_cookie()
        return response

    def login(self, email: str, password: str = LEAD_PASSWORD) -> None:
        response = self.auth.login(email, password)
        assert response.status_code == 302, f"{email} could not log in"
        assert not response.headers["Location"].startswith("/login"), f"{email} could not log in"
        self._keep_cookie()

    def _keep_cookie(self) -> None:
        cookie = self.client.get_cookie("careteam_session")
        if cookie is not None:
            self.secrets.add(cookie.value)


def _link(sink: SMTPSink, to: str, pattern: str) -> str:
    for message in reversed(sink.messages):
        if message["To"] == to:
            text = message.get_body(("plain",)).get_content()
            found = re.search(rf"{re.escape(BASE_URL)}({pattern}\S+)", text)
            if found:
                return found.group(1)
    raise AssertionError(f"no {pattern} link mailed to {to}")


def _token_of(path: str) -> str:
    return urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]


def test_a_full_scenario_logs_no_clinical_text_passwords_or_tokens(app, sink, capfd):
    lead = make_provider(Discipline.PSYCHIATRIST, email="lead@example.com")
    dietitian = make_provider(Discipline.DIETITIAN, email="diet@example.com")
    reader = make_provider(Discipline.THERAPIST, email="reader@example.com")
    make_user(Role.ADMIN, email="admin@example.com")
    # The every-kind record of tests/worlds.py, the reader on its team too: its pages, the
    # portal, the alerts, the digest, the API and the export show every kind of entry.
    world = build_world(tag="LOGS")
    add_member(world.record, reader, world.lead)
    secrets: set[str] = {LEAD_PASSWORD, CLIENT_PASSWORD, RESET_PASSWORD, CHANGED_PASSWORD}
    secrets.add(TOTP_SECRET)
    today = date.today().isoformat()

    with Capture() as capture, warnings.catch_warnings():
        warnings.simplefilter("always")
        provider = Scenario(app, secrets)
        provider.login(lead.email)
        created = provider.submit(
            "/clients/new",
            {
                "full_name": CLINICAL["client name"],
                "preferred_name": CLINICAL["preferred name"],
                "level_of_care": "outpatient_weekly",
            },
        )
        client_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
        record = db.session.get(Client, client_id)
        add_member(record, dietitian, lead)
        add_member(record, reader, lead)
        base = f"/clients/{client_id}"
        provider.submit(
            f"{base}/notes/new",
            {
                "title": CLINICAL["note title"],
                "body": CLINICAL["note"],
                "visibility": "team",
                "urgent": "y",
            },
        )
        provider.submit(
            f"{base}/goals/new",
            {
                "title": CLINICAL["goal"],
                "measure": CLINICAL["goal measure"],
                "unit": "days",
                "baseline": "1",
                "target": "5",
                "direction": "up",
                "target_date": (date.today() + timedelta(days=90)).isoformat(),
                "owner_id": str(lead.id),
                "status": "active",
                "shared_with_client": "y",
            },
        )
        provider.submit(
            f"{base}/medications/new",
            {
                "medication": CLINICAL["medication"],
                "action": "started",
                "dose": "25",
                "unit": "mg",
                "route": "oral",
                "frequency": "once daily",
                "effective_date": today,
                "reason": CLINICAL["medication reason"],
            },
        )
        provider.submit(
            f"{base}/practice/new",
            {
                "skill": CLINICAL["practice skill"],
                "target_count": "1",
                "period": "day",
                "starts_on": today,
            },
        )
        provider.submit(f"{base}/invitations/portal", {"email": "client@example.com"})

        diet = Scenario(app, secrets)
        diet.login(dietitian.email)
        diet.submit(
            f"{base}/nutrition/new",
            {
                "update_type": "weight",
                "weight_kg": CLINICAL["blind weight"],
                "measured_on": today,
                "blind": "y",
                "text": CLINICAL["nutrition note"],
            },
        )

        # The worker's side: the invitation email, the urgent alerts.
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.email == "client@example.com")
        )
        invitation_tasks.send_invitation.apply(args=[invitation.id])
        alert_tasks.drain_alerts.apply()
        accept_path = _link(sink, "client@example.com", "/invitations/")
        secrets.add(_token_of(accept_path))

        person = Scenario(app, secrets)
        person.submit(
            accept_path,
            {
                "display_name": "Quill",
                "password": CLIENT_PASSWORD,
                "confirm": CLIENT_PASSWORD,
            },
        )
        # Accepting signs the new account in.
        assignment_id = int(
            re.search(r"/portal/practice/(\d+)/log", person.page("/portal/practice/")).group(1)
        )
        person.submit(
            f"/portal/practice/{assignment_id}/log",
            {"practised_on": today, "rating": "4", "reflection": CLINICAL["practice reflection"]},
        )
        person.page("/portal/")
        person.page("/portal/notes")

        # A forgotten password: the emailed link, then a new password.
        anon = Scenario(app, secrets)
        anon.submit("/password/forgot", {"email": "client@example.com"}, expect=200)
        client_user = db.session.scalar(select(User).where(User.email == "client@example.com"))
        auth_tasks.send_password_reset.apply(args=[client_user.id])
        reset_path = _link(sink, "client@example.com", "/password/reset/")
        secrets.add(_token_of(reset_path))
        anon.page(reset_path)
        anon.submit(reset_path, {"password": RESET_PASSWORD, "confirm": RESET_PASSWORD})
        person = Scenario(app, secrets)
        person.login("client@example.com", RESET_PASSWORD)
        person.submit(
            "/settings/password",
            {
                "current_password": RESET_PASSWORD,
                "password": CHANGED_PASSWORD,
                "confirm": CHANGED_PASSWORD,
            },
        )

        # Pages that show it all, then the reader's digest in full detail.
        for path in (base, f"{base}/goals/", f"{base}/medications", f"{base}/practice/"):
            provider.page(path)
        diet.page(f"{base}/nutrition/")
        world_base = f"/clients/{world.record.id}"
        for person, paths in (
            (world.lead, ["", "/goals/", "/medications", "/practice/", "/team"]),
            (world.people["diet"], ["/nutrition/"]),
        ):
            member = Scenario(app, secrets)
            member.login(person.email)
            for path in paths:
                member.page(world_base + path)
        own = Scenario(app, secrets)
        own.login(world.own.email)
        for path in ("/portal/", "/portal/notes", "/portal/practice/"):
            own.page(path)
        digests.save_preferences(user=reader, detail="full")
        db.session.commit()
        due = utcnow() + timedelta(days=8)
        digest_ids = digests.dispatch_due(due, user_ids=[reader.id])
        assert digest_ids, "no digest opened for the reader"
        digest_tasks.send_digests.apply(args=[digest_ids])
        secrets.add(_token_of(_link(sink, reader.email, "/unsubscribe/")))
        # The API with a token: its secret, the bodies and the export stay out of the logs.
        api_token = make_token(lead, name="Scenario script")
        secrets.add(api_token)
        api, headers = provider.client, bearer(api_token)
        note = {"body": CLINICAL["note"] + " via API", "visibility": "team"}
        assert api.post(f"/api/v1{base}/notes", json=note, headers=headers).status_code == 201
        refused = {**note, "visibility": CLINICAL["note title"]}
        assert api.post(f"/api/v1{base}/notes", json=refused, headers=headers).status_code == 422
        assert api.get(f"/api/v1{base}/timeline?kind=note", headers=headers).status_code == 200
        export = api.get(f"/fhir/r4/Patient/{client_id}/$everything", headers=headers)
        assert CLINICAL["note"] in export.get_data(as_text=True)
        world_token = make_token(world.lead, name="World script")
        secrets.add(world_token)
        for path in (
            f"/api/v1{world_base}/timeline",
            f"/fhir/r4/Patient/{world.record.id}/$everything",
        ):
            assert api.get(path, headers=bearer(world_token)).status_code == 200
        provider.client.post("/logout", data={"csrf_token": csrf_from(provider.page(base))})

        logged = capture.text

    out, err = capfd.readouterr()
    everything = "\n".join([logged, out, err])
    # The scenario did run and was captured: mail went out, requests were logged.
    subjects = [m["Subject"] for m in sink.messages]
    assert any("invited you" in x for x in subjects), subjects
    assert any("Reset your CareTeam password" in x for x in subjects), subjects
    assert any("updates on your clients" in x for x in subjects), subjects
    assert logged.count('"event": "request"') > 40
    assert "careteam.send_digests" in logged  # Celery's own task trace lines
    leaks = {
        label: value
        for label, value in {
            **CLINICAL,
            **{f"world's {slot}": text for slot, text in world.texts.items()},
            **{f"secret {i}": s for i, s in enumerate(sorted(secrets))},
        }.items()
        if value and value in everything
    }
    assert leaks == {}, f"found in the logs: {sorted(leaks)}"


# Access logs of the servers: the request line must not carry a token -----------------


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def test_development_server_access_log_hides_tokens_in_paths(app):
    """`flask run` logs each request line through the werkzeug logger."""
    server = _serve(app)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    werkzeug_logger = logging.getLogger("werkzeug")
    saved = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.INFO)
    werkzeug_logger.addHandler(handler)
    token = "SECRET-TOKEN-abc.def_ghi"
    try:
        for path in (
            f"/password/reset/{token}",
            f"/invitations/{token}",
            f"/unsubscribe/{token}",
            f"/login?next=/password/reset/{token}",
        ):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5)
    finally:
        werkzeug_logger.removeHandler(handler)
        werkzeug_logger.setLevel(saved)
        server.shutdown()
    logged = stream.getvalue()
    assert "/password/reset/" in logged  # the lines are there, without the token
    assert token not in logged


def _gunicorn_access_formats() -> list[str]:
    """The --access-logformat of every gunicorn command (Dockerfile and compose)."""
    commands = []
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    commands.append(yaml.safe_load(cmd))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        command = service.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        if command and command[0] == "gunicorn":
            commands.append(command)
    assert len(commands) >= 2, "gunicorn commands not found"
    formats = []
    for command in commands:
        assert any(a.startswith("--access-logfile") for a in command), command
        values = [a.split("=", 1)[1] for a in command if a.startswith("--access-logformat=")]
        values += [command[i + 1] for i, a in enumerate(command) if a == "--access-logformat"]
        assert values, f"gunicorn logs the default format (with the path): {command}"
        formats.append(values[0])
    return formats


def test_gunicorn_access_log_carries_no_path_query_or_referrer():
    """Its default format has the request line and the referrer, so tokens in paths."""
    for fmt in _gunicorn_access_formats():
        _check_gunicorn_format(fmt)


def _check_gunicorn_format(fmt: str) -> None:
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    token = "SECRET-TOKEN-xyz"
    path = f"/password/reset/{token}"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?next={token}",
        "PATH_INFO": path,
        "QUERY_STRING": f"next={token}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://careteam.example.org/invitations/{token}",
        "HTTP_USER_AGENT": "probe",
    }
    request = SimpleNamespace(
        headers=[("REFERER", environ["HTTP_REFERER"])],
        uri=environ["RAW_URI"],
        path=path,
        query=environ["QUERY_STRING"],
        method="GET",
        version=(1, 1),
    )
    response = SimpleNamespace(
        status="200 OK", headers=[("X-Request-ID", "abc123")], response_length=10, sent=10
    )
    cfg = Config()
    cfg.set("access_log_format", fmt)
    logger = Logger(cfg)
    atoms = logger.atoms(response, request, environ, timedelta(seconds=0.01))
    line = fmt % logger.atoms_wrapper_class(atoms)
    assert token not in line, fmt
    assert "abc123" in line and "200" in line, fmt  # correlates with the app's JSON log
