"""Flask extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import Flask, current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, MetaData, TypeDecorator, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones, so values are stored naive-in-UTC there and made aware
    again on the way out; PostgreSQL stores timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention Alembic can rely on."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class AppLimiter(Limiter):
    """Flask-Limiter with the storage, strategy and on/off switch of each app kept apart.

    Flask-Limiter 4 keeps the storage of the app bound last on the extension object, and
    turns itself off for good once an app has RATELIMIT_ENABLED false. One process may build
    several apps (tests, the live test server, tools); counts of an app without REDIS_URL
    must never go to another app's Redis, so each app keeps its own storage and strategy in
    app.extensions, and RATELIMIT_ENABLED is read from the current app on every request.
    """

    _STATE = "careteam.limiter"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.request_filter(lambda: not current_app.config.get("RATELIMIT_ENABLED", True))

    def init_app(self, app: Flask) -> None:
        # Options Flask-Limiter would otherwise accumulate from every app bound so far.
        self._storage_options = {}
        # Bind fully even when RATELIMIT_ENABLED is false (Flask-Limiter would skip the app
        # and stay off): the request filter above reads the switch on every request.
        enabled = app.config.setdefault("RATELIMIT_ENABLED", True)
        app.config["RATELIMIT_ENABLED"] = True
        try:
            super().init_app(app)
        finally:
            app.config["RATELIMIT_ENABLED"] = enabled
        app.extensions[self._STATE] = (self._storage, self._limiter)

    def _state(self):
        if has_app_context():
            return current_app.extensions.get(self._STATE)
        return None

    @property
    def storage(self):
        state = self._state()
        return state[0] if state else super().storage

    @property
    def limiter(self):
        state = self._state()
        return state[1] if state else super().limiter


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Fail-open (swallow_errors): if the rate-limit storage (Redis) is down, a request is let
# through and the error logged, rather than every clinician being refused a login during
# an outage. The per-account lockout (careteam/auth/throttle.py) is in the database and
# keeps bounding password guessing meanwhile. Short socket timeouts (create_app) keep a
# dead Redis from holding a login up.
limiter = AppLimiter(key_func=get_remote_address, swallow_errors=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, and let the web app and worker share the file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def dialect_insert(table):
    """INSERT with ON CONFLICT for the app's database (PostgreSQL's or SQLite's: the two
    share on_conflict_do_nothing / on_conflict_do_update and `excluded`)."""
    if db.engine.dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


@contextmanager
def joins_as_written() -> Iterator[None]:
    """Queries inside are joined in the order they are written (PostgreSQL only).

    The queries over every kind of entry join up to 17 tables (`entries`, each kind's own
    table and what their joined loads bring). PostgreSQL searched join orders for them on
    every request: EXPLAIN ANALYZE gave 69 ms planning and 1 ms execution for the
    timeline's page of 20, and a prepared plan does not survive the connection's return
    to the pool (psycopg forgets its prepared statements at each ROLLBACK). Written order
    is the right one here: `entries` narrowed by its index first, then each kind's row
    and each loaded row by primary key. With join_collapse_limit = 1 the same query plans
    in 2.8 ms and runs as fast. `SET LOCAL` holds until the transaction ends, so the
    default is put back as soon as the block ends. SQLite plans these in microseconds
    and is left alone.
    """
    if db.engine.dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL join_collapse_limit = 1"))
    try:
        yield
    finally:
        db.session.execute(text("SET LOCAL join_collapse_limit TO DEFAULT"))
