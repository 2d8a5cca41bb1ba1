"""Sending digests: claim, build, send over one connection, record; retries and coverage.

Every digest goes through claim() (a conditional UPDATE: pending, or sending with a lease
that ran out) before anything is sent, so a redelivered, duplicated or retried task sends
nothing for a window another worker holds or has sent. The lease is renewed while a batch
is in progress, so only a dead worker's digests are ever taken over.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, tuple_, update

from careteam import mail
from careteam.digests.content import build_content, render_message, window_start_for
from careteam.digests.models import Digest
from careteam.digests.preferences import preference_for
from careteam.enums import DigestFrequency, DigestStatus
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


def claim(digest_id: int, now: datetime | None = None) -> Digest | None:
    """Take a digest for sending, unless it is done, exhausted or another worker holds it."""
    now = now or utcnow()
    result = db.session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
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
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
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

    def hold(self, digest: Digest) -> None:
        if not self.held:
            self.renewed_at = utcnow()  # the first claim's lease started now
        self.held[digest.id] = digest.attempts

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


@dataclass
class Outcome:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        for name in ("sent", "skipped", "retry", "failed"):
            getattr(self, name).extend(getattr(other, name))


def send_batch(digest_ids: list[int]) -> Outcome:
    """Send a batch of digests over one SMTP connection; idempotent per digest.

    Each digest is claimed, checked against the user's other windows, built and
    rendered on its own: one that raises is released with a backoff and the rest of
    the batch still goes out.
    """
    outcome = Outcome()
    lease = Lease()
    ready: list[tuple[Digest, EmailMessage, int]] = []
    for digest_id in digest_ids:
        digest = _claim_isolated(digest_id)
        if digest is None:
            continue  # sent already, exhausted, or another worker holds it
        lease.hold(digest)
        try:
            prepared = _prepare(digest, outcome)
        except Exception as error:  # one bad digest must not block the batch
            db.session.rollback()
            lease.let_go(digest.id)
            _release(digest, error)
            _count_release(digest, outcome)
            continue
        if prepared is None:
            lease.let_go(digest.id)
        else:
            ready.append(prepared)
        # Only when a renewal found some taken over: reading the ids of the digests
        # already prepared reloads each (the claim's commit expired them), which would
        # cost a query per prepared digest at every step, quadratic in the batch.
        if lost := lease.renew_if_due():
            ready = [r for r in ready if r[0].id not in lost]
    if not ready:
        return outcome
    recorded: set[int] = set()

    def record(index: int, result: BaseException | None) -> None:
        # Committed before the next message goes out: a worker killed mid-batch resends
        # at most the one message the server accepted but this did not yet record.
        digest, _, total = ready[index]
        recorded.add(index)
        lease.let_go(digest.id)
        if result is None:
            _finish(digest, DigestStatus.SENT, total)
            outcome.sent.append(digest.id)
        else:
            _release(digest, result)
            _count_release(digest, outcome)
        if lease.renew_if_due():
            raise LeaseLost  # stops send_each before the next message; its QUIT still runs

    try:
        mail.send_each([message for _, message, _ in ready], on_result=record)
    except LeaseLost:
        _hand_back([d.id for i, (d, _, _) in enumerate(ready) if i not in recorded], lease)
        outcome.retry.extend(d.id for i, (d, _, _) in enumerate(ready) if i not in recorded)
    except OSError as error:  # no connection, or it broke: retry what was not recorded
        for index in range(len(ready)):
            if index not in recorded:
                record(index, error)
    return outcome


def _claim_isolated(digest_id: int) -> Digest | None:
    try:
        return claim(digest_id)
    except Exception as error:  # e.g. a lost database connection
        db.session.rollback()
        _log_error("digest claim failed", digest_id, error)
        return None


def _prepare(digest: Digest, outcome: Outcome) -> tuple[Digest, EmailMessage, int] | None:
    """The digest's email, or None when the window is done without one (skipped/deferred)."""
    user = digest.user
    pref = preference_for(user)
    if not user.active or pref.frequency == DigestFrequency.OFF:
        _finish(digest, DigestStatus.SKIPPED, 0)
        outcome.skipped.append(digest.id)
        return None
    neighbour = _other_window_in_the_way(digest)
    if neighbour == "covered":
        # A later window was sent (or found nothing new) first: it covers this range.
        _finish(digest, DigestStatus.SKIPPED, 0)
        outcome.skipped.append(digest.id)
        return None
    if neighbour == "busy":
        _defer(digest)
        outcome.retry.append(digest.id)
        return None
    start = window_start_for(user, digest.window_end)
    digest.window_start = start
    content = build_content(user, start, digest.window_end, pref.detail)
    if not content.total and not pref.send_when_empty:
        _finish(digest, DigestStatus.SKIPPED, 0)
        outcome.skipped.append(digest.id)
        return None
    return digest, render_message(digest, content), content.total


