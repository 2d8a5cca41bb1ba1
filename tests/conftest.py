"""Fixtures: the app on SQLite and on a real PostgreSQL, a test client, and login helpers.

Fixtures only: the helpers they wrap live in tests/helpers.py, the servers in
tests/harness.py.

Every test that uses `app` runs once per database backend. PostgreSQL is a real server
started by the harness in a temporary directory (see tests/harness.py).
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator

import pytest

from careteam import create_app
from careteam.extensions import db
from tests import authz_table
from tests.harness import PostgresServer, SMTPSink
from tests.helpers import (
    AuthActions,
    FreshContextClient,
    QueryCounter,
    base_config,
    truncate_all,
)

BACKENDS = ["sqlite", "postgresql"]


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


@pytest.fixture(scope="session")
def _schema(database_url: str, tmp_root: str) -> str:
    """Create the tables once per backend (tests only; the app itself uses migrations)."""
    app = create_app(base_config(database_url, tmp_root))
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return database_url


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


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


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


@pytest.fixture(scope="module")
def authz_world(_shared_app) -> dict:
    """The authorization table's world (tests/authz_table.py), built once per module on
    SQLite; each case restores its snapshot (`world["database"].restore(app)`)."""
    return authz_table.snapshot_world(_shared_app)
