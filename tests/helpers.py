"""Helpers the fixtures and tests share: the test configuration, emptying the database,
a test client that runs each request in its own app context, logging in through the
real forms, counting SQL statements, and serving the app over real HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Collection, Iterator

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text
from werkzeug.serving import make_server

from careteam import create_app
from careteam.auth.models import User
from careteam.auth.two_factor_models import TwoFactorCredential
from careteam.extensions import db
from tests import factories
from tests.harness import free_port

# One key for the test app, the workers and web apps the integration tests start: links
# signed by one are read by another, and two-factor secrets are encrypted under it.
SECRET_KEY = "test-secret-key-not-for-production"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def base_config(database_url: str, tmp_root: str) -> dict:
    """The configuration of every app the tests build (the test app, live servers,
    workers' web apps) on this database."""
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


def truncate_all() -> None:
    """Empty every table, the append-only audit log included."""
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


def row_counts(skip: Collection[str] = ()) -> dict[str, int]:
    """Rows per table, except the tables in `skip` (those a request writes by itself)."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }


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


@contextlib.contextmanager
def serve(app, tmp_root: str, **overrides) -> Iterator[str]:
    """A second app on the test database, with `overrides`, served over real HTTP on
    127.0.0.1 in a thread; yields the base URL.

    The `app` fixture's configuration pins SERVER_NAME to "careteam.test", which a client
    talking to 127.0.0.1:<port> must not see.
    """
    live_app = create_app(
        {
            **base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root),
            "SERVER_NAME": None,
            **overrides,
        }
    )
    port = free_port()
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        # Give the database back before the `app` fixture empties it.
        with live_app.app_context():
            db.session.remove()
            db.engine.dispose()
