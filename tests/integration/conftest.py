"""Fixtures for integration tests: a real Redis and real `celery -A worker` processes
(tests/integration/celery_harness.py). Nothing here skips: a process that cannot start
fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import RedisServer, SMTPSink
from tests.integration.celery_harness import (
    CeleryLauncher,
    CeleryProcess,
    celery_env,
    flush_redis,
)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def broker(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The harness's Redis, emptied before and after the test."""
    flush_redis(redis_server)
    yield redis_server
    flush_redis(redis_server)


@pytest.fixture
def sink() -> Iterator[SMTPSink]:
    """A fresh SMTP server per test: mail a killed worker sends late cannot reach the next."""
    with SMTPSink() as server:
        yield server


@pytest.fixture
def celery_launcher(tmp_path: Path) -> Iterator[CeleryLauncher]:
    """Start workers or beat for one test; they are stopped when the test ends."""
    launcher = CeleryLauncher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture(scope="module")
def redis_worker(
    _schema: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryProcess]:
    """One worker per module and backend: real Redis broker, the test database.

    `_schema` is the current backend's database URL, the one the `app` fixture uses.
    Redis is emptied first, so that no task left over from another backend's worker
    writes into this backend's database.
    """
    flush_redis(redis_server)
    launcher = CeleryLauncher(tmp_path_factory.mktemp("celery-worker"))
    try:
        yield launcher.worker(celery_env(database_url=_schema, redis_url=redis_server.url))
    finally:
        launcher.stop_all()
