"""Celery end to end: real worker and beat processes, on real Redis and the embedded broker.

The test process publishes with the app's own Celery app (`app.extensions["celery"]`), the
worker records a heartbeat in the test database, and /healthz reads it back. Each test
runs on both database backends; the worker always uses the database the test reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from careteam import create_app
from careteam.config import Config
from careteam.extensions import db
from careteam.health.models import Heartbeat
from tests.harness import RedisServer, SilentServer, free_port
from tests.helpers import base_config
from tests.integration.celery_harness import CeleryLauncher, CeleryProcess, celery_env

pytestmark = pytest.mark.integration

HEARTBEAT_TIMEOUT = 20.0
# /healthz gives the broker HEALTH_CHECK_TIMEOUT (2 s); this only guards against a hang.
HEALTHZ_HANG_GUARD = 8.0


@pytest.fixture
def make_web_app(app: Flask, tmp_root: str) -> Iterator[Callable[..., Flask]]:
    """Build apps on the `app` fixture's database with other settings (e.g. a broker).

    Unlike the `app` fixture's, their CELERY settings are left to create_app, as in the web
    process: production defaults, then CARETEAM_CELERY__* variables, then broker_url
    derived from REDIS_URL (or the embedded broker).
    """
    built: list[Flask] = []

    def build(**overrides: object) -> Flask:
        config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_root)
        del config["CELERY"]
        web = create_app({**config, **overrides})
        built.append(web)
        return web

    yield build
    for web in built:
        web.extensions["celery"].close()  # the producer pool's broker connections
        with web.app_context():
            db.session.remove()
            db.engine.dispose()


def wait_for_heartbeat(
    name: str, *processes: CeleryProcess, timeout: float = HEARTBEAT_TIMEOUT
) -> datetime:
    """Poll the test database until the heartbeat `name` exists; return its time."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # a new transaction sees what the worker committed
        seen = db.session.scalar(select(Heartbeat.last_seen_at).where(Heartbeat.name == name))
        if seen is not None:
            return seen
        dead = [process for process in processes if not process.alive()]
        if dead or time.monotonic() > deadline:
            reason = "a celery process died" if dead else f"none within {timeout}s"
            logs = "\n".join(process.describe() for process in processes)
            pytest.fail(f"no {name!r} heartbeat: {reason}\n{logs}")
        time.sleep(0.2)


def get_healthz(web: Flask) -> tuple[int, dict, float]:
    """GET /healthz through a test client; return status, JSON body and elapsed seconds."""
    started = time.monotonic()
    response = web.test_client().get("/healthz")
    elapsed = time.monotonic() - started
    return response.status_code, response.get_json(), elapsed


def test_worker_on_redis_runs_health_task(
    app: Flask,
    redis_server: RedisServer,
    redis_worker: CeleryProcess,
    make_web_app: Callable[..., Flask],
) -> None:
    assert redis_worker.database_url == app.config["SQLALCHEMY_DATABASE_URI"]
    web = make_web_app(REDIS_URL=redis_server.url)
    assert web.config["CELERY"]["broker_url"] == redis_server.url

    web.extensions["celery"].send_task("careteam.health")
    seen = wait_for_heartbeat("worker", redis_worker)

    status, body, _ = get_healthz(web)
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"]["last_health_check"] == seen.isoformat()


@pytest.mark.parametrize("broker", ["silent", "closed-port"])
def test_healthz_gives_up_on_a_broker_that_does_not_answer(
    app: Flask, make_web_app: Callable[..., Flask], broker: str
) -> None:
    with SilentServer() as silent:
        url = silent.url if broker == "silent" else f"redis://127.0.0.1:{free_port()}/0"
        web = make_web_app(REDIS_URL=url)
        assert web.config["CELERY"]["broker_url"] == url

        status, body, elapsed = get_healthz(web)

    assert elapsed < HEALTHZ_HANG_GUARD, f"/healthz took {elapsed:.1f}s"
    assert status == 503, body
    assert body["status"] == "degraded"
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok"


def test_beat_ticks_through_the_worker(
    app: Flask,
    redis_server: RedisServer,
    redis_worker: CeleryProcess,
    celery_launcher: CeleryLauncher,
    make_web_app: Callable[..., Flask],
) -> None:
    # A fresh schedule entry first runs one interval after beat starts (celery.beat's
    # ScheduleEntry sets last_run_at to "now"), so the test shortens the 60 s interval the
    # way an operator would: with a prefixed environment variable.
    entry = {**Config.CELERY["beat_schedule"]["beat-heartbeat"], "schedule": 1.0}
    env = celery_env(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url=redis_server.url,
        CARETEAM_CELERY__beat_schedule=json.dumps({"beat-heartbeat": entry}),
    )
    beat = celery_launcher.beat(env)

    tick = wait_for_heartbeat("beat", beat, redis_worker, timeout=15.0)

    status, body, _ = get_healthz(make_web_app(REDIS_URL=redis_server.url))
    assert status == 200, body
    assert body["beat"]["status"] == "ok"
    assert datetime.fromisoformat(body["beat"]["last_tick"]) >= tick


def test_worker_on_embedded_broker_runs_health_task(
    app: Flask,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    celery_launcher: CeleryLauncher,
    make_web_app: Callable[..., Flask],
) -> None:
    """`make run` without Redis: Kombu's SQLAlchemy transport on a SQLite file."""
    broker_url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    worker = celery_launcher.worker(
        celery_env(
            database_url=app.config["SQLALCHEMY_DATABASE_URI"],
            CARETEAM_CELERY__broker_url=broker_url,
        )
    )
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CARETEAM_CELERY__broker_url", broker_url)
    web = make_web_app()
    assert web.config["CELERY"]["broker_url"] == broker_url

    web.extensions["celery"].send_task("careteam.health")
    seen = wait_for_heartbeat("worker", worker)

    status, body, _ = get_healthz(web)
    assert status == 200, body
    assert body["broker"] == "ok"
    assert body["worker"]["last_health_check"] == seen.isoformat()
