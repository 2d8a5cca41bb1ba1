"""Tasks that prove the worker and beat are alive."""

from __future__ import annotations

from celery import shared_task

from careteam.health.services import record_heartbeat


@shared_task(name="careteam.health")
def health() -> str:
    """Run on a worker, record that it ran, and answer "ok"."""
    record_heartbeat("worker")
    return "ok"


@shared_task(name="careteam.beat_tick")
def beat_tick() -> None:
    """Scheduled every minute by beat; the recorded time is beat's last tick."""
    record_heartbeat("beat")
