"""Scheduled upkeep of the API's kept responses."""

from __future__ import annotations

from celery import shared_task

from careteam.api import idempotency


@shared_task(name="careteam.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Delete responses kept for Idempotency-Key replays after their 24 hours (hourly)."""
    return idempotency.purge_expired()
