"""Fixtures: the app on SQLite and on a real PostgreSQL, a test client, and login helpers.

Every test that uses `app` runs once per database backend. PostgreSQL is a real server
started by the harness in a temporary directory (see tests/services.py).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterator

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from careteam import create_app
from careteam.auth.models import User
from careteam.auth.two_factor_models import TwoFactorCredential
from careteam.extensions import db
from tests import factories
from tests.services import PostgresServer, SMTPSink

BACKENDS = ["sqlite", "postgresql"]
# One key for the test app, the workers and web apps the integration tests start: links
# signed by one are read by another, and two-factor secrets are encrypted under it.
SECRET_KEY = "test-secret-key-not-for-production"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="Run database tests on this backend only (default: all).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("backend") or BACKENDS
        only = metafunc.definition.get_closest_marker("backends")
        if only is not None:
            chosen = [b for b in chosen if b in only.args] or list(only.args)
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="careteam-tests-") as path:
        yield path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_root: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{os.path.join(tmp_root, 'careteam-test.sqlite')}"
    server = request.getfixturevalue("postgres")
    return server.create_database("careteam_test")


def base_config(database_url: str, tmp_root: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        "SERVER_NAME": "careteam.test",
        # No background publishing from web-side tests; integration tests turn it on.
        "ALERT_RELAY": "off",
        # Logins from one test address would hit the rate limits; tests/test_throttling.py
        # switches them on (the lockout, in the database, always applies).
        "RATELIMIT_ENABLED": False,
        "INVITATION_RELAY": "off",
        "CELERY": {
            "broker_url": f"sqla+sqlite:///{os.path.join(tmp_root, 'broker.sqlite')}",
            "task_ignore_result": True,
        },
    }


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_root: str) -> str:
    """Create the tables once per backend (tests only; the app itself uses migrations)."""
    app = create_app(base_config(database_url, tmp_root))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return database_url


def truncate_all() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        # audit_events refuses TRUNCATE through a trigger (careteam/audit.py); the test
        # harness connects as a superuser and skips triggers for this one transaction.
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        # On the connection: the session refuses DELETE on audit_events (careteam/audit.py).
        connection = db.session.connection()
        for table in tables:
            connection.execute(table.delete())
    db.session.commit()


def clear_audit_log() -> None:
    """Empty the audit log behind the application's back, for tests that count rows.

    The app refuses to delete audit rows (ORM guard; trigger on PostgreSQL).
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text("DELETE FROM audit_events"))
    db.session.commit()


@pytest.fixture(scope="session")
def _shared_app(_schema: str, tmp_root: str):
    """One app per backend: building its URL map costs more than most tests (werkzeug
    compiles every rule), so tests share it and get its configuration restored."""
    app = create_app(base_config(_schema, tmp_root))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_shared_app):
    """The app on an empty database of the current backend, with its pristine config."""
    saved = copy.deepcopy(dict(_shared_app.config))
    # Shared tasks run on Celery's current app, which the last create_app made current
    # (a test may build apps of its own): make it this app's again.
    _shared_app.extensions["celery"].set_current()
    with _shared_app.app_context():
        truncate_all()
        yield _shared_app
        db.session.remove()
    _shared_app.config.clear()
    _shared_app.config.update(saved)


class FreshContextClient(FlaskClient):
    """Run each request in its own app context, as in production.

    The `app` fixture keeps an app context open for the test's own database work; without
    this, requests would share its `g` and its SQLAlchemy session. After each request the
    test's session is expired, so that it reads what the request committed.
    """

    def open(self, *args, **kwargs):
        # A streamed body (the audit CSV export) runs to its end inside this context, so
        # its request context is gone before the next request; pass buffered=False to
        # look at the stream itself.
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """Log in and out through the real forms, CSRF token included."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, email: str, password: str = factories.PASSWORD, follow: bool = False):
        """Log in; when the password step asks for a two-factor code, enter one."""
        page = self._client.get("/login")
        token = csrf_from(page.get_data(as_text=True))
        response = self._client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
        )
        if response.status_code == 302 and response.headers["Location"] == "/login/two-factor":
            response = self.enter_code(email, follow=follow)
        elif follow and response.status_code == 302:
            response = self._client.get(response.headers["Location"], follow_redirects=True)
        return response

    def enter_code(self, email: str, code: str | None = None, follow: bool = False):
        """The second login step, with a current code of factories.TOTP_SECRET by default.

        Logging in twice within 30 seconds would reuse a code, which the app refuses as a
        replay; other tests log in as often as they like, so the helper forgets the last
        used step first (tests/test_two_factor.py tests the replay guard without it).
        """
        if code is None:
            code = pyotp.TOTP(factories.TOTP_SECRET).now()
            user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
            credential = db.session.get(TwoFactorCredential, user.id) if user else None
            if credential is not None:
                credential.last_used_step = None
                db.session.commit()
        page = self._client.get("/login/two-factor")
        token = csrf_from(page.get_data(as_text=True))
        return self._client.post(
            "/login/two-factor",
            data={"code": code, "csrf_token": token},
            follow_redirects=follow,
        )

    def token(self, path: str = "/settings/profile") -> str:
        """A CSRF token valid for the current session (redirects followed: a user who must
        set up two-factor first is sent to a page that has one too)."""
        return csrf_from(self._client.get(path, follow_redirects=True).get_data(as_text=True))

    def enrol(self) -> list[str]:
        """Set up two-factor for the logged-in user through the settings page, as a new
        provider must before anything else; returns the recovery codes shown."""
        page = self._client.get("/settings/two-factor").get_data(as_text=True)
        secret = re.search(r'class="secret-key"><code>([A-Z2-7]+)</code>', page)
        assert secret, "no two-factor enrolment on the page"
        code = pyotp.TOTP(secret.group(1)).now()
        done = self._client.post(
            "/settings/two-factor", data={"code": code, "csrf_token": csrf_from(page)}
        )
        assert done.status_code == 200, "two-factor enrolment refused"
        return re.findall(
            r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code>", done.get_data(as_text=True)
        )

    def post(self, path: str, data: dict | None = None, **kwargs):
        """POST a form with the session's CSRF token added."""
        return self._client.post(path, data={**(data or {}), "csrf_token": self.token()}, **kwargs)

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": self.token()})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


class QueryCounter:
    """Counts SQL statements the app sends while active."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.count = 0

    def _on_execute(self, *args, **kwargs) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def count_queries(app):
    return lambda: QueryCounter(db.engine)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPSink]:
    """A real SMTP server on loopback (aiosmtpd) for the whole run."""
    with SMTPSink() as server:
        yield server


@pytest.fixture
def sink(app, smtp_server: SMTPSink) -> SMTPSink:
    """The SMTP sink, empty, with the app sending to it (modules add their own settings)."""
    smtp_server.clear()
    app.config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_TIMEOUT=5)
    return smtp_server
