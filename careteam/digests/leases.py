"""Claiming digests for sending and holding them under a lease while a batch sends.

A batch claims its digests with one conditional UPDATE (pending, or sending with a lease
that ran out; attempts left), so a redelivered, duplicated or retried task sends nothing
for a window another worker holds or has sent. The lease is renewed while the batch is in
progress, so only a dead worker's digests are ever taken over.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, tuple_, update

from careteam.digests.models import Digest
from careteam.enums import DigestStatus
from careteam.extensions import db, utcnow

MAX_ATTEMPTS = 5
# A sent (or nothing-new) window covers everything up to its end: these earlier windows
# of the same user are then never sent (their range is in it).
COVERS = (DigestStatus.SENT, DigestStatus.SKIPPED)


def lease_seconds() -> float:
    return float(current_app.config["DIGEST_BATCH_LEASE_SECONDS"])


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 30 s, 60 s, 120 s... capped at 15 min."""
    cap = min(15 * 60, 30 * 2 ** max(attempt - 1, 0))
    return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not security  # nosec B311


def claim_many(digest_ids: list[int], now: datetime | None = None) -> dict[int, int]:
    """Take the digests of a batch for sending, but none that is done, exhausted or held
    by another worker: one UPDATE ... RETURNING, committed. Returns {id: attempts as
    claimed}, in the order of `digest_ids`."""
    if not digest_ids:
        return {}
    now = now or utcnow()
    rows = db.session.execute(
        update(Digest)
        .where(
            Digest.id.in_(digest_ids),
            Digest.attempts < MAX_ATTEMPTS,
            or_(
                Digest.status == DigestStatus.PENDING,
                (Digest.status == DigestStatus.SENDING) & (Digest.lease_until < now),
            ),
        )
        .values(
            status=DigestStatus.SENDING,
            lease_until=now + timedelta(seconds=lease_seconds()),
            attempts=Digest.attempts + 1,
        )
        .returning(Digest.id, Digest.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    attempts = dict(rows)
    return {i: attempts[i] for i in dict.fromkeys(digest_ids) if i in attempts}


def claim(digest_id: int, now: datetime | None = None) -> Digest | None:
    """Take one digest for sending (see claim_many); the claimed row, or None."""
    if not claim_many([digest_id], now):
        return None
    return db.session.get(Digest, digest_id, populate_existing=True)


class LeaseLost(Exception):
    """Some digest of the batch is no longer this worker's: stop sending."""


class Lease:
    """The batch's hold on the digests it claimed and has not sent yet.

    Renewed with one UPDATE once a third of the lease has passed (not once per message);
    a digest is this batch's while it is still sending with the attempt count its claim
    set: a takeover by another worker or a reset by due_retries changes one of them.
    """

    def __init__(self) -> None:
        self.seconds = lease_seconds()
        self.held: dict[int, int] = {}  # digest id -> attempts as claimed
        self.renewed_at = utcnow()

    def hold(self, claimed: dict[int, int]) -> None:
        """Hold what claim_many returned; the claim's lease started just now."""
        if not self.held:
            self.renewed_at = utcnow()
        self.held.update(claimed)

    def let_go(self, digest_id: int) -> None:
        self.held.pop(digest_id, None)

    def renew_if_due(self) -> set[int]:
        """Extend the lease of every held digest if a third of it has passed; returns
        the ids this batch lost (normally none)."""
        now = utcnow()
        if not self.held or now < self.renewed_at + timedelta(seconds=self.seconds / 3):
            return set()
        result = db.session.execute(
            update(Digest)
            .where(
                Digest.status == DigestStatus.SENDING,
                tuple_(Digest.id, Digest.attempts).in_(list(self.held.items())),
            )
            .values(lease_until=now + timedelta(seconds=self.seconds))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        self.renewed_at = now
        if result.rowcount == len(self.held):
            return set()
        still = set(
            db.session.scalars(
                select(Digest.id).where(
                    Digest.status == DigestStatus.SENDING,
                    tuple_(Digest.id, Digest.attempts).in_(list(self.held.items())),
                )
            )
        )
        lost = set(self.held) - still
        for digest_id in lost:
            self.let_go(digest_id)
        current_app.logger.warning("digest lease lost", extra={"digest_ids": sorted(lost)})
        return lost
