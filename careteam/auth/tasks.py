"""Thin Celery task for account emails: ids as arguments, nothing returned."""

from __future__ import annotations

from celery import shared_task

from careteam.auth import reset


@shared_task(name="careteam.send_password_reset", ignore_result=True, acks_late=True)
def send_password_reset(user_id: int) -> None:
    """Email a reset link; a redelivered task within a minute sends nothing more."""
    reset.send_reset_email(int(user_id))