def _other_window_in_the_way(digest: Digest) -> str | None:
    """ "covered" when a later window of the user was sent or skipped; "busy" when another
    of their windows is being sent right now (both would start at the same point)."""
    now = utcnow()
    rows = db.session.execute(
        select(Digest.status, Digest.window_end)
        .where(
            Digest.user_id == digest.user_id,
            Digest.id != digest.id,
            or_(
                (Digest.window_end > digest.window_end) & Digest.status.in_(COVERS),
                (Digest.status == DigestStatus.SENDING) & (Digest.lease_until >= now),
            ),
        )
        .limit(2)
    ).all()
    if any(status in COVERS for status, _ in rows):
        return "covered"
    return "busy" if rows else None


def _defer(digest: Digest) -> None:
    """Back to pending without spending an attempt, to go after the window in flight."""
    digest.status = DigestStatus.PENDING
    digest.attempts -= 1
    digest.lease_until = None
    seconds = lease_seconds()
    digest.next_attempt_at = utcnow() + timedelta(seconds=random.uniform(seconds, 2 * seconds))  # noqa: S311  # nosec B311
    db.session.commit()


def _hand_back(digest_ids: list[int], lease: Lease) -> None:
    """The batch stops early: what it still holds goes back to pending, attempt unspent."""
    if not lease.held:
        return
    held = [(i, lease.held[i]) for i in digest_ids if i in lease.held]
    db.session.execute(
        update(Digest)
        .where(Digest.status == DigestStatus.SENDING, tuple_(Digest.id, Digest.attempts).in_(held))
        .values(
            status=DigestStatus.PENDING,
            attempts=Digest.attempts - 1,
            lease_until=None,
            next_attempt_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _finish(digest: Digest, status: DigestStatus, total: int) -> None:
    digest.status = status
    digest.item_count = total
    digest.lease_until = None
    digest.last_error = ""
    if status == DigestStatus.SENT:
        digest.sent_at = utcnow()
    # Earlier windows of the user still waiting (in backoff) are inside this one now.
    db.session.execute(
        update(Digest)
        .where(
            Digest.user_id == digest.user_id,
            Digest.window_end < digest.window_end,
            Digest.status == DigestStatus.PENDING,
        )
        .values(status=DigestStatus.SKIPPED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _release(digest: Digest, error: BaseException) -> None:
    """After a failed attempt: back to pending for a retry, or failed for good."""
    now = utcnow()
    digest.last_error = type(error).__name__[:120]
    digest.lease_until = None
    if digest.attempts >= MAX_ATTEMPTS:
        digest.status = DigestStatus.FAILED
        digest.next_attempt_at = now  # no next attempt: the column keeps when it failed
    else:
        digest.status = DigestStatus.PENDING
        digest.next_attempt_at = now + timedelta(seconds=backoff_seconds(digest.attempts))
    db.session.commit()
    _log_error("digest send failed", digest.id, error)


def _count_release(digest: Digest, outcome: Outcome) -> None:
    (outcome.failed if digest.status == DigestStatus.FAILED else outcome.retry).append(digest.id)


def _log_error(event: str, digest_id: int, error: BaseException) -> None:
    # The class and where it was raised, never the message: it could echo clinical text.
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    current_app.logger.warning(
        event, extra={"digest_id": digest_id, "error": type(error).__name__, "where": where}
    )


def due_retries(batch: int) -> list[tuple[int, list[int]]]:
    """Pending digests to (re)try now: failed attempts whose backoff is over, and windows
    whose task was lost (e.g. published into a broker outage or held by a killed worker).
    Returns (countdown, ids).

    Each window returned is marked as queued for one lease: the ticks that follow while
    workers are still busy do not queue it again (a backlog would otherwise grow with
    copies of the same retry), and a retry task lost in its turn is queued once more after.
    A window held by a dead worker on its last attempt is marked failed, not queued again.
    """
    now = utcnow()
    stale = now - timedelta(minutes=2)
    lease_over = (Digest.status == DigestStatus.SENDING) & (Digest.lease_until < now)
    db.session.execute(
        update(Digest)
        .where(lease_over, Digest.attempts >= MAX_ATTEMPTS)
        .values(
            status=DigestStatus.FAILED,
            lease_until=None,
            last_error="LeaseExpired",
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    due = or_(
        (Digest.status == DigestStatus.PENDING) & (Digest.next_attempt_at <= now),
        (Digest.status == DigestStatus.PENDING)
        & Digest.next_attempt_at.is_(None)
        & (Digest.created_at < stale),
        # Held by a worker that died (SIGKILL, lost machine): the lease ran out.
        lease_over,
    )
    ids = list(
        db.session.scalars(select(Digest.id).where(due).order_by(Digest.id).limit(batch * 10))
    )
    if ids:
        db.session.execute(
            update(Digest)
            .where(Digest.id.in_(ids), due)
            .values(
                status=DigestStatus.PENDING,
                lease_until=None,
                next_attempt_at=now + timedelta(seconds=lease_seconds()),
            )
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return [(0, ids[i : i + batch]) for i in range(0, len(ids), batch)]
