"""CareTeam: care-team coordination for behavioural-health providers and their clients."""

from __future__ import annotations

import copy
import os
import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from careteam.config import DEV_SECRET_KEY, Config

# Plain names operators expect, mapped in this one place onto config keys.
PLAIN_ENV: dict[str, tuple[str, type]] = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "REDIS_URL": ("REDIS_URL", str),
    "SMTP_HOST": ("MAIL_SERVER", str),
    "SMTP_PORT": ("MAIL_PORT", int),
    "SMTP_USERNAME": ("MAIL_USERNAME", str),
    "SMTP_PASSWORD": ("MAIL_PASSWORD", str),
    "SMTP_USE_TLS": ("MAIL_USE_TLS", bool),
    "MAIL_FROM": ("MAIL_DEFAULT_SENDER", str),
    "MAIL_REPLY_TO": ("MAIL_REPLY_TO", str),
    "BASE_URL": ("BASE_URL", str),
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints. It does no work."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="static",
    )
    app.config.from_object(Config)
    app.config["CELERY"] = copy.deepcopy(Config.CELERY)  # nested env keys must not leak
    _load_environment(app)
    app.config.from_prefixed_env("CARETEAM")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _finish_config(app)
    # As in Flask's tutorial: the instance folder holds the default SQLite files.
    os.makedirs(app.instance_path, exist_ok=True)

    from careteam import input_guard, logs
    from careteam.celery_app import celery_init_app
    from careteam.cli import cli
    from careteam.errors import register_error_pages
    from careteam.extensions import csrf, db, limiter, login_manager, migrate

    logs.configure(app)
    input_guard.init_app(app)  # before blueprints: it installs the id converter
    if app.config["PROXY_FIX_HOPS"]:
        # Behind TLS-terminating proxies: trust their X-Forwarded-For/-Proto (that many
        # hops) so that HSTS, Secure redirects and per-IP rate limits see the real request.
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(app.root_path, "..", "migrations"),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # our own server-side sessions decide
    from careteam.auth.services import user_for_session

    login_manager.user_loader(user_for_session)
    celery_init_app(app)

    from careteam import models  # noqa: F401  (every model registered with the metadata)
    from careteam.admin.views import bp as admin_bp
    from careteam.api import init_app as init_api
    from careteam.auth.two_factor_views import bp as two_factor_bp
    from careteam.auth.two_factor_views import enforce_enrolment
    from careteam.auth.views import bp as auth_bp
    from careteam.clients.views import bp as clients_bp
    from careteam.digests.views import bp as digests_bp
    from careteam.drafts.views import bp as drafts_bp
    from careteam.emergency.views import admin_bp as emergency_admin_bp
    from careteam.emergency.views import bp as emergency_bp
    from careteam.fhir.views import bp as fhir_bp
    from careteam.goals.views import bp as goals_bp
    from careteam.health.views import bp as health_bp
    from careteam.invitations.views import bp as invitations_bp
    from careteam.medications.views import bp as medications_bp
    from careteam.nutrition.views import bp as nutrition_bp
    from careteam.portal.views import bp as portal_bp
    from careteam.practice.views import bp as practice_bp
    from careteam.record.views import bp as record_bp
    from careteam.settings.views import bp as settings_bp

    blueprints = (
        auth_bp,
        clients_bp,
        record_bp,
        drafts_bp,
        goals_bp,
        medications_bp,
        nutrition_bp,
        practice_bp,
        portal_bp,
        settings_bp,
        digests_bp,
        admin_bp,
        health_bp,
        invitations_bp,
        two_factor_bp,
        emergency_bp,
        emergency_admin_bp,
        fhir_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    init_api(app)  # its blueprint, CSRF exemption, rate limit and problem documents
    if app.config["DEV_MAILBOX"] and app.debug:
        from careteam.devmail.views import bp as devmail_bp

        app.register_blueprint(devmail_bp)

    register_error_pages(app)
    app.cli.add_command(cli)
    _register_request_hooks(app)
    # After the request id is set: API requests name their user by a token, and a user who
    # must enrol in two-factor reaches only the enrolment page (never the API) until they do.
    from careteam.api.auth import authenticate_request

    app.before_request(authenticate_request)
    app.before_request(enforce_enrolment)
    _register_template_helpers(app)
    return app


def _load_environment(app: Flask) -> None:
    for env_name, (key, kind) in PLAIN_ENV.items():
        raw = os.environ.get(env_name)
        if raw is None or raw == "":
            continue
        if kind is bool:
            app.config[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        else:
            app.config[key] = kind(raw)


def _finish_config(app: Flask) -> None:
    """Fill in values derived from others, and refuse unsafe production settings."""
    cfg = app.config
    if not cfg.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, "careteam.sqlite")
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith(("postgres://", "postgresql://")):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith("sqlite"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **cfg["SQLALCHEMY_ENGINE_OPTIONS"],
            "connect_args": {"timeout": 15},
        }
    for key in (
        "SESSION_IDLE_TIMEOUT",
        "SESSION_IDLE_WARNING",
        "PERMANENT_SESSION_LIFETIME",
        "BEAT_STALE_AFTER",
        "IDEMPOTENCY_TTL",
    ):
        if isinstance(cfg[key], int | float):  # seconds, as environment variables give them
            cfg[key] = timedelta(seconds=cfg[key])
    _finish_rate_limit_config(cfg)
    celery = cfg["CELERY"]
    if not celery.get("broker_url"):
        if cfg.get("REDIS_URL"):
            celery["broker_url"] = cfg["REDIS_URL"]
        else:
            broker_file = os.path.join(app.instance_path, cfg["BROKER_SQLITE_FILE"])
            celery["broker_url"] = f"sqla+sqlite:///{broker_file}"
    if celery["broker_url"].startswith("sqla+"):
        # Kombu's SQLAlchemy transport passes its options to create_engine and knows none
        # of Redis's socket options; it polls the table every second by default.
        celery["broker_transport_options"] = {}
    celery.setdefault(
        "beat_schedule_filename", os.path.join(app.instance_path, "celerybeat-schedule")
    )
    relaxed = app.debug or app.testing
    if cfg.get("SESSION_COOKIE_SECURE") is None or (
        relaxed and "CARETEAM_SESSION_COOKIE_SECURE" not in os.environ
    ):
        cfg["SESSION_COOKIE_SECURE"] = not relaxed
    if not relaxed and (not cfg.get("SECRET_KEY") or cfg["SECRET_KEY"] == DEV_SECRET_KEY):
        raise RuntimeError(
            "SECRET_KEY is missing or is the development default. Set SECRET_KEY to a long "
            'random value (python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )


def _finish_rate_limit_config(cfg) -> None:
    """Rate-limit counts go to Redis when REDIS_URL is set, else to this process's memory.

    A Redis that does not answer costs a login at most one short timeout and no retries
    (Flask-Limiter then lets the request through; see careteam/extensions.py).
    """
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    if cfg["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://", "redis+")):
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = float(cfg["RATELIMIT_STORAGE_TIMEOUT"])
        cfg["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
            **(cfg.get("RATELIMIT_STORAGE_OPTIONS") or {}),
        }


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def secure_response(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user.is_authenticated and request.endpoint != "static":
            # Pages with health information must not linger in shared caches or history.
            headers["Cache-Control"] = "no-store"
        headers["X-Request-ID"] = g.get("request_id", "")
        return response


def _register_template_helpers(app: Flask) -> None:
    from careteam.access import Action
    from careteam.auth.services import seconds_until_logoff
    from careteam.record.markdown import render as render_markdown
    from careteam.record.summary import client_short_name, summary_line
    from careteam.timefmt import format_ago, format_date, format_datetime, format_in_zone

    app.jinja_env.globals["Action"] = Action
    app.jinja_env.globals["seconds_until_logoff"] = seconds_until_logoff
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["ago"] = format_ago
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["summary"] = summary_line
    app.jinja_env.filters["initials"] = client_short_name
    app.jinja_env.filters["email_datetime"] = format_in_zone
