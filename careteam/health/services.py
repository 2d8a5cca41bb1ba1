"""Reachability of the database and the broker, and the worker's heartbeats."""

from __future__ import annotations

from datetime import datetime

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, func, inspect, select, text

from careteam.extensions import db, utcnow
from careteam.health.models import Heartbeat


def record_heartbeat(name: str, detail: str = "") -> datetime:
    """Store that a component is alive now (upsert by name)."""
    now = utcnow()
    row = db.session.get(Heartbeat, name)
    if row is None:
        db.session.add(Heartbeat(name=name, last_seen_at=now, detail=detail[:255]))
    else:
        row.last_seen_at = now
        row.detail = detail[:255]
    db.session.commit()
    return now


def check_database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()
        current_app.logger.warning("health: database unreachable", exc_info=True)
        return False


def _ask_broker(on_redis, on_sql):
    """Run one question against the broker with short timeouts; None if it cannot answer.

    `on_redis(client)` is asked of a Redis broker, `on_sql(connection)` of the embedded
    SQLAlchemy one.
    """
    url = current_app.config["CELERY"]["broker_url"]
    timeout = current_app.config["HEALTH_CHECK_TIMEOUT"]
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
            try:
                return on_redis(client)
            finally:
                client.close()
        if url.startswith("sqla+"):
            engine = create_engine(url.removeprefix("sqla+"), connect_args={"timeout": timeout})
            try:
                with engine.connect() as conn:
                    return on_sql(conn)
            finally:
                engine.dispose()
    except (TimeoutError, redis.RedisError, OSError):
        return None
    except Exception:
        current_app.logger.warning("health: broker check failed", exc_info=True)
        return None
    return None


def check_broker() -> bool:
    """Ask the broker for a sign of life, bounded by a short timeout whatever it does."""
    answer = _ask_broker(
        lambda client: bool(client.ping()),
        lambda conn: conn.execute(text("SELECT 1")).scalar() == 1,
    )
    return bool(answer)


def heartbeats() -> dict[str, datetime]:
    try:
        return {row.name: row.last_seen_at for row in db.session.scalars(select(Heartbeat))}
    except Exception:
        db.session.rollback()
        return {}


def report() -> tuple[dict, bool]:
    """The /healthz body and whether everything essential is up."""
    body, ok, _beats = _report()
    return body, ok


def _report() -> tuple[dict, bool, dict[str, datetime]]:
    database = check_database()
    broker = check_broker()
    beats = heartbeats() if database else {}
    beat_at = beats.get("beat")
    stale_after = current_app.config["BEAT_STALE_AFTER"]
    beat_ok = beat_at is not None and utcnow() - beat_at <= stale_after
    body = {
        "status": "ok" if database and broker else "degraded",
        "database": "ok" if database else "unreachable",
        "broker": "ok" if broker else "unreachable",
        "beat": {
            "last_tick": beat_at.isoformat() if beat_at else None,
            "status": "ok" if beat_ok else ("never" if beat_at is None else "late"),
        },
        "worker": {
            "last_health_check": beats["worker"].isoformat() if "worker" in beats else None,
        },
    }
    return body, database and broker, beats


def queue_depth() -> int | None:
    """Messages waiting in the default queue, or None if the broker cannot tell now."""

    def on_sql(conn) -> int | None:
        # Kombu creates its tables on first use; before that nothing is waiting.
        if "kombu_message" not in inspect(conn).get_table_names():
            return 0
        return int(
            conn.execute(text("SELECT count(*) FROM kombu_message WHERE visible = 1")).scalar()
        )

    return _ask_broker(lambda client: int(client.llen("celery")), on_sql)


def system_overview() -> dict:
    """What the admin health page shows."""
    from datetime import timedelta

    from careteam.alerts.models import AlertDelivery
    from careteam.digests.services import recent_failures, stats_since
    from careteam.enums import AlertStatus

    body, _, beats = _report()
    since = utcnow() - timedelta(hours=24)
    pending_alerts = db.session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(AlertDelivery.status.in_([AlertStatus.PENDING, AlertStatus.SENDING]))
    )
    alerts_24h = dict(
        db.session.execute(
            select(AlertDelivery.status, func.count())
            .where(
                AlertDelivery.status.in_([AlertStatus.FAILED, AlertStatus.DROPPED]),
                AlertDelivery.deliver_after >= since,
            )
            .group_by(AlertDelivery.status)
        ).all()
    )
    return {
        "report": body,
        # The times themselves, for the page to show in the viewer's zone (the report
        # keeps ISO 8601 strings for /healthz).
        "beat_at": beats.get("beat"),
        "worker_at": beats.get("worker"),
        "queue_depth": queue_depth(),
        "digests_24h": stats_since(since),
        "failures": recent_failures(),
        "pending_alerts": pending_alerts,
        "failed_alerts_24h": alerts_24h.get(AlertStatus.FAILED, 0),
        # Checked again at send time and not sent (left the team, alerts off, amended).
        "dropped_alerts_24h": alerts_24h.get(AlertStatus.DROPPED, 0),
    }
