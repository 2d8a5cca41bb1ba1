"""Smoke tests for tests/harness.py: each real service starts, works and stops.

Nothing here is skipped: if a service cannot start, the test fails with the
RuntimeError from tests/harness.py saying what is missing.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.harness import (
    PostgresServer,
    RedisServer,
    SilentServer,
    SMTPSink,
    free_port,
    to_libpq_url,
)

pytestmark = pytest.mark.integration


def _fast_client(url: str) -> redis.Redis:
    """A Redis client that gives up after 0.5 s and never retries."""
    return redis.Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SMTPSink]:
    with SMTPSink() as sink:
        yield sink


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_postgres_select_1(postgres: PostgresServer) -> None:
    assert postgres.url.startswith("postgresql+psycopg://careteam@127.0.0.1:")
    with psycopg.connect(postgres.conninfo) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_postgres_create_database(postgres: PostgresServer) -> None:
    url = postgres.create_database("smoke_db")
    assert url == f"postgresql+psycopg://careteam@127.0.0.1:{postgres.port}/smoke_db"
    with psycopg.connect(to_libpq_url(url)) as conn:
        row = conn.execute("SELECT current_database(), current_user").fetchone()
    assert row == ("smoke_db", "careteam")


def test_postgres_stop_removes_tmpdir() -> None:
    server = PostgresServer(dbname="careteam_smoke")
    server.start()
    tmpdir = server.tmpdir
    assert tmpdir is not None and tmpdir.exists()
    with psycopg.connect(server.conninfo) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("careteam_smoke",)
    server.stop()
    assert not tmpdir.exists()
    server.stop()  # idempotent


def test_redis_set_get(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = redis.Redis.from_url(redis_server.url)
    client.set("smoke", "ok")
    assert client.get("smoke") == b"ok"
    client.close()


def test_redis_pause_times_out_and_resume_restores(redis_server: RedisServer) -> None:
    client = _fast_client(redis_server.url)
    redis_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            client.ping()
        assert time.monotonic() - started < 3
    finally:
        redis_server.resume()
    client.close()
    client = _fast_client(redis_server.url)
    assert client.ping() is True
    client.close()


def test_redis_restart_keeps_port(redis_server: RedisServer) -> None:
    port, url = redis_server.port, redis_server.url
    redis_server.restart()
    assert redis_server.port == port
    assert redis_server.url == url
    client = _fast_client(url)
    assert client.ping() is True
    client.close()


def test_silent_server_makes_redis_time_out() -> None:
    with SilentServer() as silent:
        assert silent.url == f"redis://127.0.0.1:{silent.port}/0"
        client = _fast_client(silent.url)
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            client.ping()
        assert time.monotonic() - started < 3
        client.close()


def test_smtp_sink_receives_message(smtp_sink: SMTPSink) -> None:
    smtp_sink.clear()
    message = EmailMessage()
    message["From"] = "noreply@careteam.test"
    message["To"] = "client@example.com"
    message["Subject"] = "Smoke test — ünïcode"
    message.set_content("Hello from the smoke test.\n")
    assert smtp_sink.port is not None
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5) as smtp:
        smtp.send_message(message)

    received = smtp_sink.wait_for(1, timeout=5)
    assert len(received) == 1
    got = received[0]
    assert isinstance(got, EmailMessage)
    assert got["Subject"] == "Smoke test — ünïcode"
    assert got["To"] == "client@example.com"
    assert got.get_content() == "Hello from the smoke test.\n"
    assert smtp_sink.envelopes[0] == ("noreply@careteam.test", ["client@example.com"])

    smtp_sink.clear()
    assert smtp_sink.messages == []
    with pytest.raises(TimeoutError):
        smtp_sink.wait_for(1, timeout=0.2)
