"""Thin Celery tasks for digests: arguments and results are ids only."""

from __future__ import annotations

from celery import shared_task

from careteam.digests import services

BATCH = services.SEND_BATCH
# One tick opens every due window, DISPATCH_BATCH per transaction, so that thousands of
# users due at the same minute do not wait for later ticks (bounded: 10,000 per tick).
MAX_DISPATCH_ROUNDS = 20


@shared_task(name="careteam.dispatch_digests", ignore_result=True)
def dispatch_digests() -> None:
    """Run by beat every minute: open due windows and queue them in batches."""
    for _ in range(MAX_DISPATCH_ROUNDS):
        ids = services.dispatch_due()
        for start in range(0, len(ids), BATCH):
            send_digests.delay(ids[start : start + BATCH])
        if not ids:
            break
    # Earlier windows whose attempt failed (after their backoff) or whose task was lost.
    for countdown, retry_ids in services.due_retries(BATCH):
        send_digests.apply_async(args=[retry_ids], countdown=countdown)


@shared_task(name="careteam.send_digests", ignore_result=True, acks_late=True)
def send_digests(digest_ids: list[int]) -> None:
    """Send one batch over one SMTP connection; redelivery and duplicates are harmless."""
    # A failed attempt leaves the digest pending with a backoff time; the dispatcher
    # queues it again then, so a retry survives a broker or worker outage.
    services.send_batch([int(i) for i in digest_ids])
