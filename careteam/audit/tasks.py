"""Scheduled upkeep of the audit log."""

from __future__ import annotations

from celery import shared_task

from careteam.audit import chain


@shared_task(name="careteam.seal_audit_log")
def seal_audit_log() -> int:
    """Chain the audit events committed since the last run (beat, every minute)."""
    return chain.seal().sealed
