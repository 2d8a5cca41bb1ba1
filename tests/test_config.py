"""Configuration layers, and refusing to run production with the development secret."""

from __future__ import annotations

import pytest

from careteam import create_app
from careteam.config import DEV_SECRET_KEY

PLAIN = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "BASE_URL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in [*PLAIN, "FLASK_DEBUG"]:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("secret", [None, "", DEV_SECRET_KEY])
def test_production_refuses_missing_or_default_secret(monkeypatch, secret):
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_debug_and_testing_accept_the_development_secret():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_defaults_are_embedded(tmp_path):
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/careteam.sqlite")
    assert app.config["CELERY"]["broker_url"].startswith("sqla+sqlite:///")


def test_plain_environment_names_are_mapped(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/careteam")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_PORT", "2525")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db:5432/careteam"
    assert app.config["CELERY"]["broker_url"] == "redis://redis:6379/0"
    assert app.config["CELERY"]["broker_transport_options"]["socket_timeout"] > 0
    assert app.config["MAIL_SERVER"] == "mail.example.com"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_prefixed_environment_overrides_nested_keys(monkeypatch):
    monkeypatch.setenv("CARETEAM_PAGE_SIZE", "7")
    monkeypatch.setenv("CARETEAM_CELERY__broker_url", "redis://elsewhere:6379/3")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PAGE_SIZE"] == 7
    assert app.config["CELERY"]["broker_url"] == "redis://elsewhere:6379/3"


def test_session_timeouts_from_environment_in_seconds(monkeypatch):
    from datetime import timedelta

    monkeypatch.setenv("CARETEAM_SESSION_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("CARETEAM_PERMANENT_SESSION_LIFETIME", "14400")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=10)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=4)


def test_celery_settings_are_deliberate():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    celery = app.extensions["celery"]
    assert celery.conf.task_serializer == "json"
    assert celery.conf.accept_content == ["json"]
    assert celery.conf.task_acks_late is True
    assert celery.conf.task_ignore_result is True
    assert "careteam.beat_tick" in {e["task"] for e in celery.conf.beat_schedule.values()}


def test_factory_does_no_database_work(tmp_path):
    """Building the app creates no tables and runs no migration."""
    from sqlalchemy import inspect

    db_file = tmp_path / "untouched.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}"})
    from careteam.extensions import db

    with app.app_context():
        assert inspect(db.engine).get_table_names() == []


@pytest.mark.parametrize(("hops", "behind_tls"), [(0, False), (1, True)])
def test_forwarded_headers_are_trusted_only_when_configured(hops, behind_tls):
    """Behind a TLS proxy the app must know the request was HTTPS (HSTS) and who sent it;
    without a configured proxy, forged X-Forwarded headers change nothing."""
    from flask import request

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_FIX_HOPS": hops}
    )
    seen = {}

    @app.get("/_whoami")
    def whoami():
        seen["ip"], seen["secure"] = request.remote_addr, request.is_secure
        return "ok"

    response = app.test_client().get(
        "/_whoami",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert seen["secure"] is behind_tls
    assert (seen["ip"] == "203.0.113.7") is behind_tls
    assert ("Strict-Transport-Security" in response.headers) is behind_tls


# The beat schedule and the worker's tasks ------------------------------------------

# Every task of the worker, and whether its message is acknowledged only after it ran
# (task_acks_late): a new task, or a change of how one is acknowledged, is a decision.
# All are late-acked today (the CELERY default); the four that send email also say so
# themselves, so they stay late-acked whatever the default becomes.
WORKER_TASKS = {
    "careteam.send_digests": True,
    "careteam.process_alert": True,
    "careteam.send_invitation": True,
    "careteam.send_password_reset": True,
    "careteam.dispatch_digests": True,
    "careteam.drain_alerts": True,
    "careteam.sweep_invitations": True,
    "careteam.beat_tick": True,
    "careteam.health": True,
    "careteam.seal_audit_log": True,
    "careteam.purge_idempotency_keys": True,
}
DELIVERY_TASKS = {
    "careteam.send_digests",
    "careteam.process_alert",
    "careteam.send_invitation",
    "careteam.send_password_reset",
}


def _tasks_of(celery) -> dict:
    celery.loader.import_default_modules()  # what `celery -A worker worker` imports
    return {name: task for name, task in celery.tasks.items() if name.startswith("careteam.")}


@pytest.fixture
def worker_app(monkeypatch):
    """The Celery app of worker/__init__.py, as `celery -A worker` builds it."""
    import importlib

    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    module = importlib.import_module("worker")
    return module.celery_app


def test_beat_dispatches_digests_every_minute_and_drains_alerts_every_30_s():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["dispatch-digests"]["task"] == "careteam.dispatch_digests"
    assert schedule["dispatch-digests"]["schedule"] == 60.0
    assert schedule["drain-alerts"]["task"] == "careteam.drain_alerts"
    assert schedule["drain-alerts"]["schedule"] == 30.0
    # A tick that waited in a stopped broker expires before the next one is due, so a
    # backlog of ticks never runs one after another when the worker comes back.
    for name, entry in schedule.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None and 0 < expires < entry["schedule"], name


def test_every_scheduled_task_is_a_task_of_the_worker(worker_app):
    registered = _tasks_of(worker_app)
    scheduled = {entry["task"] for entry in worker_app.conf.beat_schedule.values()}
    assert scheduled <= set(registered), scheduled - set(registered)


def test_the_workers_tasks_and_their_acknowledgement_are_the_expected_ones(worker_app):
    tasks = _tasks_of(worker_app)
    assert {name: task.acks_late for name, task in tasks.items()} == WORKER_TASKS
    assert worker_app.conf.task_reject_on_worker_lost is True  # a killed worker's runs again


def test_email_tasks_are_late_acked_whatever_the_default(monkeypatch):
    monkeypatch.setenv("CARETEAM_CELERY__task_acks_late", "false")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    tasks = _tasks_of(app.extensions["celery"])
    assert {name for name, task in tasks.items() if task.acks_late} == DELIVERY_TASKS
